// The optimizer state's layouts in a checkpoint directory, and the conversions between them:
//  - optimizer.pt: torch::optim::AdamW's archive (per-parameter step and moments) plus master.N
//    tensors (float32 masters of a model not in float32); written by one process, or by ranks
//    that do not shard;
//  - optimizer.rank-R-of-N.pt: one ZeRO-1 shard each (range [lo, hi, total], steps [P], step
//    (their largest; checkpoints before per-parameter counts hold only this), exp_avg,
//    exp_avg_sq, master), all written by rank 0.
// Either is read by any number of ranks, sharded or not: a flat slice [lo, hi) of the state comes
// out of either.
#pragma once

#include <torch/torch.h>
#include <torch/version.h>

#include <filesystem>
#include <string>
#include <vector>

#include "r1/train/zero1.h"

namespace r1 {

std::string shard_file_name(int rank, int size);
// The shards one sharded save wrote, in rank order. Empty when the directory holds none;
// InputError when some are missing or shards of different runs are mixed.
std::vector<std::filesystem::path> shard_files(const std::filesystem::path& dir);
// [lo, hi) of the shards' flat state, for parameters `params`; InputError when the shards were
// written for a different model.
FlatState read_shards(const std::vector<std::filesystem::path>& files, const std::vector<torch::Tensor>& params,
                      const FlatLayout& layout, int64_t lo, int64_t hi, bool masters);
// One shard's file contents.
std::string shard_bytes(const FlatState& state, int64_t lo, int64_t hi, int64_t total);

// torch::optim keys per-parameter state by the tensor's impl: a string in libtorch 1.x, the
// pointer in 2.x.
#if TORCH_VERSION_MAJOR >= 2
inline void* adamw_state_key(const torch::Tensor& p) { return static_cast<void*>(p.unsafeGetTensorImpl()); }
#else
inline std::string adamw_state_key(const torch::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }
#endif

// Serialised in memory first: libtorch's file writer throws from its destructor when the disk
// fills, which would end the process; this way a failed write is an ordinary WriteError.
std::string archive_bytes(torch::serialize::OutputArchive& archive);
// optimizer.pt written for `params` (AdamW's archive, master.N with `masters`) as the flat slice
// [lo, hi).
FlatState read_adamw_archive(const std::filesystem::path& file, const std::vector<torch::Tensor>& params,
                             const FlatLayout& layout, int64_t lo, int64_t hi, bool masters);

}  // namespace r1
