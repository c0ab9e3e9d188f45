#include "r1/generation/sampler.h"

#include <fmt/format.h>

#include <limits>

#include "r1/core/error.h"

namespace r1 {

void check_sampling_options(const SamplingOptions& o) {
  const auto problems = sampling_range_problems(o);
  if (!problems.empty()) throw InputError(problems.front().first + " " + problems.front().second);
}

namespace {

// Inverse-CDF draw from unnormalised probabilities [N, V] (float32) with uniforms [N] (float64):
// the first token whose running sum exceeds u times the total. Above 512 tokens, two levels, so
// that no [N, V] float64 cumulative sum is needed: sums of blocks of B tokens (float32 within a block,
// float64 across blocks) pick the block, then the block's own running sum picks the token.
torch::Tensor inverse_cdf(torch::Tensor probs, const torch::Tensor& uniforms) {
  constexpr int64_t B = 128;
  const int64_t N = probs.size(0), V = probs.size(1);
  if (V <= 4 * B) {  // small vocabularies: one running sum costs less than the two levels' extra ops
    auto cdf = probs.to(torch::kFloat64).cumsum(-1);                                          // [N, V]
    auto target = (uniforms.to(cdf.device()) * cdf.select(1, V - 1)).unsqueeze(1);           // [N, 1]
    return torch::searchsorted(cdf, target, false, true).squeeze(1).clamp_max(V - 1);        // [N]
  }
  if (V % B != 0) probs = torch::constant_pad_nd(probs, {0, B - V % B});               // zeros are never picked
  auto blocks = probs.view({N, -1, B});                                                  // [N, K, B]
  auto block_cdf = blocks.sum(-1).to(torch::kFloat64).cumsum(-1);                       // [N, K]
  const int64_t K = block_cdf.size(1);
  auto target = uniforms.to(block_cdf.device()).unsqueeze(1) * block_cdf.narrow(1, K - 1, 1);  // [N, 1]
  // right = true: a block (or token) of probability 0 ends where its predecessor does and is never picked.
  auto block = torch::searchsorted(block_cdf, target, false, true).clamp_max(K - 1);     // [N, 1]
  auto before = torch::where(block > 0, block_cdf.gather(1, (block - 1).clamp_min(0)),
                             torch::zeros_like(target));                                 // [N, 1]
  auto inner = blocks.gather(1, block.unsqueeze(2).expand({N, 1, B})).squeeze(1)        // [N, B]
                   .to(torch::kFloat64).cumsum(-1);
  auto offset = torch::searchsorted(inner, target - before, false, true).clamp_max(B - 1);  // [N, 1]
  return (block * B + offset).squeeze(1).clamp_max(V - 1);                               // [N]
}

}  // namespace

SampledTokens sample_tokens(const torch::Tensor& logits, const SamplingOptions& o, const torch::Tensor& uniforms,
                            const torch::Tensor& seen) {
  const double inf = std::numeric_limits<double>::infinity();
  auto raw = logits.to(torch::kFloat32);  // [N, V]
  const bool greedy = o.temperature == 0;
  const double t = greedy ? 1.0 : o.temperature;
  auto scaled = t == 1.0 ? raw : raw / t;                           // [N, V]
  auto log_total = torch::logsumexp(scaled, -1, /*keepdim=*/true);  // [N, 1]: log_softmax = scaled - log_total
  const bool penalty = o.repetition_penalty != 1.0 && seen.defined();
  auto z = raw;
  if (penalty) {
    auto penalized = torch::where(raw < 0, raw * o.repetition_penalty, raw / o.repetition_penalty);
    z = torch::where(seen, penalized, raw);
  }
  torch::Tensor tokens;
  if (greedy) {
    tokens = z.argmax(-1);  // [N]
  } else {
    const int64_t V = z.size(-1);
    const bool filtered = (o.top_k > 0 && o.top_k < V) || o.top_p < 1.0 || o.min_p > 0.0;
    torch::Tensor probs;  // [N, V], unnormalised
    if (!penalty && !filtered) {
      probs = torch::sub(scaled, log_total).exp_();  // the distribution itself, one pass
    } else {
      z = z / t;
      if (o.top_k > 0 && o.top_k < V) {
        auto kth = std::get<0>(z.topk(o.top_k, -1)).narrow(-1, o.top_k - 1, 1);  // [N, 1]
        z = z.masked_fill(z < kth, -inf);
      }
      if (o.top_p < 1.0) {
        auto [sorted, order] = z.sort(-1, /*descending=*/true);  // [N, V]
        auto p = torch::softmax(sorted, -1);
        auto mass_before = p.cumsum(-1) - p;  // probability of the more likely tokens
        auto drop_sorted = mass_before >= o.top_p;  // the top token is always kept (mass_before 0)
        auto drop = torch::zeros_like(drop_sorted).scatter(-1, order, drop_sorted);
        z = z.masked_fill(drop, -inf);
      }
      if (o.min_p > 0.0) {
        auto p = torch::softmax(z, -1);
        auto top = std::get<0>(p.max(-1, /*keepdim=*/true));  // [N, 1]
        z = z.masked_fill(p < top * o.min_p, -inf);
      }
      probs = torch::softmax(z, -1);
    }
    tokens = inverse_cdf(probs, uniforms);  // [N]
  }
  auto chosen = (scaled.gather(-1, tokens.unsqueeze(-1)) - log_total).squeeze(-1);  // [N]
  return {tokens, chosen};
}

namespace {

// splitmix64's finaliser: a bijective 64-bit mix (host side, for stream words).
uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// (a * c) mod 2^32 for a in [0, 2^32) and a 32-bit constant c, split in 16-bit halves so that no
// int64 product overflows: lo * c < 2^48, hi * c < 2^48.
torch::Tensor mul32(const torch::Tensor& a, int64_t c) {
  constexpr int64_t kLow16 = 0xFFFF, kLow32 = 0xFFFFFFFF;
  auto lo = a.bitwise_and(kLow16);
  auto hi = a.__rshift__(16);
  return (lo * c + (hi * c).bitwise_and(kLow16).__lshift__(16)).bitwise_and(kLow32);
}

// murmur3's fmix32 on int64 tensors holding 32-bit values.
torch::Tensor fmix32(torch::Tensor h) {
  h = h.bitwise_xor(h.__rshift__(16));
  h = mul32(h, int64_t{0x85ebca6b});
  h = h.bitwise_xor(h.__rshift__(13));
  h = mul32(h, int64_t{0xc2b2ae35});
  return h.bitwise_xor(h.__rshift__(16));
}

}  // namespace

SampleStream sample_stream(uint64_t seed, int64_t prompt, int64_t sample) {
  const uint64_t z = mix64(mix64(mix64(seed) ^ static_cast<uint64_t>(prompt)) ^ static_cast<uint64_t>(sample));
  return {static_cast<int64_t>(z & 0xFFFFFFFFull), static_cast<int64_t>(z >> 32)};
}

torch::Tensor stream_tensor(const std::vector<SampleStream>& streams, torch::Device device) {
  std::vector<int64_t> flat;
  flat.reserve(streams.size() * 2);
  for (const auto& s : streams) {
    flat.push_back(s.lo);
    flat.push_back(s.hi);
  }
  return torch::tensor(flat, torch::kInt64).view({static_cast<int64_t>(streams.size()), 2}).to(device);
}

torch::Tensor sampling_uniforms(const torch::Tensor& streams, const torch::Tensor& counters) {
  auto lo = streams.select(1, 0), hi = streams.select(1, 1);               // [N]
  auto c = counters.to(torch::kInt64).bitwise_and(static_cast<int64_t>(0xFFFFFFFFll));  // [N]
  auto h1 = fmix32(lo.bitwise_xor(mul32(c, int64_t{0x9e3779b1})));                // [N] 32 bits
  auto h2 = fmix32(h1.bitwise_xor(hi).bitwise_xor(mul32(c + 1, int64_t{0x7feb352d})));  // [N] 32 bits
  // 27 bits of h1 and 26 of h2: a 53-bit integer, exact in float64.
  auto bits = h1.__rshift__(5).__lshift__(26) + h2.__rshift__(6);          // [N] in [0, 2^53)
  return bits.to(torch::kFloat64) * (1.0 / 9007199254740992.0);
}

torch::Generator make_generator(uint64_t seed, torch::Device device) {
  auto gen = at::globalContext().defaultGenerator(device).clone();
  gen.set_current_seed(seed);
  return gen;
}

}  // namespace r1
