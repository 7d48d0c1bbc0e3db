// AVX2 matmul over repacked q8_0/q4_0 weights (phi_repack): a ymm holds one 4-byte slice of
// each of 8 rows, so a broadcast 4-byte slice of the activations meets all 8 rows in one
// maddubs and each row's block sum lands in its own lane, no horizontal reduction. A tile is
// 8 rows x up to 4 tokens; per token and block the activations' f16 scale (and for q4_0 the
// offset 8 * sum(x)) are staged once on the stack.
#if defined(__x86_64__)
#include "avx2_common.h"

#ifndef MAX_TILE_TOKENS
#define MAX_TILE_TOKENS 4
#endif
#define STAGE_BYTES (16 * 1024)  // per-token staging on the stack: small enough for any thread
// Records are asked for this far ahead of use (about the same time ahead for both formats:
// a q4_0 record takes about half the work of a q8_0 one). Measured on Zen 3, one thread,
// matrix-vector from DRAM: 12-20% over no prefetch; 1, 2 and 4 KB within noise of each other.
#define PREFETCH_Q4_0_BYTES 2048
#define PREFETCH_Q8_0_BYTES 1024

typedef struct {
    const phi_block_q8_0 *x[MAX_TILE_TOKENS];  // activation blocks of each token
    const float *dx[MAX_TILE_TOKENS];          // their scales as f32
    const int32_t *offset[MAX_TILE_TOKENS];    // q4_0: 8 * sum of the block's activations
} tile_tokens;

/// Stores acc (8 rows of token t) to out, keeping only rows inside [row_begin, row_end).
PHI_INLINE void store_rows(__m256 acc, float *out, int64_t first, int64_t row_begin, int64_t row_end) {
    if (first >= row_begin && first + PHI_REPACK_ROWS <= row_end) {
        _mm256_storeu_ps(out + first, acc);
        return;
    }
    float lanes[PHI_REPACK_ROWS];  // a group cut by the row range
    _mm256_storeu_ps(lanes, acc);
    for (int lane = 0; lane < PHI_REPACK_ROWS; lane++) {
        if (first + lane >= row_begin && first + lane < row_end) out[first + lane] = lanes[lane];
    }
}

typedef struct {
    int64_t first, row_begin, row_end;  // the group's first row and the rows asked for
    float *out;                         // out + t0 * out_stride
    int64_t out_stride;
} tile_output;

/// 8 rows of one group x T tokens over all blocks; accumulators stay in registers.
PHI_INLINE void tile_q4_0(const int T, const uint8_t *records, int64_t blocks, const tile_tokens *tk,
                          const tile_output *o) {
    const __m256i low = _mm256_set1_epi8(0x0f);
    __m256 acc[MAX_TILE_TOKENS];
    const int8_t *xq[MAX_TILE_TOKENS];
    for (int t = 0; t < T; t++) {
        acc[t] = _mm256_setzero_ps();
        xq[t] = tk->x[t]->qs;
    }
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *record = records + (size_t)b * PHI_Q4_0_RECORD_BYTES;
        _mm_prefetch((const char *)record + PREFETCH_Q4_0_BYTES, _MM_HINT_T0);
        _mm_prefetch((const char *)record + PREFETCH_Q4_0_BYTES + 64, _MM_HINT_T0);
        __m256i sums[MAX_TILE_TOKENS];
        for (int slice = 0; slice < PHI_Q4_0_SLICES; slice++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(record + 16 + 32 * slice));
            const __m256i lo = _mm256_and_si256(v, low);                         // elements 4s..4s+3
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);  // elements 16+4s..
            for (int t = 0; t < T; t++) {
                const int8_t *x = xq[t] + b * (int64_t)sizeof(phi_block_q8_0);
                const __m256i xlo = _mm256_set1_epi32(avx2_load_i32(x + 4 * slice));
                const __m256i xhi = _mm256_set1_epi32(avx2_load_i32(x + 16 + 4 * slice));
                // int16 lanes: 8 products of at most 15 * 128 * 2 each, |sum| <= 30720: no overflow.
                const __m256i pair = _mm256_add_epi16(_mm256_maddubs_epi16(lo, xlo), _mm256_maddubs_epi16(hi, xhi));
                sums[t] = slice == 0 ? pair : _mm256_add_epi16(sums[t], pair);
            }
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)record));
        for (int t = 0; t < T; t++) {
            const __m256i s = _mm256_sub_epi32(_mm256_madd_epi16(sums[t], _mm256_set1_epi16(1)),
                                               _mm256_set1_epi32(tk->offset[t][b]));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(dw, _mm256_set1_ps(tk->dx[t][b])), acc[t]);
        }
    }
    for (int t = 0; t < T; t++) store_rows(acc[t], o->out + t * o->out_stride, o->first, o->row_begin, o->row_end);
}

