// Next-token sampling: temperature, top-k, top-p, min-p, repetition penalty, greedy at temperature 0, seeded.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace r1 {

struct SamplingOptions {
  double temperature = 1.0;         // 0 = greedy (argmax)
  double top_p = 1.0;               // keep the smallest set of tokens whose probability reaches top_p
  double min_p = 0.0;               // drop tokens with probability < min_p * the top token's
  double repetition_penalty = 1.0;  // > 1 discourages tokens already in the prompt or completion
  int top_k = 0;                    // keep the k most likely tokens; 0 = all
};

// Throws InputError naming the option when a value is out of range.
void check_sampling_options(const SamplingOptions& options);

struct SampledTokens {
  torch::Tensor tokens;    // [N] int64
  torch::Tensor logprobs;  // [N] float32
};

// Picks one token per row from logits [N, V] (any float dtype; computed in float32).
//
// The log-probability reported is log_softmax(logits / T)[token] with T = temperature (T = 1
// when greedy): the model's temperature-scaled distribution, before the repetition penalty and
// before top-k/top-p/min-p filtering. That is the old-policy term GRPO needs; the filters only
// shape which token is drawn.
//
// Order of operations: repetition penalty on the raw logits (HF style: positive logits divided
// by the penalty, negative ones multiplied) for tokens with `seen` [N, V] bool set (undefined:
// no penalty), then / T, then top-k, top-p, min-p, then a multinomial draw with `gen`.
SampledTokens sample_tokens(const torch::Tensor& logits, const SamplingOptions& options, torch::Generator& gen,
                            const torch::Tensor& seen = {});

// A generator for `device` seeded with `seed`: the same seed, inputs and device give the same draws.
torch::Generator make_generator(uint64_t seed, torch::Device device);

}  // namespace r1
