// Helpers of the AVX2+FMA+F16C table. Every file including this header compiles its functions
// for that target (the rest of the package stays baseline x86-64) and must end with
// PHI_AVX2_END. Only phi_kernels_avx2() checks the CPU before any of this code runs.
#ifndef PHI_AVX2_COMMON_H
#define PHI_AVX2_COMMON_H

#include "phi_internal.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#define PHI_AVX2_END _Pragma("clang attribute pop")
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#define PHI_AVX2_END _Pragma("GCC pop_options")
#endif

#define PHI_INLINE static inline __attribute__((always_inline))

/// The eight-lane reduction of phi_kernels.h: ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7)).
PHI_INLINE float avx2_reduce_lanes(__m256 v) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

/// Mask of the first `count` (0..8) lanes.
PHI_INLINE __m256i avx2_first_lanes(int count) {
    const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(count), index);
}

PHI_INLINE int32_t avx2_load_i32(const void *p) {
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

PHI_INLINE float avx2_f16_to_f32(phi_f16 h) {
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h)));
}

/// Sums of the eight int32 lanes of each of p0..p7, as lanes 0..7 of the result (exact).
PHI_INLINE __m256i avx2_sum_lanes8(__m256i p0, __m256i p1, __m256i p2, __m256i p3, __m256i p4,
                                   __m256i p5, __m256i p6, __m256i p7) {
    const __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(p0, p1), _mm256_hadd_epi32(p2, p3));
    const __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(p4, p5), _mm256_hadd_epi32(p6, p7));
    return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20), _mm256_permute2x128_si256(a, b, 0x31));
}

PHI_INLINE int32_t avx2_sum_lanes(__m256i p) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}

/// phi_expf on eight lanes, operation for operation.
PHI_INLINE __m256 exp8(__m256 x) {
    const __m256 t = _mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f));
    const __m256 magic = _mm256_set1_ps(12582912.0f);
    const __m256 n = _mm256_sub_ps(_mm256_add_ps(t, magic), magic);
    __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-0.693145751953125f), x);
    r = _mm256_fmadd_ps(n, _mm256_set1_ps(-1.428606765330187045e-06f), r);
    const __m256 z = _mm256_mul_ps(r, r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    const __m256 y = _mm256_add_ps(_mm256_fmadd_ps(p, z, r), _mm256_set1_ps(1.0f));
    // Out-of-range lanes compute garbage exponents here; they are replaced below.
    const __m256i exponent = _mm256_cvtps_epi32(n);
    const __m256i half = _mm256_srai_epi32(exponent, 1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 scale1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(half, bias), 23));
    const __m256 scale2 = _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(exponent, half), bias), 23));
    __m256 result = _mm256_mul_ps(_mm256_mul_ps(y, scale1), scale2);
    const __m256 tiny = _mm256_cmp_ps(x, _mm256_set1_ps(-87.33654f), _CMP_NGT_UQ);  // incl. nan
    result = _mm256_blendv_ps(result, _mm256_setzero_ps(), tiny);
    result = _mm256_blendv_ps(result, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
    return _mm256_blendv_ps(result, _mm256_set1_ps(INFINITY),
                            _mm256_cmp_ps(x, _mm256_set1_ps(88.72283f), _CMP_GT_OQ));
}

// ---- Functions of the table, one file per concern ----
float phi_avx2_dot_float(phi_format format, const void *w, const void *x, int64_t n);
void phi_avx2_matmul_float(phi_format format, const void *w, size_t w_row_bytes, int64_t row_begin,
                           int64_t row_end, const void *x, size_t x_row_bytes, int64_t tokens,
                           int64_t cols, float *out, int64_t out_stride);
float phi_avx2_dot_quant(phi_format format, const void *w, const void *x, int64_t n);
void phi_avx2_matmul_quant(phi_format format, const void *w, size_t w_row_bytes, int64_t row_begin,
                           int64_t row_end, const void *x, size_t x_row_bytes, int64_t tokens,
                           int64_t cols, float *out, int64_t out_stride);
void phi_avx2_matmul_repacked(phi_format format, const void *packed, int64_t row_begin,
                              int64_t row_end, const void *x, size_t x_row_bytes, int64_t tokens,
                              int64_t cols, float *out, int64_t out_stride);
void phi_avx2_quantize_row_q8_0(const float *x, phi_block_q8_0 *y, int64_t n);
void phi_avx2_quantize_row_q4_0(const float *x, phi_block_q4_0 *y, int64_t n);
void phi_avx2_rmsnorm(const float *x, const float *weight, float *out, int64_t n, float eps);
void phi_avx2_swiglu(const float *gate, const float *up, float *out, int64_t n);
void phi_avx2_attend_head(const float *q, const float *keys, const float *values, int64_t stride,
                          int64_t count, int64_t head_dim, float scale, float *scores, float *out);
void phi_avx2_attend_group(const float *q, int64_t q_stride, int64_t heads, const float *keys,
                           const float *values, int64_t stride, int64_t count, int64_t head_dim,
                           float scale, float *scores, float *out, int64_t out_stride);

#endif