PHI_INLINE void tile_q8_0(const int T, const uint8_t *records, int64_t blocks, const tile_tokens *tk,
                          const tile_output *o) {
    __m256 acc[MAX_TILE_TOKENS];
    const int8_t *xq[MAX_TILE_TOKENS];
    for (int t = 0; t < T; t++) {
        acc[t] = _mm256_setzero_ps();
        xq[t] = tk->x[t]->qs;
    }
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *record = records + (size_t)b * PHI_Q8_0_RECORD_BYTES;
        for (int line = 0; line < 4; line++) {
            _mm_prefetch((const char *)record + PREFETCH_Q8_0_BYTES + 64 * line, _MM_HINT_T0);
        }
        __m256i sums[MAX_TILE_TOKENS];
        for (int slice = 0; slice < PHI_Q8_0_SLICES; slice++) {
            const __m256i w = _mm256_loadu_si256((const __m256i *)(record + 16 + 32 * slice));
            const __m256i magnitude = _mm256_sign_epi8(w, w);
            for (int t = 0; t < T; t++) {
                const int8_t *x = xq[t] + b * (int64_t)sizeof(phi_block_q8_0);
                const __m256i xs = _mm256_set1_epi32(avx2_load_i32(x + 4 * slice));
                // |w| * sign(x, w), exact while x != -128 (the q8_0 contract).
                const __m256i products = _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(xs, w)),
                                                           _mm256_set1_epi16(1));
                sums[t] = slice == 0 ? products : _mm256_add_epi32(sums[t], products);
            }
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)record));
        for (int t = 0; t < T; t++) {
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums[t]), _mm256_mul_ps(dw, _mm256_set1_ps(tk->dx[t][b])), acc[t]);
        }
    }
    for (int t = 0; t < T; t++) store_rows(acc[t], o->out + t * o->out_stride, o->first, o->row_begin, o->row_end);
}

#define PHI_TILE_DISPATCH(NAME, KERNEL)                                                                 \
    static void NAME(int T, const uint8_t *records, int64_t blocks, const tile_tokens *tk,           \
                     const tile_output *o) {                                                           \
        switch (T) {                                                                                   \
        case 1: KERNEL(1, records, blocks, tk, o); break;                                              \
        case 2: KERNEL(2, records, blocks, tk, o); break;                                              \
        case 3: KERNEL(3, records, blocks, tk, o); break;                                              \
        default: KERNEL(4, records, blocks, tk, o); break;                                             \
        }                                                                                              \
    }
PHI_TILE_DISPATCH(tiles_q4_0, tile_q4_0)
PHI_TILE_DISPATCH(tiles_q8_0, tile_q8_0)

/// Scales (and q4_0 offsets) of `tokens` activation rows, token after token.
static void stage(phi_format format, const uint8_t *x, size_t x_row_bytes, int64_t tokens,
                  int64_t blocks, float *dx, int32_t *offset) {
    for (int64_t t = 0; t < tokens; t++) {
        const phi_block_q8_0 *xt = (const phi_block_q8_0 *)(x + (size_t)t * x_row_bytes);
        for (int64_t b = 0; b < blocks; b++) {
            dx[t * blocks + b] = avx2_f16_to_f32(xt[b].d);
            if (format == PHI_FORMAT_Q4_0) {
                const __m256i xq = _mm256_loadu_si256((const __m256i *)xt[b].qs);
                const __m256i lanes = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(8), xq),
                                                        _mm256_set1_epi16(1));
                offset[t * blocks + b] = avx2_sum_lanes(lanes);
            }
        }
    }
}

