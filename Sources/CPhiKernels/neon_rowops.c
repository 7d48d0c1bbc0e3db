// NEON versions of the row operations: q8_0/q4_0 quantization, RMSNorm, SwiGLU. Each repeats
// the scalar reference's operations lane for lane (rowops.c, convert.c).
#if defined(__aarch64__)
#include "neon_common.h"

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
        const float32x4_t silu = vdivq_f32(g, vaddq_f32(vdupq_n_f32(1.0f), neon_exp4(vnegq_f32(g))));
        vst1q_f32(out + i, vmulq_f32(silu, vld1q_f32(up + i)));
    }
    for (; i < n; i++) out[i] = (gate[i] / (1.0f + phi_expf(-gate[i]))) * up[i];
}

#endif
