#include "r1/runtime.h"

#include <link.h>
#include <sched.h>
#include <unistd.h>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <cstdlib>
#include <string>

#include "r1/error.h"

namespace r1 {

void ensure_idle_threads_sleep(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;  // the user's choice, or already re-executed
  setenv("OMP_WAIT_POLICY", "passive", 0);
  setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0);
  execv("/proc/self/exe", argv);  // returns only on failure: then run on with the default spinning
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

std::string loaded_blas() {
  std::string found = "unknown";
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        std::string name = info->dlpi_name ? info->dlpi_name : "";
        auto* out = static_cast<std::string*>(data);
        for (const char* lib : {"openblas", "libmkl", "libblis", "blas/libblas"}) {
          if (name.find(lib) != std::string::npos) {
            *out = name.substr(name.rfind('/') + 1);
            if (std::string(lib) == "blas/libblas") *out = "reference BLAS (" + name + ")";
            return 1;
          }
        }
        return 0;
      },
      &found);
  return found;
}

std::string version_string() {
  return std::string("r1train ") + R1_VERSION + " (libtorch " + TORCH_VERSION + ", CUDA " +
         (torch::cuda::is_available() ? "available" : "not available") + ", BLAS " + loaded_blas() + ")";
}

}  // namespace r1
