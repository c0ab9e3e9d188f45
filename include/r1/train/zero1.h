// ZeRO stage 1: AdamW's state split over the ranks of a run. The parameters are seen as one flat
// vector cut into contiguous slices, one per rank (rank_share); each rank keeps the moments and
// float32 master weights of its slice only, updates that slice, and shares the updated parameters.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "r1/core/config.h"

namespace r1 {

class Communicator;

// The parameters as one flat vector: where each starts, and the vector's length.
struct FlatLayout {
  std::vector<int64_t> offsets;
  int64_t total = 0;

  explicit FlatLayout(const std::vector<torch::Tensor>& params);
  // Calls fn(parameter index, first element in the parameter, first element in [lo, hi), count)
  // for every parameter that overlaps flat range [lo, hi).
  template <class Fn>
  void for_each_overlap(const std::vector<torch::Tensor>& params, int64_t lo, int64_t hi, Fn&& fn) const {
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int64_t begin = std::max(lo, offsets[i]), end = std::min(hi, offsets[i] + params[i].numel());
      if (begin < end) fn(i, begin - offsets[i], begin - lo, end - begin);
    }
  }
};

// AdamW's state over flat range [lo, hi) of the parameters: moments and masters [hi - lo] float32,
// and every parameter's update count (the same on every rank).
struct FlatState {
  std::vector<int64_t> steps;  // per parameter
  torch::Tensor exp_avg, exp_avg_sq, master;  // master undefined without masters
};

// This rank's slice and its AdamW state.
class ZeroShard {
 public:
  // `params`: contiguous, of one dtype; `masters`: keep float32 copies (params not float32).
  ZeroShard(const std::vector<torch::Tensor>& params, Communicator& comm, bool masters);

  int64_t lo() const { return lo_; }
  int64_t hi() const { return hi_; }
  const FlatLayout& layout() const { return layout_; }
  Communicator& comm() { return comm_; }

  // One update from the whole (already summed) gradients `grads` of the parameters `present` marks
  // (the same on every rank; the others keep weights, moments and counts): the whole gradient's
  // norm from every rank's slice, then, when finite, clipping, this slice's AdamW update and every
  // rank's updated slice shared with all. Returns the norm (not finite: nothing changed).
  double step(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
              const std::vector<bool>& present, double lr, const OptimConfig& cfg);

  FlatState state() const;          // on the CPU, for a checkpoint
  void load(const FlatState& state);

 private:
  Communicator& comm_;
  FlatLayout layout_;
  int64_t lo_ = 0, hi_ = 0;
  bool masters_;
  torch::Tensor master_, exp_avg_, exp_avg_sq_;  // [hi - lo] float32 on the device
  std::vector<int64_t> steps_;                   // per parameter: AdamW updates applied
  std::vector<torch::Tensor> params_;            // the parameters (shared storage)
};

}  // namespace r1
