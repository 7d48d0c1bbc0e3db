// Private helpers shared by the scalar reference and the SIMD tables: the reduction orders every
// table must reproduce bit for bit (see phi_kernels.h), and the repacked record layout.
#ifndef PHI_INTERNAL_H
#define PHI_INTERNAL_H

#include "phi_kernels.h"

// Contracting a * b + c into an FMA would change results between compilers and machines; every
// fused multiply-add in these kernels is written as fmaf or an FMA intrinsic on purpose.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define PHI_LANES 8

/// The final step of every float dot: ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7)).
static inline float phi_reduce_lanes(const float lane[PHI_LANES]) {
    const float s0 = lane[0] + lane[4], s1 = lane[1] + lane[5];
    const float s2 = lane[2] + lane[6], s3 = lane[3] + lane[7];
    const float t0 = s0 + s2, t1 = s1 + s3;
    return t0 + t1;
}

// ---- Repacked records (phi_repack) ----
#define PHI_Q8_0_SLICES 8  // 4-byte slices of a q8_0 block
#define PHI_Q4_0_SLICES 4  // 4-byte slices of a q4_0 block (each slice: 4 low + 4 high nibbles)
#define PHI_Q8_0_RECORD_BYTES (PHI_REPACK_ROWS * (2 + PHI_QK))     // 272
#define PHI_Q4_0_RECORD_BYTES (PHI_REPACK_ROWS * (2 + PHI_QK / 2))  // 144

static inline size_t phi_record_bytes(phi_format format) {
    return format == PHI_FORMAT_Q8_0 ? PHI_Q8_0_RECORD_BYTES
         : format == PHI_FORMAT_Q4_0 ? PHI_Q4_0_RECORD_BYTES : 0;
}

/// Start of the record of (row group, block) in a repacked matrix with `blocks` blocks a row.
static inline const uint8_t *phi_record(const void *packed, phi_format format, int64_t group,
                                        int64_t block, int64_t blocks) {
    return (const uint8_t *)packed + (size_t)(group * blocks + block) * phi_record_bytes(format);
}

// ---- Scalar pieces of the reference, reused by SIMD tails and fallbacks ----
float phi_scalar_dot(phi_format format, const void *w, const void *x, int64_t n);
void phi_scalar_matmul_repacked(phi_format format, const void *packed, int64_t row_begin,
                                int64_t row_end, const void *x, size_t x_row_bytes, int64_t tokens,
                                int64_t cols, float *out, int64_t out_stride);

/// Largest block count the SIMD matmuls stage per-token data for on the stack; longer rows
/// (over 65,536 columns, far beyond Phi-4-mini's 8,192) take the scalar path, same results.
#define PHI_MAX_STAGED_BLOCKS 2048

#endif
