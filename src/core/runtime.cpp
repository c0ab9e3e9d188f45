#include "r1/core/runtime.h"

#include <link.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace r1 {

void ensure_idle_threads_sleep(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;  // the user's choice, or already re-executed
  setenv("OMP_WAIT_POLICY", "passive", 0);
  setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0);
  execv("/proc/self/exe", argv);  // returns only on failure: then run on with the default spinning
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

}  // namespace r1
