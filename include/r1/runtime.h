// Process-wide runtime setup: torch CPU threads, BLAS check, and the version banner.
#pragma once

#include <string>

namespace r1 {

// OpenMP (torch's elementwise kernels) and OpenBLAS (its matmuls) each keep their own worker
// threads, and by default both spin while idle, so on a small machine each pool steals the
// cores the other needs: the CPU demo ran 2.8x slower on 2 threads than with the OpenMP
// workers sleeping when idle (57.8 s vs 21.2 s for 30 steps, measured). Both libraries read
// their settings only when they load, before main(); so if the process environment does not
// set OMP_WAIT_POLICY, this sets OMP_WAIT_POLICY=passive and OPENBLAS_THREAD_TIMEOUT=4 (unless
// set) and re-executes the binary (/proc/self/exe) with the same arguments, once. A user's own
// OMP_WAIT_POLICY is left alone. Returns only if no re-execution happened. r1train calls it for
// the commands that run a model (train, sft, eval, generate, inspect).
void ensure_idle_threads_sleep(char** argv);

// Sets torch's intra-op threads: `threads` > 0 wins, else $R1TRAIN_THREADS, else
// every core this process may run on. Returns the number set.
int configure_threads(int threads);

// The BLAS library actually loaded into the process (e.g. "libopenblas.so.0"),
// or "unknown". Debian's reference BLAS makes fp32 matmul ~30x slower.
std::string loaded_blas();

// "r1train X.Y.Z (libtorch A.B.C, CUDA available|not available, BLAS ...)".
std::string version_string();

}  // namespace r1
