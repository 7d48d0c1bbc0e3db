// AVX2 dot and matmul for q8_0 and q4_0 rows in GGML's layout against q8_0 activations. Block
// sums are exact integers; the float step per block is the reference's
// sum = fma((float)s_b, d_w * d_x, sum), with eight rows in the eight lanes for matmul.
// (Repacked weights, the fast path, are in avx2_repacked.c.)
#if defined(__x86_64__)
#include "avx2_common.h"

#define Q8_ROW_BLOCK(w, b) ((const phi_block_q8_0 *)(w) + (b))
#define Q4_ROW_BLOCK(w, b) ((const phi_block_q4_0 *)(w) + (b))

/// Lane partials of one block's integer sum, less the q4_0 offset (see x_offset_lanes).
PHI_INLINE __m256i block_lanes(phi_format format, const void *w, int64_t b, __m256i xq) {
    const __m256i ones = _mm256_set1_epi16(1);
    if (format == PHI_FORMAT_Q8_0) {
        // |w| * sign(x, w): the sign trick, exact while x != -128 (the q8_0 contract).
        const __m256i wq = _mm256_loadu_si256((const __m256i *)Q8_ROW_BLOCK(w, b)->qs);
        const __m256i products = _mm256_maddubs_epi16(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(xq, wq));
        return _mm256_madd_epi16(products, ones);
    }
    // Nibbles 0..15 (unsigned) times x; the 8 * sum(x) of the offset is taken off per block.
    const __m128i packed = _mm_loadu_si128((const __m128i *)Q4_ROW_BLOCK(w, b)->qs);
    const __m256i nibbles = _mm256_and_si256(
        _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), _mm256_set1_epi8(0x0f));
    return _mm256_madd_epi16(_mm256_maddubs_epi16(nibbles, xq), ones);
}

/// Lanes of 8 * x for q4_0's offset of 8 (zero for q8_0).
PHI_INLINE __m256i x_offset_lanes(phi_format format, __m256i xq) {
    if (format != PHI_FORMAT_Q4_0) return _mm256_setzero_si256();
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(8), xq), _mm256_set1_epi16(1));
}

PHI_INLINE phi_f16 weight_scale(phi_format format, const void *w, int64_t b) {
    return format == PHI_FORMAT_Q8_0 ? Q8_ROW_BLOCK(w, b)->d : Q4_ROW_BLOCK(w, b)->d;
}

PHI_INLINE __m256i load_x(const phi_block_q8_0 *x, int64_t b) {
    return _mm256_loadu_si256((const __m256i *)x[b].qs);
}

/// One row: eight block sums at a time through one horizontal reduction, then the scalar
/// chain of fmas the reference prescribes.
PHI_INLINE float dot_row(phi_format format, const void *w, const phi_block_q8_0 *x, int64_t blocks) {
    float sum = 0.0f;
    int64_t b = 0;
    for (; b + 8 <= blocks; b += 8) {
        __m256i p[8];
        for (int k = 0; k < 8; k++) {
            const __m256i xq = load_x(x, b + k);
            p[k] = _mm256_sub_epi32(block_lanes(format, w, b + k, xq), x_offset_lanes(format, xq));
        }
        int32_t sums[8];
        _mm256_storeu_si256((__m256i *)sums, avx2_sum_lanes8(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]));
        for (int k = 0; k < 8; k++) {
            const float scale = avx2_f16_to_f32(weight_scale(format, w, b + k)) * avx2_f16_to_f32(x[b + k].d);
            sum = fmaf((float)sums[k], scale, sum);
        }
    }
    for (; b < blocks; b++) {
        const __m256i xq = load_x(x, b);
        const int32_t s = avx2_sum_lanes(_mm256_sub_epi32(block_lanes(format, w, b, xq), x_offset_lanes(format, xq)));
        const float scale = avx2_f16_to_f32(weight_scale(format, w, b)) * avx2_f16_to_f32(x[b].d);
        sum = fmaf((float)s, scale, sum);
    }
    return sum;
}

