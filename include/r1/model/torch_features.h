// What the libtorch being built against offers, as feature macros: version- and CUDA-dependent code
// tests these, never TORCH_VERSION_* directly.
#pragma once

#include <torch/version.h>

#define R1_TORCH_AT_LEAST(major, minor) \
  (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

// at::scaled_dot_product_attention with its `scale` argument (libtorch 2.1+).
#if R1_TORCH_AT_LEAST(2, 1)
#define R1_HAS_SDPA 1
#else
#define R1_HAS_SDPA 0
#endif

// ... and with `enable_gqa`: grouped-query attention without expanding K and V (libtorch 2.5+).
#if R1_TORCH_AT_LEAST(2, 5)
#define R1_HAS_SDPA_GQA 1
#else
#define R1_HAS_SDPA_GQA 0
#endif

// at::_fused_adamw_, AdamW in one kernel over a list of tensors: CUDA since libtorch 2.0, CPU since 2.4.
#if R1_TORCH_AT_LEAST(2, 0)
#define R1_HAS_FUSED_ADAMW_CUDA 1
#else
#define R1_HAS_FUSED_ADAMW_CUDA 0
#endif
#if R1_TORCH_AT_LEAST(2, 4)
#define R1_HAS_FUSED_ADAMW_CPU 1
#else
#define R1_HAS_FUSED_ADAMW_CPU 0
#endif

// R1_WITH_CUDA: 1 when the libtorch is a CUDA build (set by CMake; scripts/check_cuda_build.sh sets it
// to compile the CUDA paths against CUDA headers without a GPU). CUDA-only code sits behind it.
#ifndef R1_WITH_CUDA
#define R1_WITH_CUDA 0
#endif
