// GRPO math: advantages, KL estimators, the clipped loss and its aggregations, chunked log-probs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>

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

// Autograd's gradient of loss_at at w [rows, cols] (float64, requires grad) against central
// differences in each entry.
void expect_weight_gradient_matches(const std::function<torch::Tensor(const torch::Tensor&)>& loss_at,
                                    const torch::Tensor& w) {
  loss_at(w).backward();
  auto grad = w.grad();
  const double h = 1e-6;
  for (int64_t i = 0; i < w.size(0); ++i) {
    for (int64_t j = 0; j < w.size(1); ++j) {
      auto wp = w.detach().clone(), wm = w.detach().clone();
      wp[i][j] += h;
      wm[i][j] -= h;
      double fd = (loss_at(wp).item<double>() - loss_at(wm).item<double>()) / (2 * h);
      EXPECT_NEAR(grad[i][j].item<double>(), fd, 1e-6) << i << "," << j;
    }
  }
}

// A tiny "model" in float64: hidden = tanh(x W1) [2, 3, 6], log-probs from a chunked head [7, 6];
// two completions of 2 and 3 tokens, advantages 0.7 and -1.3, old log-probs fixed at -2 (so the
// ratio moves with the weights).
struct TinyModel {
  torch::TensorOptions opts = torch::TensorOptions().dtype(torch::kFloat64);
  torch::Tensor x, w1, head, targets, mask, adv, old;
  explicit TinyModel(uint64_t seed) {
    torch::manual_seed(seed);
    x = torch::randn({2, 3, 4}, opts);
    w1 = torch::randn({4, 6}, opts).requires_grad_(true);
    head = torch::randn({7, 6}, opts);
    targets = torch::randint(0, 7, {2, 3}, torch::kLong);
    mask = torch::tensor({{1., 1., 0.}, {1., 1., 1.}}, opts);
    adv = torch::tensor({0.7, -1.3}, opts);
    old = torch::full({2, 3}, -2.0, opts);
  }
  TokenLogProbs logprobs(const torch::Tensor& w, bool with_entropy) const {
    return chunked_token_logprobs(torch::tanh(torch::matmul(x, w)), head, targets, 1.0, with_entropy, 2);
  }
};

TEST(PolicyLoss, GradientMatchesFiniteDifferencesOnTinyModel) {
  TinyModel m(1);
  auto cfg = grpo_cfg(LossType::Grpo);
  cfg.beta = 0.05;
  LossNormalizer norm{LossType::Grpo, 2, 5, 1, 3};
  auto ref = torch::full({2, 3}, -1.5, m.opts);
  auto loss_at = [&](const torch::Tensor& w) {
    auto lp = m.logprobs(w, /*with_entropy=*/false).logp;
    return policy_loss({lp, m.old, ref, m.adv, m.mask}, cfg, norm).loss;
  };
  expect_weight_gradient_matches(loss_at, m.w1);
}


// ---- algorithm options (GSPO, CISPO, SAPO, dual clip, delta, RLOO, REINFORCE++, entropy mask) ----

// One micro-batch of N completions over T tokens; dapo normalisation over `tokens` tokens.
struct Case {
  torch::Tensor logp, old, adv, mask, entropy;
  PolicyLossOutput run(const GrpoConfig& cfg) const {
    return policy_loss({logp, old, torch::Tensor(), adv, mask, entropy}, cfg,
                       {cfg.loss_type, logp.size(0), mask.sum().item<int64_t>(), 1, logp.size(1)});
  }
};

// Central differences of the loss in each logp entry against autograd (float64 inputs). With
// `shift_old` the old log-probs move with logp, so the ratio stays fixed: the check of CISPO's
// stop-gradient weight, whose loss depends on logp only through its log pi factor.
void expect_gradient_matches(const Case& c, const GrpoConfig& cfg, bool shift_old = false) {
  auto x = c.logp.to(torch::kFloat64).clone().requires_grad_(true);
  Case at = c;
  at.logp = x;
  at.old = c.old.to(torch::kFloat64);
  at.run(cfg).loss.backward();
  const double h = 1e-6;
  torch::NoGradGuard no_grad;
  for (int64_t i = 0; i < x.size(0); ++i) {
    for (int64_t j = 0; j < x.size(1); ++j) {
      if (c.mask[i][j].item<float>() == 0) continue;
      auto value = [&](double d) {
        Case moved = at;
        moved.logp = x.detach().clone();
        moved.logp[i][j] += d;
        if (shift_old) {
          moved.old = at.old.clone();
          moved.old[i][j] += d;
        }
        return moved.run(cfg).loss.item<double>();
      };
      const double fd = (value(h) - value(-h)) / (2 * h);
      EXPECT_NEAR(x.grad()[i][j].item<double>(), fd, 1e-6) << "token " << i << "," << j;
    }
  }
}

