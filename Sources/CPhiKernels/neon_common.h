// Helpers of the NEON tables (aarch64). Plain NEON is baseline on aarch64; only the files
// instantiating neon_quant_impl.h with dotprod compile for armv8.2-a+dotprod.
#ifndef PHI_NEON_COMMON_H
#define PHI_NEON_COMMON_H

#include "phi_internal.h"

#include <arm_neon.h>
#include <math.h>
#include <string.h>

#define PHI_INLINE static inline __attribute__((always_inline))

/// Eight lanes as two quads (lanes 0-3, 4-7) reduced as phi_kernels.h prescribes:
/// ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7)).
PHI_INLINE float neon_reduce_lanes(float32x4_t lo, float32x4_t hi) {
    const float32x4_t s = vaddq_f32(lo, hi);
    const float32x2_t t = vadd_f32(vget_low_f32(s), vget_high_f32(s));
    return vget_lane_f32(t, 0) + vget_lane_f32(t, 1);
}

PHI_INLINE float32x4_t neon_f16x4_to_f32(uint16x4_t h) { return vcvt_f32_f16(vreinterpret_f16_u16(h)); }

PHI_INLINE float neon_f16_to_f32(phi_f16 h) { return vgetq_lane_f32(neon_f16x4_to_f32(vdup_n_u16(h)), 0); }

/// Mask of the first `count` (0..4) lanes.
PHI_INLINE uint32x4_t neon_first_lanes(int count) {
    const int32_t index[4] = {0, 1, 2, 3};
    return vcltq_s32(vld1q_s32(index), vdupq_n_s32(count));
}

float phi_neon_dot_float(phi_format format, const void *w, const void *x, int64_t n);
void phi_neon_matmul_float(phi_format format, const void *w, size_t w_row_bytes, int64_t row_begin,
                           int64_t row_end, const void *x, size_t x_row_bytes, int64_t tokens,
                           int64_t cols, float *out, int64_t out_stride);
void phi_neon_quantize_row_q8_0(const float *x, phi_block_q8_0 *y, int64_t n);
void phi_neon_quantize_row_q4_0(const float *x, phi_block_q4_0 *y, int64_t n);
void phi_neon_rmsnorm(const float *x, const float *weight, float *out, int64_t n, float eps);
void phi_neon_swiglu(const float *gate, const float *up, float *out, int64_t n);
void phi_neon_attend_head(const float *q, const float *keys, const float *values, int64_t stride,
                          int64_t count, int64_t head_dim, float scale, float *scores, float *out);
void phi_neon_attend_group(const float *q, int64_t q_stride, int64_t heads, const float *keys,
                           const float *values, int64_t stride, int64_t count, int64_t head_dim,
                           float scale, float *scores, float *out, int64_t out_stride);

// Quantized kernels, one set per integer dot product (neon_quant_impl.h).
#define PHI_NEON_QUANT_DECLARE(SUFFIX)                                                                 \
    float phi_neon_dot_quant_##SUFFIX(phi_format format, const void *w, const void *x, int64_t n);    \
    void phi_neon_matmul_quant_##SUFFIX(phi_format format, const void *w, size_t w_row_bytes,          \
                                        int64_t row_begin, int64_t row_end, const void *x,             \
                                        size_t x_row_bytes, int64_t tokens, int64_t cols, float *out,  \
                                        int64_t out_stride);                                           \
    void phi_neon_matmul_repacked_##SUFFIX(phi_format format, const void *packed, int64_t row_begin,   \
                                           int64_t row_end, const void *x, size_t x_row_bytes,         \
                                           int64_t tokens, int64_t cols, float *out, int64_t out_stride);
PHI_NEON_QUANT_DECLARE(plain)
PHI_NEON_QUANT_DECLARE(dotprod)

#endif
