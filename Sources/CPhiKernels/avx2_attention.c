// AVX2 attention: one query head (attend_head) or a group of query heads sharing one key/value
// head (attend_group, grouped-query attention), each head computed exactly as the scalar
// phi_attend_head_f32 computes it (rowops.c).
#if defined(__x86_64__)
#include "avx2_common.h"

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

void phi_avx2_attend_head(const float *q, const float *keys, const float *values, int64_t stride,
                          int64_t count, int64_t head_dim, float scale, float *scores, float *out) {
    // Scores: the f32 matmul with the keys as rows, so each is the table's dot.
    phi_avx2_matmul_float(PHI_FORMAT_F32, keys, (size_t)stride * sizeof(float), 0, count, q, 0, 1,
                          head_dim, scores, 0);
    softmax_weights(scores, count, scale);
    int64_t p;
    // out[d] accumulates position after position; 64 dimensions at a time stay in registers
    // (fewer passes over the values), then 8 at a time.
    int64_t d = 0;
    for (; d + 64 <= head_dim; d += 64) {
        __m256 acc[8];
        for (int k = 0; k < 8; k++) acc[k] = _mm256_setzero_ps();
        for (p = 0; p < count; p++) {
            const __m256 weight = _mm256_set1_ps(scores[p]);
            const float *v = values + p * stride + d;
            for (int k = 0; k < 8; k++) acc[k] = _mm256_fmadd_ps(weight, _mm256_loadu_ps(v + 8 * k), acc[k]);
        }
        for (int k = 0; k < 8; k++) _mm256_storeu_ps(out + d + 8 * k, acc[k]);
    }
    for (; d + 8 <= head_dim; d += 8) {
        __m256 acc = _mm256_setzero_ps();
        for (p = 0; p < count; p++) acc = _mm256_fmadd_ps(_mm256_set1_ps(scores[p]), _mm256_loadu_ps(values + p * stride + d), acc);
        _mm256_storeu_ps(out + d, acc);
    }
    for (; d < head_dim; d++) {
        float acc = 0.0f;
        for (p = 0; p < count; p++) acc = fmaf(scores[p], values[p * stride + d], acc);
        out[d] = acc;
    }
}

/// Up to 3 heads' outputs: out_h[d] = fma(weight_h[p], v_p[d], out_h[d]) position after
/// position, each value vector loaded once for all heads.
PHI_INLINE void weighted_values(const int H, const float *weights, int64_t count, const float *values,
                                int64_t stride, int64_t head_dim, float *out, int64_t out_stride) {
    int64_t d = 0;
    for (; d + 32 <= head_dim; d += 32) {
        __m256 acc[3][4];
        for (int h = 0; h < H; h++)
            for (int k = 0; k < 4; k++) acc[h][k] = _mm256_setzero_ps();
        for (int64_t p = 0; p < count; p++) {
            const float *v = values + p * stride + d;
            __m256 vv[4];
            for (int k = 0; k < 4; k++) vv[k] = _mm256_loadu_ps(v + 8 * k);
            for (int h = 0; h < H; h++) {
                const __m256 weight = _mm256_set1_ps(weights[h * count + p]);
                for (int k = 0; k < 4; k++) acc[h][k] = _mm256_fmadd_ps(weight, vv[k], acc[h][k]);
            }
        }
        for (int h = 0; h < H; h++)
            for (int k = 0; k < 4; k++) _mm256_storeu_ps(out + h * out_stride + d + 8 * k, acc[h][k]);
    }
    for (; d < head_dim; d++) {
        for (int h = 0; h < H; h++) {
            float acc = 0.0f;
            for (int64_t p = 0; p < count; p++) acc = fmaf(weights[h * count + p], values[p * stride + d], acc);
            out[h * out_stride + d] = acc;
        }
    }
}

void phi_avx2_attend_group(const float *q, int64_t q_stride, int64_t heads, const float *keys,
                           const float *values, int64_t stride, int64_t count, int64_t head_dim,
                           float scale, float *scores, float *out, int64_t out_stride) {
    // Every head's scores in one matmul: keys as rows, the heads' queries as tokens, so each key
    // is read once for the group and each score is the table's f32 dot.
    phi_avx2_matmul_float(PHI_FORMAT_F32, keys, (size_t)stride * sizeof(float), 0, count, q,
                          (size_t)q_stride * sizeof(float), heads, head_dim, scores, count);
    for (int64_t h = 0; h < heads; h++) softmax_weights(scores + h * count, count, scale);
    for (int64_t h = 0; h < heads; h += 3) {
        const float *weights = scores + h * count;
        float *o = out + h * out_stride;
        switch (heads - h) {
        case 1: weighted_values(1, weights, count, values, stride, head_dim, o, out_stride); break;
        case 2: weighted_values(2, weights, count, values, stride, head_dim, o, out_stride); break;
        default: weighted_values(3, weights, count, values, stride, head_dim, o, out_stride); break;
        }
    }
}

PHI_AVX2_END
#endif