// GSPO: one ratio per completion, exp(mean log-ratio). Completion 0 has 2 tokens with log-ratios
// 0.1, 0.3 (mean 0.2, s = e^0.2 = 1.221403), completion 1 has 3: 0, -0.3, 0.6 (mean 0.1,
// s = 1.105171), A = [1, -1], the GSPO paper's clip range 3e-4 / 4e-4. Completion 0: A > 0 and
// s > 1.0004, so -min(1.221403, 1.0004) = -1.0004 per token; completion 1: A < 0,
// -min(-1.105171, -1.0004) = 1.105171 per token. dapo over 5 tokens:
// (2 x -1.0004 + 3 x 1.105171) / 5 = 0.262943. Every token of a completion shares its clip state.
TEST(AlgorithmOptions, SequenceLevelRatiosByHand) {
  Case c{t({0.1f, 0.3f, 0.f, 0.f, -0.3f, 0.6f}).view({2, 3}) - 1.0, torch::full({2, 3}, -1.0), t({1, -1}),
         t({1, 1, 0, 1, 1, 1}).view({2, 3}), {}};
  GrpoConfig cfg;
  cfg.importance_sampling_level = ImportanceLevel::Sequence;
  cfg.epsilon = 3e-4;
  cfg.epsilon_high = 4e-4;
  auto out = c.run(cfg);
  EXPECT_NEAR(out.loss.item<double>(), 0.262943, 1e-5);
  EXPECT_EQ(out.clipped_high.item<float>(), 2.f);  // both tokens of completion 0
  cfg.epsilon = 0.2;  // away from the clip's kinks for the gradient check
  cfg.epsilon_high = 0.28;
  expect_gradient_matches(c, cfg);
}

// CISPO: -sg(min(r, 1 + epsilon_high)) A log pi. Token 0: log pi = -1, old = -1.5, r = e^0.5 =
// 1.648721 > 1.28, so the weight is 1.28, A = 2: -1.28 x 2 x -1 = 2.56. Token 1: log pi = -2 = old,
// r = 1: -1 x 2 x -2 = 4. dapo over 2 tokens: (2.56 + 4) / 2 = 3.28; the weight carries no
// gradient: d/dlog pi = -w A / 2 = -1.28 and -1.
TEST(AlgorithmOptions, CispoByHandWithAStopGradientWeight) {
  Case c{t({-1, -2}).view({1, 2}), t({-1.5, -2}).view({1, 2}), t({2}), torch::ones({1, 2}), {}};
  GrpoConfig cfg;
  cfg.loss_type = LossType::Cispo;
  auto x = c.logp.clone().requires_grad_(true);
  Case at = c;
  at.logp = x;
  auto out = at.run(cfg);
  EXPECT_NEAR(out.loss.item<double>(), 3.28, 1e-5);
  out.loss.backward();
  EXPECT_NEAR(x.grad()[0][0].item<double>(), -1.28, 1e-6);
  EXPECT_NEAR(x.grad()[0][1].item<double>(), -1.0, 1e-6);
  EXPECT_EQ(out.clipped_high.item<float>(), 1.f);
  expect_gradient_matches(c, cfg, /*shift_old=*/true);
}

// SAPO: -(4 / tau) sigmoid(tau (r - 1)) A. r = e^0.1 = 1.105171 for both tokens. A = 1, tau_pos = 1:
// -4 sigmoid(0.105171) = -2.105074; A = -1, tau_neg = 1.05: (4 / 1.05) sigmoid(0.110430) = 2.009826.
// dapo over 2: (-2.105074 + 2.009826) / 2 = -0.047624.
TEST(AlgorithmOptions, SapoSoftGateByHand) {
  Case c{t({-0.9f, -0.9f}).view({2, 1}), t({-1, -1}).view({2, 1}), t({1, -1}), torch::ones({2, 1}), {}};
  GrpoConfig cfg;
  cfg.loss_type = LossType::Sapo;
  EXPECT_NEAR(c.run(cfg).loss.item<double>(), -0.047624, 1e-5);
  expect_gradient_matches(c, cfg);
}

