// NEON versions of the row operations: q8_0/q4_0 quantization, RMSNorm, SwiGLU, attention of
// one head or a group of heads sharing keys and values. Each repeats the scalar reference's
// operations lane for lane (rowops.c, convert.c).
#if defined(__aarch64__)
#include "neon_common.h"

/// phi_expf on four lanes, operation for operation.
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

void phi_neon_quantize_row_q8_0(const float *x, phi_block_q8_0 *y, int64_t n) {
    for (int64_t b = 0; b < n / PHI_QK; b++) {
        const float *xb = x + b * PHI_QK;
        float32x4_t v[8];
        float32x4_t amax = vdupq_n_f32(0.0f);
        for (int k = 0; k < 8; k++) {
            v[k] = vld1q_f32(xb + 4 * k);
            amax = vmaxq_f32(amax, vabsq_f32(v[k]));
        }
        const float d = vmaxvq_f32(amax) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = phi_f32_to_f16(d);
        for (int k = 0; k < 8; k += 2) {
            // vcvta rounds halves away from zero: roundf exactly.
            const int32x4_t q0 = vcvtaq_s32_f32(vmulq_n_f32(v[k], id));
            const int32x4_t q1 = vcvtaq_s32_f32(vmulq_n_f32(v[k + 1], id));
            const int16x8_t q16 = vcombine_s16(vqmovn_s32(q0), vqmovn_s32(q1));
            vst1_s8(y[b].qs + 4 * k, vqmovn_s16(q16));
        }
    }
}

// GGML's q4_0: the first element of largest magnitude (max) gives d = max / -8, and
// q = min(15, trunc(x * (1 / d) + 8.5)), the product and the sum rounded separately.
void phi_neon_quantize_row_q4_0(const float *x, phi_block_q4_0 *y, int64_t n) {
    for (int64_t b = 0; b < n / PHI_QK; b++) {
        const float *xb = x + b * PHI_QK;
        float32x4_t v[8];
        float32x4_t amax = vdupq_n_f32(0.0f);
        for (int k = 0; k < 8; k++) {
            v[k] = vld1q_f32(xb + 4 * k);
            amax = vmaxq_f32(amax, vabsq_f32(v[k]));
        }
        const float top = vmaxvq_f32(amax);
        float max = 0.0f;  // the reference keeps the first element reaching amax (0 if all zero)
        if (top > 0.0f) {
            for (int j = 0; j < PHI_QK; j++) {
                if (fabsf(xb[j]) == top) {
                    max = xb[j];
                    break;
                }
            }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = phi_f32_to_f16(d);
        uint8_t q[PHI_QK];
        for (int k = 0; k < 8; k++) {
            const float32x4_t shifted = vaddq_f32(vmulq_n_f32(v[k], id), vdupq_n_f32(8.5f));
            const int32x4_t clamped = vminq_s32(vcvtq_s32_f32(shifted), vdupq_n_s32(15));  // truncates
            const uint16x4_t narrow = vqmovun_s32(clamped);
            const uint8x8_t bytes = vqmovn_u16(vcombine_u16(narrow, narrow));
            vst1_lane_u32((uint32_t *)(q + 4 * k), vreinterpret_u32_u8(bytes), 0);
        }
        const uint8x16_t low = vld1q_u8(q), high = vld1q_u8(q + 16);
        vst1q_u8(y[b].qs, vorrq_u8(low, vshlq_n_u8(high, 4)));
    }
}

void phi_neon_rmsnorm(const float *x, const float *weight, float *out, int64_t n, float eps) {
    float32x4_t lo = vdupq_n_f32(0.0f), hi = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const float32x4_t a = vld1q_f32(x + i), b = vld1q_f32(x + i + 4);
        lo = vfmaq_f32(lo, a, a);
        hi = vfmaq_f32(hi, b, b);
    }
    float lane[PHI_LANES];
    vst1q_f32(lane, lo);
    vst1q_f32(lane + 4, hi);
    for (; i < n; i++) lane[i % PHI_LANES] = fmaf(x[i], x[i], lane[i % PHI_LANES]);
    const float scale = 1.0f / sqrtf(phi_reduce_lanes(lane) / (float)n + eps);
    for (i = 0; i + 4 <= n; i += 4) {
        vst1q_f32(out + i, vmulq_f32(vld1q_f32(weight + i), vmulq_n_f32(vld1q_f32(x + i), scale)));
    }
    for (; i < n; i++) out[i] = weight[i] * (x[i] * scale);
}

void phi_neon_swiglu(const float *gate, const float *up, float *out, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float32x4_t g = vld1q_f32(gate + i);
        const float32x4_t silu = vdivq_f32(g, vaddq_f32(vdupq_n_f32(1.0f), exp4(vnegq_f32(g))));
        vst1q_f32(out + i, vmulq_f32(silu, vld1q_f32(up + i)));
    }
    for (; i < n; i++) out[i] = (gate[i] / (1.0f + phi_expf(-gate[i]))) * up[i];
}

/// Scores (q.k_p already in scores) to softmax weights: scale, max, phi_expf, the eight-lane
/// total, and one multiplication by its inverse, as the reference does.
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
/// position, each value vector loaded once for all heads; 32 dimensions a pass.
PHI_INLINE void weighted_values(const int H, const float *weights, int64_t count, const float *values,
                                int64_t stride, int64_t head_dim, float *out, int64_t out_stride) {
    int64_t d = 0;
    for (; d + 32 <= head_dim; d += 32) {
        float32x4_t acc[3][8];
        for (int h = 0; h < H; h++)
            for (int k = 0; k < 8; k++) acc[h][k] = vdupq_n_f32(0.0f);
        for (int64_t p = 0; p < count; p++) {
            const float *v = values + p * stride + d;
            float32x4_t vv[8];
            for (int k = 0; k < 8; k++) vv[k] = vld1q_f32(v + 4 * k);
            for (int h = 0; h < H; h++) {
                const float weight = weights[h * count + p];
                for (int k = 0; k < 8; k++) acc[h][k] = vfmaq_n_f32(acc[h][k], vv[k], weight);
            }
        }
        for (int h = 0; h < H; h++)
            for (int k = 0; k < 8; k++) vst1q_f32(out + h * out_stride + d + 4 * k, acc[h][k]);
    }
    for (; d < head_dim; d++) {
        for (int h = 0; h < H; h++) {
            float acc = 0.0f;
            for (int64_t p = 0; p < count; p++) acc = fmaf(weights[h * count + p], values[p * stride + d], acc);
            out[h * out_stride + d] = acc;
        }
    }
}

void phi_neon_attend_group(const float *q, int64_t q_stride, int64_t heads, const float *keys,
                           const float *values, int64_t stride, int64_t count, int64_t head_dim,
                           float scale, float *scores, float *out, int64_t out_stride) {
    // Every head's scores in one matmul (keys as rows, queries as tokens): each key read once.
    phi_neon_matmul_float(PHI_FORMAT_F32, keys, (size_t)stride * sizeof(float), 0, count, q,
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

void phi_neon_attend_head(const float *q, const float *keys, const float *values, int64_t stride,
                          int64_t count, int64_t head_dim, float scale, float *scores, float *out) {
    phi_neon_attend_group(q, 0, 1, keys, values, stride, count, head_dim, scale, scores, out, 0);
}
#endif
