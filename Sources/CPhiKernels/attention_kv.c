// KV cache rows in f32, f16 and q8_0, and the scalar reference of attention over them. The
// reference is phi_scalar_attend_head (rowops.c) with every key and value read through
// phi_kv_value: the same operations in the same order on exactly the dequantized values, so an
// f16 or q8_0 cache changes only what is stored, never how it is summed.
#include "attention_kv.h"

#include <math.h>
#include <string.h>

size_t phi_kv_row_bytes(phi_format format, int64_t head_dim) {
    switch (format) {
    case PHI_FORMAT_F16: return (size_t)head_dim * sizeof(phi_f16);
    case PHI_FORMAT_Q8_0: return (size_t)((head_dim + PHI_QK - 1) / PHI_QK) * sizeof(phi_block_q8_0);
    default: return (size_t)head_dim * sizeof(float);
    }
}

void phi_kv_store_row(phi_format format, const float *x, void *row, int64_t head_dim) {
    switch (format) {
    case PHI_FORMAT_F16:
        for (int64_t i = 0; i < head_dim; i++) ((phi_f16 *)row)[i] = phi_f32_to_f16(x[i]);
        break;
    case PHI_FORMAT_Q8_0:
        for (int64_t b = 0; b * PHI_QK < head_dim; b++) {
            float block[PHI_QK] = {0};
            const int64_t left = head_dim - b * PHI_QK;
            memcpy(block, x + b * PHI_QK, (size_t)(left < PHI_QK ? left : PHI_QK) * sizeof(float));
            phi_quantize_row_q8_0(block, (phi_block_q8_0 *)row + b, PHI_QK);
        }
        break;
    default:
        memcpy(row, x, (size_t)head_dim * sizeof(float));
        break;
    }
}

void phi_kv_load_row(phi_format format, const void *row, float *y, int64_t head_dim) {
    for (int64_t i = 0; i < head_dim; i++) y[i] = phi_kv_value(format, row, i);
}

void phi_scalar_attend_group_kv(phi_format format, const float *q, int64_t q_stride, int64_t heads,
                                const void *keys, const void *values, size_t row_bytes, int64_t count,
                                int64_t head_dim, float scale, float *scores, float *out,
                                int64_t out_stride) {
    if (format == PHI_FORMAT_F32) {  // the same operations, without a format switch per value
        phi_scalar_attend_group(q, q_stride, heads, keys, values, (int64_t)(row_bytes / sizeof(float)), count, head_dim,
                                scale, scores, out, out_stride);
        return;
    }
    const uint8_t *k = keys, *v = values;
    for (int64_t h = 0; h < heads; h++) {
        const float *qh = q + h * q_stride;
        float *s = scores + h * count, *o = out + h * out_stride;
        float max = -INFINITY;
        for (int64_t p = 0; p < count; p++) {
            float lane[PHI_LANES] = {0};
            const uint8_t *row = k + (size_t)p * row_bytes;
            for (int64_t i = 0; i < head_dim; i++) {
                lane[i % PHI_LANES] = fmaf(phi_kv_value(format, row, i), qh[i], lane[i % PHI_LANES]);
            }
            s[p] = phi_reduce_lanes(lane) * scale;
            if (s[p] > max) max = s[p];
        }
        float lane[PHI_LANES] = {0};
        for (int64_t p = 0; p < count; p++) {
            s[p] = phi_expf(s[p] - max);
            lane[p % PHI_LANES] += s[p];
        }
        const float inverse = 1.0f / phi_reduce_lanes(lane);
        for (int64_t d = 0; d < head_dim; d++) o[d] = 0.0f;
        for (int64_t p = 0; p < count; p++) {
            const float weight = s[p] * inverse;
            const uint8_t *row = v + (size_t)p * row_bytes;
            for (int64_t d = 0; d < head_dim; d++) o[d] = fmaf(weight, phi_kv_value(format, row, d), o[d]);
        }
    }
}
