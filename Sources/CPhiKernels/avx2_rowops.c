// AVX2 versions of the row operations: q8_0/q4_0 quantization, RMSNorm and SwiGLU (attention
// is in avx2_attention.c). Each repeats the scalar reference's operations lane for lane (rowops.c, convert.c).
#if defined(__x86_64__)
#include "avx2_common.h"

#include <math.h>

/// roundf (halves away from zero) of integral-range values: truncate, then step away from
/// zero where the dropped fraction is at least one half (v - trunc(v) is exact).
PHI_INLINE __m256 round_half_away(__m256 v) {
    const __m256 truncated = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 sign = _mm256_and_ps(v, _mm256_set1_ps(-0.0f));
    const __m256 fraction = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), _mm256_sub_ps(v, truncated));
    const __m256 step = _mm256_and_ps(_mm256_cmp_ps(fraction, _mm256_set1_ps(0.5f), _CMP_GE_OQ),
                                      _mm256_or_ps(_mm256_set1_ps(1.0f), sign));
    return _mm256_add_ps(truncated, step);
}

void phi_avx2_quantize_row_q8_0(const float *x, phi_block_q8_0 *y, int64_t n) {
    const __m256 magnitude_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t b = 0; b < n / PHI_QK; b++) {
        const float *xb = x + b * PHI_QK;
        __m256 v[4];
        __m256 amax = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(xb + 8 * k);
            amax = _mm256_max_ps(amax, _mm256_and_ps(v[k], magnitude_mask));
        }
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        m = _mm_max_ss(m, _mm_movehdup_ps(m));
        const float d = _mm_cvtss_f32(m) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = phi_f32_to_f16(d);
        __m256i q[4];
        for (int k = 0; k < 4; k++) q[k] = _mm256_cvtps_epi32(round_half_away(_mm256_mul_ps(v[k], _mm256_set1_ps(id))));
        // packs interleave 128-bit halves; the permute restores element order.
        const __m256i q16 = _mm256_packs_epi32(q[0], q[1]);
        const __m256i q16b = _mm256_packs_epi32(q[2], q[3]);
        const __m256i q8 = _mm256_packs_epi16(q16, q16b);
        const __m256i ordered = _mm256_permutevar8x32_epi32(q8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)y[b].qs, ordered);
    }
}

// GGML's q4_0: the first element of largest magnitude (max) gives d = max / -8, and
// q = min(15, trunc(x * (1 / d) + 8.5)), the product and the sum rounded separately.
void phi_avx2_quantize_row_q4_0(const float *x, phi_block_q4_0 *y, int64_t n) {
    const __m256 magnitude_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    for (int64_t b = 0; b < n / PHI_QK; b++) {
        const float *xb = x + b * PHI_QK;
        __m256 v[4];
        __m256 amax = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(xb + 8 * k);
            amax = _mm256_max_ps(amax, _mm256_and_ps(v[k], magnitude_mask));
        }
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        m = _mm_max_ss(m, _mm_movehdup_ps(m));
        const __m256 top = _mm256_set1_ps(_mm_cvtss_f32(m));
        float max = 0.0f;  // the reference keeps the first element reaching amax (0 if all zero)
        if (_mm_cvtss_f32(m) > 0.0f) {
            for (int k = 0; k < 4; k++) {
                const int hits = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(v[k], magnitude_mask), top, _CMP_EQ_OQ));
                if (hits) {
                    max = xb[8 * k + __builtin_ctz((unsigned)hits)];
                    break;
                }
            }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = phi_f32_to_f16(d);
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            const __m256 shifted = _mm256_add_ps(_mm256_mul_ps(v[k], _mm256_set1_ps(id)), _mm256_set1_ps(8.5f));
            q[k] = _mm256_min_epi32(_mm256_cvttps_epi32(shifted), _mm256_set1_epi32(15));
        }
        // Elements 0..15 (q[0], q[1]) in the low nibbles, 16..31 (q[2], q[3]) in the high ones.
        const __m256i low = _mm256_packs_epi32(q[0], q[1]), high = _mm256_packs_epi32(q[2], q[3]);
        const __m256i pairs = _mm256_or_si256(low, _mm256_slli_epi16(high, 4));  // 16-bit lanes
        const __m256i bytes = _mm256_packus_epi16(pairs, pairs);
        const __m256i ordered = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 0, 0, 0, 0));
        _mm_storeu_si128((__m128i *)y[b].qs, _mm256_castsi256_si128(ordered));
    }
}

void phi_avx2_rmsnorm(const float *x, const float *weight, float *out, int64_t n, float eps) {
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        acc = _mm256_fmadd_ps(v, v, acc);
    }
    if (i < n) {
        const __m256i mask = avx2_first_lanes((int)(n - i));
        const __m256 v = _mm256_maskload_ps(x + i, mask);
        acc = _mm256_blendv_ps(acc, _mm256_fmadd_ps(v, v, acc), _mm256_castsi256_ps(mask));
    }
    const float scale = 1.0f / sqrtf(avx2_reduce_lanes(acc) / (float)n + eps);
    const __m256 s = _mm256_set1_ps(scale);
    for (i = 0; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(weight + i), _mm256_mul_ps(_mm256_loadu_ps(x + i), s)));
    }
    for (; i < n; i++) out[i] = weight[i] * (x[i] * scale);
}

void phi_avx2_swiglu(const float *gate, const float *up, float *out, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 e = exp8(_mm256_xor_ps(g, _mm256_set1_ps(-0.0f)));
        const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
        _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) out[i] = (gate[i] / (1.0f + phi_expf(-gate[i]))) * up[i];
}

PHI_AVX2_END
#endif