// Dual clip and delta, A = -1 and r = e^1.5 = 4.481689 (clip range 0.8 .. 1.28): plain PPO gives
// -min(-4.481689, -1.28) = 4.481689; the dual clip with c = 3 caps it at -A c = 3; delta = 4 caps
// the unclipped ratio instead: -min(-4, -1.28) = 4. For A = +1 neither applies: -min(4.48, 1.28) = -1.28.
TEST(AlgorithmOptions, DualClipAndDeltaByHand) {
  Case neg{t({-1}).view({1, 1}), t({-2.5}).view({1, 1}), t({-1}), torch::ones({1, 1}), {}};
  Case pos = neg;
  pos.adv = t({1});
  GrpoConfig cfg;
  EXPECT_NEAR(neg.run(cfg).loss.item<double>(), 4.481689, 1e-5);
  GrpoConfig dual = cfg;
  dual.clip_ratio_c = 3;
  auto out = neg.run(dual);
  EXPECT_NEAR(out.loss.item<double>(), 3.0, 1e-6);
  EXPECT_EQ(out.clipped_dual.item<float>(), 1.f);
  EXPECT_NEAR(pos.run(dual).loss.item<double>(), -1.28, 1e-6);
  GrpoConfig delta = cfg;
  delta.delta = 4;
  EXPECT_NEAR(neg.run(delta).loss.item<double>(), 4.0, 1e-6);
  EXPECT_NEAR(pos.run(delta).loss.item<double>(), -1.28, 1e-6);
  // Gradients away from the kinks: r = e^0.5 with c = 1.5 (the cap binds, zero gradient) and without.
  Case mid{t({-1}).view({1, 1}), t({-1.5}).view({1, 1}), t({-1}), torch::ones({1, 1}), {}};
  dual.clip_ratio_c = 1.5;
  expect_gradient_matches(mid, dual);
  delta.delta = 1.5;
  expect_gradient_matches(mid, delta);
}

// RLOO and REINFORCE++ advantages.
TEST(AlgorithmOptions, RlooAndReinforcePlusPlusAdvantagesByHand) {
  // RLOO, group [1, 0, 0, 1]: 1 - mean(0, 0, 1) = 0.666667 = 4/3 x (1 - 0.5); scale none.
  auto r = t({1, 0, 0, 1});
  auto rloo = compute_advantages(r, 4, ScaleRewards::None, AdvantageEstimator::Rloo);
  EXPECT_NEAR(rloo[0].item<float>(), 2.0 / 3.0, 1e-6);
  EXPECT_NEAR(rloo[1].item<float>(), -2.0 / 3.0, 1e-6);
  // With group scaling: 0.666667 / (0.577350 + 1e-4) = 1.154501.
  EXPECT_NEAR(compute_advantages(r, 4, ScaleRewards::Group, AdvantageEstimator::Rloo)[0].item<float>(), 1.154501,
              1e-5);
  // REINFORCE++ baseline: groups [1, 0, 0, 0] and [1, 1, 1, 0] centred to [.75, -.25, -.25, -.25]
  // and [.25, .25, .25, -.75]; their mean is 0, their unbiased std sqrt(1.5 / 7) = 0.462910;
  // 0.75 / (0.462910 + 1e-4) = 1.619835.
  auto pp = compute_advantages(t({1, 0, 0, 0, 1, 1, 1, 0}), 4, ScaleRewards::Batch, AdvantageEstimator::ReinforcePP);
  EXPECT_NEAR(pp[0].item<float>(), 1.619835, 1e-5);
  EXPECT_NEAR(pp[7].item<float>(), -1.619835, 1e-5);
}

