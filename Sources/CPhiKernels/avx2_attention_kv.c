// AVX2 attention over f16 and q8_0 KV rows: each head computed exactly as the scalar
// phi_scalar_attend_group_kv computes it (attention_kv.c). f32 rows take attend_group itself.
// Keys and values are widened to f32 in registers (f16 by F16C, q8_0 as d * q, both exact) and
// each is read once for the whole group of query heads.
#if defined(__x86_64__)
#include "attention_kv.h"
#include "avx2_common.h"

/// Eight q8_0 values of a head vector from element i (i % 8 == 0, i + 8 <= the block's end).
PHI_INLINE __m256 load_q8_0(const void *row, int64_t i) {
    const phi_block_q8_0 *block = (const phi_block_q8_0 *)row + i / PHI_QK;
    const __m128i q = _mm_loadl_epi64((const __m128i *)(block->qs + i % PHI_QK));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), _mm256_set1_ps(avx2_f16_to_f32(block->d)));
}

PHI_INLINE __m256 load_kv(phi_format format, const void *row, int64_t i) {
    if (format == PHI_FORMAT_F16) return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const phi_f16 *)row + i)));
    return load_q8_0(row, i);
}

/// The last `live` (1..7) values from element i, zero beyond.
PHI_INLINE __m256 load_kv_tail(phi_format format, const void *row, int64_t i, int live) {
    float buffer[8] = {0};
    for (int j = 0; j < live; j++) buffer[j] = phi_kv_value(format, row, i + j);
    return _mm256_loadu_ps(buffer);
}

/// Scores of H heads against P consecutive positions: score = q_h . k_p in the eight lanes.
PHI_INLINE void score_tile(phi_format format, const int P, const int H, const float *q, int64_t q_stride,
                           const uint8_t *keys, size_t row_bytes, int64_t head_dim, float *scores, int64_t count) {
    __m256 acc[2][4];
    for (int p = 0; p < P; p++)
        for (int h = 0; h < H; h++) acc[p][h] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= head_dim; i += 8) {
        __m256 qv[4];
        for (int h = 0; h < H; h++) qv[h] = _mm256_loadu_ps(q + h * q_stride + i);
        for (int p = 0; p < P; p++) {
            const __m256 kv = load_kv(format, keys + (size_t)p * row_bytes, i);
            for (int h = 0; h < H; h++) acc[p][h] = _mm256_fmadd_ps(kv, qv[h], acc[p][h]);
        }
    }
    if (i < head_dim) {  // only the first head_dim % 8 lanes take a product, as in the reference
        const int live = (int)(head_dim - i);
        const __m256 mask = _mm256_castsi256_ps(avx2_first_lanes(live));
        __m256 qv[4];
        for (int h = 0; h < H; h++) qv[h] = _mm256_maskload_ps(q + h * q_stride + i, avx2_first_lanes(live));
        for (int p = 0; p < P; p++) {
            const __m256 kv = load_kv_tail(format, keys + (size_t)p * row_bytes, i, live);
            for (int h = 0; h < H; h++) acc[p][h] = _mm256_blendv_ps(acc[p][h], _mm256_fmadd_ps(kv, qv[h], acc[p][h]), mask);
        }
    }
    for (int p = 0; p < P; p++)
        for (int h = 0; h < H; h++) scores[h * count + p] = avx2_reduce_lanes(acc[p][h]);
}

/// Scores of H (1..4) heads over every position, two positions at a time for more FMA chains.
PHI_INLINE void scores_for_heads(phi_format format, const int H, const float *q, int64_t q_stride,
                                 const uint8_t *keys, size_t row_bytes, int64_t count, int64_t head_dim,
                                 float *scores) {
    int64_t p = 0;
    for (; p + 2 <= count; p += 2) {
        score_tile(format, 2, H, q, q_stride, keys + (size_t)p * row_bytes, row_bytes, head_dim, scores + p, count);
    }
    if (p < count) score_tile(format, 1, H, q, q_stride, keys + (size_t)p * row_bytes, row_bytes, head_dim, scores + p, count);
}

static void q8_0_scores(const float *q, int64_t q_stride, int64_t heads, const uint8_t *keys, size_t row_bytes,
                        int64_t count, int64_t head_dim, float *scores) {
    for (int64_t h = 0; h < heads; h += 4) {
        const float *qh = q + h * q_stride;
        float *s = scores + h * count;
        switch (heads - h) {
        case 1: scores_for_heads(PHI_FORMAT_Q8_0, 1, qh, q_stride, keys, row_bytes, count, head_dim, s); break;
        case 2: scores_for_heads(PHI_FORMAT_Q8_0, 2, qh, q_stride, keys, row_bytes, count, head_dim, s); break;
        case 3: scores_for_heads(PHI_FORMAT_Q8_0, 3, qh, q_stride, keys, row_bytes, count, head_dim, s); break;
        default: scores_for_heads(PHI_FORMAT_Q8_0, 4, qh, q_stride, keys, row_bytes, count, head_dim, s); break;
        }
    }
}

