#include "r1/model/device.h"

#include <fmt/format.h>
#include <sched.h>

#include <cstdlib>

#include "r1/core/error.h"

namespace r1 {

torch::Device resolve_device(const std::string& spec) {
  if (spec == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (spec == "cpu") return torch::kCPU;
  if (spec == "cuda" || spec.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available())
      throw InputError(fmt::format("device '{}': CUDA is not available in this build or machine; use --device cpu",
                                   spec));
    int index = 0;
    if (spec.size() > 5) {
      const std::string n = spec.substr(5);
      if (n.empty() || n.size() > 3 || n.find_first_not_of("0123456789") != std::string::npos)
        throw InputError(fmt::format("device '{}': expected cuda:N with N a device index", spec));
      index = std::stoi(n);
    }
    if (index >= static_cast<int>(torch::cuda::device_count()))
      throw InputError(fmt::format("device '{}': only {} CUDA device(s) present", spec, torch::cuda::device_count()));
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw InputError(fmt::format("device '{}': expected auto, cpu, cuda or cuda:N", spec));
}

torch::Dtype resolve_dtype(Dtype dtype, torch::Device device) {
  switch (dtype) {
    case Dtype::Auto: return device.is_cuda() ? torch::kBFloat16 : torch::kFloat32;
    case Dtype::Float32: return torch::kFloat32;
    case Dtype::BFloat16: return torch::kBFloat16;
    case Dtype::Float16: return torch::kFloat16;
  }
  throw std::logic_error("resolve_dtype: unhandled dtype");
}

std::string dtype_name(torch::Dtype dtype) {
  switch (dtype) {
    case torch::kFloat32: return "float32";
    case torch::kBFloat16: return "bfloat16";
    case torch::kFloat16: return "float16";
    default: return c10::toString(dtype);
  }
}

int configure_threads(int threads) {
  int n = threads;
  if (n <= 0) {
    if (const char* env = std::getenv("R1TRAIN_THREADS"); env && *env) {
      char* end = nullptr;
      long v = std::strtol(env, &end, 10);
      if (*end != '\0' || v < 1 || v > 4096) {
        throw InputError(std::string("R1TRAIN_THREADS='") + env + "' is not a positive integer");
      }
      n = static_cast<int>(v);
    }
  }
  if (n <= 0) {
    cpu_set_t set;
    n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
  }
  torch::set_num_threads(n);
  return n;
}

std::string torch_build_info() {
  return std::string("libtorch ") + TORCH_VERSION + ", CUDA " +
         (torch::cuda::is_available() ? "available" : "not available");
}

}  // namespace r1
