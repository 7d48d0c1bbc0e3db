// kernel_check (not a SwiftPM target; built by scripts/test-neon): every table this CPU runs against the scalar reference, bit for bit, on seeded
// random inputs with odd shapes. scripts/test-neon runs it under qemu-aarch64 (with and without
// dotprod) and natively. Exits 1 on any mismatch; prints "N passed, N failed".
#include "phi_kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t next_u32(void) {  // xorshift64*
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}
static float uniform(float lo, float hi) { return lo + (hi - lo) * (float)(next_u32() >> 8) / 16777216.0f; }
static int8_t q8_value(void) { return (int8_t)((int)(next_u32() % 255) - 127); }  // [-127, 127]

static int passed, failed;
static void check(int ok, const char *table, const char *what, long a, long b, long c) {
    if (ok) { passed++; return; }
    failed++;
    if (failed <= 20) fprintf(stderr, "MISMATCH %s: %s (%ld, %ld, %ld)\n", table, what, a, b, c);
}
static int same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

/// A random row of `n` weights in `format`.
static void fill_weights(phi_format format, void *row, int64_t n) {
    switch (format) {
    case PHI_FORMAT_F32: for (int64_t i = 0; i < n; i++) ((float *)row)[i] = uniform(-1, 1); break;
    case PHI_FORMAT_F16: for (int64_t i = 0; i < n; i++) ((phi_f16 *)row)[i] = phi_f32_to_f16(uniform(-1, 1)); break;
    case PHI_FORMAT_BF16: for (int64_t i = 0; i < n; i++) ((phi_bf16 *)row)[i] = phi_f32_to_bf16(uniform(-1, 1)); break;
    case PHI_FORMAT_Q8_0:
        for (int64_t b = 0; b < n / PHI_QK; b++) {
            phi_block_q8_0 *block = (phi_block_q8_0 *)row + b;
            block->d = phi_f32_to_f16(uniform(0.0001f, 0.02f));
            for (int j = 0; j < PHI_QK; j++) block->qs[j] = q8_value();
        }
        break;
    case PHI_FORMAT_Q4_0:
        for (int64_t b = 0; b < n / PHI_QK; b++) {
            phi_block_q4_0 *block = (phi_block_q4_0 *)row + b;
            block->d = phi_f32_to_f16(uniform(-0.02f, 0.02f));
            for (int j = 0; j < PHI_QK / 2; j++) block->qs[j] = (uint8_t)next_u32();
        }
        break;
    }
}

static int is_quantized(phi_format f) { return f == PHI_FORMAT_Q8_0 || f == PHI_FORMAT_Q4_0; }
static size_t x_row_bytes(phi_format f, int64_t n) { return is_quantized(f) ? phi_row_bytes(PHI_FORMAT_Q8_0, n) : (size_t)n * 4; }
static void fill_x(phi_format f, void *row, int64_t n) { fill_weights(is_quantized(f) ? PHI_FORMAT_Q8_0 : PHI_FORMAT_F32, row, n); }

