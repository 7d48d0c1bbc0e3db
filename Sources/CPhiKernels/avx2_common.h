// Helpers of the AVX2+FMA+F16C table. Every file including this header compiles its functions
// for that target (the rest of the package stays baseline x86-64) and must end with
// PHI_AVX2_END. Only phi_kernels_avx2() (and phi_kernels_avx512()) check the CPU before any of
// this code runs.
#ifndef PHI_AVX2_COMMON_H
#define PHI_AVX2_COMMON_H

#include "phi_internal.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

// A file defining PHI_AVX512 first (avx512_attention_tiled.c) compiles the same helpers for
// AVX-512F/VL as well: the same operations, with 32 vector registers.
#if defined(__clang__) && defined(PHI_AVX512)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512vl"))), apply_to = function)
#define PHI_AVX2_END _Pragma("clang attribute pop")
#elif defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#define PHI_AVX2_END _Pragma("clang attribute pop")
#elif defined(PHI_AVX512)
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512vl")
#define PHI_AVX2_END _Pragma("GCC pop_options")
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

/// avx2_reduce_lanes of eight vectors at once, out[i] for v[i]: the same three rounds of adds
/// (l_i + l_(i+4); then s0 + s2 and s1 + s3; then t0 + t1) on transposed lanes.
PHI_INLINE void avx2_reduce_lanes8(const __m256 v[8], float out[8]) {
    __m256 s[4];  // s[k] = [v[2k] lanes 0-3 + 4-7 | v[2k+1] likewise]
    for (int k = 0; k < 4; k++) {
        s[k] = _mm256_add_ps(_mm256_permute2f128_ps(v[2 * k], v[2 * k + 1], 0x20),
                             _mm256_permute2f128_ps(v[2 * k], v[2 * k + 1], 0x31));
    }
    // t[k] = [s0+s2, s1+s3 of v[4k], of v[4k+2] | of v[4k+1], of v[4k+3]]
    const __m256 t0 = _mm256_add_ps(_mm256_shuffle_ps(s[0], s[1], 0x44), _mm256_shuffle_ps(s[0], s[1], 0xee));
    const __m256 t1 = _mm256_add_ps(_mm256_shuffle_ps(s[2], s[3], 0x44), _mm256_shuffle_ps(s[2], s[3], 0xee));
    // [v0 v2 v4 v6 | v1 v3 v5 v7]
    const __m256 r = _mm256_add_ps(_mm256_shuffle_ps(t0, t1, 0x88), _mm256_shuffle_ps(t0, t1, 0xdd));
    _mm256_storeu_ps(out, _mm256_permutevar8x32_ps(r, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
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

#endif