// top_entropy_quantile 0.4: entropies of the 5 completion tokens 0.1, 0.9, 0.5, 0.3, 0.7 (the sixth
// is padding); the 0.6 quantile (linear) is 0.5 + 0.4 x 0.2 = 0.58, so 0.9 and 0.7 keep the policy
// term. Per-token losses are -r A = -1 x A with A = [1, 2]: (-1 [0.9] - 2 [0.7]) / 5 tokens = -0.6.
TEST(AlgorithmOptions, TopEntropyQuantileKeepsTheHighEntropyTokens) {
  Case c{torch::full({2, 3}, -1.0), torch::full({2, 3}, -1.0), t({1, 2}), t({1, 1, 1, 1, 1, 0}).view({2, 3}),
         t({0.1f, 0.9f, 0.5f, 0.3f, 0.7f, 5.f}).view({2, 3})};
  GrpoConfig cfg;
  cfg.top_entropy_quantile = 0.4;
  auto out = c.run(cfg);
  EXPECT_EQ(out.policy_tokens.item<float>(), 2.f);
  EXPECT_NEAR(out.loss.item<double>(), -0.6, 1e-6);
  cfg.top_entropy_quantile = 1.0;
  EXPECT_NEAR(c.run(cfg).loss.item<double>(), -(1 + 1 + 1 + 2 + 2) / 5.0, 1e-6);
}

// Entropy bonus: logp = old (r = 1), A = [1, 2] over 2 x 2 tokens, so the policy terms are -A:
// (-1 - 1 - 2 - 2) / 4 = -1.5; entropies 0.5, 1.0, 1.5, 2.0 (mean 1.25); entropy_coef 0.1:
// -1.5 - 0.1 x 1.25 = -1.625, and d loss / d H = -0.1 / 4 = -0.025 per token.
TEST(AlgorithmOptions, EntropyBonusByHand) {
  auto entropy = t({0.5f, 1.0f, 1.5f, 2.0f}).view({2, 2}).requires_grad_(true);
  Case c{torch::full({2, 2}, -1.0), torch::full({2, 2}, -1.0), t({1, 2}), torch::ones({2, 2}), entropy};
  GrpoConfig cfg;
  EXPECT_NEAR(c.run(cfg).loss.item<double>(), -1.5, 1e-6);
  cfg.entropy_coef = 0.1;
  auto out = c.run(cfg);
  EXPECT_NEAR(out.loss.item<double>(), -1.625, 1e-6);
  out.loss.backward();
  EXPECT_TRUE(torch::allclose(entropy.grad(), torch::full({2, 2}, -0.025f))) << entropy.grad();
}

// The entropy's gradient through the chunked head: values and gradients of logp . u1 + H . u2
// against autograd through the full log-softmax, H = -sum exp(lsm) lsm, both backward paths.
TEST(ChunkedLogProbs, EntropyGradientMatchesFullLogSoftmax) {
  for (int64_t keep_bytes : {int64_t{-1}, int64_t{0}}) {
    torch::manual_seed(3);
    auto opts = torch::TensorOptions().dtype(torch::kFloat64);
    auto hidden = torch::randn({2, 4, 6}, opts).requires_grad_(true);  // [N, T, D]
    auto weight = torch::randn({9, 6}, opts).requires_grad_(true);     // [V, D]
    auto targets = torch::randint(0, 9, {2, 4}, torch::kLong);
    auto u1 = torch::randn({2, 4}, opts), u2 = torch::randn({2, 4}, opts);
    auto out = chunked_token_logprobs(hidden, weight, targets, 0.8, /*with_entropy=*/true, /*chunk_rows=*/3,
                                      /*vocab_block=*/4, keep_bytes);
    ASSERT_TRUE(out.entropy.requires_grad());
    (out.logp * u1 + out.entropy * u2).sum().backward();
    auto gh = hidden.grad().clone(), gw = weight.grad().clone();
    hidden.mutable_grad().zero_();
    weight.mutable_grad().zero_();
    auto lsm = torch::log_softmax(torch::matmul(hidden, weight.t()) / 0.8, -1);  // [N, T, V]
    auto logp = lsm.gather(2, targets.unsqueeze(2)).squeeze(2);
    auto entropy = -(lsm.exp() * lsm).sum(-1);
    EXPECT_TRUE(torch::allclose(out.entropy, entropy, 1e-6, 1e-6)) << keep_bytes;
    (logp * u1 + entropy * u2).sum().backward();
    EXPECT_TRUE(torch::allclose(gh, hidden.grad(), 1e-6, 1e-6)) << keep_bytes;
    EXPECT_TRUE(torch::allclose(gw, weight.grad(), 1e-6, 1e-6)) << keep_bytes;
    // Only the entropy used: the log-prob's upstream gradient is absent, not zero-filled by hand.
    hidden.mutable_grad().zero_();
    weight.mutable_grad().zero_();
    auto only = chunked_token_logprobs(hidden, weight, targets, 0.8, true, 3, 4, keep_bytes);
    (only.entropy * u2).sum().backward();
    gh = hidden.grad().clone();
    hidden.mutable_grad().zero_();
    auto lsm2 = torch::log_softmax(torch::matmul(hidden, weight.t()) / 0.8, -1);
    (-(lsm2.exp() * lsm2).sum(-1) * u2).sum().backward();
    EXPECT_TRUE(torch::allclose(gh, hidden.grad(), 1e-6, 1e-6)) << keep_bytes;
  }
}