static void check_matmul(const phi_kernels *k, phi_format format, int64_t rows, int64_t cols, int64_t tokens) {
    const phi_kernels *ref = phi_kernels_scalar();
    const size_t wb = phi_row_bytes(format, cols), xb = x_row_bytes(format, cols);
    uint8_t *w = malloc(wb * rows + 1), *x = malloc(xb * tokens + 1);
    for (int64_t r = 0; r < rows; r++) fill_weights(format, w + r * wb, cols);
    for (int64_t t = 0; t < tokens; t++) fill_x(format, x + t * xb, cols);
    float *expected = malloc(sizeof(float) * rows * tokens), *got = malloc(sizeof(float) * rows * tokens);
    for (int64_t t = 0; t < tokens; t++)
        for (int64_t r = 0; r < rows; r++) {
            expected[t * rows + r] = ref->dot(format, w + r * wb, x + t * xb, cols);
            check(same_bits(k->dot(format, w + r * wb, x + t * xb, cols), expected[t * rows + r]), k->name, "dot", format, cols, r);
        }
    // Whole range, then three uneven pieces: every element must equal the scalar dot.
    const int64_t cuts[][2] = {{0, rows}, {0, rows / 3}, {rows / 3, rows - rows / 5}, {rows - rows / 5, rows}};
    for (int c = 0; c < 4; c++) {
        for (int64_t i = 0; i < rows * tokens; i++) got[i] = NAN;
        k->matmul(format, w, wb, cuts[c][0], cuts[c][1], x, xb, tokens, cols, got, rows);
        int ok = 1;
        for (int64_t t = 0; t < tokens; t++)
            for (int64_t r = cuts[c][0]; r < cuts[c][1]; r++) ok &= same_bits(got[t * rows + r], expected[t * rows + r]);
        check(ok, k->name, "matmul", format, cols, rows * 1000 + tokens);
        if (is_quantized(format)) {
            uint8_t *packed = malloc(phi_repacked_bytes(format, rows, cols) + 1);
            phi_repack(format, w, wb, rows, cols, packed);
            for (int64_t i = 0; i < rows * tokens; i++) got[i] = NAN;
            k->matmul_repacked(format, packed, cuts[c][0], cuts[c][1], x, xb, tokens, cols, got, rows);
            ok = 1;
            for (int64_t t = 0; t < tokens; t++)
                for (int64_t r = cuts[c][0]; r < cuts[c][1]; r++) ok &= same_bits(got[t * rows + r], expected[t * rows + r]);
            check(ok, k->name, "matmul_repacked", format, cols, rows * 1000 + tokens);
            free(packed);
        }
    }
    free(w); free(x); free(expected); free(got);
}

static void check_row_ops(const phi_kernels *k, int64_t n) {
    float *a = malloc(sizeof(float) * (n + 1)), *b = malloc(sizeof(float) * (n + 1));
    float *expected = malloc(sizeof(float) * (n + 1)), *got = malloc(sizeof(float) * (n + 1));
    for (int64_t i = 0; i < n; i++) { a[i] = uniform(-12, 12); b[i] = uniform(-2, 2); }
    phi_rmsnorm(a, b, expected, n, 1e-5f);
    k->rmsnorm(a, b, got, n, 1e-5f);
    check(memcmp(expected, got, sizeof(float) * n) == 0, k->name, "rmsnorm", n, 0, 0);
    phi_swiglu(a, b, expected, n);
    k->swiglu(a, b, got, n);
    check(memcmp(expected, got, sizeof(float) * n) == 0, k->name, "swiglu", n, 0, 0);
    if (n % PHI_QK == 0) {
        const size_t bytes = phi_row_bytes(PHI_FORMAT_Q8_0, n);
        uint8_t *qe = malloc(bytes + 1), *qg = malloc(bytes + 1);
        // Halves that roundf must push away from zero: x * id lands on k + 0.5 exactly.
        for (int64_t i = 0; i < n; i += 7) a[i] = (float)((int)(next_u32() % 200) - 100) * 0.5f;
        phi_quantize_row_q8_0(a, (phi_block_q8_0 *)qe, n);
        k->quantize_row_q8_0(a, (phi_block_q8_0 *)qg, n);
        check(memcmp(qe, qg, bytes) == 0, k->name, "quantize_row_q8_0", n, 0, 0);
        const size_t bytes4 = phi_row_bytes(PHI_FORMAT_Q4_0, n);
        phi_quantize_row_q4_0(a, (phi_block_q4_0 *)qe, n);
        k->quantize_row_q4_0(a, (phi_block_q4_0 *)qg, n);
        check(memcmp(qe, qg, bytes4) == 0, k->name, "quantize_row_q4_0", n, 0, 0);
        // Ties for the largest magnitude: the first one (here negative) must set the sign of d.
        for (int64_t i = 0; i < n; i += 32) { a[i + 3] = -60.0f; a[i + 20] = 60.0f; }
        phi_quantize_row_q4_0(a, (phi_block_q4_0 *)qe, n);
        k->quantize_row_q4_0(a, (phi_block_q4_0 *)qg, n);
        check(memcmp(qe, qg, bytes4) == 0, k->name, "quantize_row_q4_0 (tied maxima)", n, 0, 0);
        free(qe); free(qg);
    }
    free(a); free(b); free(expected); free(got);
}

