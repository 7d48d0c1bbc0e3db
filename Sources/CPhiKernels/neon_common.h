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

/// phi_expf on four lanes, operation for operation.
PHI_INLINE float32x4_t neon_exp4(float32x4_t x) {
    const float32x4_t t = vmulq_f32(x, vdupq_n_f32(1.44269504088896341f));
    const float32x4_t magic = vdupq_n_f32(12582912.0f);
    const float32x4_t n = vsubq_f32(vaddq_f32(t, magic), magic);
    float32x4_t r = vfmaq_f32(x, n, vdupq_n_f32(-0.693145751953125f));
    r = vfmaq_f32(r, n, vdupq_n_f32(-1.428606765330187045e-06f));
    const float32x4_t z = vmulq_f32(r, r);
    float32x4_t p = vdupq_n_f32(1.9875691500e-4f);
    p = vfmaq_f32(vdupq_n_f32(1.3981999507e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(8.3334519073e-3f), p, r);
    p = vfmaq_f32(vdupq_n_f32(4.1665795894e-2f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.6666665459e-1f), p, r);
    p = vfmaq_f32(vdupq_n_f32(5.0000001201e-1f), p, r);
    const float32x4_t y = vaddq_f32(vfmaq_f32(r, p, z), vdupq_n_f32(1.0f));
    const int32x4_t exponent = vcvtq_s32_f32(n);  // n is integral where it matters
    const int32x4_t half = vshrq_n_s32(exponent, 1);
    const int32x4_t bias = vdupq_n_s32(127);
    const float32x4_t scale1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(half, bias), 23));
    const float32x4_t scale2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vsubq_s32(exponent, half), bias), 23));
    float32x4_t result = vmulq_f32(vmulq_f32(y, scale1), scale2);
    const uint32x4_t above_tiny = vcgtq_f32(x, vdupq_n_f32(-87.33654f));  // false for nan too
    result = vbslq_f32(above_tiny, result, vdupq_n_f32(0.0f));
    result = vbslq_f32(vceqq_f32(x, x), result, x);  // nan stays nan
    return vbslq_f32(vcgtq_f32(x, vdupq_n_f32(88.72283f)), vdupq_n_f32(INFINITY), result);
}

float phi_neon_dot_float(phi_format format, const void *w, const void *x, int64_t n);
void phi_neon_matmul_float(phi_format format, const void *w, size_t w_row_bytes, int64_t row_begin,
                           int64_t row_end, const void *x, size_t x_row_bytes, int64_t tokens,
                           int64_t cols, float *out, int64_t out_stride);
void phi_neon_quantize_row_q8_0(const float *x, phi_block_q8_0 *y, int64_t n);
void phi_neon_quantize_row_q4_0(const float *x, phi_block_q4_0 *y, int64_t n);
void phi_neon_rmsnorm(const float *x, const float *weight, float *out, int64_t n, float eps);
void phi_neon_swiglu(const float *gate, const float *up, float *out, int64_t n);

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