// The whole policy loss with an entropy bonus, differentiated through the tiny model's chunked
// head (the entropy's gradient included), against central differences of the weights.
TEST(AlgorithmOptions, EntropyBonusGradientMatchesFiniteDifferences) {
  TinyModel m(5);
  GrpoConfig cfg;
  cfg.entropy_coef = 0.3;
  cfg.epsilon_high = 10;  // no clipping: the objective is smooth where the differences are taken
  cfg.epsilon = 0.99;
  LossNormalizer norm{LossType::Dapo, 2, 5, 1, 3};
  auto loss_at = [&](const torch::Tensor& w) {
    auto lp = m.logprobs(w, /*with_entropy=*/true);
    return policy_loss({lp.logp, m.old, torch::Tensor(), m.adv, m.mask, lp.entropy}, cfg, norm).loss;
  };
  expect_weight_gradient_matches(loss_at, m.w1);
}

// normalize_then_sum (GDPO), G = 2, two rewards weighted 1 and 0.5. Group 0 scores (1, 0) and (0, 0),
// group 1 (1, 1) and (1, 0). Per reward and group: a pair [1, 0] has mean 0.5 and unbiased std
// 0.707107, so z = +-0.5 / 0.707207 = +-0.707007; a constant pair gives 0. Weighted sums:
// 0.707007, -0.707007, 0.5 x 0.707007 = 0.353503, -0.353503; their mean is 0 and unbiased std
// sqrt((2 x 0.499859 + 2 x 0.124965) / 3) = 0.645406; advantages 0.707007 / 0.645506 = 1.095275 and
// 0.353503 / 0.645506 = 0.547638. Summing first gives rewards 1, 0, 1.5, 1: both groups the same
// +-0.707 whatever the weights, the collapse GDPO avoids.
TEST(AlgorithmOptions, NormalizeThenSumByHand) {
  auto scores = torch::tensor({1., 0., 0., 0., 1., 1., 1., 0.}, torch::kFloat64).view({4, 2});
  auto a = normalize_then_sum_advantages(scores, {1.0, 0.5}, 2);
  EXPECT_NEAR(a[0].item<float>(), 1.095275, 1e-5);
  EXPECT_NEAR(a[1].item<float>(), -1.095275, 1e-5);
  EXPECT_NEAR(a[2].item<float>(), 0.547638, 1e-5);
  EXPECT_NEAR(a[3].item<float>(), -0.547638, 1e-5);
  auto summed = compute_advantages(t({1, 0, 1.5, 1}), 2, ScaleRewards::Group);
  EXPECT_NEAR(summed[0].item<float>(), summed[2].item<float>(), 1e-3);  // 0.707007 and 0.706907
}


