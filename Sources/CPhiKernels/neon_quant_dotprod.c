// The q8_0/q4_0 kernels with the dotprod extension (SDOT, armv8.2-a+dotprod, e.g. Cortex-A55,
// A76, Neoverse). Compiled for that target only here; neon.c offers the table when the CPU
// reports the feature.
#if defined(__aarch64__)
#include "neon_common.h"

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("dotprod"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod")
#endif

#define SDOT(acc, a, b) vdotq_s32(acc, a, b)
#define SDOT_LANE(acc, a, b, k) vdotq_laneq_s32(acc, a, b, k)
#define SUFFIX dotprod
#include "neon_quant_impl.h"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif
