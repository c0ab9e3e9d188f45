// Where and in what precision a model runs: device and dtype names, torch CPU threads, the libtorch build.
#pragma once

#include <torch/torch.h>

#include <string>

#include "r1/core/options.h"

namespace r1 {

// "auto" (cuda when available) | "cpu" | "cuda" | "cuda:N"; InputError otherwise or when CUDA is absent.
torch::Device resolve_device(const std::string& spec);
// The torch dtype of a model on `device`; Dtype::Auto is bfloat16 on CUDA and float32 on the CPU.
torch::Dtype resolve_dtype(Dtype dtype, torch::Device device);
// The Hugging Face torch_dtype name: "float32" | "bfloat16" | "float16".
std::string dtype_name(torch::Dtype dtype);

// Sets torch's intra-op threads: `threads` > 0 wins, else $R1TRAIN_THREADS, else
// every core this process may run on. Returns the number set.
int configure_threads(int threads);

// "libtorch A.B.C, CUDA available|not available".
std::string torch_build_info();

}  // namespace r1
