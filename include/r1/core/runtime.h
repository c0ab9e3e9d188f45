// Process-wide runtime setup that needs no libtorch: idle worker threads asleep, and which BLAS is loaded.
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

// The BLAS library actually loaded into the process (e.g. "libopenblas.so.0"),
// or "unknown". Debian's reference BLAS makes fp32 matmul ~30x slower.
std::string loaded_blas();

}  // namespace r1
