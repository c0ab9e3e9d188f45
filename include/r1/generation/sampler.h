// Next-token sampling: temperature, top-k, top-p, min-p, repetition penalty, greedy at temperature 0, counter-based draws.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "r1/core/sampling.h"

namespace r1 {

// Throws InputError naming the first setting out of range (sampling_range_problems).
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
// no penalty), then / T, then top-k, top-p, min-p, then an inverse-CDF draw: the first token
// whose cumulative probability exceeds uniforms[n] times the total ([N] float64 in [0, 1), from
// sampling_uniforms; ignored when greedy), found in two levels above 512 tokens (blocks of 128 tokens, then
// within the block) so that no [N, V] float64 running sum is built. Every step is a device op:
// no host sync. Without penalty or filters the distribution is exp(logits / T - logsumexp).
SampledTokens sample_tokens(const torch::Tensor& logits, const SamplingOptions& options,
                            const torch::Tensor& uniforms, const torch::Tensor& seen = {});

// The random stream of one completion: two 32-bit words hashed from (seed, prompt, sample).
// A completion's draws depend only on its stream and the token position, never on which batch
// row, chunk, slot or process produced it.
struct SampleStream {
  int64_t lo = 0, hi = 0;  // each in [0, 2^32)
};
SampleStream sample_stream(uint64_t seed, int64_t prompt, int64_t sample);
// Streams as a [N, 2] int64 tensor on `device`.
torch::Tensor stream_tensor(const std::vector<SampleStream>& streams, torch::Device device);

// Uniforms in [0, 1) with 53 random bits: uniforms[n] = hash(streams[n], counters[n]). streams
// [N, 2] int64, counters [N] int64 (the token position within the completion); [N] float64 on
// their device. Exact integer arithmetic (no overflow), so CPU and CUDA give the same bits.
torch::Tensor sampling_uniforms(const torch::Tensor& streams, const torch::Tensor& counters);

// A generator for `device` seeded with `seed` (random prompts in benchmarks; sampling uses streams).
torch::Generator make_generator(uint64_t seed, torch::Device device);

}  // namespace r1
