#include "r1/rl/grpo.h"

#include <torch/torch.h>

#include "r1/core/error.h"

namespace r1 {

using torch::indexing::Slice;

torch::Tensor group_std(const torch::Tensor& rewards, int group_size) {
  auto grouped = rewards.to(torch::kFloat64).view({-1, group_size});  // [B, G]
  return grouped.std(/*dim=*/1, /*unbiased=*/true);                 // [B]
}

torch::Tensor compute_advantages(const torch::Tensor& rewards, int group_size, ScaleRewards scale_rewards,
                                 double eps) {
  TORCH_CHECK(rewards.dim() == 1 && rewards.size(0) % group_size == 0, "rewards must be [B*G]");
  auto r = rewards.to(torch::kFloat64);
  auto grouped = r.view({-1, group_size});                                       // [B, G]
  auto centred = (grouped - grouped.mean(1, /*keepdim=*/true)).reshape({-1});    // [B*G]
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

torch::Tensor kl_estimate(const torch::Tensor& logp, const torch::Tensor& ref_logp, KlEstimator estimator) {
  auto log_ratio = ref_logp - logp;  // log(pi_ref / pi)
  switch (estimator) {
    case KlEstimator::K1: return -log_ratio;
    case KlEstimator::K2: return 0.5 * log_ratio.pow(2);
    case KlEstimator::K3: return torch::exp(log_ratio) - log_ratio - 1;
  }
  throw std::logic_error("kl_estimate: unhandled estimator");
}

torch::Tensor LossNormalizer::token_weights(const torch::Tensor& mask) const {
  switch (loss_type) {
    case LossType::Grpo: {
      // Mean over each sequence's tokens, then over the step's sequences.
      auto len = mask.sum(1, /*keepdim=*/true).clamp_min(1.0);  // [N, 1]
      return mask / (len * static_cast<double>(total_sequences));
    }
    case LossType::Bnpo:
      // Mean over the micro-batch's tokens, averaged over micro-batches.
      return mask / (mask.sum().clamp_min(1.0) * static_cast<double>(num_micro_batches));
    case LossType::DrGrpo: return mask / static_cast<double>(total_sequences * max_new_tokens);
    case LossType::Dapo: return mask / static_cast<double>(std::max<int64_t>(total_tokens, 1));
  }
  throw std::logic_error("token_weights: unhandled loss type");
}

PolicyLossOutput policy_loss(const PolicyLossInput& in, const GrpoConfig& cfg, const LossNormalizer& norm) {
  auto mask = in.mask.to(torch::kFloat32);               // [N, T]
  auto adv = in.advantages.to(torch::kFloat32).unsqueeze(1);  // [N, 1]
  auto ratio = torch::exp(in.logp - in.old_logp);        // [N, T]
  auto clipped = torch::clamp(ratio, 1.0 - cfg.epsilon, 1.0 + cfg.epsilon_high);
  auto per_token = -torch::min(ratio * adv, clipped * adv);  // [N, T]
  torch::Tensor kl;
  auto total = per_token;
  if (cfg.beta > 0) {
    TORCH_CHECK(in.ref_logp.defined(), "beta > 0 needs reference log-probs");
    kl = kl_estimate(in.logp, in.ref_logp, cfg.kl_estimator);
    total = per_token + cfg.beta * kl;
  }
  auto weights = norm.token_weights(mask);
  PolicyLossOutput out;
  out.loss = (total * weights).sum();
  torch::NoGradGuard no_grad;
  out.tokens = mask.sum();
  out.policy_loss = (per_token * mask).sum();
  out.kl = kl.defined() ? (kl * mask).sum() : torch::zeros({}, mask.options());
  auto low = (ratio < 1.0 - cfg.epsilon).logical_and(adv < 0).to(torch::kFloat32);
  auto high = (ratio > 1.0 + cfg.epsilon_high).logical_and(adv > 0).to(torch::kFloat32);
  out.clipped_low = (low * mask).sum();
  out.clipped_high = (high * mask).sum();
  return out;
}

}  // namespace r1
