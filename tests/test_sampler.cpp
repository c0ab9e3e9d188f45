// Sampling: greedy, temperature log-probs, top-k/top-p/min-p cuts, repetition penalty, seeding.
#include <gtest/gtest.h>

#include <cmath>

#include "r1/core/error.h"
#include "r1/generation/sampler.h"

namespace r1 {
namespace {

// Logits log(0.5), log(0.3), log(0.2): probabilities 0.5, 0.3, 0.2 at temperature 1.
torch::Tensor three_way(int64_t rows) {
  return torch::tensor({std::log(0.5f), std::log(0.3f), std::log(0.2f)}).repeat({rows, 1});
}

std::vector<int64_t> counts(const torch::Tensor& tokens, int64_t V) {
  auto c = torch::bincount(tokens, {}, V);
  return std::vector<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + V);
}

TEST(Sampler, GreedyPicksTheArgmaxAndReportsTheTemperatureOneLogprob) {
  auto gen = make_generator(0, torch::kCPU);
  SamplingOptions o;
  o.temperature = 0;
  auto s = sample_tokens(torch::tensor({{0.0f, 2.0f, 1.0f}, {5.0f, -1.0f, 4.0f}}), o, gen);
  EXPECT_EQ(s.tokens[0].item<int64_t>(), 1);
  EXPECT_EQ(s.tokens[1].item<int64_t>(), 0);
  // log softmax([0, 2, 1])[1] = 2 - log(1 + e^2 + e) = 2 - 2.4076 = -0.4076
  EXPECT_NEAR(s.logprobs[0].item<float>(), 2 - std::log(1 + std::exp(2.0) + std::exp(1.0)), 1e-6);
}

TEST(Sampler, LogprobIsUnderTheTemperatureScaledDistributionBeforeFilters) {
  auto gen = make_generator(1, torch::kCPU);
  SamplingOptions o;
  o.temperature = 2.0;
  o.top_k = 1;  // only token 1 can be drawn, but its log-prob ignores the cut
  auto s = sample_tokens(torch::tensor({{0.0f, 2.0f, 1.0f}}), o, gen);
  EXPECT_EQ(s.tokens[0].item<int64_t>(), 1);
  // logits / 2 = [0, 1, 0.5]: log p(1) = 1 - log(1 + e + e^0.5) = 1 - 1.6652 = -0.6652
  EXPECT_NEAR(s.logprobs[0].item<float>(), 1 - std::log(1 + std::exp(1.0) + std::exp(0.5)), 1e-6);
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  auto gen = make_generator(2, torch::kCPU);
  SamplingOptions o;
  o.top_p = 0.6;  // mass before token 1 is 0.5 < 0.6 (kept); before token 2 0.8 (dropped)
  auto c = counts(sample_tokens(three_way(4000), o, gen).tokens, 3);
  EXPECT_EQ(c[2], 0);
  EXPECT_NEAR(c[1] / 4000.0, 0.3 / 0.8, 0.04);  // renormalised: 0.375
  o.top_p = 0.5;  // mass before token 1 is 0.5: dropped
  c = counts(sample_tokens(three_way(500), o, gen).tokens, 3);
  EXPECT_EQ(c[0], 500);
}

TEST(Sampler, MinPAndTopKCut) {
  auto gen = make_generator(3, torch::kCPU);
  SamplingOptions o;
  o.min_p = 0.5;  // threshold 0.5 * 0.5 = 0.25: 0.3 kept, 0.2 dropped
  auto c = counts(sample_tokens(three_way(4000), o, gen).tokens, 3);
  EXPECT_EQ(c[2], 0);
  EXPECT_NEAR(c[1] / 4000.0, 0.3 / 0.8, 0.04);
  SamplingOptions k;
  k.top_k = 2;
  c = counts(sample_tokens(three_way(4000), k, gen).tokens, 3);
  EXPECT_EQ(c[2], 0);
  EXPECT_GT(c[1], 1000);
  SamplingOptions plain;
  c = counts(sample_tokens(three_way(4000), plain, gen).tokens, 3);
  EXPECT_NEAR(c[2] / 4000.0, 0.2, 0.03);
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  auto gen = make_generator(4, torch::kCPU);
  SamplingOptions o;
  o.temperature = 0;
  o.repetition_penalty = 2.0;
  auto logits = torch::tensor({{2.0f, 1.5f, -1.0f}, {-0.5f, -0.8f, -3.0f}});
  auto seen = torch::tensor({{true, false, false}, {true, false, false}});
  // Row 0: 2 / 2 = 1 < 1.5, so token 1. Row 1: -0.5 * 2 = -1 < -0.8, so token 1.
  auto s = sample_tokens(logits, o, gen, seen);
  EXPECT_EQ(s.tokens[0].item<int64_t>(), 1);
  EXPECT_EQ(s.tokens[1].item<int64_t>(), 1);
  EXPECT_NEAR(s.logprobs[0].item<float>(), torch::log_softmax(logits[0], 0)[1].item<float>(), 1e-6);
}

TEST(Sampler, SameSeedSameDrawsDifferentSeedDifferent) {
  auto logits = torch::randn({64, 50}, torch::TensorOptions().dtype(torch::kFloat32));
  SamplingOptions o;
  auto g1 = make_generator(7, torch::kCPU), g2 = make_generator(7, torch::kCPU), g3 = make_generator(8, torch::kCPU);
  auto a = sample_tokens(logits, o, g1).tokens, b = sample_tokens(logits, o, g2).tokens;
  auto c = sample_tokens(logits, o, g3).tokens;
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_FALSE(torch::equal(a, c));
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

}  // namespace
}  // namespace r1
