// NEON dot and matmul for f32, f16 and bf16 weights against f32 activations. Two quads per
// output hold the eight lanes of phi_kernels.h, so every tile shape matches the reference.
#if defined(__aarch64__)
#include "neon_common.h"

typedef struct {
    float32x4_t lo, hi;
} lanes8;

PHI_INLINE lanes8 load_weights(phi_format format, const void *w, int64_t i) {
    lanes8 v;
    switch (format) {
    case PHI_FORMAT_F16: {
        const uint16x8_t h = vld1q_u16((const phi_f16 *)w + i);
        v.lo = neon_f16x4_to_f32(vget_low_u16(h));
        v.hi = neon_f16x4_to_f32(vget_high_u16(h));
        break;
    }
    case PHI_FORMAT_BF16: {
        const uint16x8_t h = vld1q_u16((const phi_bf16 *)w + i);
        v.lo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
        v.hi = vreinterpretq_f32_u32(vshll_n_u16(vget_high_u16(h), 16));
        break;
    }
    default:
        v.lo = vld1q_f32((const float *)w + i);
        v.hi = vld1q_f32((const float *)w + i + 4);
        break;
    }
    return v;
}

/// The last n % 8 elements, zero-padded.
PHI_INLINE lanes8 load_tail(phi_format format, const void *w, int64_t i, int count) {
    const size_t size = format == PHI_FORMAT_F32 ? 4 : 2;
    uint8_t buffer[32] = {0};
    memcpy(buffer, (const uint8_t *)w + (size_t)i * size, (size_t)count * size);
    return load_weights(format, buffer, 0);
}

PHI_INLINE void tile(phi_format format, const int R, const int T, const uint8_t *w, size_t w_row_bytes,
                     const uint8_t *x, size_t x_row_bytes, int64_t n, float *out, int64_t out_stride) {
    lanes8 acc[4][4];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < T; t++) acc[r][t].lo = acc[r][t].hi = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        lanes8 wv[4];
        for (int r = 0; r < R; r++) wv[r] = load_weights(format, w + r * w_row_bytes, i);
        for (int t = 0; t < T; t++) {
            const lanes8 xv = load_weights(PHI_FORMAT_F32, x + t * x_row_bytes, i);
            for (int r = 0; r < R; r++) {
                acc[r][t].lo = vfmaq_f32(acc[r][t].lo, wv[r].lo, xv.lo);
                acc[r][t].hi = vfmaq_f32(acc[r][t].hi, wv[r].hi, xv.hi);
            }
        }
    }
    if (i < n) {  // only the first n % 8 lanes take a product, as in the reference
        const int count = (int)(n - i);
        const uint32x4_t live_lo = neon_first_lanes(count), live_hi = neon_first_lanes(count - 4);
        lanes8 wv[4];
        for (int r = 0; r < R; r++) wv[r] = load_tail(format, w + r * w_row_bytes, i, count);
        for (int t = 0; t < T; t++) {
            const lanes8 xv = load_tail(PHI_FORMAT_F32, x + t * x_row_bytes, i, count);
            for (int r = 0; r < R; r++) {
                acc[r][t].lo = vbslq_f32(live_lo, vfmaq_f32(acc[r][t].lo, wv[r].lo, xv.lo), acc[r][t].lo);
                acc[r][t].hi = vbslq_f32(live_hi, vfmaq_f32(acc[r][t].hi, wv[r].hi, xv.hi), acc[r][t].hi);
            }
        }
    }
    for (int t = 0; t < T; t++)
        for (int r = 0; r < R; r++) out[t * out_stride + r] = neon_reduce_lanes(acc[r][t].lo, acc[r][t].hi);
}

#define PHI_TILES(NAME, FORMAT)                                                                        \
    static void NAME(int R, int T, const uint8_t *w, size_t wb, const uint8_t *x, size_t xb,          \
                     int64_t n, float *out, int64_t os) {                                              \
        if (R == 4 && T == 3) tile(FORMAT, 4, 3, w, wb, x, xb, n, out, os);                            \
        else if (R == 4 && T == 1) tile(FORMAT, 4, 1, w, wb, x, xb, n, out, os);                       \
        else if (T == 3) tile(FORMAT, 1, 3, w, wb, x, xb, n, out, os);                                 \
        else if (T == 2) { if (R == 4) tile(FORMAT, 4, 2, w, wb, x, xb, n, out, os);                   \
                           else tile(FORMAT, 1, 2, w, wb, x, xb, n, out, os); }                        \
        else tile(FORMAT, 1, 1, w, wb, x, xb, n, out, os);                                             \
    }
PHI_TILES(tiles_f32, PHI_FORMAT_F32)
PHI_TILES(tiles_f16, PHI_FORMAT_F16)
PHI_TILES(tiles_bf16, PHI_FORMAT_BF16)

float phi_neon_dot_float(phi_format format, const void *w, const void *x, int64_t n) {
    float out = 0.0f;
    switch (format) {
    case PHI_FORMAT_F32: tiles_f32(1, 1, w, 0, x, 0, n, &out, 0); break;
    case PHI_FORMAT_F16: tiles_f16(1, 1, w, 0, x, 0, n, &out, 0); break;
    case PHI_FORMAT_BF16: tiles_bf16(1, 1, w, 0, x, 0, n, &out, 0); break;
    default: break;
    }
    return out;
}

void phi_neon_matmul_float(phi_format format, const void *w, size_t w_row_bytes, int64_t row_begin,
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
#endif