/// Scores (q.k_p already in scores) to softmax weights: scale, max, phi_expf, the eight-lane
/// total, and one multiplication by its inverse, as the reference does.
static void softmax_weights(float *scores, int64_t count, float scale) {
    float max = -INFINITY;
    for (int64_t p = 0; p < count; p++) {
        scores[p] = scores[p] * scale;
        if (scores[p] > max) max = scores[p];
    }
    const __m256 vmax = _mm256_set1_ps(max);
    __m256 total = _mm256_setzero_ps();
    int64_t p = 0;
    for (; p + 8 <= count; p += 8) {
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(scores + p), vmax));
        _mm256_storeu_ps(scores + p, e);
        total = _mm256_add_ps(total, e);
    }
    float lane[PHI_LANES];
    _mm256_storeu_ps(lane, total);
    for (; p < count; p++) {
        scores[p] = phi_expf(scores[p] - max);
        lane[p % PHI_LANES] += scores[p];
    }
    const float inverse = 1.0f / phi_reduce_lanes(lane);
    for (p = 0; p < count; p++) scores[p] = scores[p] * inverse;
}

/// Up to 3 heads' outputs: out_h[d] = fma(weight_h[p], v_p[d], out_h[d]) position after
/// position, each value vector widened once for all heads; 32 dimensions (one q8_0 block) a pass.
PHI_INLINE void weighted_values(phi_format format, const int H, const float *weights, int64_t count,
                                const uint8_t *values, size_t row_bytes, int64_t head_dim, float *out,
                                int64_t out_stride) {
    int64_t d = 0;
    for (; d + 32 <= head_dim; d += 32) {
        __m256 acc[3][4];
        for (int h = 0; h < H; h++)
            for (int k = 0; k < 4; k++) acc[h][k] = _mm256_setzero_ps();
        for (int64_t p = 0; p < count; p++) {
            const uint8_t *row = values + (size_t)p * row_bytes;
            __m256 vv[4];
            for (int k = 0; k < 4; k++) vv[k] = load_kv(format, row, d + 8 * k);
            for (int h = 0; h < H; h++) {
                const __m256 weight = _mm256_set1_ps(weights[h * count + p]);
                for (int k = 0; k < 4; k++) acc[h][k] = _mm256_fmadd_ps(weight, vv[k], acc[h][k]);
            }
        }
        for (int h = 0; h < H; h++)
            for (int k = 0; k < 4; k++) _mm256_storeu_ps(out + h * out_stride + d + 8 * k, acc[h][k]);
    }
    for (; d + 8 <= head_dim; d += 8) {
        __m256 acc[3];
        for (int h = 0; h < H; h++) acc[h] = _mm256_setzero_ps();
        for (int64_t p = 0; p < count; p++) {
            const __m256 vv = load_kv(format, values + (size_t)p * row_bytes, d);
            for (int h = 0; h < H; h++) acc[h] = _mm256_fmadd_ps(_mm256_set1_ps(weights[h * count + p]), vv, acc[h]);
        }
        for (int h = 0; h < H; h++) _mm256_storeu_ps(out + h * out_stride + d, acc[h]);
    }
    for (; d < head_dim; d++) {
        for (int h = 0; h < H; h++) {
            float acc = 0.0f;
            for (int64_t p = 0; p < count; p++) {
                acc = fmaf(weights[h * count + p], phi_kv_value(format, values + (size_t)p * row_bytes, d), acc);
            }
            out[h * out_stride + d] = acc;
        }
    }
}

#define PHI_WEIGHTED_VALUES(NAME, FORMAT)                                                              \
    static void NAME(int H, const float *w, int64_t count, const uint8_t *v, size_t rb, int64_t hd,     \
                     float *out, int64_t os) {                                                         \
        if (H == 1) weighted_values(FORMAT, 1, w, count, v, rb, hd, out, os);                          \
        else if (H == 2) weighted_values(FORMAT, 2, w, count, v, rb, hd, out, os);                     \
        else weighted_values(FORMAT, 3, w, count, v, rb, hd, out, os);                                 \
    }
PHI_WEIGHTED_VALUES(weighted_values_f16, PHI_FORMAT_F16)
PHI_WEIGHTED_VALUES(weighted_values_q8_0, PHI_FORMAT_Q8_0)

void phi_avx2_attend_group_kv(phi_format format, const float *q, int64_t q_stride, int64_t heads,
                              const void *keys, const void *values, size_t row_bytes, int64_t count,
                              int64_t head_dim, float scale, float *scores, float *out,
                              int64_t out_stride) {
    if (format == PHI_FORMAT_F32) {
        phi_avx2_attend_group(q, q_stride, heads, keys, values, (int64_t)(row_bytes / sizeof(float)), count, head_dim,
                              scale, scores, out, out_stride);
        return;
    }
    if (format == PHI_FORMAT_F16) {
        // f16 keys are an f16 matrix: the table's f16 matmul gives the reference's dot exactly.
        phi_avx2_matmul_float(PHI_FORMAT_F16, keys, row_bytes, 0, count, q, (size_t)q_stride * sizeof(float), heads,
                              head_dim, scores, count);
    } else {
        q8_0_scores(q, q_stride, heads, keys, row_bytes, count, head_dim, scores);
    }
    for (int64_t h = 0; h < heads; h++) softmax_weights(scores + h * count, count, scale);
    for (int64_t h = 0; h < heads; h += 3) {
        const int H = heads - h >= 3 ? 3 : (int)(heads - h);
        if (format == PHI_FORMAT_F16) {
            weighted_values_f16(H, scores + h * count, count, values, row_bytes, head_dim, out + h * out_stride, out_stride);
        } else {
            weighted_values_q8_0(H, scores + h * count, count, values, row_bytes, head_dim, out + h * out_stride, out_stride);
        }
    }
}

PHI_AVX2_END
#endif
