#include "r1/rl/losses.h"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace r1 {

namespace {

torch::Tensor no_clip(const torch::Tensor& ratio) {
  torch::NoGradGuard no_grad;
  return torch::zeros_like(ratio);
}

// PPO's clipped surrogate -min(r A, clip(r, 1 - eps, 1 + eps_high) A); with delta the unclipped
// ratio is capped at delta for every advantage (INTELLECT-2, TRL's delta); with clip_ratio_c the
// dual clip (Ye et al. 2020, verl's clip_ratio_c) caps the loss of A < 0 at -A c.
PolicyTerm clipped_surrogate(const torch::Tensor& ratio, const torch::Tensor&, const torch::Tensor& adv,
                             const GrpoConfig& cfg) {
  PolicyTerm t;
  auto unclipped = cfg.delta > 0 ? torch::clamp_max(ratio, cfg.delta) : ratio;
  auto clipped = torch::clamp(ratio, 1.0 - cfg.epsilon, 1.0 + cfg.epsilon_high);
  t.per_token = -torch::min(unclipped * adv, clipped * adv);  // [N, T]
  t.dual = no_clip(ratio);
  if (cfg.clip_ratio_c > 0) {
    auto capped = torch::min(t.per_token, -adv * cfg.clip_ratio_c);
    {
      torch::NoGradGuard no_grad;
      t.dual = (capped < t.per_token).logical_and(adv < 0).to(torch::kFloat32);
    }
    t.per_token = torch::where(adv < 0, capped, t.per_token);
  }
  torch::NoGradGuard no_grad;
  t.low = (ratio < 1.0 - cfg.epsilon).logical_and(adv < 0).to(torch::kFloat32);
  t.high = (ratio > 1.0 + cfg.epsilon_high).logical_and(adv > 0).to(torch::kFloat32);
  return t;
}

// CISPO (MiniMax-M1): REINFORCE with a clipped, stop-gradient importance weight,
// -sg(min(r, 1 + epsilon_high)) A log pi.
PolicyTerm cispo(const torch::Tensor& ratio, const torch::Tensor& logp, const torch::Tensor& adv,
                 const GrpoConfig& cfg) {
  PolicyTerm t;
  auto weight = torch::clamp_max(ratio, 1.0 + cfg.epsilon_high).detach();
  t.per_token = -weight * adv * logp;
  t.low = no_clip(ratio);
  t.dual = no_clip(ratio);
  torch::NoGradGuard no_grad;
  t.high = (ratio > 1.0 + cfg.epsilon_high).to(torch::kFloat32);
  return t;
}

// SAPO (Qwen, arXiv 2511.20347): a soft gate instead of the clip, -(4 / tau) sigmoid(tau (r - 1)) A,
// tau = sapo_temperature_pos for A > 0, sapo_temperature_neg otherwise; its slope at r = 1 is 1.
PolicyTerm sapo(const torch::Tensor& ratio, const torch::Tensor&, const torch::Tensor& adv, const GrpoConfig& cfg) {
  PolicyTerm t;
  auto tau = torch::where(adv > 0, torch::full_like(adv, cfg.sapo_temperature_pos),
                          torch::full_like(adv, cfg.sapo_temperature_neg));  // [N, 1]
  t.per_token = -(4.0 / tau) * torch::sigmoid(tau * (ratio - 1.0)) * adv;
  t.low = no_clip(ratio);
  t.high = no_clip(ratio);
  t.dual = no_clip(ratio);
  return t;
}

// Mean over each sequence's tokens, then over the step's sequences.
torch::Tensor sequence_mean(const torch::Tensor& mask, const LossNormalizer& n) {
  auto len = mask.sum(1, /*keepdim=*/true).clamp_min(1.0);  // [N, 1]
  return mask / (len * static_cast<double>(n.total_sequences));
}

// Mean over the micro-batch's tokens, averaged over micro-batches.
torch::Tensor micro_batch_token_mean(const torch::Tensor& mask, const LossNormalizer& n) {
  return mask / (mask.sum().clamp_min(1.0) * static_cast<double>(n.num_micro_batches));
}

// A constant: the step's sequences times max_new_tokens.
torch::Tensor constant(const torch::Tensor& mask, const LossNormalizer& n) {
  return mask / static_cast<double>(n.total_sequences * n.max_new_tokens);
}

// Mean over the step's completion tokens.
torch::Tensor token_mean(const torch::Tensor& mask, const LossNormalizer& n) {
  return mask / static_cast<double>(std::max<int64_t>(n.total_tokens, 1));
}

constexpr const char* kClip = "-min(r A, clip(r, 1 - epsilon, 1 + epsilon_high) A)";

const std::array<LossKind, 6> kLosses = {{
    {LossType::Grpo, kClip, "DeepSeekMath (arXiv 2402.03300)", clipped_surrogate, sequence_mean,
     "each sequence's length, then the step's sequences", false},
    {LossType::Bnpo, kClip, "TRL's loss_type bnpo", clipped_surrogate, micro_batch_token_mean,
     "the micro-batch's tokens, then the number of micro-batches", true},
    {LossType::DrGrpo, kClip, "Dr. GRPO (arXiv 2503.20783)", clipped_surrogate, constant,
     "the step's sequences times rollout.max_new_tokens", false},
    {LossType::Dapo, kClip, "DAPO (arXiv 2503.14476)", clipped_surrogate, token_mean, "the step's completion tokens",
     false},
    // CISPO and SAPO normalise as DAPO (token mean over the step's batch), as TRL does.
    {LossType::Cispo, "-sg(min(r, 1 + epsilon_high)) A log pi", "CISPO (MiniMax-M1, arXiv 2506.13585)", cispo, token_mean,
     "the step's completion tokens", false},
    {LossType::Sapo, "-(4 / tau) sigmoid(tau (r - 1)) A", "SAPO (Qwen, arXiv 2511.20347)", sapo, token_mean,
     "the step's completion tokens", false},
}};

}  // namespace

const LossKind& loss_kind(LossType type) {
  for (const auto& kind : kLosses)
    if (kind.type == type) return kind;
  throw std::logic_error("loss_kind: a loss type without an entry in src/rl/losses.cpp");
}

torch::Tensor LossNormalizer::token_weights(const torch::Tensor& mask) const {
  return loss_kind(loss_type).token_weights(mask, *this);
}

}  // namespace r1
