#include "r1/rl/grpo.h"

#include <torch/torch.h>

#include <cmath>

#include "r1/core/error.h"

namespace r1 {

using torch::indexing::Slice;

torch::Tensor group_std(const torch::Tensor& rewards, int group_size) {
  auto grouped = rewards.to(torch::kFloat64).view({-1, group_size});  // [B, G]
  return grouped.std(/*dim=*/1, /*unbiased=*/true);                 // [B]
}

torch::Tensor compute_advantages(const torch::Tensor& rewards, int group_size, ScaleRewards scale_rewards,
                                 AdvantageEstimator estimator, double eps) {
  TORCH_CHECK(rewards.dim() == 1 && rewards.size(0) % group_size == 0, "rewards must be [B*G]");
  auto r = rewards.to(torch::kFloat64);
  auto grouped = r.view({-1, group_size});                                       // [B, G]
  auto centred = (grouped - grouped.mean(1, /*keepdim=*/true)).reshape({-1});    // [B*G]
  if (estimator == AdvantageEstimator::Rloo) {
    // r_i - mean of the other G - 1 rewards = G / (G - 1) (r_i - group mean) (RLOO, Ahmadian et al. 2024).
    TORCH_CHECK(group_size > 1, "rloo needs groups of 2 or more");
    centred = centred * (static_cast<double>(group_size) / static_cast<double>(group_size - 1));
  } else if (estimator == AdvantageEstimator::ReinforcePP) {
    // REINFORCE++ with baseline (verl's reinforce_plus_plus_baseline): group mean removed, then the
    // batch whitened, (c - mean(c)) / (std(c) + eps); here over completions, not tokens.
    return ((centred - centred.mean()) / (centred.std(/*unbiased=*/true) + eps)).to(torch::kFloat32);
  }
  torch::Tensor std;
  switch (scale_rewards) {
    case ScaleRewards::None: return centred.to(torch::kFloat32);
    case ScaleRewards::Group:
      std = grouped.std(1, /*unbiased=*/true, /*keepdim=*/true).expand_as(grouped).reshape({-1});  // [B*G]
      break;
    case ScaleRewards::Batch: std = r.std(/*unbiased=*/true).expand_as(centred); break;
  }
  return (centred / (std + eps)).to(torch::kFloat32);
}

torch::Tensor normalize_then_sum_advantages(const torch::Tensor& scores, const std::vector<double>& weights,
                                            int group_size, double eps) {
  TORCH_CHECK(scores.dim() == 2 && scores.size(0) % group_size == 0 &&
                  scores.size(1) == static_cast<int64_t>(weights.size()),
              "scores must be [B*G, K] with K weights");
  const int64_t k = scores.size(1);
  auto grouped = scores.to(torch::kFloat64).view({-1, group_size, k});               // [B, G, K]
  auto z = (grouped - grouped.mean(1, /*keepdim=*/true)) /
           (grouped.std(1, /*unbiased=*/true, /*keepdim=*/true) + eps);              // [B, G, K]
  auto w = torch::tensor(weights, torch::kFloat64);                                  // [K]
  auto summed = (z * w).sum(-1).reshape({-1});                                       // [B*G]
  return ((summed - summed.mean()) / (summed.std(/*unbiased=*/true) + eps)).to(torch::kFloat32);
}

torch::Tensor kl_estimate(const torch::Tensor& logp, const torch::Tensor& ref_logp, KlEstimator estimator) {
  auto log_ratio = ref_logp - logp;  // log(pi_ref / pi)
  switch (estimator) {
    case KlEstimator::K1: return -log_ratio;
    case KlEstimator::K2: return 0.5 * log_ratio.pow(2);
    case KlEstimator::K3: return torch::exp(log_ratio) - log_ratio - 1;
  }
  throw std::logic_error("kl_estimate: unhandled estimator");
}

MismatchSums rollout_mismatch(const torch::Tensor& train_logp, const torch::Tensor& sampler_logp,
                              const torch::Tensor& mask) {
  torch::NoGradGuard no_grad;
  // In float64: near r = 1, k3 is about (log r)^2 / 2, far below float32's rounding of r - 1.
  auto m = mask.to(torch::kFloat64);                                                    // [N, T]
  auto log_r = (train_logp.to(torch::kFloat64) - sampler_logp.to(torch::kFloat64)) * m;  // [N, T], 0 off the mask
  auto r = torch::exp(log_r);                                                           // [N, T], 1 off the mask
  MismatchSums out;
  out.kl = ((r - 1 - log_r) * m).sum();
  out.ratio = (r * m).sum();
  out.max_abs = log_r.numel() > 0 ? log_r.abs().max() : torch::zeros({}, m.options());
  return out;
}

torch::Tensor rollout_correction_weights(const torch::Tensor& old_logp, const torch::Tensor& sampler_logp,
                                         const torch::Tensor& mask, const GrpoConfig& cfg) {
  torch::NoGradGuard no_grad;
  auto m = mask.to(torch::kFloat32);                                                 // [N, T]
  if (cfg.rollout_correction == RolloutCorrection::None) return torch::ones_like(m);
  auto log_r = (old_logp.to(torch::kFloat32) - sampler_logp.to(torch::kFloat32)) * m;  // [N, T]
  const double cap = cfg.rollout_correction_cap;
  if (cfg.rollout_correction == RolloutCorrection::Tis) return torch::clamp_max(torch::exp(log_r), cap);
  if (cfg.importance_sampling_level == ImportanceLevel::Sequence)
    log_r = (log_r.sum(1, /*keepdim=*/true) / m.sum(1, /*keepdim=*/true).clamp_min(1.0)).expand_as(m);  // [N, 1] -> [N, T]
  const double bound = std::log(cap);
  return (log_r.abs() <= bound).to(torch::kFloat32);
}

PolicyLossOutput policy_loss(const PolicyLossInput& in, const GrpoConfig& cfg, const LossNormalizer& norm) {
  auto mask = in.mask.to(torch::kFloat32);                    // [N, T]
  auto adv = in.advantages.to(torch::kFloat32).unsqueeze(1);  // [N, 1]
  auto log_ratio = in.logp - in.old_logp;                     // [N, T]
  if (cfg.importance_sampling_level == ImportanceLevel::Sequence) {
    // GSPO: s_i = exp(mean over the completion's tokens of log(pi / pi_old)), one per completion.
    log_ratio = ((log_ratio * mask).sum(1, /*keepdim=*/true) / mask.sum(1, /*keepdim=*/true).clamp_min(1.0))
                    .expand_as(log_ratio);  // [N, 1] broadcast to [N, T]
  }
  auto ratio = torch::exp(log_ratio);  // [N, T]
  auto [per_token, low, high, dual] = loss_kind(cfg.loss_type).term(ratio, in.logp, adv, cfg);
  auto policy_mask = mask;  // tokens whose policy term counts
  if (cfg.top_entropy_quantile < 1.0) {
    // Only the top-rho highest-entropy tokens carry the policy gradient ("80/20", Wang et al. 2025;
    // TRL's top_entropy_quantile): the threshold is the (1 - rho) quantile of this micro-batch's
    // completion-token entropies; the KL term still covers every token.
    TORCH_CHECK(in.entropy.defined(), "top_entropy_quantile < 1 needs the token entropies");
    torch::NoGradGuard no_grad;
    auto values = in.entropy.to(torch::kFloat32).masked_select(mask > 0);
    if (values.numel() > 0) {
      auto threshold = torch::quantile(values, 1.0 - cfg.top_entropy_quantile);
      policy_mask = mask * (in.entropy.to(torch::kFloat32) >= threshold).to(torch::kFloat32);
    }
  }
  torch::Tensor corrected;  // [N, T] tokens the rollout correction changed
  if (cfg.rollout_correction != RolloutCorrection::None) {
    // The sampler's tokens came from pi_sampler, not pi_old: reweight (tis) or drop (mis) them.
    TORCH_CHECK(in.sampler_logp.defined(), "rollout_correction needs the sampler's log-probs");
    auto w = rollout_correction_weights(in.old_logp, in.sampler_logp, mask, cfg);  // [N, T], no grad
    if (cfg.rollout_correction == RolloutCorrection::Tis) {
      per_token = per_token * w;
      corrected = (w >= cfg.rollout_correction_cap).to(torch::kFloat32);
    } else {
      policy_mask = policy_mask * w;
      corrected = 1 - w;
    }
  }
  torch::Tensor kl;
  auto total = per_token * policy_mask;
  if (cfg.beta > 0) {
    TORCH_CHECK(in.ref_logp.defined(), "beta > 0 needs reference log-probs");
    kl = kl_estimate(in.logp, in.ref_logp, cfg.kl_estimator);
    total = total + cfg.beta * kl;
  }
  if (cfg.entropy_coef != 0) {
    // Entropy bonus (verl's entropy_coeff): - entropy_coef H per token, aggregated like the rest
    // of the loss, over every completion token.
    TORCH_CHECK(in.entropy.defined(), "entropy_coef needs the token entropies");
    total = total - cfg.entropy_coef * in.entropy.to(total.scalar_type());
  }
  auto weights = norm.token_weights(mask);
  PolicyLossOutput out;
  out.loss = (total * weights).sum();
  torch::NoGradGuard no_grad;
  out.tokens = mask.sum();
  out.policy_loss = (per_token * policy_mask).sum();
  out.kl = kl.defined() ? (kl * mask).sum() : torch::zeros({}, mask.options());
  out.clipped_low = (low * mask).sum();
  out.clipped_high = (high * mask).sum();
  out.clipped_dual = (dual * mask).sum();
  out.policy_tokens = policy_mask.sum();
  out.corrected = corrected.defined() ? (corrected * mask).sum() : torch::zeros({}, mask.options());
  return out;
}

}  // namespace r1
