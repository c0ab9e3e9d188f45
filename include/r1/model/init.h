// Fresh, randomly initialised models (for pretraining a base model from scratch with `r1train sft`).
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "r1/model/decoder.h"
#include "r1/model/model_config.h"

namespace r1 {

// A CausalLM with the architecture of `config` and weights drawn as transformers initialises them:
// every linear and embedding weight ~ N(0, initializer_range^2) (config.json's initializer_range,
// default 0.02), biases 0, RMSNorm weights 1. Drawn in float32 on the CPU from `seed` (the same
// seed gives the same weights everywhere), then converted to `dtype` and moved to `device`.
CausalLM init_model(const TransformerConfig& config, uint64_t seed, torch::Dtype dtype, torch::Device device);

}  // namespace r1
