// Activation (gradient) checkpointing: run a block without keeping its activations, recompute them in backward.
#pragma once

#include <torch/torch.h>

#include <functional>

namespace r1 {

// y = fn(x), but autograd keeps only x: backward runs fn again under grad mode
// and backpropagates through the recomputation (parameters used by fn get their
// gradients accumulated there). fn must be deterministic (no dropout here).
torch::Tensor checkpointed(const std::function<torch::Tensor(const torch::Tensor&)>& fn, const torch::Tensor& x);

}  // namespace r1
