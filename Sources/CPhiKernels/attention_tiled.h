// Private declarations of tiled attention (attention_tiled.c, the scalar reference, and its SIMD
// versions built from attention_tiled_impl.h), included by the files that build the tables.
#ifndef PHI_ATTENTION_TILED_H
#define PHI_ATTENTION_TILED_H

#include "attention_kv.h"

/// Multiple of 8 at or above head_dim: the width of a widened row, a query and an accumulator.
static inline int64_t phi_attend_padded_dim(int64_t head_dim) { return (head_dim + 7) / 8 * 8; }

/// Keys of block `block` a query at `position` sees (0 when the block starts after it).
static inline int64_t phi_attend_visible(int64_t block, int64_t position) {
    const int64_t visible = position - block * PHI_ATTN_BLOCK + 1;
    return visible <= 0 ? 0 : visible > PHI_ATTN_BLOCK ? PHI_ATTN_BLOCK : visible;
}

#define PHI_ATTEND_TILED_DECLARE(PREFIX)                                                                   \
    void PREFIX##attend_tile_kv(phi_format format, const float *q, int64_t q_token_stride,                  \
                                int64_t q_head_stride, int64_t heads, int64_t tokens, int64_t first_position, \
                                const void *keys, const void *values, size_t row_bytes, int64_t block_begin, \
                                int64_t block_end, int64_t head_dim, float scale, float *state, float *work); \
    void PREFIX##attend_blocks_kv(phi_format format, const float *q, int64_t q_token_stride,                \
                                  int64_t q_head_stride, int64_t heads, int64_t tokens,                      \
                                  int64_t first_position, const void *keys, const void *values,              \
                                  size_t row_bytes, int64_t block_begin, int64_t block_end,                  \
                                  int64_t head_dim, float scale, float *block_states, float *work);          \
    void PREFIX##attend_fold(float *state, const float *block_states, int64_t blocks, int64_t rows,          \
                             int64_t head_dim);

PHI_ATTEND_TILED_DECLARE(phi_scalar_)
#if defined(__x86_64__)
PHI_ATTEND_TILED_DECLARE(phi_avx2_)
PHI_ATTEND_TILED_DECLARE(phi_avx512_)
#endif
#if defined(__aarch64__)
PHI_ATTEND_TILED_DECLARE(phi_neon_)
#endif

#endif
