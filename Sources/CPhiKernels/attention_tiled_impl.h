// Tiled attention (phi_kernels.h, "Tiled causal attention") written once over an eight-lane float
// vector that the including file defines, as neon_quant_impl.h is written over an integer dot:
//   VEC                         eight floats; lane i of a dot holds the dimensions i, i + 8, ...
//   VEC_ZERO(), VEC_SET1(x), VEC_LOAD(p), VEC_STORE(p, v)            (unaligned)
//   VEC_FMA(a, b, c) = a * b + c, fused;  VEC_ADD, VEC_SUB, VEC_MUL (lane by lane)
//   VEC_EXP(v)     phi_expf in each lane, bit for bit
//   VEC_REDUCE(v)  phi_reduce_lanes of the eight lanes
//   VEC_REDUCE8(v, out)  (optional) out[i] = VEC_REDUCE(v[i]) for eight vectors at once
//   VEC_LOAD_F16(p), VEC_LOAD_Q8(qs, d)   eight f16 values, eight int8 values times d, as floats
//   QK_ROWS x QK_KEYS, PV_ROWS x PV_VECS   register blocks of the score and value microkernels
//   PHI_TILED(name)                       the name of the set's functions
// Per block, the tile's keys and values are widened to f32 once (into `work`; f32 rows of a
// multiple of 8 dimensions are read in place), queries are copied once per call, zero-padded to
// a multiple of 8. Scores are computed QK_ROWS queries x QK_KEYS keys at a time, weighted values
// PV_ROWS queries x 8 * PV_VECS dimensions at a time. Every value is the scalar reference's:
// - a padded dimension adds fmaf(0, 0, lane) = lane to a dot lane (lanes start at +0 and never
//   become -0, so adding +0 changes nothing);
// - the eight lanes of the softmax total take p_j in the order j ascending, as the reference's;
//   lanes of keys a row does not see take +0 (a total never becomes -0 either);
// - weighted values skip, per row, the keys the row does not see (they are not added as zeros:
//   fmaf(0, v, -0) would turn an accumulator of -0 into +0).
#define PHI_TILED_B PHI_ATTN_BLOCK

/// Widens `count` rows (row_bytes apart) to `padded` floats each, zeros beyond head_dim.
static void PHI_TILED(widen_rows)(phi_format format, const uint8_t *rows, size_t row_bytes, int64_t count,
                                  int64_t head_dim, int64_t padded, float *out) {
    const int64_t whole = head_dim / 8 * 8;
    for (int64_t j = 0; j < count; j++) {
        const uint8_t *row = rows + (size_t)j * row_bytes;
        float *o = out + j * padded;
        int64_t i = 0;
        if (format == PHI_FORMAT_F16) {
            for (; i < whole; i += 8) VEC_STORE(o + i, VEC_LOAD_F16((const phi_f16 *)row + i));
        } else if (format == PHI_FORMAT_Q8_0) {
            while (i < whole) {  // one scale a block of 32
                const phi_block_q8_0 *block = (const phi_block_q8_0 *)row + i / PHI_QK;
                const float d = phi_f16_to_f32(block->d);
                const int64_t end = i + PHI_QK < whole ? i + PHI_QK : whole;
                for (; i < end; i += 8) VEC_STORE(o + i, VEC_LOAD_Q8(block->qs + i % PHI_QK, d));
            }
        } else {
            for (; i < whole; i += 8) VEC_STORE(o + i, VEC_LOAD((const float *)row + i));
        }
        for (; i < head_dim; i++) o[i] = phi_kv_value(format, row, i);
        for (; i < padded; i++) o[i] = 0.0f;
    }
}

