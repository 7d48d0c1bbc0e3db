// KV cache rows in f32, f16 and q8_0. Attention (attention_tiled.c) reads every key and value
// back through phi_kv_value, exactly as stored, so an f16 or q8_0 cache changes only what is
// stored, never how it is summed.
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
