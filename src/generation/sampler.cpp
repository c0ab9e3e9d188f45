#include "r1/generation/sampler.h"

#include <fmt/format.h>

#include <limits>

#include "r1/core/error.h"

namespace r1 {

void check_sampling_options(const SamplingOptions& o) {
  if (!(o.temperature >= 0)) throw InputError(fmt::format("temperature is {}; must be >= 0", o.temperature));
  if (!(o.top_p > 0 && o.top_p <= 1)) throw InputError(fmt::format("top_p is {}; must be in (0, 1]", o.top_p));
  if (!(o.min_p >= 0 && o.min_p < 1)) throw InputError(fmt::format("min_p is {}; must be in [0, 1)", o.min_p));
  if (o.top_k < 0) throw InputError(fmt::format("top_k is {}; must be >= 0 (0 = off)", o.top_k));
  if (!(o.repetition_penalty > 0))
    throw InputError(fmt::format("repetition_penalty is {}; must be > 0 (1 = off)", o.repetition_penalty));
}

SampledTokens sample_tokens(const torch::Tensor& logits, const SamplingOptions& o, torch::Generator& gen,
                            const torch::Tensor& seen) {
  const double inf = std::numeric_limits<double>::infinity();
  auto raw = logits.to(torch::kFloat32);  // [N, V]
  const bool greedy = o.temperature == 0;
  const double t = greedy ? 1.0 : o.temperature;
  auto scaled = raw / t;
  auto log_probs = torch::log_softmax(scaled, -1);  // [N, V]
  auto z = raw;
  if (o.repetition_penalty != 1.0 && seen.defined()) {
    auto penalized = torch::where(raw < 0, raw * o.repetition_penalty, raw / o.repetition_penalty);
    z = torch::where(seen, penalized, raw);
  }
  torch::Tensor tokens;
  if (greedy) {
    tokens = z.argmax(-1);  // [N]
  } else {
    z = z / t;
    const int64_t V = z.size(-1);
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
    tokens = torch::multinomial(torch::softmax(z, -1), 1, /*replacement=*/false, gen).squeeze(-1);  // [N]
  }
  auto chosen = log_probs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1);  // [N]
  return {tokens, chosen};
}

torch::Generator make_generator(uint64_t seed, torch::Device device) {
  auto gen = at::globalContext().defaultGenerator(device).clone();
  gen.set_current_seed(seed);
  return gen;
}

}  // namespace r1