/// Scores of R queries (padded floats apart) against K keys (k_stride floats apart):
/// scores[r * B + k] = dot * scale.
PHI_INLINE void PHI_TILED(score_tile)(const int R, const int K, const float *qw, int64_t padded, const float *kw,
                                      int64_t k_stride, float scale, float *scores) {
    VEC acc[QK_ROWS][QK_KEYS];
    for (int r = 0; r < R; r++)
        for (int k = 0; k < K; k++) acc[r][k] = VEC_ZERO();
    for (int64_t i = 0; i < padded; i += 8) {
        VEC kv[QK_KEYS];
        for (int k = 0; k < K; k++) kv[k] = VEC_LOAD(kw + k * k_stride + i);
        for (int r = 0; r < R; r++) {
            const VEC qv = VEC_LOAD(qw + r * padded + i);
            for (int k = 0; k < K; k++) acc[r][k] = VEC_FMA(kv[k], qv, acc[r][k]);
        }
    }
#if defined(VEC_REDUCE8)
    if ((R * K) % 8 == 0) {  // eight reductions at once, each as VEC_REDUCE
        for (int g = 0; g < R * K; g += 8) {
            VEC group[8];
            float sums[8];
            for (int a = 0; a < 8; a++) group[a] = acc[(g + a) / K][(g + a) % K];
            VEC_REDUCE8(group, sums);
            for (int a = 0; a < 8; a++) scores[(g + a) / K * PHI_TILED_B + (g + a) % K] = sums[a] * scale;
        }
        return;
    }
#endif
    for (int r = 0; r < R; r++)
        for (int k = 0; k < K; k++) scores[r * PHI_TILED_B + k] = VEC_REDUCE(acc[r][k]) * scale;
}

static void PHI_TILED(scores)(int64_t rows, const float *qw, int64_t padded, const float *kw, int64_t k_stride,
                              int64_t keys, float scale, float *scores) {
    int64_t r = 0;
    for (; r + QK_ROWS <= rows; r += QK_ROWS) {
        int64_t k = 0;
        for (; k + QK_KEYS <= keys; k += QK_KEYS)
            PHI_TILED(score_tile)(QK_ROWS, QK_KEYS, qw + r * padded, padded, kw + k * k_stride, k_stride, scale,
                                  scores + r * PHI_TILED_B + k);
        for (; k < keys; k++)
            PHI_TILED(score_tile)(QK_ROWS, 1, qw + r * padded, padded, kw + k * k_stride, k_stride, scale,
                                  scores + r * PHI_TILED_B + k);
    }
    for (; r < rows; r++) {
        int64_t k = 0;
        for (; k + QK_KEYS <= keys; k += QK_KEYS)
            PHI_TILED(score_tile)(1, QK_KEYS, qw + r * padded, padded, kw + k * k_stride, k_stride, scale,
                                  scores + r * PHI_TILED_B + k);
        for (; k < keys; k++)
            PHI_TILED(score_tile)(1, 1, qw + r * padded, padded, kw + k * k_stride, k_stride, scale,
                                  scores + r * PHI_TILED_B + k);
    }
}

/// One row's scores over `count` visible keys to p_j in place (zeros up to the next multiple of
/// 8); writes m_b and l_b of its block state.
static void PHI_TILED(softmax)(float *s, int64_t count, float *state) {
    float max = -INFINITY;
    for (int64_t j = 0; j < count; j++)
        if (s[j] > max) max = s[j];
    const VEC vmax = VEC_SET1(max);
    VEC total = VEC_ZERO();
    for (int64_t j = 0; j < count; j += 8) {
        VEC e = VEC_EXP(VEC_SUB(VEC_LOAD(s + j), vmax));
        VEC_STORE(s + j, e);
        if (j + 8 > count) {
            for (int64_t k = count; k < j + 8; k++) s[k] = 0.0f;
            e = VEC_LOAD(s + j);
        }
        total = VEC_ADD(total, e);
    }
    state[0] = max;
    state[1] = VEC_REDUCE(total);
    for (int k = 2; k < 8; k++) state[k] = 0.0f;
}

