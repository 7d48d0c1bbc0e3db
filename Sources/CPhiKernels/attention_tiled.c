// The scalar reference of tiled attention (phi_kernels.h, "Tiled causal attention"): written
// straight from the definition, one (token, head) and one key at a time, every key and value
// read through phi_kv_value. The SIMD versions (attention_tiled_impl.h) reorganise the loops
// around a tile but must give these results bit for bit.
#include "attention_tiled.h"

#include <math.h>
#include <string.h>

int64_t phi_attend_state_floats(int64_t head_dim) { return 8 + phi_attend_padded_dim(head_dim); }

// Widened keys and values of one block, the tile's queries, its scores and its block states
// (the SIMD layout; the scalar reference uses only the first state).
int64_t phi_attend_work_floats(int64_t tokens, int64_t heads, int64_t head_dim) {
    const int64_t padded = phi_attend_padded_dim(head_dim), rows = tokens * heads;
    return 2 * PHI_ATTN_BLOCK * padded + rows * (padded + PHI_ATTN_BLOCK + phi_attend_state_floats(head_dim));
}

void phi_attend_state_init(float *state, int64_t rows, int64_t head_dim) {
    const int64_t stride = phi_attend_state_floats(head_dim);
    memset(state, 0, (size_t)(rows * stride) * sizeof(float));
    for (int64_t r = 0; r < rows; r++) state[r * stride] = -INFINITY;
}

void phi_attend_finish(const float *state, int64_t tokens, int64_t heads, int64_t head_dim, float *out,
                       int64_t out_token_stride, int64_t out_head_stride) {
    const int64_t stride = phi_attend_state_floats(head_dim);
    for (int64_t t = 0; t < tokens; t++)
        for (int64_t h = 0; h < heads; h++) {
            const float *row = state + (t * heads + h) * stride;
            const float inverse = 1.0f / row[1];
            float *o = out + t * out_token_stride + h * out_head_stride;
            for (int64_t d = 0; d < head_dim; d++) o[d] = row[8 + d] * inverse;
        }
}

/// The block-local state of one query over `count` (1..PHI_ATTN_BLOCK) keys from row `keys`.
static void block_state(phi_format format, const float *q, const uint8_t *keys, const uint8_t *values,
                        size_t row_bytes, int64_t count, int64_t head_dim, float scale, float *state) {
    float p[PHI_ATTN_BLOCK];
    float max = -INFINITY;
    for (int64_t j = 0; j < count; j++) {
        float lane[PHI_LANES] = {0};
        const uint8_t *row = keys + (size_t)j * row_bytes;
        for (int64_t i = 0; i < head_dim; i++) {
            lane[i % PHI_LANES] = fmaf(phi_kv_value(format, row, i), q[i], lane[i % PHI_LANES]);
        }
        p[j] = phi_reduce_lanes(lane) * scale;
        if (p[j] > max) max = p[j];
    }
    float lane[PHI_LANES] = {0};
    for (int64_t j = 0; j < count; j++) {
        p[j] = phi_expf(p[j] - max);
        lane[j % PHI_LANES] += p[j];
    }
    const int64_t stride = phi_attend_state_floats(head_dim);
    memset(state, 0, (size_t)stride * sizeof(float));
    state[0] = max;
    state[1] = phi_reduce_lanes(lane);
    float *acc = state + 8;
    for (int64_t j = 0; j < count; j++) {
        const uint8_t *row = values + (size_t)j * row_bytes;
        for (int64_t d = 0; d < head_dim; d++) acc[d] = fmaf(p[j], phi_kv_value(format, row, d), acc[d]);
    }
}

static void fold(float *state, const float *block, int64_t head_dim) {
    const float block_max = block[0], max = state[0];
    if (block_max == -INFINITY) return;  // no visible key
    const float top = block_max > max ? block_max : max;
    const float a = phi_expf(max - top), b = phi_expf(block_max - top);
    state[0] = top;
    state[1] = fmaf(state[1], a, block[1] * b);
    for (int64_t d = 0; d < head_dim; d++) state[8 + d] = fmaf(state[8 + d], a, block[8 + d] * b);
}

void phi_scalar_attend_fold(float *state, const float *block_states, int64_t blocks, int64_t rows,
                            int64_t head_dim) {
    const int64_t stride = phi_attend_state_floats(head_dim);
    for (int64_t b = 0; b < blocks; b++)
        for (int64_t r = 0; r < rows; r++) fold(state + r * stride, block_states + (b * rows + r) * stride, head_dim);
}

void phi_scalar_attend_tile_kv(phi_format format, const float *q, int64_t q_token_stride, int64_t q_head_stride,
                               int64_t heads, int64_t tokens, int64_t first_position, const void *keys,
                               const void *values, size_t row_bytes, int64_t block_begin, int64_t block_end,
                               int64_t head_dim, float scale, float *state, float *work) {
    const int64_t stride = phi_attend_state_floats(head_dim);
    for (int64_t b = block_begin; b < block_end; b++) {
        const uint8_t *k = (const uint8_t *)keys + (size_t)(b * PHI_ATTN_BLOCK) * row_bytes;
        const uint8_t *v = (const uint8_t *)values + (size_t)(b * PHI_ATTN_BLOCK) * row_bytes;
        for (int64_t t = 0; t < tokens; t++) {
            const int64_t count = phi_attend_visible(b, first_position + t);
            if (count == 0) continue;
            for (int64_t h = 0; h < heads; h++) {
                block_state(format, q + t * q_token_stride + h * q_head_stride, k, v, row_bytes, count, head_dim,
                            scale, work);
                fold(state + (t * heads + h) * stride, work, head_dim);
            }
        }
    }
}

void phi_scalar_attend_blocks_kv(phi_format format, const float *q, int64_t q_token_stride, int64_t q_head_stride,
                                 int64_t heads, int64_t tokens, int64_t first_position, const void *keys,
                                 const void *values, size_t row_bytes, int64_t block_begin, int64_t block_end,
                                 int64_t head_dim, float scale, float *block_states, float *work) {
    (void)work;
    const int64_t stride = phi_attend_state_floats(head_dim), rows = tokens * heads;
    for (int64_t b = block_begin; b < block_end; b++) {
        const uint8_t *k = (const uint8_t *)keys + (size_t)(b * PHI_ATTN_BLOCK) * row_bytes;
        const uint8_t *v = (const uint8_t *)values + (size_t)(b * PHI_ATTN_BLOCK) * row_bytes;
        float *states = block_states + (b - block_begin) * rows * stride;
        phi_attend_state_init(states, rows, head_dim);
        for (int64_t t = 0; t < tokens; t++) {
            const int64_t count = phi_attend_visible(b, first_position + t);
            if (count == 0) continue;
            for (int64_t h = 0; h < heads; h++) {
                block_state(format, q + t * q_token_stride + h * q_head_stride, k, v, row_bytes, count, head_dim,
                            scale, states + (t * heads + h) * stride);
            }
        }
    }
}
