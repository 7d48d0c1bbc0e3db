// NEON q8_0/q4_0 kernels, written once over an integer dot product that the including file
// defines: SDOT(acc, a, b) adds to each int32 lane the dot of the lane's four int8 pairs, and
// SDOT_LANE(acc, a, b, k) does the same against group k (four bytes) of b broadcast. With
// dotprod these are single instructions; plain NEON widens and pairs. SUFFIX names the set.
// Block sums are exact integers, then sum = fma((float)s_b, d_w * d_x, sum) as the reference.
#define PHI_CAT2(a, b) a##_##b
#define PHI_CAT(a, b) PHI_CAT2(a, b)
#define PHI_NAME(name) PHI_CAT(name, SUFFIX)

/// Lane partials of one block's integer sum (q4_0 nibbles made signed first).
PHI_INLINE int32x4_t PHI_NAME(block_lanes)(phi_format format, const void *w, int64_t b, const int8_t *xq) {
    const int8x16_t x0 = vld1q_s8(xq), x1 = vld1q_s8(xq + 16);
    int8x16_t w0, w1;
    if (format == PHI_FORMAT_Q8_0) {
        const int8_t *qs = ((const phi_block_q8_0 *)w)[b].qs;
        w0 = vld1q_s8(qs);
        w1 = vld1q_s8(qs + 16);
    } else {
        const uint8x16_t v = vld1q_u8(((const phi_block_q4_0 *)w)[b].qs);
        w0 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0f))), vdupq_n_s8(8));
        w1 = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), vdupq_n_s8(8));
    }
    int32x4_t acc = vdupq_n_s32(0);
    acc = SDOT(acc, w0, x0);
    return SDOT(acc, w1, x1);
}

PHI_INLINE phi_f16 PHI_NAME(weight_scale)(phi_format format, const void *w, int64_t b) {
    return format == PHI_FORMAT_Q8_0 ? ((const phi_block_q8_0 *)w)[b].d : ((const phi_block_q4_0 *)w)[b].d;
}

float PHI_NAME(phi_neon_dot_quant)(phi_format format, const void *w, const void *x, int64_t n) {
    const phi_block_q8_0 *xb = x;
    float sum = 0.0f;
    for (int64_t b = 0; b < n / PHI_QK; b++) {
        const int32_t s = vaddvq_s32(PHI_NAME(block_lanes)(format, w, b, xb[b].qs));
        const float scale = neon_f16_to_f32(PHI_NAME(weight_scale)(format, w, b)) * neon_f16_to_f32(xb[b].d);
        sum = fmaf((float)s, scale, sum);
    }
    return sum;
}

/// Four rows (w_row_bytes apart) against one token; row r in lane r.
PHI_INLINE float32x4_t PHI_NAME(four_rows)(phi_format format, const uint8_t *w, size_t w_row_bytes,
                                           const phi_block_q8_0 *x, int64_t blocks) {
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < blocks; b++) {
        int32x4_t p[4];
        phi_f16 d[4];
        for (int r = 0; r < 4; r++) {
            p[r] = PHI_NAME(block_lanes)(format, w + r * w_row_bytes, b, x[b].qs);
            d[r] = PHI_NAME(weight_scale)(format, w + r * w_row_bytes, b);
        }
        const int32x4_t sums = vpaddq_s32(vpaddq_s32(p[0], p[1]), vpaddq_s32(p[2], p[3]));
        const float32x4_t scale = vmulq_n_f32(neon_f16x4_to_f32(vld1_u16(d)), neon_f16_to_f32(x[b].d));
        acc = vfmaq_f32(acc, vcvtq_f32_s32(sums), scale);
    }
    return acc;
}

void PHI_NAME(phi_neon_matmul_quant)(phi_format format, const void *w, size_t w_row_bytes, int64_t row_begin,
                                     int64_t row_end, const void *x, size_t x_row_bytes, int64_t tokens,
                                     int64_t cols, float *out, int64_t out_stride) {
    const int64_t blocks = cols / PHI_QK;
    for (int64_t t = 0; t < tokens; t++) {
        const phi_block_q8_0 *xt = (const phi_block_q8_0 *)((const uint8_t *)x + (size_t)t * x_row_bytes);
        float *ot = out + t * out_stride;
        int64_t r = row_begin;
        for (; r + 4 <= row_end; r += 4) {
            vst1q_f32(ot + r, PHI_NAME(four_rows)(format, (const uint8_t *)w + (size_t)r * w_row_bytes, w_row_bytes, xt, blocks));
        }
        for (; r < row_end; r++) ot[r] = PHI_NAME(phi_neon_dot_quant)(format, (const uint8_t *)w + (size_t)r * w_row_bytes, xt, cols);
    }
}

