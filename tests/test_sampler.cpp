// Sampling: greedy, temperature log-probs, top-k/top-p/min-p cuts, repetition penalty, seeding.
#include <gtest/gtest.h>

#include <cmath>

#include "r1/core/error.h"
#include "r1/eval/evaluate.h"
#include "r1/generation/generate.h"
#include "r1/generation/sampler.h"

namespace r1 {
namespace {

// Logits log(0.5), log(0.3), log(0.2): probabilities 0.5, 0.3, 0.2 at temperature 1.
torch::Tensor three_way(int64_t rows) {
  return torch::tensor({std::log(0.5f), std::log(0.3f), std::log(0.2f)}).repeat({rows, 1});
}

// Uniforms for `rows` draws: row n uses stream (seed, n, 0) at token position 0.
torch::Tensor uniforms(uint64_t seed, int64_t rows) {
  std::vector<SampleStream> streams;
  for (int64_t n = 0; n < rows; ++n) streams.push_back(sample_stream(seed, n, 0));
  return sampling_uniforms(stream_tensor(streams, torch::kCPU), torch::zeros({rows}, torch::kInt64));
}

std::vector<int64_t> counts(const torch::Tensor& tokens, int64_t V) {
  auto c = torch::bincount(tokens, {}, V);
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + V);
}

TEST(Sampler, GreedyPicksTheArgmaxAndReportsTheTemperatureOneLogprob) {
  const uint64_t seed = 0;
  SamplingOptions o;
  o.temperature = 0;
  auto s = sample_tokens(torch::tensor({{0.0f, 2.0f, 1.0f}, {5.0f, -1.0f, 4.0f}}), o, uniforms(seed, 2));
  EXPECT_EQ(s.tokens[0].item<int64_t>(), 1);
  EXPECT_EQ(s.tokens[1].item<int64_t>(), 0);
  // log softmax([0, 2, 1])[1] = 2 - log(1 + e^2 + e) = 2 - 2.4076 = -0.4076
  EXPECT_NEAR(s.logprobs[0].item<float>(), 2 - std::log(1 + std::exp(2.0) + std::exp(1.0)), 1e-6);
}

TEST(Sampler, LogprobIsUnderTheTemperatureScaledDistributionBeforeFilters) {
  const uint64_t seed = 1;
  SamplingOptions o;
  o.temperature = 2.0;
  o.top_k = 1;  // only token 1 can be drawn, but its log-prob ignores the cut
  auto s = sample_tokens(torch::tensor({{0.0f, 2.0f, 1.0f}}), o, uniforms(seed, 1));
  EXPECT_EQ(s.tokens[0].item<int64_t>(), 1);
  // logits / 2 = [0, 1, 0.5]: log p(1) = 1 - log(1 + e + e^0.5) = 1 - 1.6652 = -0.6652
  EXPECT_NEAR(s.logprobs[0].item<float>(), 1 - std::log(1 + std::exp(1.0) + std::exp(0.5)), 1e-6);
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  const uint64_t seed = 2;
  SamplingOptions o;
  o.top_p = 0.6;  // mass before token 1 is 0.5 < 0.6 (kept); before token 2 0.8 (dropped)
  auto c = counts(sample_tokens(three_way(4000), o, uniforms(seed + 4000, 4000)).tokens, 3);
  EXPECT_EQ(c[2], 0);
  EXPECT_NEAR(c[1] / 4000.0, 0.3 / 0.8, 0.04);  // renormalised: 0.375
  o.top_p = 0.5;  // mass before token 1 is 0.5: dropped
  c = counts(sample_tokens(three_way(500), o, uniforms(seed + 500, 500)).tokens, 3);
  EXPECT_EQ(c[0], 500);
}

TEST(Sampler, MinPAndTopKCut) {
  const uint64_t seed = 3;
  SamplingOptions o;
  o.min_p = 0.5;  // threshold 0.5 * 0.5 = 0.25: 0.3 kept, 0.2 dropped
  auto c = counts(sample_tokens(three_way(4000), o, uniforms(seed + 4000, 4000)).tokens, 3);
  EXPECT_EQ(c[2], 0);
  EXPECT_NEAR(c[1] / 4000.0, 0.3 / 0.8, 0.04);
  SamplingOptions k;
  k.top_k = 2;
  c = counts(sample_tokens(three_way(4000), k, uniforms(seed + 4000, 4000)).tokens, 3);
  EXPECT_EQ(c[2], 0);
  EXPECT_GT(c[1], 1000);
  SamplingOptions plain;
  c = counts(sample_tokens(three_way(4000), plain, uniforms(seed + 4000, 4000)).tokens, 3);
  EXPECT_NEAR(c[2] / 4000.0, 0.2, 0.03);
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  const uint64_t seed = 4;
  SamplingOptions o;
  o.temperature = 0;
  o.repetition_penalty = 2.0;
  auto logits = torch::tensor({{2.0f, 1.5f, -1.0f}, {-0.5f, -0.8f, -3.0f}});
  auto seen = torch::tensor({{true, false, false}, {true, false, false}});
  // Row 0: 2 / 2 = 1 < 1.5, so token 1. Row 1: -0.5 * 2 = -1 < -0.8, so token 1.
  auto s = sample_tokens(logits, o, uniforms(seed, 2), seen);
  EXPECT_EQ(s.tokens[0].item<int64_t>(), 1);
  EXPECT_EQ(s.tokens[1].item<int64_t>(), 1);
  EXPECT_NEAR(s.logprobs[0].item<float>(), torch::log_softmax(logits[0], 0)[1].item<float>(), 1e-6);
}

TEST(Sampler, SameSeedSameDrawsDifferentSeedDifferent) {
  auto logits = torch::randn({64, 50}, torch::TensorOptions().dtype(torch::kFloat32));
  SamplingOptions o;
  auto a = sample_tokens(logits, o, uniforms(7, 64)).tokens, b = sample_tokens(logits, o, uniforms(7, 64)).tokens;
  auto c = sample_tokens(logits, o, uniforms(8, 64)).tokens;
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
}

// Inverse-CDF draws by hand: probabilities 0.5, 0.3, 0.2 have cumulative sums 0.5, 0.8, 1.0, so
// u = 0.49 -> token 0, u = 0.51 -> token 1 (the first sum above u), 0.79 -> 1, 0.81 -> 2, 0.999 -> 2
// (values off the boundaries, where float32 rounding of the sums decides).
// With top_k = 2 the sums are 0.625, 1.0 (renormalised): u = 0.62 -> 0, 0.63 -> 1, 0.999 -> 1.
TEST(Sampler, InverseCdfPicksTheFirstTokenWhoseCumulativeProbabilityExceedsU) {
  SamplingOptions o;
  auto u = torch::tensor({0.49, 0.51, 0.79, 0.81, 0.999}, torch::kFloat64);
  auto s = sample_tokens(three_way(5), o, u);
  EXPECT_EQ(std::vector<int64_t>(s.tokens.data_ptr<int64_t>(), s.tokens.data_ptr<int64_t>() + 5),
            (std::vector<int64_t>{0, 1, 1, 2, 2}));
  o.top_k = 2;
  s = sample_tokens(three_way(3), o, torch::tensor({0.62, 0.63, 0.999}, torch::kFloat64));
  EXPECT_EQ(std::vector<int64_t>(s.tokens.data_ptr<int64_t>(), s.tokens.data_ptr<int64_t>() + 3),
            (std::vector<int64_t>{0, 1, 1}));
}

// The two-level search (blocks of 128) draws what a single float64 running sum over the whole
// vocabulary draws, with vocabularies that are and are not a multiple of 128.
TEST(Sampler, BlockedInverseCdfEqualsAFullRunningSum) {
  torch::manual_seed(1);
  for (int64_t V : {300, 1000, 1024}) {  // one level; two levels with and without padding
    auto logits = torch::randn({1000, V}) * 3;
    auto u = uniforms(V, 1000);
    SamplingOptions o;
    auto s = sample_tokens(logits, o, u);
    auto cdf = torch::softmax(logits, -1).to(torch::kFloat64).cumsum(-1);  // [1000, V]
    auto want = torch::searchsorted(cdf, (u * cdf.select(1, V - 1)).unsqueeze(1), false, true).squeeze(1).clamp_max(V - 1);
    EXPECT_LE(torch::ne(s.tokens, want).sum().item<int64_t>(), 1) << "V = " << V;  // a draw within rounding of a boundary may differ
    EXPECT_GT(std::get<0>(torch::_unique(s.tokens)).numel(), V / 4) << "draws spread over the vocabulary";
  }
}

// The counter-based uniforms: in [0, 1), mean 1/2 and each tenth of the range about equally often
// over 100k draws (binomial sd of a bin count: sqrt(1e5 * 0.1 * 0.9) = 95), a function of
// (stream, counter) only, and different for neighbouring streams and counters.
TEST(Sampler, StreamUniformsAreUniformAndDependOnlyOnStreamAndCounter) {
  const int64_t n = 100000;
  std::vector<SampleStream> streams;
  for (int64_t i = 0; i < n; ++i) streams.push_back(sample_stream(9, i / 100, i % 100));
  auto keys = stream_tensor(streams, torch::kCPU);
  auto u = sampling_uniforms(keys, torch::arange(n, torch::kInt64) % 7);  // [n]
  EXPECT_GE(u.min().item<double>(), 0.0);
  EXPECT_LT(u.max().item<double>(), 1.0);
  EXPECT_NEAR(u.mean().item<double>(), 0.5, 0.005);
  auto bins = torch::bincount((u * 10).to(torch::kInt64), {}, 10);
  for (int b = 0; b < 10; ++b) EXPECT_NEAR(bins[b].item<int64_t>(), n / 10, 500) << "bin " << b;
  // The same (stream, counter) pairs in another order give the same values.
  auto perm = torch::randperm(n, torch::kInt64);
  auto again = sampling_uniforms(keys.index_select(0, perm), (torch::arange(n, torch::kInt64) % 7).index_select(0, perm));
  EXPECT_TRUE(torch::equal(again, u.index_select(0, perm)));
  auto next = sampling_uniforms(keys, torch::arange(n, torch::kInt64) % 7 + 1);
  EXPECT_LT(torch::eq(next, u).sum().item<int64_t>(), 2);
  EXPECT_NE(sample_stream(9, 0, 1).lo, sample_stream(9, 1, 0).lo);
}

TEST(Sampler, OutOfRangeOptionsAreInputErrors) {
  auto bad = [](auto set) {
    SamplingOptions o;
    set(o);
    EXPECT_THROW(check_sampling_options(o), InputError);
  };
  bad([](SamplingOptions& o) { o.temperature = -1; });
  bad([](SamplingOptions& o) { o.top_p = 0; });
  bad([](SamplingOptions& o) { o.top_p = 1.5; });
  bad([](SamplingOptions& o) { o.min_p = 1; });
  bad([](SamplingOptions& o) { o.top_k = -3; });
  bad([](SamplingOptions& o) { o.repetition_penalty = 0; });
  EXPECT_NO_THROW(check_sampling_options(SamplingOptions{}));
}

// The config's rollout settings reach the rollout and the evaluation through one conversion: every
// sampling setting (top_k, min_p and repetition_penalty included), greedy when eval.num_samples is 1.
// One range check serves the config ("rollout.top_p: ...") and the engine ("top_p ...").
TEST(Sampler, RolloutSettingsReachRolloutAndEvalAlike) {
  Config c;
  c.rollout.temperature = 0.7;
  c.rollout.top_p = 0.9;
  c.rollout.top_k = 20;
  c.rollout.min_p = 0.05;
  c.rollout.repetition_penalty = 1.1;
  c.rollout.max_new_tokens = 33;
  c.rollout.stop = {"</answer>", "\n\n"};
  c.eval.num_samples = 4;
  const auto same = [](const SamplingOptions& a, const SamplingOptions& b) {
    return a.temperature == b.temperature && a.top_p == b.top_p && a.top_k == b.top_k && a.min_p == b.min_p &&
           a.repetition_penalty == b.repetition_penalty;
  };
  const auto rollout = rollout_generate_options(c.rollout);
  EXPECT_TRUE(same(rollout.sampling, c.rollout.sampling()));
  EXPECT_EQ(rollout.sampling.top_k, 20);
  EXPECT_EQ(rollout.max_new_tokens, 33);
  EXPECT_EQ(rollout.stop, c.rollout.stop);
  EXPECT_EQ(rollout.group_size, c.rollout.group_size);
  const auto eval = eval_options(c).generate;
  EXPECT_EQ(eval.sampling.min_p, rollout.sampling.min_p);
  EXPECT_EQ(eval.sampling.repetition_penalty, rollout.sampling.repetition_penalty);
  EXPECT_EQ(eval.group_size, 4);
  EXPECT_EQ(eval.stop, c.rollout.stop);
  EXPECT_EQ(eval.sampling.temperature, 1.0);  // eval.temperature -1: 1.0 for several samples
  EXPECT_EQ(eval.sampling.top_p, 1.0);        // eval.top_p
  EXPECT_EQ(eval.sampling.top_k, 20);         // the rollout's other settings
  c.eval.num_samples = 1;
  const auto greedy = eval_options(c).generate.sampling;
  EXPECT_EQ(greedy.temperature, 0.0);
  EXPECT_EQ(greedy.min_p, 0.05);
  // R1's protocol: 0.6, top-p 0.95, several samples; the summary records it.
  c.eval.num_samples = 8;
  c.eval.temperature = 0.6;
  c.eval.top_p = 0.95;
  const auto r1 = eval_options(c).generate;
  EXPECT_EQ(r1.sampling.temperature, 0.6);
  EXPECT_EQ(r1.sampling.top_p, 0.95);
  const auto summary = summarize({}, r1).to_json();
  EXPECT_EQ(summary["k"], 8);
  EXPECT_EQ(summary["temperature"], 0.6);
  EXPECT_EQ(summary["top_p"], 0.95);

  SamplingOptions bad;
  bad.top_p = 0;
  bad.min_p = 1;
  const auto problems = sampling_range_problems(bad);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].first, "top_p");
  EXPECT_EQ(problems[0].second, "is 0; must be in (0, 1]");
  EXPECT_EQ(problems[1].first, "min_p");
  try {
    check_sampling_options(bad);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "top_p is 0; must be in (0, 1]");
  }
  SamplingOptions nan;
  nan.temperature = std::nan("");
  EXPECT_EQ(sampling_range_problems(nan).size(), 1u);
}

}  // namespace
}  // namespace r1
