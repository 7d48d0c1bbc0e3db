// AVX2 dot and matmul for f32, f16 and bf16 weights against f32 activations. One ymm
// accumulator per output holds the eight lanes of phi_kernels.h (element i in lane i % 8), so
// any tile shape computes each output exactly as the scalar reference does.
#if defined(__x86_64__)
#include "avx2_common.h"

/// Eight weights from element i of a row in `format`, widened to f32 (exact).
PHI_INLINE __m256 load_weights(phi_format format, const void *w, int64_t i) {
    switch (format) {
    case PHI_FORMAT_F16:
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const phi_f16 *)w + i)));
    case PHI_FORMAT_BF16: {
        const __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const phi_bf16 *)w + i)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(h, 16));
    }
    default:
        return _mm256_loadu_ps((const float *)w + i);
    }
}

/// The last n % 8 weights, zero-padded to eight.
PHI_INLINE __m256 load_weights_tail(phi_format format, const void *w, int64_t i, int count) {
    const size_t size = format == PHI_FORMAT_F32 ? 4 : 2;
    uint8_t buffer[32] = {0};
    memcpy(buffer, (const uint8_t *)w + (size_t)i * size, (size_t)count * size);
    return load_weights(format, buffer, 0);
}

PHI_INLINE __m256 load_x_tail(const float *x, int64_t i, int count) {
    return _mm256_maskload_ps(x + i, avx2_first_lanes(count));
}

/// Outputs of rows w[0..R) x tokens x[0..T) over n columns, written to out[t * out_stride + r].
PHI_INLINE void tile(phi_format format, const int R, const int T, const uint8_t *w, size_t w_row_bytes,
                     const uint8_t *x, size_t x_row_bytes, int64_t n, float *out, int64_t out_stride) {
    __m256 acc[8][3];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) acc[r][t] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 wv[8];
        for (int r = 0; r < R; r++) wv[r] = load_weights(format, w + r * w_row_bytes, i);
        for (int t = 0; t < T; t++) {
            const __m256 xv = _mm256_loadu_ps((const float *)(x + t * x_row_bytes) + i);
            for (int r = 0; r < R; r++) acc[r][t] = _mm256_fmadd_ps(wv[r], xv, acc[r][t]);
        }
    }
    if (i < n) {  // tail: only the first n % 8 lanes take a product, as in the reference
        const int count = (int)(n - i);
        const __m256 live = _mm256_castsi256_ps(avx2_first_lanes(count));
        __m256 wv[8];
        for (int r = 0; r < R; r++) wv[r] = load_weights_tail(format, w + r * w_row_bytes, i, count);
        for (int t = 0; t < T; t++) {
            const __m256 xv = load_x_tail((const float *)(x + t * x_row_bytes), i, count);
            for (int r = 0; r < R; r++) {
                acc[r][t] = _mm256_blendv_ps(acc[r][t], _mm256_fmadd_ps(wv[r], xv, acc[r][t]), live);
            }
        }
    }
    for (int t = 0; t < T; t++)
        for (int r = 0; r < R; r++) out[t * out_stride + r] = avx2_reduce_lanes(acc[r][t]);
}

// Tiles specialised per format so the format switch folds away.
#define PHI_TILES(NAME, FORMAT)                                                                        \
    static void NAME(int R, int T, const uint8_t *w, size_t wb, const uint8_t *x, size_t xb,          \
                     int64_t n, float *out, int64_t os) {                                              \
        if (R == 4 && T == 3) tile(FORMAT, 4, 3, w, wb, x, xb, n, out, os);                            \
        else if (R == 8) tile(FORMAT, 8, 1, w, wb, x, xb, n, out, os);                                 \
        else if (R == 4 && T == 1) tile(FORMAT, 4, 1, w, wb, x, xb, n, out, os);                       \
        else if (T == 3) tile(FORMAT, 1, 3, w, wb, x, xb, n, out, os);                                 \
        else if (T == 2) { if (R == 4) tile(FORMAT, 4, 2, w, wb, x, xb, n, out, os);                   \
                           else tile(FORMAT, 1, 2, w, wb, x, xb, n, out, os); }                        \
        else tile(FORMAT, 1, 1, w, wb, x, xb, n, out, os);                                             \
    }
PHI_TILES(tiles_f32, PHI_FORMAT_F32)
PHI_TILES(tiles_f16, PHI_FORMAT_F16)
PHI_TILES(tiles_bf16, PHI_FORMAT_BF16)

float phi_avx2_dot_float(phi_format format, const void *w, const void *x, int64_t n) {
    float out = 0.0f;
    switch (format) {
    case PHI_FORMAT_F32: tiles_f32(1, 1, w, 0, x, 0, n, &out, 0); break;
    case PHI_FORMAT_F16: tiles_f16(1, 1, w, 0, x, 0, n, &out, 0); break;
    case PHI_FORMAT_BF16: tiles_bf16(1, 1, w, 0, x, 0, n, &out, 0); break;
    default: break;
    }
    return out;
}

// Rows in panels that stay in L2 while every token tile passes over them.
void phi_avx2_matmul_float(phi_format format, const void *w, size_t w_row_bytes, int64_t row_begin,
                           int64_t row_end, const void *x, size_t x_row_bytes, int64_t tokens,
                           int64_t cols, float *out, int64_t out_stride) {
    void (*tiles)(int, int, const uint8_t *, size_t, const uint8_t *, size_t, int64_t, float *, int64_t) =
        format == PHI_FORMAT_F16 ? tiles_f16 : format == PHI_FORMAT_BF16 ? tiles_bf16 : tiles_f32;
    const int64_t panel_rows = w_row_bytes > 0 ? (int64_t)(128 * 1024 / w_row_bytes) / 4 * 4 + 4 : 64;
    for (int64_t panel = row_begin; panel < row_end; panel += panel_rows) {
        const int64_t panel_end = panel + panel_rows < row_end ? panel + panel_rows : row_end;
        for (int64_t t = 0; t < tokens; t += 3) {
            const int T = tokens - t >= 3 ? 3 : (int)(tokens - t);
            const uint8_t *xt = (const uint8_t *)x + (size_t)t * x_row_bytes;
            int64_t r = panel;
            // One token: eight rows at once, eight independent FMA chains to hide latency.
            for (; T == 1 && r + 8 <= panel_end; r += 8) {
                tiles(8, 1, (const uint8_t *)w + (size_t)r * w_row_bytes, w_row_bytes, xt, x_row_bytes,
                      cols, out + t * out_stride + r, out_stride);
            }
            for (; r + 4 <= panel_end; r += 4) {
                tiles(4, T, (const uint8_t *)w + (size_t)r * w_row_bytes, w_row_bytes, xt, x_row_bytes,
                      cols, out + t * out_stride + r, out_stride);
            }
            for (; r < panel_end; r++) {
                tiles(1, T, (const uint8_t *)w + (size_t)r * w_row_bytes, w_row_bytes, xt, x_row_bytes,
                      cols, out + t * out_stride + r, out_stride);
            }
        }
    }
}

PHI_AVX2_END
#endif
