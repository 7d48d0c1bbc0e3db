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

static void check_attention(const phi_kernels *k, int64_t count, int64_t head_dim, int64_t stride) {
    float *q = malloc(sizeof(float) * head_dim), *keys = malloc(sizeof(float) * stride * count);
    float *values = malloc(sizeof(float) * stride * count), *scores = malloc(sizeof(float) * count);
    float *expected = malloc(sizeof(float) * head_dim), *got = malloc(sizeof(float) * head_dim);
    for (int64_t i = 0; i < head_dim; i++) q[i] = uniform(-3, 3);
    for (int64_t i = 0; i < stride * count; i++) { keys[i] = uniform(-3, 3); values[i] = uniform(-1, 1); }
    const float scale = 1.0f / sqrtf((float)head_dim);
    phi_attend_head_f32(q, keys, values, stride, count, head_dim, scale, scores, expected);
    k->attend_head(q, keys, values, stride, count, head_dim, scale, scores, got);
    check(memcmp(expected, got, sizeof(float) * head_dim) == 0, k->name, "attend_head", count, head_dim, stride);
    // A group of query heads sharing these keys and values: each head as attend_head computes it.
    for (int64_t heads = 1; heads <= 4; heads++) {
        const int64_t q_stride = head_dim + 3, out_stride = head_dim + 5;
        float *qs = malloc(sizeof(float) * q_stride * heads), *group = malloc(sizeof(float) * out_stride * heads);
        float *group_scores = malloc(sizeof(float) * count * heads);
        for (int64_t i = 0; i < q_stride * heads; i++) qs[i] = uniform(-3, 3);
        k->attend_group(qs, q_stride, heads, keys, values, stride, count, head_dim, scale, group_scores, group, out_stride);
        for (int64_t h = 0; h < heads; h++) {
            phi_attend_head_f32(qs + h * q_stride, keys, values, stride, count, head_dim, scale, scores, expected);
            check(memcmp(expected, group + h * out_stride, sizeof(float) * head_dim) == 0, k->name, "attend_group", count, head_dim, heads);
        }
        free(qs); free(group); free(group_scores);
    }
    free(q); free(keys); free(values); free(scores); free(expected); free(got);
}

/// Attention over f32/f16/q8_0 KV rows: every table equals the scalar one bit for bit, and the
/// scalar one equals phi_attend_head_f32 over the dequantized rows.
static void check_attention_kv(const phi_kernels *k, phi_format format, int64_t count, int64_t head_dim) {
    const phi_kernels *ref = phi_kernels_scalar();
    const size_t row_bytes = phi_kv_row_bytes(format, head_dim) + (format == PHI_FORMAT_F32 ? 12 : 6);  // padded rows
    const int64_t heads = 4, q_stride = head_dim + 3, out_stride = head_dim + 5;
    uint8_t *keys = malloc(row_bytes * count + 1), *values = malloc(row_bytes * count + 1);
    float *x = malloc(sizeof(float) * head_dim), *dk = malloc(sizeof(float) * head_dim * count);
    float *dv = malloc(sizeof(float) * head_dim * count);
    for (int64_t p = 0; p < count; p++) {
        for (int64_t i = 0; i < head_dim; i++) x[i] = uniform(-3, 3);
        phi_kv_store_row(format, x, keys + p * row_bytes, head_dim);
        phi_kv_load_row(format, keys + p * row_bytes, dk + p * head_dim, head_dim);
        for (int64_t i = 0; i < head_dim; i++) x[i] = uniform(-1, 1);
        phi_kv_store_row(format, x, values + p * row_bytes, head_dim);
        phi_kv_load_row(format, values + p * row_bytes, dv + p * head_dim, head_dim);
    }
    float *q = malloc(sizeof(float) * q_stride * heads), *scores = malloc(sizeof(float) * count * heads);
    float *expected = malloc(sizeof(float) * out_stride * heads), *got = malloc(sizeof(float) * out_stride * heads);
    float *head = malloc(sizeof(float) * head_dim);
    for (int64_t i = 0; i < q_stride * heads; i++) q[i] = uniform(-3, 3);
    const float scale = 1.0f / sqrtf((float)head_dim);
    for (int64_t h = 1; h <= heads; h++) {
        ref->attend_group_kv(format, q, q_stride, h, keys, values, row_bytes, count, head_dim, scale, scores, expected, out_stride);
        k->attend_group_kv(format, q, q_stride, h, keys, values, row_bytes, count, head_dim, scale, scores, got, out_stride);
        int ok = 1;
        for (int64_t g = 0; g < h; g++) {
            ok &= memcmp(expected + g * out_stride, got + g * out_stride, sizeof(float) * head_dim) == 0;
            phi_attend_head_f32(q + g * q_stride, dk, dv, head_dim, count, head_dim, scale, scores, head);
            check(memcmp(head, expected + g * out_stride, sizeof(float) * head_dim) == 0, ref->name,
                  "attend_group_kv equals attend_head on dequantized rows", format, count, head_dim);
        }
        check(ok, k->name, "attend_group_kv", format, count, head_dim * 10 + h);
    }
    free(keys); free(values); free(x); free(dk); free(dv); free(q); free(scores); free(expected); free(got); free(head);
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
        const int64_t counts[] = {1, 5, 8, 17, 100};
        for (int c = 0; c < 5; c++) {
            check_attention(k, counts[c], 128, 128 * 3);
            check_attention(k, counts[c], 96, 100);
            check_attention(k, counts[c], 13, 13);
            const phi_format kv_formats[] = {PHI_FORMAT_F32, PHI_FORMAT_F16, PHI_FORMAT_Q8_0};
            const int64_t head_dims[] = {128, 16, 96, 13, 40};
            for (int f = 0; f < 3; f++)
                for (int d = 0; d < 5; d++) check_attention_kv(k, kv_formats[f], counts[c], head_dims[d]);
        }
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
