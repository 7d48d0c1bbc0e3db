// dequantize_gguf.c: GGML's dequantization of q4_1, q4_K, q5_K and q6_K (ggml-quants.c
// `dequantize_row_*`): the same float32 operations in the same order, so the results equal
// GGML's and the gguf package's numpy reference bit for bit.
#include <string.h>

#include "phi_gguf.h"

// A fused multiply-add rounds once where GGML (and numpy) round twice: `d * q - m` must stay two
// operations, whatever the target's FMA support.
#pragma STDC FP_CONTRACT OFF

// Blocks are read with memcpy: rows of 20- or 210-byte blocks need not be aligned for their structs.
static inline float load_f16(const uint8_t *p) {
    phi_f16 h;
    memcpy(&h, p, sizeof h);
    return phi_f16_to_f32(h);
}

void phi_dequantize_row_q4_1(const void *x, float *y, int64_t n) {
    const uint8_t *block = x;
    for (int64_t b = 0; b < n / PHI_QK; b++, block += sizeof(phi_block_q4_1)) {
        const float d = load_f16(block + offsetof(phi_block_q4_1, d));
        const float m = load_f16(block + offsetof(phi_block_q4_1, m));
        const uint8_t *qs = block + offsetof(phi_block_q4_1, qs);
        for (int j = 0; j < PHI_QK / 2; j++) {
            const int low = qs[j] & 0x0f;
            const int high = qs[j] >> 4;
            y[b * PHI_QK + j] = (float)low * d + m;
            y[b * PHI_QK + j + PHI_QK / 2] = (float)high * d + m;
        }
    }
}

// The 6-bit scale and min of sub-block j (0..7) of a q4_K/q5_K block: j < 4 in the low 6 bits of
// bytes j and j+4; j >= 4 split between byte j+4 (low 4 bits) and the top 2 bits of bytes j-4 and j.
static inline void scale_min_k4(int j, const uint8_t *scales, uint8_t *scale, uint8_t *min) {
    if (j < 4) {
        *scale = scales[j] & 63;
        *min = scales[j + 4] & 63;
    } else {
        *scale = (uint8_t)((scales[j + 4] & 0x0f) | ((scales[j - 4] >> 6) << 4));
        *min = (uint8_t)((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
    }
}

void phi_dequantize_row_q4_K(const void *x, float *y, int64_t n) {
    const uint8_t *block = x;
    for (int64_t b = 0; b < n / PHI_QK_K; b++, block += sizeof(phi_block_q4_K)) {
        const float d = load_f16(block + offsetof(phi_block_q4_K, d));
        const float dmin = load_f16(block + offsetof(phi_block_q4_K, dmin));
        const uint8_t *scales = block + offsetof(phi_block_q4_K, scales);
        const uint8_t *q = block + offsetof(phi_block_q4_K, qs);
        // Each 32 bytes of qs hold two sub-blocks: low nibbles the first, high nibbles the second.
        for (int sub = 0; sub < 8; sub += 2, q += 32) {
            uint8_t scale, min;
            scale_min_k4(sub, scales, &scale, &min);
            const float d1 = d * (float)scale, m1 = dmin * (float)min;
            scale_min_k4(sub + 1, scales, &scale, &min);
            const float d2 = d * (float)scale, m2 = dmin * (float)min;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)(q[l] & 0x0f) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

void phi_dequantize_row_q5_K(const void *x, float *y, int64_t n) {
    const uint8_t *block = x;
    for (int64_t b = 0; b < n / PHI_QK_K; b++, block += sizeof(phi_block_q5_K)) {
        const float d = load_f16(block + offsetof(phi_block_q5_K, d));
        const float dmin = load_f16(block + offsetof(phi_block_q5_K, dmin));
        const uint8_t *scales = block + offsetof(phi_block_q5_K, scales);
        const uint8_t *qh = block + offsetof(phi_block_q5_K, qh);
        const uint8_t *ql = block + offsetof(phi_block_q5_K, qs);
        // Sub-blocks 2k and 2k+1 take their fifth bit from bits 2k and 2k+1 of qh.
        uint8_t low_bit = 1, high_bit = 2;
        for (int sub = 0; sub < 8; sub += 2, ql += 32) {
            uint8_t scale, min;
            scale_min_k4(sub, scales, &scale, &min);
            const float d1 = d * (float)scale, m1 = dmin * (float)min;
            scale_min_k4(sub + 1, scales, &scale, &min);
            const float d2 = d * (float)scale, m2 = dmin * (float)min;
            for (int l = 0; l < 32; l++) *y++ = d1 * (float)((ql[l] & 0x0f) + (qh[l] & low_bit ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (float)((ql[l] >> 4) + (qh[l] & high_bit ? 16 : 0)) - m2;
            low_bit = (uint8_t)(low_bit << 2);
            high_bit = (uint8_t)(high_bit << 2);
        }
    }
}

void phi_dequantize_row_q6_K(const void *x, float *y, int64_t n) {
    const uint8_t *block = x;
    for (int64_t b = 0; b < n / PHI_QK_K; b++, block += sizeof(phi_block_q6_K)) {
        const float d = load_f16(block + offsetof(phi_block_q6_K, d));
        const uint8_t *ql = block + offsetof(phi_block_q6_K, ql);
        const uint8_t *qh = block + offsetof(phi_block_q6_K, qh);
        const int8_t *scales = (const int8_t *)(block + offsetof(phi_block_q6_K, scales));
        // Each half of 128 weights: 64 bytes of ql (two nibbles each) and 32 bytes of qh (four
        // 2-bit fields each) give four runs of 32, with two scales per run.
        for (int half = 0; half < 2; half++, y += 128, ql += 64, qh += 32, scales += 8) {
            for (int l = 0; l < 32; l++) {
                const int s = l / 16;
                const int q1 = (int8_t)((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = (int8_t)((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = (int8_t)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = (int8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * (float)scales[s] * (float)q1;
                y[l + 32] = d * (float)scales[s + 2] * (float)q2;
                y[l + 64] = d * (float)scales[s + 4] * (float)q3;
                y[l + 96] = d * (float)scales[s + 6] * (float)q4;
            }
        }
    }
}
