// Private helpers of attention over f32/f16/q8_0 KV rows (attention_kv.c, attention_tiled.c and
// its SIMD versions).
#ifndef PHI_ATTENTION_KV_H
#define PHI_ATTENTION_KV_H

#include "phi_internal.h"

/// Value i of a head vector stored as `format` (exact: f16 widens exactly, and a q8_0 value
/// d * q has at most 11 + 7 significant bits).
static inline float phi_kv_value(phi_format format, const void *row, int64_t i) {
    switch (format) {
    case PHI_FORMAT_F16: return phi_f16_to_f32(((const phi_f16 *)row)[i]);
    case PHI_FORMAT_Q8_0: {
        const phi_block_q8_0 *block = (const phi_block_q8_0 *)row + i / PHI_QK;
        return phi_f16_to_f32(block->d) * (float)block->qs[i % PHI_QK];
    }
    default: return ((const float *)row)[i];
    }
}

#endif