// ---- Repacked weights: 8 rows of a group in two quads of int32 lanes ----
// Per token and block, the activations' scale as f32 and (q4_0) 8 * sum(x) are staged on the
// stack once per call, as in avx2_repacked.c: q4_0 nibbles then enter SDOT unsigned (0..15 is
// a valid int8) and the offset of 8 is taken off the block sum, not off every nibble.
#define TILE_TOKENS 4
#define STAGE_FLOATS 2048  // 16 KB of staging: small enough for any thread's stack

typedef struct {
    const phi_block_q8_0 *x[TILE_TOKENS];
    const float *dx[TILE_TOKENS];
    const int32_t *offset[TILE_TOKENS];
} PHI_NAME(tile_tokens);

// One 32-byte slice of 8 rows (rows 0-3, rows 4-7) against group K of the activation quad X.
#define SLICE(W_LO, W_HI, X, K)                                          \
    for (int t = 0; t < T; t++) {                                        \
        s_lo[t] = SDOT_LANE(s_lo[t], W_LO, X[t], K);                     \
        s_hi[t] = SDOT_LANE(s_hi[t], W_HI, X[t], K);                     \
    }

/// The block's float step for T tokens: acc = fma((float)s, d_w * d_x, acc), rows in lanes.
#define BLOCK_END(OFFSET)                                                                          \
    {                                                                                              \
        const float32x4_t dw_lo = neon_f16x4_to_f32(vld1_u16((const uint16_t *)record));          \
        const float32x4_t dw_hi = neon_f16x4_to_f32(vld1_u16((const uint16_t *)record + 4));      \
        for (int t = 0; t < T; t++) {                                                              \
            const float dx = tk->dx[t][b];                                                         \
            if (OFFSET) {                                                                          \
                const int32x4_t offset = vdupq_n_s32(tk->offset[t][b]);                            \
                s_lo[t] = vsubq_s32(s_lo[t], offset);                                              \
                s_hi[t] = vsubq_s32(s_hi[t], offset);                                              \
            }                                                                                      \
            acc_lo[t] = vfmaq_f32(acc_lo[t], vcvtq_f32_s32(s_lo[t]), vmulq_n_f32(dw_lo, dx));     \
            acc_hi[t] = vfmaq_f32(acc_hi[t], vcvtq_f32_s32(s_hi[t]), vmulq_n_f32(dw_hi, dx));     \
        }                                                                                          \
    }

PHI_INLINE void PHI_NAME(tile_q8_0)(const int T, const uint8_t *records, int64_t blocks,
                                    const PHI_NAME(tile_tokens) *tk, float32x4_t *acc_lo, float32x4_t *acc_hi) {
    for (int t = 0; t < T; t++) acc_lo[t] = acc_hi[t] = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *record = records + (size_t)b * PHI_Q8_0_RECORD_BYTES;
        const int8_t *q = (const int8_t *)record + 16;
        int8x16_t x0[TILE_TOKENS], x1[TILE_TOKENS];
        int32x4_t s_lo[TILE_TOKENS], s_hi[TILE_TOKENS];
        for (int t = 0; t < T; t++) {
            x0[t] = vld1q_s8(tk->x[t][b].qs);
            x1[t] = vld1q_s8(tk->x[t][b].qs + 16);
            s_lo[t] = s_hi[t] = vdupq_n_s32(0);
        }
        SLICE(vld1q_s8(q + 0), vld1q_s8(q + 16), x0, 0)
        SLICE(vld1q_s8(q + 32), vld1q_s8(q + 48), x0, 1)
        SLICE(vld1q_s8(q + 64), vld1q_s8(q + 80), x0, 2)
        SLICE(vld1q_s8(q + 96), vld1q_s8(q + 112), x0, 3)
        SLICE(vld1q_s8(q + 128), vld1q_s8(q + 144), x1, 0)
        SLICE(vld1q_s8(q + 160), vld1q_s8(q + 176), x1, 1)
        SLICE(vld1q_s8(q + 192), vld1q_s8(q + 208), x1, 2)
        SLICE(vld1q_s8(q + 224), vld1q_s8(q + 240), x1, 3)
        BLOCK_END(0)
    }
}

