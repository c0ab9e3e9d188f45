#include "r1/model/device.h"

#include <fmt/format.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

#include "r1/core/error.h"
#include "r1/model/torch_features.h"

#if R1_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

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

torch::Dtype resolve_dtype(Dtype dtype, torch::Device device, const std::string& key) {
  if (dtype == Dtype::Float16 && !device.is_cuda())
    throw InputError(key + ": float16 does not run on the CPU (libtorch has no float16 matrix multiply there); use "
                           "float32 or bfloat16, or a CUDA device");
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
  cpu_set_t set;
  const int cores = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
  if (n <= 0) n = cores;
  if (n > cores) {
    // More threads than cores only adds contention (a 2-token job ran for minutes with 1000).
    spdlog::warn("{} threads asked for, but this process may run on {} cores: using {}", n, cores, cores);
    n = cores;
  }
  torch::set_num_threads(n);
  return n;
}

std::optional<uint64_t> device_memory_bytes(torch::Device device) {
  if (device.is_cuda()) {
#if R1_WITH_CUDA
    return static_cast<uint64_t>(at::cuda::getDeviceProperties(device.index() < 0 ? 0 : device.index())->totalGlobalMem);
#else
    return std::nullopt;
#endif
  }
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return std::nullopt;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
}

uint64_t peak_memory_bytes(torch::Device device) {
#if R1_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? 0 : device.index());
    // Entry 0 is StatType::AGGREGATE (all pools); the enum moved between libtorch versions
    // (c10::cuda::CUDACachingAllocator, then c10::CachingAllocator), its value did not.
    return static_cast<uint64_t>(stats.allocated_bytes[0].peak);
  }
#endif
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // ru_maxrss is in KiB on Linux
}

void check_fits_memory(uint64_t bytes, torch::Device device, const std::string& what, const std::string& fix) {
  const auto have = device_memory_bytes(device);
  if (!have || bytes <= *have) return;
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  throw InputError(fmt::format("{} needs {} bytes ({:.1f} GiB) on {}, which has {:.1f} GiB in all; {}", what, bytes,
                               static_cast<double>(bytes) / kGiB, device.str(), static_cast<double>(*have) / kGiB,
                               fix));
}

std::string torch_build_info() {
  return std::string("libtorch ") + TORCH_VERSION + ", CUDA " +
         (torch::cuda::is_available() ? "available" : "not available");
}

#if R1_WITH_CUDA
CudaSyncDebug::CudaSyncDebug(Mode mode)
    : previous_(static_cast<int>(c10::cuda::warning_state().get_sync_debug_mode())) {
  c10::cuda::warning_state().set_sync_debug_mode(mode == kCheck ? c10::cuda::SyncDebugMode::L_ERROR
                                                                : c10::cuda::SyncDebugMode::L_DISABLED);
}
CudaSyncDebug::~CudaSyncDebug() {
  c10::cuda::warning_state().set_sync_debug_mode(static_cast<c10::cuda::SyncDebugMode>(previous_));
}
#else
CudaSyncDebug::CudaSyncDebug(Mode mode) {
  if (mode == kCheck)
    throw InputError("the CUDA sync check needs a CUDA build of r1train (this libtorch has no CUDA)");
}
CudaSyncDebug::~CudaSyncDebug() = default;
#endif

}  // namespace r1
