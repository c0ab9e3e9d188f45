// AdamW with fp32 master weights, warmup + constant/linear/cosine schedule, gradient clipping and non-finite skips;
// optionally with its state sharded over the ranks of a run (ZeRO stage 1).
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "r1/core/config.h"
#include "r1/train/adamw.h"
#include "r1/train/zero1.h"

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

class Optimizer {
 public:
  // `params` are the model's trainable parameters. Parameters that are not
  // float32 (bf16/fp16 models) get float32 master copies that AdamW updates;
  // the model's parameters are rounded from them after each step.
  //
  // `comm`: the run's ranks (nullptr or one process: alone). A parameter that got no gradient in
  // an update, on any rank, is not stepped: its weights, moments and update count stay (as
  // torch.optim.AdamW skips a parameter whose .grad is None), in every mode.
  //
  // With `shard` (several ranks), ZeRO stage 1 (train/zero1.h): each rank keeps AdamW's moments
  // and the master weights of its slice of the flat parameter vector only, updates that slice,
  // and the updated parameters are shared with every rank. Gradients must be summed over the ranks
  // before step() (every rank holds the whole gradient); the gradient norm is the whole gradient's.
  Optimizer(std::vector<torch::Tensor> params, const OptimConfig& cfg, int64_t total_updates,
            Communicator* comm = nullptr, bool shard = false);
  ~Optimizer();

  // Clears the gradients (set to none, as torch's zero_grad does by default).
  void zero_grad();
  // Call after each micro-batch's backward. For parameters not in float32 (bf16/fp16 models) the
  // gradients are added to float32 accumulators and cleared, so that the micro-batches of an
  // update are summed in float32 rather than in the model's dtype; a no-op for float32 models.
  void accumulate_gradients();
  // The update's gradient, one tensor per parameter (zeros where none arrived, still counted as
  // none by step()): the float32 accumulators, or the float32 parameters' own .grad(). Summing
  // these over the ranks before step() is the distributed gradient all-reduce.
  std::vector<torch::Tensor> gradients();
  // Clips, checks for non-finite gradients, and applies one AdamW update at the scheduled
  // learning rate for update number `update`. With several ranks every rank calls it.
  OptimizerStep step(int64_t update);

  // Writes the state into checkpoint directory `dir` (train/optimizer_state.h): optimizer.pt, or,
  // sharded, one optimizer.rank-R-of-N.pt per rank, all written by rank 0 (the other ranks send
  // theirs: call save_shard() there at the same time).
  void save(const std::filesystem::path& dir);
  void save_shard();  // sharded, rank != 0: sends this rank's shard to rank 0's save()
  // Reads the state from checkpoint directory `dir`, whichever of the two layouts it holds and
  // however many ranks wrote it (state re-sharded). InputError if it does not match the model.
  void load(const std::filesystem::path& dir);

  bool sharded() const { return shard_ != nullptr; }

 private:
  // Marks the parameters whose gradient arrived (before gradients() fills the others with zeros).
  void note_gradients();
  // Which parameters got a gradient on any rank in this update.
  std::vector<bool> gradient_present();
  // One AdamW update of `params` (with their `grads`) at `lr`, the moments in adamw_'s state.
  void adamw_step(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads, double lr);
  // The unsharded state as a flat slice [0, total), and back.
  void load_flat(const FlatState& flat);

  std::vector<torch::Tensor> params_;
  std::vector<torch::Tensor> masters_;  // float32 copies when params_ are not float32, else params_
  bool use_masters_ = false;
  std::vector<torch::Tensor> accumulated_;  // with use_masters_: float32 gradient sums (undefined: none yet)
  std::vector<bool> got_gradient_;          // per parameter, this update, this rank
  bool filled_ = false;                     // gradients() has filled the missing ones with zeros
  OptimConfig cfg_;
  int64_t total_updates_;
  Communicator* comm_ = nullptr;
  std::unique_ptr<torch::optim::AdamW> adamw_;  // unsharded
  std::unique_ptr<ZeroShard> shard_;            // sharded
};

}  // namespace r1
