// Process-wide runtime setup: torch CPU threads, BLAS check, and the version banner.
#pragma once

#include <string>

namespace r1 {

// Sets torch's intra-op threads: `threads` > 0 wins, else $R1TRAIN_THREADS, else
// every core this process may run on. Returns the number set.
int configure_threads(int threads);

// The BLAS library actually loaded into the process (e.g. "libopenblas.so.0"),
// or "unknown". Debian's reference BLAS makes fp32 matmul ~30x slower.
std::string loaded_blas();

// "r1train X.Y.Z (libtorch A.B.C, CUDA available|not available, BLAS ...)".
std::string version_string();

}  // namespace r1