/// acc of R rows over dimensions [i, i + 8V): acc[d] = fmaf(p_j, v_j[d], acc[d]), j ascending
/// over the keys each row sees (count[r]).
PHI_INLINE void PHI_TILED(value_tile)(const int R, const int V, const float *p, const int64_t *count,
                                      const float *vw, int64_t v_stride, int64_t i, float *out, int64_t out_stride) {
    VEC acc[PV_ROWS][PV_VECS];
    int64_t low = count[0], high = count[0];
    for (int r = 0; r < R; r++) {
        for (int k = 0; k < V; k++) acc[r][k] = VEC_ZERO();
        if (count[r] < low) low = count[r];
        if (count[r] > high) high = count[r];
    }
    for (int64_t j = 0; j < low; j++) {
        VEC v[PV_VECS];
        for (int k = 0; k < V; k++) v[k] = VEC_LOAD(vw + j * v_stride + i + 8 * k);
        for (int r = 0; r < R; r++) {
            const VEC w = VEC_SET1(p[r * PHI_TILED_B + j]);
            for (int k = 0; k < V; k++) acc[r][k] = VEC_FMA(w, v[k], acc[r][k]);
        }
    }
    for (int64_t j = low; j < high; j++) {  // the causal edge: rows of later tokens see more keys
        VEC v[PV_VECS];
        for (int k = 0; k < V; k++) v[k] = VEC_LOAD(vw + j * v_stride + i + 8 * k);
        for (int r = 0; r < R; r++) {
            if (j >= count[r]) continue;
            const VEC w = VEC_SET1(p[r * PHI_TILED_B + j]);
            for (int k = 0; k < V; k++) acc[r][k] = VEC_FMA(w, v[k], acc[r][k]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int k = 0; k < V; k++) VEC_STORE(out + r * out_stride + i + 8 * k, acc[r][k]);
}

PHI_INLINE void PHI_TILED(value_rows)(const int R, const float *p, const int64_t *count, const float *vw,
                                      int64_t v_stride, int64_t padded, float *out, int64_t out_stride) {
    int64_t i = 0;
    for (; i + 8 * PV_VECS <= padded; i += 8 * PV_VECS)
        PHI_TILED(value_tile)(R, PV_VECS, p, count, vw, v_stride, i, out, out_stride);
    for (; i < padded; i += 8) PHI_TILED(value_tile)(R, 1, p, count, vw, v_stride, i, out, out_stride);
}

/// The block-local states of block `block` for every row of the tile, into `states`. `qw` holds
/// the padded queries; kw, vw and scores are scratch.
static void PHI_TILED(block_states)(phi_format format, int64_t heads, int64_t tokens, int64_t first_position,
                                    const void *keys, const void *values, size_t row_bytes, int64_t block,
                                    int64_t head_dim, float scale, const float *qw, float *kw, float *vw,
                                    float *scores, float *states) {
    const int64_t padded = phi_attend_padded_dim(head_dim), stride = phi_attend_state_floats(head_dim);
    const int64_t rows = tokens * heads, start = block * PHI_TILED_B;
    const int64_t first_token = start > first_position ? start - first_position : 0;
    const int64_t first_row = (first_token < tokens ? first_token : tokens) * heads;
    phi_attend_state_init(states, first_row, head_dim);  // tokens before the block see none of it
    if (first_row == rows) return;
    const int64_t keys_seen = phi_attend_visible(block, first_position + tokens - 1);
    const uint8_t *k = (const uint8_t *)keys + (size_t)start * row_bytes;
    const uint8_t *v = (const uint8_t *)values + (size_t)start * row_bytes;
    const float *kr = kw, *vr = vw;
    int64_t row_floats = padded;
    if (format == PHI_FORMAT_F32 && head_dim == padded && row_bytes % sizeof(float) == 0) {
        kr = (const float *)k;  // already f32 and a whole number of vectors: read in place
        vr = (const float *)v;
        row_floats = (int64_t)(row_bytes / sizeof(float));
    } else {
        PHI_TILED(widen_rows)(format, k, row_bytes, keys_seen, head_dim, padded, kw);
        PHI_TILED(widen_rows)(format, v, row_bytes, keys_seen, head_dim, padded, vw);
    }
    PHI_TILED(scores)(rows - first_row, qw + first_row * padded, padded, kr, row_floats, keys_seen, scale,
                      scores + first_row * PHI_TILED_B);
    for (int64_t r = first_row; r < rows; r++) {
        PHI_TILED(softmax)(scores + r * PHI_TILED_B, phi_attend_visible(block, first_position + r / heads),
                           states + r * stride);
    }
    for (int64_t r = first_row; r < rows;) {
        const int R = rows - r >= PV_ROWS ? PV_ROWS : 1;
        int64_t count[PV_ROWS];
        for (int i = 0; i < R; i++) count[i] = phi_attend_visible(block, first_position + (r + i) / heads);
        float *out = states + r * stride + 8;
        if (R == PV_ROWS) PHI_TILED(value_rows)(PV_ROWS, scores + r * PHI_TILED_B, count, vr, row_floats, padded, out, stride);
        else PHI_TILED(value_rows)(1, scores + r * PHI_TILED_B, count, vr, row_floats, padded, out, stride);
        r += R;
    }
}

/// Copies the tile's queries into `qw`, `padded` floats a row, zeros beyond head_dim.
static void PHI_TILED(copy_queries)(const float *q, int64_t q_token_stride, int64_t q_head_stride, int64_t heads,
                                    int64_t tokens, int64_t head_dim, float *qw) {
    const int64_t padded = phi_attend_padded_dim(head_dim);
    for (int64_t t = 0; t < tokens; t++)
        for (int64_t h = 0; h < heads; h++) {
            float *row = qw + (t * heads + h) * padded;
            memcpy(row, q + t * q_token_stride + h * q_head_stride, (size_t)head_dim * sizeof(float));
            for (int64_t i = head_dim; i < padded; i++) row[i] = 0.0f;
        }
}

void PHI_TILED(attend_fold)(float *state, const float *block_states, int64_t blocks, int64_t rows, int64_t head_dim) {
    const int64_t padded = phi_attend_padded_dim(head_dim), stride = phi_attend_state_floats(head_dim);
    for (int64_t b = 0; b < blocks; b++)
        for (int64_t r = 0; r < rows; r++) {
            float *s = state + r * stride;
            const float *o = block_states + (b * rows + r) * stride;
            const float block_max = o[0], max = s[0];
            if (block_max == -INFINITY) continue;
            const float top = block_max > max ? block_max : max;
            const float a = phi_expf(max - top), c = phi_expf(block_max - top);
            s[0] = top;
            s[1] = fmaf(s[1], a, o[1] * c);
            const VEC va = VEC_SET1(a), vc = VEC_SET1(c);
            for (int64_t i = 8; i < 8 + padded; i += 8) VEC_STORE(s + i, VEC_FMA(VEC_LOAD(s + i), va, VEC_MUL(VEC_LOAD(o + i), vc)));
        }
}

void PHI_TILED(attend_tile_kv)(phi_format format, const float *q, int64_t q_token_stride, int64_t q_head_stride,
                               int64_t heads, int64_t tokens, int64_t first_position, const void *keys,
                               const void *values, size_t row_bytes, int64_t block_begin, int64_t block_end,
                               int64_t head_dim, float scale, float *state, float *work) {
    const int64_t padded = phi_attend_padded_dim(head_dim), rows = tokens * heads;
    float *kw = work, *vw = kw + PHI_TILED_B * padded, *qw = vw + PHI_TILED_B * padded;
    float *scores = qw + rows * padded, *states = scores + rows * PHI_TILED_B;
    PHI_TILED(copy_queries)(q, q_token_stride, q_head_stride, heads, tokens, head_dim, qw);
    for (int64_t b = block_begin; b < block_end; b++) {
        PHI_TILED(block_states)(format, heads, tokens, first_position, keys, values, row_bytes, b, head_dim, scale,
                                qw, kw, vw, scores, states);
        PHI_TILED(attend_fold)(state, states, 1, rows, head_dim);
    }
}

void PHI_TILED(attend_blocks_kv)(phi_format format, const float *q, int64_t q_token_stride, int64_t q_head_stride,
                                 int64_t heads, int64_t tokens, int64_t first_position, const void *keys,
                                 const void *values, size_t row_bytes, int64_t block_begin, int64_t block_end,
                                 int64_t head_dim, float scale, float *block_states, float *work) {
    const int64_t padded = phi_attend_padded_dim(head_dim), rows = tokens * heads;
    const int64_t stride = phi_attend_state_floats(head_dim);
    float *kw = work, *vw = kw + PHI_TILED_B * padded, *qw = vw + PHI_TILED_B * padded;
    float *scores = qw + rows * padded;
    PHI_TILED(copy_queries)(q, q_token_stride, q_head_stride, heads, tokens, head_dim, qw);
    for (int64_t b = block_begin; b < block_end; b++) {
        PHI_TILED(block_states)(format, heads, tokens, first_position, keys, values, row_bytes, b, head_dim, scale,
                                qw, kw, vw, scores, block_states + (b - block_begin) * rows * stride);
    }
}

#undef PHI_TILED_B
