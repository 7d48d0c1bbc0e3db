// NEON attention over f16 and q8_0 KV rows: each head computed exactly as the scalar
// phi_scalar_attend_group_kv computes it (attention_kv.c). f32 rows take attend_group itself.
// Keys and values are widened to f32 in registers (f16 by FCVTL, q8_0 as d * q, both exact) and
// each is read once for the whole group of query heads. Eight lanes are two quads: lo holds
// elements 0-3 of each group of eight, hi elements 4-7, as in neon_float.c.
#if defined(__aarch64__)
#include "attention_kv.h"
#include "neon_common.h"

typedef struct {
    float32x4_t lo, hi;
} lanes8;

/// Eight values of a head vector from element i (i % 8 == 0, all within the vector).
PHI_INLINE lanes8 load_kv(phi_format format, const void *row, int64_t i) {
    lanes8 v;
    if (format == PHI_FORMAT_F16) {
        const uint16x8_t h = vld1q_u16((const phi_f16 *)row + i);
        v.lo = neon_f16x4_to_f32(vget_low_u16(h));
        v.hi = neon_f16x4_to_f32(vget_high_u16(h));
    } else {
        const phi_block_q8_0 *block = (const phi_block_q8_0 *)row + i / PHI_QK;
        const int16x8_t q = vmovl_s8(vld1_s8(block->qs + i % PHI_QK));
        const float d = neon_f16_to_f32(block->d);
        v.lo = vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(q))), d);
        v.hi = vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_high_s16(q))), d);
    }
    return v;
}

/// The last `live` (1..7) values from element i, zero beyond.
PHI_INLINE lanes8 load_tail(phi_format format, const void *row, int64_t i, int live) {
    float buffer[8] = {0};
    for (int j = 0; j < live; j++) buffer[j] = phi_kv_value(format, row, i + j);
    lanes8 v = {vld1q_f32(buffer), vld1q_f32(buffer + 4)};
    return v;
}

/// Scores of H heads against P consecutive positions: score = q_h . k_p in the eight lanes.
PHI_INLINE void score_tile(phi_format format, const int P, const int H, const float *q, int64_t q_stride,
                           const uint8_t *keys, size_t row_bytes, int64_t head_dim, float *scores, int64_t count) {
    lanes8 acc[2][4];
    for (int p = 0; p < P; p++)
        for (int h = 0; h < H; h++) acc[p][h].lo = acc[p][h].hi = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 8 <= head_dim; i += 8) {
        lanes8 qv[4];
        for (int h = 0; h < H; h++) {
            qv[h].lo = vld1q_f32(q + h * q_stride + i);
            qv[h].hi = vld1q_f32(q + h * q_stride + i + 4);
        }
        for (int p = 0; p < P; p++) {
            const lanes8 kv = load_kv(format, keys + (size_t)p * row_bytes, i);
            for (int h = 0; h < H; h++) {
                acc[p][h].lo = vfmaq_f32(acc[p][h].lo, kv.lo, qv[h].lo);
                acc[p][h].hi = vfmaq_f32(acc[p][h].hi, kv.hi, qv[h].hi);
            }
        }
    }
    if (i < head_dim) {  // only the first head_dim % 8 lanes take a product, as in the reference
        const int live = (int)(head_dim - i);
        const uint32x4_t live_lo = neon_first_lanes(live), live_hi = neon_first_lanes(live - 4);
        lanes8 qv[4];
        for (int h = 0; h < H; h++) {
            float buffer[8] = {0};
            memcpy(buffer, q + h * q_stride + i, (size_t)live * sizeof(float));
            qv[h].lo = vld1q_f32(buffer);
            qv[h].hi = vld1q_f32(buffer + 4);
        }
        for (int p = 0; p < P; p++) {
            const lanes8 kv = load_tail(format, keys + (size_t)p * row_bytes, i, live);
            for (int h = 0; h < H; h++) {
                acc[p][h].lo = vbslq_f32(live_lo, vfmaq_f32(acc[p][h].lo, kv.lo, qv[h].lo), acc[p][h].lo);
                acc[p][h].hi = vbslq_f32(live_hi, vfmaq_f32(acc[p][h].hi, kv.hi, qv[h].hi), acc[p][h].hi);
            }
        }
    }
    for (int p = 0; p < P; p++)
        for (int h = 0; h < H; h++) scores[h * count + p] = neon_reduce_lanes(acc[p][h].lo, acc[p][h].hi);
}

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