// q4_0 slice K: low nibbles are elements 4K.. (group K of x0), high nibbles 16+4K.. (of x1),
// both unsigned 0..15; the staged offset 8 * sum(x) corrects the block sum.
#define Q4_SLICE(K)                                                                                \
    {                                                                                              \
        const uint8x16_t v_lo = vld1q_u8(q + 32 * K), v_hi = vld1q_u8(q + 32 * K + 16);           \
        const uint8x16_t mask = vdupq_n_u8(0x0f);                                                  \
        const int8x16_t a_lo = vreinterpretq_s8_u8(vandq_u8(v_lo, mask));                          \
        const int8x16_t a_hi = vreinterpretq_s8_u8(vandq_u8(v_hi, mask));                          \
        const int8x16_t b_lo = vreinterpretq_s8_u8(vshrq_n_u8(v_lo, 4));                           \
        const int8x16_t b_hi = vreinterpretq_s8_u8(vshrq_n_u8(v_hi, 4));                           \
        SLICE(a_lo, a_hi, x0, K)                                                                   \
        SLICE(b_lo, b_hi, x1, K)                                                                   \
    }

PHI_INLINE void PHI_NAME(tile_q4_0)(const int T, const uint8_t *records, int64_t blocks,
                                    const PHI_NAME(tile_tokens) *tk, float32x4_t *acc_lo, float32x4_t *acc_hi) {
    for (int t = 0; t < T; t++) acc_lo[t] = acc_hi[t] = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *record = records + (size_t)b * PHI_Q4_0_RECORD_BYTES;
        const uint8_t *q = record + 16;
        int8x16_t x0[TILE_TOKENS], x1[TILE_TOKENS];
        int32x4_t s_lo[TILE_TOKENS], s_hi[TILE_TOKENS];
        for (int t = 0; t < T; t++) {
            x0[t] = vld1q_s8(tk->x[t][b].qs);
            x1[t] = vld1q_s8(tk->x[t][b].qs + 16);
            s_lo[t] = s_hi[t] = vdupq_n_s32(0);
        }
        Q4_SLICE(0)
        Q4_SLICE(1)
        Q4_SLICE(2)
        Q4_SLICE(3)
        BLOCK_END(1)
    }
}

static void PHI_NAME(tiles)(phi_format format, int T, const uint8_t *records, int64_t blocks,
                            const PHI_NAME(tile_tokens) *tk, float32x4_t *acc_lo, float32x4_t *acc_hi) {
    if (format == PHI_FORMAT_Q4_0) {
        switch (T) {
        case 1: PHI_NAME(tile_q4_0)(1, records, blocks, tk, acc_lo, acc_hi); break;
        case 2: PHI_NAME(tile_q4_0)(2, records, blocks, tk, acc_lo, acc_hi); break;
        case 3: PHI_NAME(tile_q4_0)(3, records, blocks, tk, acc_lo, acc_hi); break;
        default: PHI_NAME(tile_q4_0)(4, records, blocks, tk, acc_lo, acc_hi); break;
        }
    } else {
        switch (T) {
        case 1: PHI_NAME(tile_q8_0)(1, records, blocks, tk, acc_lo, acc_hi); break;
        case 2: PHI_NAME(tile_q8_0)(2, records, blocks, tk, acc_lo, acc_hi); break;
        case 3: PHI_NAME(tile_q8_0)(3, records, blocks, tk, acc_lo, acc_hi); break;
        default: PHI_NAME(tile_q8_0)(4, records, blocks, tk, acc_lo, acc_hi); break;
        }
    }
}

