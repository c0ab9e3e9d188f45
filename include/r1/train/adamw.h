// AdamW's update and what every optimizer mode does around it: the gradient norm and clipping.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "r1/core/config.h"

namespace r1 {

// One AdamW update (decoupled weight decay, bias-corrected moments, as torch.optim.AdamW) of the
// float32 tensors p with gradients g and moments m, v, all on one device, at update count `step`
// (1-based) and learning rate `lr`. `fused`: at::_fused_adamw_, one kernel for the whole list
// (only where fused_adamw_available says so); else foreach ops, bit-identical to
// torch::optim::AdamW. The optimizer uses the fused kernel on CUDA.
void adamw_update(std::vector<torch::Tensor>& p, std::vector<torch::Tensor>& g, std::vector<torch::Tensor>& m,
                  std::vector<torch::Tensor>& v, int64_t step, double lr, const OptimConfig& cfg, bool fused = false);
// Whether this libtorch has the fused AdamW kernel for `device` (CUDA: 2.0+, CPU: 2.4+).
bool fused_adamw_available(const torch::Device& device);
// adamw_update over tensors whose update counts differ (a parameter that got no gradient in some
// update has taken fewer steps): one call per distinct count in `steps` (one per tensor), the
// fused kernel on CUDA.
void adamw_update_by_step(const std::vector<torch::Tensor>& p, const std::vector<torch::Tensor>& g,
                          const std::vector<torch::Tensor>& m, const std::vector<torch::Tensor>& v,
                          const std::vector<int64_t>& steps, double lr, const OptimConfig& cfg);

// The squared total L2 norm of `grads`, summed in float64, as a device scalar not yet read (a
// sharded step adds the ranks' parts first); zero for an empty list.
torch::Tensor squared_norm(const std::vector<torch::Tensor>& grads, const torch::TensorOptions& options);
// Gradient clipping by total norm (torch's clip_grad_norm_): scales `grads` by max_norm / (norm +
// 1e-6) when max_norm > 0 and norm exceeds it.
void clip_to_norm(std::vector<torch::Tensor>& grads, double norm, double max_norm);

}  // namespace r1
