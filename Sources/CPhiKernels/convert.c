// Scalar conversions between f32, f16, bf16 and GGML's q8_0/q4_0 blocks.
#include "phi_internal.h"

#include <math.h>
#include <string.h>

float phi_f16_to_f32(phi_f16 h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            exponent = 127 - 15 + 1;
            while ((mantissa & 0x400u) == 0) {
                mantissa <<= 1;
                exponent--;
            }
            mantissa &= 0x3ffu;
            bits = sign | (exponent << 23) | (mantissa << 13);
        }
    } else if (exponent == 0x1f) {  // inf, or nan made quiet as the hardware converts it
        bits = sign | 0x7f800000u | (mantissa << 13) | (mantissa != 0 ? 0x400000u : 0);
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

phi_f16 phi_f32_to_f16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    const uint32_t sign = (bits >> 16) & 0x8000u;
    const uint32_t absolute = bits & 0x7fffffffu;
    if (absolute > 0x7f800000u) {  // nan: quiet, top of the payload kept (as F16C and FCVT)
        return (phi_f16)(sign | 0x7e00u | ((absolute >> 13) & 0x3ffu));
    }
    if (absolute == 0x7f800000u) return (phi_f16)(sign | 0x7c00u);
    if (absolute >= 0x477ff000u) {  // rounds to >= 65520: overflow to inf
        return (phi_f16)(sign | 0x7c00u);
    }
    if (absolute < 0x38800000u) {  // below the smallest normal half: subnormal or zero
        if (absolute < 0x33000000u) return (phi_f16)sign;  // < 2^-25 rounds to zero
        const uint32_t exponent = absolute >> 23;
        const uint32_t mantissa = (absolute & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126 - exponent;  // 14 + (113 - exponent)
        uint32_t half = mantissa >> shift;
        const uint32_t remainder = mantissa & ((1u << shift) - 1u);
        const uint32_t halfway = 1u << (shift - 1);
        if (remainder > halfway || (remainder == halfway && (half & 1u))) half++;
        return (phi_f16)(sign | half);
    }
    uint32_t half = ((absolute >> 13) - ((127u - 15u) << 10));
    const uint32_t remainder = absolute & 0x1fffu;
    if (remainder > 0x1000u || (remainder == 0x1000u && (half & 1u))) half++;
    return (phi_f16)(sign | half);
}

float phi_bf16_to_f32(phi_bf16 h) {
    const uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

phi_bf16 phi_f32_to_bf16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (phi_bf16)((bits >> 16) | 0x40u);  // quiet nan
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (phi_bf16)(bits >> 16);
}

// GGML's quantize_row_q8_0_ref: d = max|x| / 127, q = roundf(x * (1 / d)), halves away from zero.
void phi_quantize_row_q8_0(const float *x, phi_block_q8_0 *y, int64_t n) {
    const int64_t blocks = n / PHI_QK;
    for (int64_t b = 0; b < blocks; b++) {
        float amax = 0.0f;
        for (int j = 0; j < PHI_QK; j++) {
            const float v = fabsf(x[b * PHI_QK + j]);
            if (v > amax) amax = v;
        }
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = phi_f32_to_f16(d);
        for (int j = 0; j < PHI_QK; j++) {
            y[b].qs[j] = (int8_t)roundf(x[b * PHI_QK + j] * id);
        }
    }
}

// GGML's quantize_row_q4_0_ref: the value of largest magnitude maps to -8.
void phi_quantize_row_q4_0(const float *x, phi_block_q4_0 *y, int64_t n) {
    const int64_t blocks = n / PHI_QK;
    for (int64_t b = 0; b < blocks; b++) {
        const float *xb = x + b * PHI_QK;
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < PHI_QK; j++) {
            if (fabsf(xb[j]) > amax) {
                amax = fabsf(xb[j]);
                max = xb[j];
            }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = phi_f32_to_f16(d);
        for (int j = 0; j < PHI_QK / 2; j++) {
            const float x0 = xb[j] * id;
            const float x1 = xb[PHI_QK / 2 + j] * id;
            int q0 = (int)(x0 + 8.5f);
            int q1 = (int)(x1 + 8.5f);
            if (q0 > 15) q0 = 15;
            if (q1 > 15) q1 = 15;
            y[b].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

void phi_dequantize_row(phi_format format, const void *x, float *y, int64_t n) {
    switch (format) {
    case PHI_FORMAT_F32:
        memcpy(y, x, (size_t)n * sizeof(float));
        break;
    case PHI_FORMAT_F16:
        for (int64_t i = 0; i < n; i++) y[i] = phi_f16_to_f32(((const phi_f16 *)x)[i]);
        break;
    case PHI_FORMAT_BF16:
        for (int64_t i = 0; i < n; i++) y[i] = phi_bf16_to_f32(((const phi_bf16 *)x)[i]);
        break;
    case PHI_FORMAT_Q8_0: {
        const phi_block_q8_0 *blocks = x;
        for (int64_t b = 0; b < n / PHI_QK; b++) {
            const float d = phi_f16_to_f32(blocks[b].d);
            for (int j = 0; j < PHI_QK; j++) y[b * PHI_QK + j] = d * (float)blocks[b].qs[j];
        }
        break;
    }
    case PHI_FORMAT_Q4_0: {
        const phi_block_q4_0 *blocks = x;
        for (int64_t b = 0; b < n / PHI_QK; b++) {
            const float d = phi_f16_to_f32(blocks[b].d);
            for (int j = 0; j < PHI_QK / 2; j++) {
                y[b * PHI_QK + j] = d * (float)((blocks[b].qs[j] & 0x0f) - 8);
                y[b * PHI_QK + j + PHI_QK / 2] = d * (float)((blocks[b].qs[j] >> 4) - 8);
            }
        }
        break;
    }
    }
}

size_t phi_row_bytes(phi_format format, int64_t n) {
    switch (format) {
    case PHI_FORMAT_F32: return (size_t)n * 4;
    case PHI_FORMAT_F16:
    case PHI_FORMAT_BF16: return (size_t)n * 2;
    case PHI_FORMAT_Q8_0: return (size_t)(n / PHI_QK) * sizeof(phi_block_q8_0);
    case PHI_FORMAT_Q4_0: return (size_t)(n / PHI_QK) * sizeof(phi_block_q4_0);
    }
    return 0;
}
