// Per-token log-probabilities of chosen tokens from hidden states, without [N*T, V] logits in memory.
//
// Dimension letters: N sequences, T tokens, D hidden size, V vocabulary.
#pragma once

#include <torch/torch.h>

namespace r1 {

struct TokenLogProbs {
  torch::Tensor logp;     // [N, T], differentiable w.r.t. hidden and weight
  torch::Tensor entropy;  // [N, T], differentiable like logp (an entropy bonus); undefined unless asked for
};

// Per-token log-probabilities (and, with_entropy, entropies) of `targets` under
// softmax(hidden W^T / temperature), computed `chunk_rows` rows at a time so that [N*T, V] float32
// logits never exist at once, in forward or backward (the backward recomputes each chunk's logits):
// `chunk_rows` rows by `vocab_block` vocabulary entries at a time (0: up to 4096 rows, and blocks
// of about 16 MiB of float32 logits, at least 1024 entries). When gradients are wanted and the
// [N*T, V] logits fit `keep_bytes` (-1: 1 GiB; 0: never), the forward computes them in one block
// and keeps them for the backward instead of recomputing them.
TokenLogProbs chunked_token_logprobs(const torch::Tensor& hidden /*[N,T,D]*/, const torch::Tensor& weight /*[V,D]*/,
                                     const torch::Tensor& targets /*[N,T] int64*/, double temperature,
                                     bool with_entropy = true, int64_t chunk_rows = 0,
                                     int64_t vocab_block = 0, int64_t keep_bytes = -1);

}  // namespace r1
