// Where and in what precision a model runs: device and dtype names, torch CPU threads, the libtorch build.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>

#include "r1/core/options.h"

namespace r1 {

// "auto" (cuda when available) | "cpu" | "cuda" | "cuda:N"; InputError otherwise or when CUDA is absent.
torch::Device resolve_device(const std::string& spec);
// The torch dtype of a model on `device`; Dtype::Auto is bfloat16 on CUDA and float32 on the CPU.
// InputError naming `key` for float16 on the CPU, where libtorch has no half-precision matmul.
torch::Dtype resolve_dtype(Dtype dtype, torch::Device device, const std::string& key = "model.dtype");
// The Hugging Face torch_dtype name: "float32" | "bfloat16" | "float16".
std::string dtype_name(torch::Dtype dtype);

// Bytes of memory `device` has in all (the CPU: physical memory; a GPU: its global memory in a CUDA
// build), or nothing when this build cannot tell.
std::optional<uint64_t> device_memory_bytes(torch::Device device);

// The most memory this process has held so far: on a GPU the CUDA caching allocator's peak of
// allocated bytes on `device`, on the CPU the peak resident set size.
uint64_t peak_memory_bytes(torch::Device device);

// InputError "WHAT needs N GiB on DEVICE, which has M GiB; FIX" when `bytes` exceed the device's
// memory: checked before an allocation that would otherwise die inside libtorch.
void check_fits_memory(uint64_t bytes, torch::Device device, const std::string& what, const std::string& fix);

// Sets torch's intra-op threads: `threads` > 0 wins, else $R1TRAIN_THREADS, else
// every core this process may run on. Returns the number set.
int configure_threads(int threads);

// While alive, c10's CUDA sync debug mode is set, and restored after: kCheck makes any host-device
// synchronisation libtorch performs throw (the decode loop's no-sync check; InputError in a build
// without CUDA); kIntended lifts such a check for a synchronisation that is meant (graph capture).
class CudaSyncDebug {
 public:
  enum Mode { kCheck, kIntended };
  explicit CudaSyncDebug(Mode mode);
  ~CudaSyncDebug();
  CudaSyncDebug(const CudaSyncDebug&) = delete;
  CudaSyncDebug& operator=(const CudaSyncDebug&) = delete;

 private:
  int previous_ = 0;
};

// "libtorch A.B.C, CUDA available|not available".
std::string torch_build_info();

}  // namespace r1