/// phi_expf on four lanes, operation for operation (as neon_rowops.c's exp4).
PHI_INLINE float32x4_t exp4(float32x4_t x) {
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
    const int32x4_t exponent = vcvtq_s32_f32(n);
    const int32x4_t half = vshrq_n_s32(exponent, 1);
    const int32x4_t bias = vdupq_n_s32(127);
    const float32x4_t scale1 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(half, bias), 23));
    const float32x4_t scale2 = vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vsubq_s32(exponent, half), bias), 23));
    float32x4_t result = vmulq_f32(vmulq_f32(y, scale1), scale2);
    const uint32x4_t above_tiny = vcgtq_f32(x, vdupq_n_f32(-87.33654f));
    result = vbslq_f32(above_tiny, result, vdupq_n_f32(0.0f));
    result = vbslq_f32(vceqq_f32(x, x), result, x);
    return vbslq_f32(vcgtq_f32(x, vdupq_n_f32(88.72283f)), vdupq_n_f32(INFINITY), result);
}

/// Scores (q.k_p already in scores) to softmax weights, as the reference does.
static void softmax_weights(float *scores, int64_t count, float scale) {
    float max = -INFINITY;
    for (int64_t p = 0; p < count; p++) {
        scores[p] = scores[p] * scale;
        if (scores[p] > max) max = scores[p];
    }
    const float32x4_t vmax = vdupq_n_f32(max);
    float32x4_t total_lo = vdupq_n_f32(0.0f), total_hi = vdupq_n_f32(0.0f);
    int64_t p = 0;
    for (; p + 8 <= count; p += 8) {
        const float32x4_t e0 = exp4(vsubq_f32(vld1q_f32(scores + p), vmax));
        const float32x4_t e1 = exp4(vsubq_f32(vld1q_f32(scores + p + 4), vmax));
        vst1q_f32(scores + p, e0);
        vst1q_f32(scores + p + 4, e1);
        total_lo = vaddq_f32(total_lo, e0);
        total_hi = vaddq_f32(total_hi, e1);
    }
    float lane[PHI_LANES];
    vst1q_f32(lane, total_lo);
    vst1q_f32(lane + 4, total_hi);
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
        float32x4_t acc[3][8];
        for (int h = 0; h < H; h++)
            for (int k = 0; k < 8; k++) acc[h][k] = vdupq_n_f32(0.0f);
        for (int64_t p = 0; p < count; p++) {
            const uint8_t *row = values + (size_t)p * row_bytes;
            float32x4_t vv[8];
            for (int k = 0; k < 4; k++) {
                const lanes8 v = load_kv(format, row, d + 8 * k);
                vv[2 * k] = v.lo;
                vv[2 * k + 1] = v.hi;
            }
            for (int h = 0; h < H; h++) {
                const float weight = weights[h * count + p];
                for (int k = 0; k < 8; k++) acc[h][k] = vfmaq_n_f32(acc[h][k], vv[k], weight);
            }
        }
        for (int h = 0; h < H; h++)
            for (int k = 0; k < 8; k++) vst1q_f32(out + h * out_stride + d + 4 * k, acc[h][k]);
    }
    for (; d + 8 <= head_dim; d += 8) {
        lanes8 acc[3];
        for (int h = 0; h < H; h++) acc[h].lo = acc[h].hi = vdupq_n_f32(0.0f);
        for (int64_t p = 0; p < count; p++) {
            const lanes8 v = load_kv(format, values + (size_t)p * row_bytes, d);
            for (int h = 0; h < H; h++) {
                const float weight = weights[h * count + p];
                acc[h].lo = vfmaq_n_f32(acc[h].lo, v.lo, weight);
                acc[h].hi = vfmaq_n_f32(acc[h].hi, v.hi, weight);
            }
        }
        for (int h = 0; h < H; h++) {
            vst1q_f32(out + h * out_stride + d, acc[h].lo);
            vst1q_f32(out + h * out_stride + d + 4, acc[h].hi);
        }
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

void phi_neon_attend_group_kv(phi_format format, const float *q, int64_t q_stride, int64_t heads,
                              const void *keys, const void *values, size_t row_bytes, int64_t count,
                              int64_t head_dim, float scale, float *scores, float *out,
                              int64_t out_stride) {
    if (format == PHI_FORMAT_F32) {
        phi_neon_attend_group(q, q_stride, heads, keys, values, (int64_t)(row_bytes / sizeof(float)), count, head_dim,
                              scale, scores, out, out_stride);
        return;
    }
    if (format == PHI_FORMAT_F16) {
        // f16 keys are an f16 matrix: the table's f16 matmul gives the reference's dot exactly.
        phi_neon_matmul_float(PHI_FORMAT_F16, keys, row_bytes, 0, count, q, (size_t)q_stride * sizeof(float), heads,
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
#endif
