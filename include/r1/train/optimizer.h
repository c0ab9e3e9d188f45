// AdamW with fp32 master weights, warmup + constant/linear/cosine schedule, gradient clipping and non-finite skips.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "r1/core/config.h"

namespace r1 {

// Learning rate for optimizer update `update` (0-based) of `total_updates`:
// linear warmup from 0 over warmup_steps, then constant, linear decay to 0, or
// cosine decay to 0 (the shapes of transformers' get_*_schedule_with_warmup).
double scheduled_lr(const OptimConfig& cfg, int64_t update, int64_t total_updates);

struct OptimizerStep {
  bool applied = false;    // false: a gradient was NaN/Inf and the update was skipped
  double grad_norm = 0.0;  // total L2 norm before clipping
  double lr = 0.0;
};

class Optimizer {
 public:
  // `params` are the model's trainable parameters. Parameters that are not
  // float32 (bf16/fp16 models) get float32 master copies that AdamW updates;
  // the model's parameters are rounded from them after each step.
  Optimizer(std::vector<torch::Tensor> params, const OptimConfig& cfg, int64_t total_updates);

  void zero_grad();
  // Clips, checks for non-finite gradients, and applies one AdamW update at the
  // scheduled learning rate for update number `update`.
  OptimizerStep step(int64_t update);

  void save(const std::filesystem::path& file);
  void load(const std::filesystem::path& file);  // InputError if it does not match

 private:
  // One AdamW update of `params` (with their `grads`) at `lr`, as foreach operations.
  void adamw_step(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads, double lr);

  std::vector<torch::Tensor> params_;
  std::vector<torch::Tensor> masters_;  // float32 copies when params_ are not float32, else params_
  bool use_masters_ = false;
  OptimConfig cfg_;
  int64_t total_updates_;
  std::unique_ptr<torch::optim::AdamW> adamw_;
};

}  // namespace r1
