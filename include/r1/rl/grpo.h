// The GRPO algorithm: group-normalised advantages, the clipped surrogate loss with its variants, KL estimators.
//
// Dimension letters: B prompts, G group size, N = B*G completions (or a
// micro-batch of them), T completion tokens, D hidden size, V vocabulary.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "r1/core/config.h"
#include "r1/rl/losses.h"

namespace r1 {

// Advantages from rewards laid out group by group ([B*G], prompt-major).
//   group: (r - group mean) / (group std + eps)   (std with Bessel's correction, as TRL)
//   batch: (r - group mean) / (batch std + eps)
//   none:  r - group mean                          (Dr. GRPO)
// With `estimator` rloo the baseline is the mean of the group's other rewards, G / (G - 1)
// (r - group mean), then scaled as above; with reinforce_pp the group-centred rewards are
// whitened over the batch, (c - mean c) / (std c + eps), whatever scale_rewards says.
torch::Tensor compute_advantages(const torch::Tensor& rewards /*[B*G]*/, int group_size, ScaleRewards scale_rewards,
                                 AdvantageEstimator estimator = AdvantageEstimator::Grpo, double eps = 1e-4);

// grpo.reward_aggregation normalize_then_sum (GDPO, group reward-decoupled normalisation; TRL's multi_objective_aggregation):
// each reward k normalised within its group, z_k = (r_k - group mean_k) / (group std_k + eps), the
// weighted sum s = sum_k w_k z_k, then s whitened over the batch, (s - mean s) / (std s + eps).
// Scores [B*G, K] prompt-major, one weight per column; returns advantages [B*G] float32.
torch::Tensor normalize_then_sum_advantages(const torch::Tensor& scores /*[B*G,K]*/, const std::vector<double>& weights,
                                            int group_size, double eps = 1e-4);

// Per-group reward standard deviations [B], to find zero-variance groups.
torch::Tensor group_std(const torch::Tensor& rewards /*[B*G]*/, int group_size);

// Per-token KL(policy || reference) estimate from log-probs of the sampled tokens.
//   k1: logp - ref          k2: (logp - ref)^2 / 2          k3: exp(ref - logp) - (ref - logp) - 1
torch::Tensor kl_estimate(const torch::Tensor& logp, const torch::Tensor& ref_logp, KlEstimator estimator);

// One micro-batch of the policy-gradient objective.
struct PolicyLossInput {
  torch::Tensor logp;        // [N, T] current policy log-probs of the sampled tokens (with grad)
  torch::Tensor old_logp;    // [N, T] log-probs when the rollout was sampled (no grad)
  torch::Tensor ref_logp;    // [N, T] reference model log-probs; undefined when beta == 0
  torch::Tensor advantages;  // [N]
  torch::Tensor mask;        // [N, T] 1 for completion tokens that count, 0 for padding
  torch::Tensor entropy;     // [N, T] token entropies, differentiable; needed for top_entropy_quantile < 1 and entropy_coef
  torch::Tensor sampler_logp;  // [N, T] log-probs the rollout engine recorded; needed for rollout_correction
};

// The loss and its detached diagnostics, each a token-weighted sum over this micro-batch (divide by
// tokens for means), left on the loss's device as scalar tensors so that a step reads them once.
struct PolicyLossOutput {
  torch::Tensor loss;          // scalar, with grad; already normalised for accumulation
  torch::Tensor policy_loss;   // sum over tokens of the policy term (-min(r A, clip(r) A) for the clip family)
  torch::Tensor kl;            // sum over tokens of the KL estimate (0 when beta == 0)
  torch::Tensor clipped_low;   // tokens with r < 1 - epsilon and A < 0
  torch::Tensor clipped_high;  // tokens with r > 1 + epsilon_high and A > 0 (cispo: weight capped, any A)
  torch::Tensor clipped_dual;  // tokens whose loss the dual clip capped (A < 0)
  torch::Tensor policy_tokens; // tokens carrying the policy term (all but those the entropy mask drops)
  torch::Tensor tokens;        // tokens counted (mask sum)
  torch::Tensor corrected;     // tokens whose rollout-correction weight was capped (tis) or that it dropped (mis)
};

PolicyLossOutput policy_loss(const PolicyLossInput& in, const GrpoConfig& cfg, const LossNormalizer& norm);

// The gap between the rollout engine's log-probs and the training forward's for the same tokens
// (pi_sampler and pi_train, the old policy), over the completion tokens of one micro-batch. With
// r = pi_train / pi_sampler per token: sums over the mask of k3 = r - 1 - log r (an estimate of
// KL(pi_sampler || pi_train)) and of r, and the largest |log r|; scalar tensors, not synchronised.
struct MismatchSums {
  torch::Tensor kl;       // sum of k3
  torch::Tensor ratio;    // sum of r
  torch::Tensor max_abs;  // max |log pi_train - log pi_sampler| (0 without tokens)
};
MismatchSums rollout_mismatch(const torch::Tensor& train_logp /*[N,T]*/, const torch::Tensor& sampler_logp /*[N,T]*/,
                              const torch::Tensor& mask /*[N,T]*/);

// grpo.rollout_correction's per-token factor [N, T] (no grad) on the policy term, from the old
// policy's and the sampler's log-probs, with r = pi_old / pi_sampler:
//   tis: min(r, cap)
//   mis: 1 where 1/cap <= r <= cap, else 0; with importance_sampling_level sequence, r is the
//        completion's exp(mean over its tokens of log r) and a whole completion is kept or dropped
//   none: 1
torch::Tensor rollout_correction_weights(const torch::Tensor& old_logp, const torch::Tensor& sampler_logp,
                                         const torch::Tensor& mask, const GrpoConfig& cfg);

}  // namespace r1
