// The policy-gradient loss types as one table (grpo.loss_type): each entry is the per-token policy
// term (its formula and the ratios it reads) and its normaliser (the token weights under which the
// micro-batches' summed gradients equal the step's loss). A new variant is one entry in
// src/rl/losses.cpp; policy_loss (rl/grpo) adds what every type shares: the entropy mask, the
// rollout correction, the KL and entropy terms.
//
// Dimension letters: N completions of a micro-batch, T completion tokens.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "r1/core/config.h"

namespace r1 {

// What the normalisers need to know of the step's batch, so that accumulating the micro-batches'
// gradients gives exactly the loss of the whole step's batch.
struct LossNormalizer {
  LossType loss_type = LossType::Dapo;
  int64_t total_sequences = 0;  // sequences in the step's batch
  int64_t total_tokens = 0;     // completion tokens (mask = 1) in the step's batch
  int64_t num_micro_batches = 1;
  int64_t max_new_tokens = 1;

  // Weight of each token [N, T] of a micro-batch with completion mask [N, T].
  torch::Tensor token_weights(const torch::Tensor& mask /*[N,T] float*/) const;
};

// One micro-batch's policy term per token, and which tokens each clip touched.
struct PolicyTerm {
  torch::Tensor per_token;       // [N, T] with grad
  torch::Tensor low, high, dual;  // [N, T] float 0/1, no grad: clipped at 1 - eps (A < 0), at the top, by the dual clip
};

struct LossKind {
  LossType type;
  const char* formula;  // the per-token policy term, r = pi / pi_old, A the advantage
  const char* source;   // where it comes from
  // ratio [N, T] (per token, or the sequence's with importance_sampling_level sequence), logp [N, T]
  // with grad, advantages [N, 1].
  PolicyTerm (*term)(const torch::Tensor& ratio, const torch::Tensor& logp, const torch::Tensor& adv,
                     const GrpoConfig& cfg);
  torch::Tensor (*token_weights)(const torch::Tensor& mask, const LossNormalizer& norm);
  const char* normaliser;  // what token_weights divides by
  // The split into micro-batches is part of the objective (its normaliser is per micro-batch): the
  // trainer keeps the rows in order instead of grouping them by length.
  bool split_is_part_of_the_loss;
};

// The table's entry for `type`.
const LossKind& loss_kind(LossType type);

}  // namespace r1