/// Eight rows (w_row_bytes apart) against one token; row r in lane r.
PHI_INLINE __m256 eight_rows(phi_format format, const uint8_t *w, size_t w_row_bytes,
                             const phi_block_q8_0 *x, int64_t blocks) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < blocks; b++) {
        const __m256i xq = load_x(x, b);
        __m256i p[8];
        for (int r = 0; r < 8; r++) p[r] = block_lanes(format, w + r * w_row_bytes, b, xq);
        __m256i sums = avx2_sum_lanes8(p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]);
        if (format == PHI_FORMAT_Q4_0) {
            sums = _mm256_sub_epi32(sums, _mm256_set1_epi32(avx2_sum_lanes(x_offset_lanes(format, xq))));
        }
        const __m128i dw16 = _mm_setr_epi16(
            (short)weight_scale(format, w, b), (short)weight_scale(format, w + w_row_bytes, b),
            (short)weight_scale(format, w + 2 * w_row_bytes, b), (short)weight_scale(format, w + 3 * w_row_bytes, b),
            (short)weight_scale(format, w + 4 * w_row_bytes, b), (short)weight_scale(format, w + 5 * w_row_bytes, b),
            (short)weight_scale(format, w + 6 * w_row_bytes, b), (short)weight_scale(format, w + 7 * w_row_bytes, b));
        const __m256 scale = _mm256_mul_ps(_mm256_cvtph_ps(dw16), _mm256_set1_ps(avx2_f16_to_f32(x[b].d)));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), scale, acc);
    }
    return acc;
}

static float dot_q8_0(const void *w, const void *x, int64_t n) { return dot_row(PHI_FORMAT_Q8_0, w, x, n / PHI_QK); }
static float dot_q4_0(const void *w, const void *x, int64_t n) { return dot_row(PHI_FORMAT_Q4_0, w, x, n / PHI_QK); }
static __m256 rows_q8_0(const uint8_t *w, size_t wb, const phi_block_q8_0 *x, int64_t blocks) {
    return eight_rows(PHI_FORMAT_Q8_0, w, wb, x, blocks);
}
static __m256 rows_q4_0(const uint8_t *w, size_t wb, const phi_block_q8_0 *x, int64_t blocks) {
    return eight_rows(PHI_FORMAT_Q4_0, w, wb, x, blocks);
}

float phi_avx2_dot_quant(phi_format format, const void *w, const void *x, int64_t n) {
    return format == PHI_FORMAT_Q8_0 ? dot_q8_0(w, x, n) : dot_q4_0(w, x, n);
}

void phi_avx2_matmul_quant(phi_format format, const void *w, size_t w_row_bytes, int64_t row_begin,
                           int64_t row_end, const void *x, size_t x_row_bytes, int64_t tokens,
                           int64_t cols, float *out, int64_t out_stride) {
    const int64_t blocks = cols / PHI_QK;
    float (*dot)(const void *, const void *, int64_t) = format == PHI_FORMAT_Q8_0 ? dot_q8_0 : dot_q4_0;
    __m256 (*rows)(const uint8_t *, size_t, const phi_block_q8_0 *, int64_t) =
        format == PHI_FORMAT_Q8_0 ? rows_q8_0 : rows_q4_0;
    for (int64_t t = 0; t < tokens; t++) {
        const phi_block_q8_0 *xt = (const phi_block_q8_0 *)((const uint8_t *)x + (size_t)t * x_row_bytes);
        float *ot = out + t * out_stride;
        int64_t r = row_begin;
        for (; r + 8 <= row_end; r += 8) {
            _mm256_storeu_ps(ot + r, rows((const uint8_t *)w + (size_t)r * w_row_bytes, w_row_bytes, xt, blocks));
        }
        for (; r < row_end; r++) ot[r] = dot((const uint8_t *)w + (size_t)r * w_row_bytes, xt, cols);
    }
}

PHI_AVX2_END
#endif