void phi_avx2_matmul_repacked(phi_format format, const void *packed, int64_t row_begin,
                              int64_t row_end, const void *x, size_t x_row_bytes, int64_t tokens,
                              int64_t cols, float *out, int64_t out_stride) {
    const int64_t blocks = cols / PHI_QK;
    if ((format != PHI_FORMAT_Q8_0 && format != PHI_FORMAT_Q4_0) || blocks > PHI_MAX_STAGED_BLOCKS) {
        phi_scalar_matmul_repacked(format, packed, row_begin, row_end, x, x_row_bytes, tokens, cols, out, out_stride);
        return;
    }
    if (row_begin >= row_end || tokens <= 0 || blocks == 0) {
        for (int64_t t = 0; t < tokens; t++)
            for (int64_t r = row_begin; r < row_end; r++) out[t * out_stride + r] = 0.0f;
        return;
    }
    void (*tiles)(int, const uint8_t *, int64_t, const tile_tokens *, const tile_output *) =
        format == PHI_FORMAT_Q4_0 ? tiles_q4_0 : tiles_q8_0;
    const size_t record_bytes = phi_record_bytes(format);
    const size_t group_bytes = (size_t)blocks * record_bytes;

    float dx[STAGE_BYTES / 8];
    int32_t offset[STAGE_BYTES / 8];
    const int64_t chunk_tokens = (int64_t)(sizeof dx / sizeof dx[0]) / blocks;  // >= 1
    // Panels of row groups whose weights stay in L2 while every token tile passes over them.
    const int64_t panel_groups = (int64_t)(256 * 1024 / group_bytes) > 1 ? (int64_t)(256 * 1024 / group_bytes) : 1;
    const int64_t group_begin = row_begin / PHI_REPACK_ROWS;
    const int64_t group_end = (row_end + PHI_REPACK_ROWS - 1) / PHI_REPACK_ROWS;

    for (int64_t panel = group_begin; panel < group_end; panel += panel_groups) {
        const int64_t panel_end = panel + panel_groups < group_end ? panel + panel_groups : group_end;
        for (int64_t chunk = 0; chunk < tokens; chunk += chunk_tokens) {
            const int64_t chunk_end = chunk + chunk_tokens < tokens ? chunk + chunk_tokens : tokens;
            const uint8_t *xc = (const uint8_t *)x + (size_t)chunk * x_row_bytes;
            stage(format, xc, x_row_bytes, chunk_end - chunk, blocks, dx, offset);
            for (int64_t group = panel; group < panel_end; group++) {
                const uint8_t *records = (const uint8_t *)packed + (size_t)group * group_bytes;
                const int64_t first = group * PHI_REPACK_ROWS;
                for (int64_t t = chunk; t < chunk_end; t += MAX_TILE_TOKENS) {
                    const int T = chunk_end - t >= MAX_TILE_TOKENS ? MAX_TILE_TOKENS : (int)(chunk_end - t);
                    tile_tokens tk;
                    for (int k = 0; k < T; k++) {
                        tk.x[k] = (const phi_block_q8_0 *)((const uint8_t *)x + (size_t)(t + k) * x_row_bytes);
                        tk.dx[k] = dx + (t + k - chunk) * blocks;
                        tk.offset[k] = offset + (t + k - chunk) * blocks;
                    }
                    const tile_output o = {first, row_begin, row_end, out + t * out_stride, out_stride};
                    tiles(T, records, blocks, &tk, &o);
                }
            }
        }
    }
}

PHI_AVX2_END
#endif
