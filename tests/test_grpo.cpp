// GRPO math: advantages, KL estimators, the clipped loss and its aggregations, chunked log-probs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "r1/model/logprobs.h"
#include "r1/rl/grpo.h"

namespace r1 {
namespace {

torch::Tensor t(std::vector<float> v) { return torch::tensor(v); }

TEST(Advantages, GroupBatchAndNone) {
  // Two groups of G=4: [1,0,0,1] and [2,2,2,2].
  auto r = t({1, 0, 0, 1, 2, 2, 2, 2});
  // group: mean 0.5; unbiased std = sqrt(4 * 0.25 / 3) = 0.577350; 0.5 / (0.577350 + 1e-4) = 0.865876.
  // The second group has std 0, so its advantages are 0 / 1e-4 = 0.
  auto a = compute_advantages(r, 4, ScaleRewards::Group);
  EXPECT_NEAR(a[0].item<float>(), 0.865876f, 1e-5);
  EXPECT_NEAR(a[1].item<float>(), -0.865876f, 1e-5);
  EXPECT_FLOAT_EQ(a[5].item<float>(), 0.f);
  // batch: mean of all 1.25; squared deviations .0625+1.5625+1.5625+.0625+4*.5625 = 5.5; /7 = 0.785714;
  // std 0.886405; 0.5 / (0.886405 + 1e-4) = 0.564015.
  auto b = compute_advantages(r, 4, ScaleRewards::Batch);
  EXPECT_NEAR(b[0].item<float>(), 0.564015f, 1e-5);
  EXPECT_NEAR(b[2].item<float>(), -0.564015f, 1e-5);
  // none (Dr. GRPO): r - group mean.
  auto n = compute_advantages(r, 4, ScaleRewards::None);
  EXPECT_FLOAT_EQ(n[0].item<float>(), 0.5f);
  EXPECT_FLOAT_EQ(n[1].item<float>(), -0.5f);
  EXPECT_FLOAT_EQ(n[7].item<float>(), 0.f);
  auto s = group_std(r, 4);
  EXPECT_NEAR(s[0].item<double>(), 0.577350, 1e-6);
  EXPECT_EQ(s[1].item<double>(), 0.0);
}

TEST(Kl, Estimators) {
  // logp = -1, ref = -2: log(ref/pi) = -1.
  auto logp = t({-1}), ref = t({-2});
  EXPECT_FLOAT_EQ(kl_estimate(logp, ref, KlEstimator::K1).item<float>(), 1.f);                 // -(-1)
  EXPECT_FLOAT_EQ(kl_estimate(logp, ref, KlEstimator::K2).item<float>(), 0.5f);                // (-1)^2 / 2
  EXPECT_NEAR(kl_estimate(logp, ref, KlEstimator::K3).item<float>(), 0.367879f, 1e-6);         // e^-1 + 1 - 1
  // Equal log-probs: every estimator is 0.
  for (auto k : {KlEstimator::K1, KlEstimator::K2, KlEstimator::K3}) EXPECT_FLOAT_EQ(kl_estimate(ref, ref, k).item<float>(), 0.f);
}

GrpoConfig grpo_cfg(LossType loss_type) {
  GrpoConfig c;
  c.loss_type = loss_type;
  c.epsilon = 0.2;
  c.epsilon_high = 0.28;
  return c;
}

TEST(PolicyLoss, ClippingByHand) {
  // One sequence, two tokens, A = +1. Ratios 1.5 and 1.0.
  // Token 1: min(1.5 * 1, clip(1.5, 0.8, 1.28) * 1) = 1.28 -> loss -1.28 (clipped high).
  // Token 2: ratio 1 -> loss -1.  dapo over 2 tokens: (-1.28 - 1) / 2 = -1.14.
  auto old = t({-1.0f, -2.0f}).unsqueeze(0);
  auto logp = (old + t({std::log(1.5f), 0.f}).unsqueeze(0)).set_requires_grad(true);
  LossNormalizer norm{LossType::Dapo, 1, 2, 1, 2};
  auto out = policy_loss({logp, old, {}, t({1}), torch::ones({1, 2})}, grpo_cfg(LossType::Dapo), norm);
  EXPECT_NEAR(out.loss.item<float>(), -1.14f, 1e-6);
  EXPECT_NEAR(out.policy_loss.item<double>(), -2.28, 1e-6);
  EXPECT_EQ(out.clipped_high.item<double>(), 1);
  EXPECT_EQ(out.clipped_low.item<double>(), 0);
  out.loss.backward();
  // The clipped token has no gradient; the other: d(-r A / 2)/dlogp = -r/2 = -0.5.
  EXPECT_FLOAT_EQ(logp.grad()[0][0].item<float>(), 0.f);
  EXPECT_FLOAT_EQ(logp.grad()[0][1].item<float>(), -0.5f);

  // A = -1 with ratio 0.5: min(-0.5, clip(0.5) * -1 = -0.8) = -0.8 -> loss 0.8, clipped low.
  auto old2 = t({-1.0f}).unsqueeze(0);
  auto logp2 = old2 + std::log(0.5f);
  LossNormalizer norm2{LossType::Dapo, 1, 1, 1, 1};
  auto out2 = policy_loss({logp2, old2, {}, t({-1}), torch::ones({1, 1})}, grpo_cfg(LossType::Dapo), norm2);
  EXPECT_NEAR(out2.loss.item<float>(), 0.8f, 1e-6);
  EXPECT_EQ(out2.clipped_low.item<double>(), 1);
}

TEST(PolicyLoss, AggregationByLossType) {
  // Two sequences of lengths 1 and 3, ratio 1, advantages 1 and 2: per-token losses
  // [-1 | pad pad] and [-2, -2, -2]; 4 tokens, total -7.
  auto mask = torch::tensor({{1.f, 0.f, 0.f}, {1.f, 1.f, 1.f}});
  auto logp = torch::zeros({2, 3});
  auto adv = t({1, 2});
  struct Case {
    LossType type;
    double expected;
  } cases[] = {
      {LossType::Grpo, -1.5},         // mean per sequence (-1, -2), then over sequences
      {LossType::Bnpo, -1.75},        // -7 / 4 tokens of the micro-batch
      {LossType::DrGrpo, -7.0 / 6},  // -7 / (2 sequences * max_new_tokens 3)
      {LossType::Dapo, -1.75},        // -7 / 4 tokens of the step
  };
  for (const auto& c : cases) {
    LossNormalizer norm{c.type, 2, 4, 1, 3};
    auto out = policy_loss({logp, logp, {}, adv, mask}, grpo_cfg(c.type), norm);
    EXPECT_NEAR(out.loss.item<double>(), c.expected, 1e-6) << option_name(c.type);
    // Split into two micro-batches of one sequence: the sum is the same for every
    // type but bnpo, whose per-micro-batch means are (-1 + -2) / 2 = -1.5.
    LossNormalizer split{c.type, 2, 4, 2, 3};
    double sum = 0;
    for (int i = 0; i < 2; ++i) {
      auto s = torch::indexing::Slice(i, i + 1);
      sum += policy_loss({logp.index({s}), logp.index({s}), {}, adv.index({s}), mask.index({s})}, grpo_cfg(c.type),
                         split)
                 .loss.item<double>();
    }
    EXPECT_NEAR(sum, c.type == LossType::Bnpo ? -1.5 : c.expected, 1e-6) << option_name(c.type);
  }
}

TEST(PolicyLoss, KlTermAddsBetaTimesEstimate) {
  // ratio 1, A = 0, logp = -1, ref = -2: k1 = 1 per token; beta 0.1 -> loss 0.1 (dapo mean).
  auto cfg = grpo_cfg(LossType::Dapo);
  cfg.beta = 0.1;
  cfg.kl_estimator = KlEstimator::K1;
  auto logp = torch::full({1, 2}, -1.f);
  LossNormalizer norm{LossType::Dapo, 1, 2, 1, 2};
  auto out = policy_loss({logp, logp, torch::full({1, 2}, -2.f), t({0}), torch::ones({1, 2})}, cfg, norm);
  EXPECT_NEAR(out.loss.item<float>(), 0.1f, 1e-6);
  EXPECT_NEAR(out.kl.item<double>(), 2.0, 1e-6);
}

// Both ways of the backward: logits kept from the forward (they fit the budget), and recomputed
// block by block (budget 0).
TEST(ChunkedLogProbs, MatchesFullLogSoftmaxValuesAndGradients) {
  for (int64_t keep_bytes : {int64_t{-1}, int64_t{0}}) {
    torch::manual_seed(0);
    auto opts = torch::TensorOptions().dtype(torch::kFloat64);
    auto hidden = torch::randn({3, 5, 8}, opts).requires_grad_(true);  // [N, T, D]
    auto weight = torch::randn({11, 8}, opts).requires_grad_(true);    // [V, D]
    auto targets = torch::randint(0, 11, {3, 5}, torch::kLong);
    const double temperature = 0.7;
    // 15 rows in chunks of 4, 11 vocabulary entries in blocks of 3: the last chunk and block are partial.
    auto out = chunked_token_logprobs(hidden, weight, targets, temperature, /*with_entropy=*/true, /*chunk_rows=*/4,
                                      /*vocab_block=*/3, keep_bytes);
    auto upstream = torch::randn({3, 5}, opts);
    (out.logp * upstream).sum().backward();
    auto gh = hidden.grad().clone(), gw = weight.grad().clone();
    hidden.mutable_grad().zero_();
    weight.mutable_grad().zero_();

    auto lsm = torch::log_softmax(torch::matmul(hidden, weight.t()) / temperature, -1);  // [N, T, V]
    auto ref = lsm.gather(2, targets.unsqueeze(2)).squeeze(2);
    (ref * upstream).sum().backward();
    EXPECT_TRUE(torch::allclose(out.logp.to(torch::kFloat64), ref, 1e-6, 1e-6)) << keep_bytes;
    EXPECT_TRUE(torch::allclose(gh, hidden.grad(), 1e-6, 1e-6)) << keep_bytes;
    EXPECT_TRUE(torch::allclose(gw, weight.grad(), 1e-6, 1e-6)) << keep_bytes;
    auto entropy = -(lsm.exp() * lsm).sum(-1);
    EXPECT_TRUE(torch::allclose(out.entropy.to(torch::kFloat64), entropy.detach(), 1e-5, 1e-5)) << keep_bytes;
  }
}

TEST(PolicyLoss, GradientMatchesFiniteDifferencesOnTinyModel) {
  // A tiny "model": hidden = tanh(x W1), log-probs from the chunked head, GRPO loss.
  torch::manual_seed(1);
  auto opts = torch::TensorOptions().dtype(torch::kFloat64);
  auto x = torch::randn({2, 3, 4}, opts);
  auto w1 = torch::randn({4, 6}, opts).requires_grad_(true);
  auto head = torch::randn({7, 6}, opts);
  auto targets = torch::randint(0, 7, {2, 3}, torch::kLong);
  auto mask = torch::tensor({{1., 1., 0.}, {1., 1., 1.}}, opts);
  auto adv = torch::tensor({0.7, -1.3}, opts);
  auto old = torch::full({2, 3}, -2.0, opts);
  auto cfg = grpo_cfg(LossType::Grpo);
  cfg.beta = 0.05;
  auto ref = torch::full({2, 3}, -1.5, opts);
  LossNormalizer norm{LossType::Grpo, 2, 5, 1, 3};
  auto loss_at = [&](const torch::Tensor& w) {
    auto lp = chunked_token_logprobs(torch::tanh(torch::matmul(x, w)), head, targets, 1.0, /*with_entropy=*/false, 2).logp;
    return policy_loss({lp, old, ref, adv, mask}, cfg, norm).loss;
  };
  loss_at(w1).backward();
  auto grad = w1.grad();
  const double h = 1e-6;
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 6; ++j) {
      auto wp = w1.detach().clone(), wm = w1.detach().clone();
      wp[i][j] += h;
      wm[i][j] -= h;
      double fd = (loss_at(wp).item<double>() - loss_at(wm).item<double>()) / (2 * h);
      EXPECT_NEAR(grad[i][j].item<double>(), fd, 1e-6) << i << "," << j;
    }
  }
}

}  // namespace
}  // namespace r1
