// AdamW with fp32 master weights, warmup + constant/linear/cosine schedule, gradient clipping and non-finite skips;
// optionally with its state sharded over the ranks of a run (ZeRO stage 1).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "r1/core/config.h"

namespace r1 {

class Communicator;

// Learning rate for optimizer update `update` (0-based) of `total_updates`:
// linear warmup from 0 over warmup_steps, then constant, linear decay to 0, or
// cosine decay to 0 (the shapes of transformers' get_*_schedule_with_warmup).
double scheduled_lr(const OptimConfig& cfg, int64_t update, int64_t total_updates);

struct OptimizerStep {
  bool applied = false;    // false: a gradient was NaN/Inf and the update was skipped
  double grad_norm = 0.0;  // total L2 norm before clipping
  double lr = 0.0;
};

// Bytes one rank holds for the parameters `params` and their training state: the weights and
// gradients in the model's dtype (plus, for models not in float32, the float32 gradient sums),
// AdamW's two float32 moments and (for models not in float32) float32 master weights; the last
// two divided over `shards` ranks when sharded.
struct TrainingMemory {
  int64_t parameters = 0;
  int64_t weights = 0, gradients = 0, moments = 0, masters = 0;
  int64_t total() const { return weights + gradients + moments + masters; }
};
TrainingMemory training_memory(const std::vector<torch::Tensor>& params, int shards);

// One AdamW update (decoupled weight decay, bias-corrected moments, as torch.optim.AdamW) of the
// float32 tensors p with gradients g and moments m, v, all on one device, at update count `step`
// (1-based) and learning rate `lr`. `fused`: at::_fused_adamw_, one kernel for the whole list
// (only where fused_adamw_available says so); else foreach ops, bit-identical to
// torch::optim::AdamW. The optimizer uses the fused kernel on CUDA.
void adamw_update(std::vector<torch::Tensor>& p, std::vector<torch::Tensor>& g, std::vector<torch::Tensor>& m,
                  std::vector<torch::Tensor>& v, int64_t step, double lr, const OptimConfig& cfg, bool fused = false);
// Whether this libtorch has the fused AdamW kernel for `device` (CUDA: 2.0+, CPU: 2.4+).
bool fused_adamw_available(const torch::Device& device);

class Optimizer {
 public:
  // `params` are the model's trainable parameters. Parameters that are not
  // float32 (bf16/fp16 models) get float32 master copies that AdamW updates;
  // the model's parameters are rounded from them after each step.
  //
  // With `shard_over` (a distributed communicator), ZeRO stage 1: the parameters are seen as one
  // flat vector split into contiguous slices, one per rank; each rank keeps AdamW's moments and
  // the master weights of its slice only, updates that slice, and the updated parameters are
  // shared with every rank. Gradients must be summed over the ranks before step() (every rank
  // holds the whole gradient); the gradient norm is that of the whole gradient.
  Optimizer(std::vector<torch::Tensor> params, const OptimConfig& cfg, int64_t total_updates,
            Communicator* shard_over = nullptr);
  ~Optimizer();

  void zero_grad();
  // Call after each micro-batch's backward. For parameters not in float32 (bf16/fp16 models) the
  // gradients are added to float32 accumulators and cleared, so that the micro-batches of an
  // update are summed in float32 rather than in the model's dtype; a no-op for float32 models.
  void accumulate_gradients();
  // The update's gradient, one tensor per parameter (zeros where none arrived): the float32
  // accumulators, or the float32 parameters' own .grad(). Summing these over the ranks before
  // step() is the distributed gradient all-reduce.
  std::vector<torch::Tensor> gradients();
  // Clips, checks for non-finite gradients, and applies one AdamW update at the
  // scheduled learning rate for update number `update`. Sharded: every rank calls it.
  OptimizerStep step(int64_t update);

  // Writes the state into checkpoint directory `dir`: optimizer.pt (torch::optim::AdamW's
  // archive plus master.N tensors), or, sharded, one optimizer.rank-R-of-N.pt per rank, all
  // written by rank 0 (the other ranks send theirs: call save_shard() there at the same time).
  void save(const std::filesystem::path& dir);
  void save_shard();  // sharded, rank != 0: sends this rank's shard to rank 0's save()
  // Reads the state from checkpoint directory `dir`, whichever of the two layouts it holds and
  // however many ranks wrote it (state re-sharded). InputError if it does not match the model.
  void load(const std::filesystem::path& dir);

  bool sharded() const { return shard_ != nullptr; }

 private:
  struct Shard;
  OptimizerStep sharded_step(int64_t update);
  // One AdamW update of `params` (with their `grads`) at `lr`, the moments in adamw_'s state.
  void adamw_step(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads, double lr);
  std::string shard_bytes() const;  // this rank's shard, serialised
  void load_unsharded_from_flat(const std::filesystem::path& dir);

  std::vector<torch::Tensor> params_;
  std::vector<torch::Tensor> masters_;  // float32 copies when params_ are not float32, else params_
  bool use_masters_ = false;
  std::vector<torch::Tensor> accumulated_;  // with use_masters_: float32 gradient sums (undefined: none yet)
  OptimConfig cfg_;
  int64_t total_updates_;
  std::unique_ptr<torch::optim::AdamW> adamw_;  // unsharded
  std::unique_ptr<Shard> shard_;                // sharded
};

}  // namespace r1