/// Scales (and q4_0 offsets) of `tokens` activation rows, token after token.
static void PHI_NAME(stage)(phi_format format, const uint8_t *x, size_t x_row_bytes, int64_t tokens,
                            int64_t blocks, float *dx, int32_t *offset) {
    for (int64_t t = 0; t < tokens; t++) {
        const phi_block_q8_0 *xt = (const phi_block_q8_0 *)(x + (size_t)t * x_row_bytes);
        for (int64_t b = 0; b < blocks; b++) {
            dx[t * blocks + b] = neon_f16_to_f32(xt[b].d);
            if (format == PHI_FORMAT_Q4_0) {
                const int16x8_t pairs = vpaddlq_s8(vld1q_s8(xt[b].qs));
                const int16x8_t more = vpaddlq_s8(vld1q_s8(xt[b].qs + 16));
                offset[t * blocks + b] = 8 * vaddvq_s32(vaddq_s32(vpaddlq_s16(pairs), vpaddlq_s16(more)));
            }
        }
    }
}

void PHI_NAME(phi_neon_matmul_repacked)(phi_format format, const void *packed, int64_t row_begin,
                                        int64_t row_end, const void *x, size_t x_row_bytes, int64_t tokens,
                                        int64_t cols, float *out, int64_t out_stride) {
    const int64_t blocks = cols / PHI_QK;
    if ((format != PHI_FORMAT_Q8_0 && format != PHI_FORMAT_Q4_0) || blocks > STAGE_FLOATS) {
        phi_scalar_matmul_repacked(format, packed, row_begin, row_end, x, x_row_bytes, tokens, cols, out, out_stride);
        return;
    }
    if (row_begin >= row_end || tokens <= 0 || blocks == 0) {
        for (int64_t t = 0; t < tokens; t++)
            for (int64_t r = row_begin; r < row_end; r++) out[t * out_stride + r] = 0.0f;
        return;
    }
    const size_t group_bytes = (size_t)blocks * phi_record_bytes(format);
    float dx[STAGE_FLOATS];
    int32_t offset[STAGE_FLOATS];
    const int64_t chunk_tokens = STAGE_FLOATS / blocks;  // >= 1
    const int64_t panel_groups = 256 * 1024 / group_bytes > 1 ? (int64_t)(256 * 1024 / group_bytes) : 1;
    const int64_t group_begin = row_begin / PHI_REPACK_ROWS;
    const int64_t group_end = (row_end + PHI_REPACK_ROWS - 1) / PHI_REPACK_ROWS;
    for (int64_t panel = group_begin; panel < group_end; panel += panel_groups) {
        const int64_t panel_end = panel + panel_groups < group_end ? panel + panel_groups : group_end;
        for (int64_t chunk = 0; chunk < tokens; chunk += chunk_tokens) {
            const int64_t chunk_end = chunk + chunk_tokens < tokens ? chunk + chunk_tokens : tokens;
            PHI_NAME(stage)(format, (const uint8_t *)x + (size_t)chunk * x_row_bytes, x_row_bytes,
                            chunk_end - chunk, blocks, dx, offset);
            for (int64_t group = panel; group < panel_end; group++) {
                const int64_t first = group * PHI_REPACK_ROWS;
                for (int64_t t = chunk; t < chunk_end; t += TILE_TOKENS) {
                    const int T = chunk_end - t >= TILE_TOKENS ? TILE_TOKENS : (int)(chunk_end - t);
                    PHI_NAME(tile_tokens) tk;
                    for (int k = 0; k < T; k++) {
                        tk.x[k] = (const phi_block_q8_0 *)((const uint8_t *)x + (size_t)(t + k) * x_row_bytes);
                        tk.dx[k] = dx + (t + k - chunk) * blocks;
                        tk.offset[k] = offset + (t + k - chunk) * blocks;
                    }
                    float32x4_t acc_lo[TILE_TOKENS], acc_hi[TILE_TOKENS];
                    PHI_NAME(tiles)(format, T, (const uint8_t *)packed + (size_t)group * group_bytes, blocks, &tk,
                                    acc_lo, acc_hi);
                    for (int k = 0; k < T; k++) {
                        float lanes[PHI_REPACK_ROWS];
                        vst1q_f32(lanes, acc_lo[k]);
                        vst1q_f32(lanes + 4, acc_hi[k]);
                        float *o = out + (t + k) * out_stride + first;
                        for (int lane = 0; lane < PHI_REPACK_ROWS; lane++) {
                            if (first + lane >= row_begin && first + lane < row_end) o[lane] = lanes[lane];
                        }
                    }
                }
            }
        }
    }
}

#undef SLICE
#undef Q4_SLICE
#undef BLOCK_END
#undef TILE_TOKENS
#undef STAGE_FLOATS