// ---- Tiled attention ----
// |tiled - untiled| per output (phi_attend_head_f32 over the dequantized rows, what attention
// computed before tiling), for values in [-1, 1] and the contexts below (at most 200 positions,
// 4 blocks). Both are sum_j w_j v_j with sum_j w_j = 1, so they differ by at most the sum of the
// two relative weight errors times max |v| = 1, in units of u = 2^-24: untiled, the running sum
// over every position (200 u), the softmax total (gamma_(200/8+4): 29 u), phi_expf (2 u), the
// reciprocal and the product (2 u); tiled, the running sum over one block (64 u), its total
// (12 u), phi_expf (2 u), per fold an exp, a product and an fma on the accumulator (4 folds x
// 4 u), the final reciprocal and product (2 u). Both round s - max alike. About 330 u in all:
// 2^-15 = 512 u leaves room. The largest difference measured here is printed.
#define TILED_TOLERANCE 0x1p-15f
static float tiled_worst;

typedef struct {
    phi_format format;
    int64_t head_dim, heads, tokens, first_position;
    size_t row_bytes;
    int64_t q_token_stride, q_head_stride;
    uint8_t *keys, *values;
    float *dk, *dv, *q;
} tiled_case;

static tiled_case make_tiled_case(phi_format format, int64_t head_dim, int64_t heads, int64_t tokens,
                                  int64_t first_position) {
    tiled_case c = {format, head_dim, heads, tokens, first_position, 0, 0, 0, 0, 0, 0, 0, 0};
    const int64_t context = first_position + tokens;
    c.row_bytes = phi_kv_row_bytes(format, head_dim) + (format == PHI_FORMAT_F32 ? 12 : 6);  // padded rows
    c.q_head_stride = head_dim + 3;
    c.q_token_stride = heads * c.q_head_stride + 2;
    c.keys = malloc(c.row_bytes * context + 1);
    c.values = malloc(c.row_bytes * context + 1);
    c.dk = malloc(sizeof(float) * head_dim * context);
    c.dv = malloc(sizeof(float) * head_dim * context);
    c.q = malloc(sizeof(float) * c.q_token_stride * tokens);
    float *x = malloc(sizeof(float) * head_dim);
    for (int64_t p = 0; p < context; p++) {
        for (int64_t i = 0; i < head_dim; i++) x[i] = uniform(-3, 3);
        phi_kv_store_row(format, x, c.keys + p * c.row_bytes, head_dim);
        phi_kv_load_row(format, c.keys + p * c.row_bytes, c.dk + p * head_dim, head_dim);
        for (int64_t i = 0; i < head_dim; i++) x[i] = uniform(-1, 1);
        phi_kv_store_row(format, x, c.values + p * c.row_bytes, head_dim);
        phi_kv_load_row(format, c.values + p * c.row_bytes, c.dv + p * head_dim, head_dim);
    }
    for (int64_t i = 0; i < c.q_token_stride * tokens; i++) c.q[i] = uniform(-3, 3);
    free(x);
    return c;
}

static void free_tiled_case(tiled_case *c) { free(c->keys); free(c->values); free(c->dk); free(c->dv); free(c->q); }

static int64_t blocks_of(int64_t last_position) { return last_position / PHI_ATTN_BLOCK + 1; }

/// Tokens [t0, t1) of the case as one tile, blocks cut at `cut` (two calls on one state);
/// outputs into out (tokens x heads x head_dim).
static void run_tile(const phi_kernels *k, const tiled_case *c, int64_t t0, int64_t t1, int64_t cut, float *out) {
    const int64_t tokens = t1 - t0, rows = tokens * c->heads, blocks = blocks_of(c->first_position + t1 - 1);
    float *state = malloc(sizeof(float) * rows * phi_attend_state_floats(c->head_dim));
    float *work = malloc(sizeof(float) * phi_attend_work_floats(tokens, c->heads, c->head_dim));
    if (cut > blocks) cut = blocks;
    phi_attend_state_init(state, rows, c->head_dim);
    const float scale = 1.0f / sqrtf((float)c->head_dim);
    const int64_t ranges[2][2] = {{0, cut}, {cut, blocks}};
    for (int i = 0; i < 2; i++) {
        k->attend_tile_kv(c->format, c->q + t0 * c->q_token_stride, c->q_token_stride, c->q_head_stride, c->heads,
                          tokens, c->first_position + t0, c->keys, c->values, c->row_bytes, ranges[i][0], ranges[i][1],
                          c->head_dim, scale, state, work);
    }
    phi_attend_finish(state, tokens, c->heads, c->head_dim, out + t0 * c->heads * c->head_dim, c->heads * c->head_dim,
                      c->head_dim);
    free(state); free(work);
}