// Sampler/trainer mismatch and the rollout corrections. Two completions, log r = log pi_old - log
// pi_sampler per token: row 0 [ln 3, -ln 2.5, 0.1], row 1 [ln 1.5, ln 5, masked (the sampler's
// value there is wild and must not count)].
//   k3 = r - 1 - log r: 3 - 1 - 1.098612 = 0.901388; 0.4 - 1 + 0.916291 = 0.316291;
//   1.105171 - 1 - 0.1 = 0.005171; 1.5 - 1 - 0.405465 = 0.094535; 5 - 1 - 1.609438 = 2.390562;
//   sum 3.707947. Sum of r: 3 + 0.4 + 1.105171 + 1.5 + 5 = 11.005171. max |log r| = ln 5 = 1.609438.
//   tis, cap 2: min(r, 2) = [2, 0.4, 1.105171], [1.5, 2, 1 (masked: log r taken as 0)].
//   mis, cap 2 (keep |log r| <= ln 2 = 0.693147): [0, 0, 1], [1, 0, 1].
//   mis by sequence: mean log r over each row's tokens: (1.098612 - 0.916291 + 0.1) / 3 = 0.094107
//   (kept), (0.405465 + 1.609438) / 2 = 1.007452 > ln 2 (the whole row dropped).
TEST(RolloutCorrection, MismatchAndWeightsByHand) {
  auto old = t({-1, -2, -0.5, -1, -3, -2}).view({2, 3});
  auto log_r = t({std::log(3.f), -std::log(2.5f), 0.1f, std::log(1.5f), std::log(5.f), 9.f}).view({2, 3});
  auto sampler = old - log_r;
  auto mask = t({1, 1, 1, 1, 1, 0}).view({2, 3});
  auto m = rollout_mismatch(old, sampler, mask);
  EXPECT_NEAR(m.kl.item<double>(), 3.707947, 1e-5);
  EXPECT_NEAR(m.ratio.item<double>(), 11.005171, 1e-5);
  EXPECT_NEAR(m.max_abs.item<double>(), 1.609438, 1e-6);

  GrpoConfig cfg;
  EXPECT_TRUE(torch::equal(rollout_correction_weights(old, sampler, mask, cfg), torch::ones({2, 3})));
  cfg.rollout_correction = RolloutCorrection::Tis;
  EXPECT_TRUE(torch::allclose(rollout_correction_weights(old, sampler, mask, cfg),
                              t({2, 0.4f, 1.105171f, 1.5f, 2, 1}).view({2, 3}), 1e-5, 1e-6));
  cfg.rollout_correction = RolloutCorrection::Mis;
  EXPECT_TRUE(torch::equal(rollout_correction_weights(old, sampler, mask, cfg), t({0, 0, 1, 1, 0, 1}).view({2, 3})));
  cfg.importance_sampling_level = ImportanceLevel::Sequence;
  EXPECT_TRUE(torch::equal(rollout_correction_weights(old, sampler, mask, cfg), t({1, 1, 1, 0, 0, 0}).view({2, 3})));
}

// The corrections in the loss. One completion, A = 1, logp = old (r = 1, no clipping), two tokens
// whose pi_old / pi_sampler are 3 and 0.6. dapo over 2 tokens:
//   none: (-1 - 1) / 2 = -1.
//   tis, cap 2: weights 2 and 0.6, (-2 - 0.6) / 2 = -1.3; d/dlogp = -r A w / 2 = -1 and -0.3; one
//   token capped.
//   mis, cap 2: the first token is dropped from the policy term, the normaliser keeps it:
//   (0 - 1) / 2 = -0.5; d/dlogp = 0 and -0.5.
TEST(RolloutCorrection, TisWeightsAndMisDropsThePolicyTerm) {
  auto old = t({-1, -2}).view({1, 2});
  auto sampler = old - t({std::log(3.f), std::log(0.6f)}).view({1, 2});
  GrpoConfig cfg;
  LossNormalizer norm{LossType::Dapo, 1, 2, 1, 2};
  auto run = [&](RolloutCorrection c, float expected, float g0, float g1, float corrected) {
    cfg.rollout_correction = c;
    auto logp = old.clone().requires_grad_(true);
    auto out = policy_loss({logp, old, {}, t({1}), torch::ones({1, 2}), {}, sampler}, cfg, norm);
    EXPECT_NEAR(out.loss.item<float>(), expected, 1e-6) << option_name(c);
    EXPECT_EQ(out.corrected.item<float>(), corrected) << option_name(c);
    out.loss.backward();
    EXPECT_NEAR(logp.grad()[0][0].item<float>(), g0, 1e-6) << option_name(c);
    EXPECT_NEAR(logp.grad()[0][1].item<float>(), g1, 1e-6) << option_name(c);
  };
  run(RolloutCorrection::None, -1.f, -0.5f, -0.5f, 0.f);
  run(RolloutCorrection::Tis, -1.3f, -1.f, -0.3f, 1.f);
  run(RolloutCorrection::Mis, -0.5f, 0.f, -0.5f, 1.f);
}

}  // namespace
}  // namespace r1