/// Every token alone, its blocks' states computed in `parts` ranges (as split-K threads would),
/// then folded in order.
static void run_split(const phi_kernels *k, const tiled_case *c, int parts, float *out) {
    const int64_t stride = phi_attend_state_floats(c->head_dim);
    const float scale = 1.0f / sqrtf((float)c->head_dim);
    float *work = malloc(sizeof(float) * phi_attend_work_floats(1, c->heads, c->head_dim));
    float *state = malloc(sizeof(float) * c->heads * stride);
    for (int64_t t = 0; t < c->tokens; t++) {
        const int64_t position = c->first_position + t, blocks = blocks_of(position);
        float *states = malloc(sizeof(float) * blocks * c->heads * stride);
        for (int part = 0; part < parts; part++) {
            const int64_t b0 = blocks * part / parts, b1 = blocks * (part + 1) / parts;
            k->attend_blocks_kv(c->format, c->q + t * c->q_token_stride, c->q_token_stride, c->q_head_stride, c->heads,
                                1, position, c->keys, c->values, c->row_bytes, b0, b1, c->head_dim, scale,
                                states + b0 * c->heads * stride, work);
        }
        phi_attend_state_init(state, c->heads, c->head_dim);
        k->attend_fold(state, states, blocks, c->heads, c->head_dim);
        phi_attend_finish(state, 1, c->heads, c->head_dim, out + t * c->heads * c->head_dim, 0, c->head_dim);
        free(states);
    }
    free(work); free(state);
}

/// Every table's tiled attention against the scalar one bit for bit, whatever the tiling of the
/// queries, the cut of the blocks or the split-K; and the scalar one within TILED_TOLERANCE of
/// untiled attention.
static void check_attention_tiled(const phi_kernels **tables, int count, phi_format format, int64_t head_dim,
                                  int64_t heads, int64_t tokens, int64_t first_position) {
    tiled_case c = make_tiled_case(format, head_dim, heads, tokens, first_position);
    const size_t out_floats = (size_t)(tokens * heads * head_dim);
    float *expected = malloc(sizeof(float) * out_floats), *got = malloc(sizeof(float) * out_floats);
    run_tile(phi_kernels_scalar(), &c, 0, tokens, 1 << 20, expected);
    // Untiled: each query head alone over its positions 0..p.
    float *scores = malloc(sizeof(float) * (first_position + tokens)), *head = malloc(sizeof(float) * head_dim);
    int close = 1;
    for (int64_t t = 0; t < tokens; t++)
        for (int64_t h = 0; h < heads; h++) {
            phi_attend_head_f32(c.q + t * c.q_token_stride + h * c.q_head_stride, c.dk, c.dv, head_dim,
                                first_position + t + 1, head_dim, 1.0f / sqrtf((float)head_dim), scores, head);
            for (int64_t d = 0; d < head_dim; d++) {
                const float difference = fabsf(head[d] - expected[(t * heads + h) * head_dim + d]);
                if (!(difference <= TILED_TOLERANCE)) close = 0;
                if (difference > tiled_worst) tiled_worst = difference;
            }
        }
    check(close, "scalar", "attend_tile_kv within TILED_TOLERANCE of untiled attention", format, head_dim, tokens);
    for (int i = 0; i < count; i++) {
        const phi_kernels *k = tables[i];
        // The whole tile in one call; then tiles of 1, 5 and 16 tokens with the blocks cut in two.
        for (int64_t n = 0; n < (int64_t)out_floats; n++) got[n] = NAN;
        run_tile(k, &c, 0, tokens, 1 << 20, got);
        check(memcmp(expected, got, sizeof(float) * out_floats) == 0, k->name, "attend_tile_kv", format, head_dim,
              tokens * 1000 + first_position);
        const int64_t tile_sizes[] = {1, 5, 16};
        for (int s = 0; s < 3; s++) {
            for (int64_t n = 0; n < (int64_t)out_floats; n++) got[n] = NAN;
            for (int64_t t0 = 0; t0 < tokens; t0 += tile_sizes[s]) {
                const int64_t t1 = t0 + tile_sizes[s] < tokens ? t0 + tile_sizes[s] : tokens;
                run_tile(k, &c, t0, t1, 1 + s, got);
            }
            check(memcmp(expected, got, sizeof(float) * out_floats) == 0, k->name, "attend_tile_kv in smaller tiles",
                  format, head_dim, tile_sizes[s] * 1000 + tokens);
        }
        for (int parts = 1; parts <= 3; parts += 2) {
            for (int64_t n = 0; n < (int64_t)out_floats; n++) got[n] = NAN;
            run_split(k, &c, parts, got);
            check(memcmp(expected, got, sizeof(float) * out_floats) == 0, k->name, "split-K attend_blocks_kv + attend_fold",
                  format, head_dim, parts * 1000 + tokens);
        }
    }
    free(expected); free(got); free(scores); free(head);
    free_tiled_case(&c);
}

int main(void) {
    const phi_kernels *tables[8];
    const int count = phi_kernels_available(tables, 8);
    printf("tables:");
    for (int i = 0; i < count; i++) printf(" %s", tables[i]->name);
    printf(" (best: %s)\n", phi_kernels_best()->name);
    const int64_t float_cols[] = {1, 3, 8, 13, 64, 100, 257, 3072};
    const int64_t quant_cols[] = {32, 64, 96, 288, 544, 3072};
    const int64_t rows_list[] = {1, 5, 8, 13, 37};
    const int64_t token_list[] = {1, 2, 3, 5, 9};
    for (int i = 0; i < count; i++) {
        const phi_kernels *k = tables[i];
        for (int f = 0; f <= PHI_FORMAT_Q4_0; f++) {
            const int64_t *cols = is_quantized((phi_format)f) ? quant_cols : float_cols;
            const int ncols = is_quantized((phi_format)f) ? 6 : 8;
            for (int c = 0; c < ncols; c++)
                for (int r = 0; r < 5; r++)
                    for (int t = 0; t < 5; t++) {
                        if (cols[c] >= 3072 && (rows_list[r] > 13 || token_list[t] > 3)) continue;
                        check_matmul(k, (phi_format)f, rows_list[r], cols[c], token_list[t]);
                    }
        }
        const int64_t lengths[] = {1, 7, 32, 33, 96, 100, 3072, 8192};
        for (int n = 0; n < 8; n++) check_row_ops(k, lengths[n]);
    }
    // Tiled attention: odd head sizes, 1..4 heads, tiles of 1..70 tokens starting off block
    // boundaries and crossing them, every KV format.
    const phi_format kv_formats[] = {PHI_FORMAT_F32, PHI_FORMAT_F16, PHI_FORMAT_Q8_0};
    const int64_t tiled_dims[] = {13, 16, 40, 96, 128};
    const int64_t tiled_shapes[][2] = {{1, 0}, {1, 63}, {1, 64}, {1, 190}, {5, 60}, {17, 3}, {33, 100}, {70, 0}, {70, 129}};
    for (int f = 0; f < 3; f++)
        for (int d = 0; d < 5; d++)
            for (int s = 0; s < 9; s++) {
                const int64_t heads = 1 + (d + s + f) % 4;
                check_attention_tiled(tables, count, kv_formats[f], tiled_dims[d], heads, tiled_shapes[s][0], tiled_shapes[s][1]);
            }
    printf("tiled attention: largest difference from untiled %.3g (tolerance %.3g)\n", tiled_worst, TILED_TOLERANCE);
    if (!phi_kernels_avx512()) {
        printf("avx512: skipped (not built for x86_64, or this CPU lacks AVX-512F/VL)\n");
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
