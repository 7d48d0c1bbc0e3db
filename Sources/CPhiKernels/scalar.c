// The portable scalar reference of every kernel. SIMD tables are tested against this one and
// reproduce its reduction order exactly (phi_kernels.h), so they must match it bit for bit.
#include "attention_tiled.h"
#include "phi_internal.h"

#include <math.h>

static float dot_f32(const float *w, const float *x, int64_t n) {
    float lane[PHI_LANES] = {0};
    for (int64_t i = 0; i < n; i++) lane[i % PHI_LANES] = fmaf(w[i], x[i], lane[i % PHI_LANES]);
    return phi_reduce_lanes(lane);
}

static float dot_f16(const phi_f16 *w, const float *x, int64_t n) {
    float lane[PHI_LANES] = {0};
    for (int64_t i = 0; i < n; i++) {
        lane[i % PHI_LANES] = fmaf(phi_f16_to_f32(w[i]), x[i], lane[i % PHI_LANES]);
    }
    return phi_reduce_lanes(lane);
}

static float dot_bf16(const phi_bf16 *w, const float *x, int64_t n) {
    float lane[PHI_LANES] = {0};
    for (int64_t i = 0; i < n; i++) {
        lane[i % PHI_LANES] = fmaf(phi_bf16_to_f32(w[i]), x[i], lane[i % PHI_LANES]);
    }
    return phi_reduce_lanes(lane);
}

// Both scales are f16 values: their product has at most 22 significant bits and is exact.
static float block_scale(phi_f16 dw, phi_f16 dx) { return phi_f16_to_f32(dw) * phi_f16_to_f32(dx); }

static int32_t block_sum_q8_0(const int8_t *w, const int8_t *x) {
    int32_t sum = 0;
    for (int j = 0; j < PHI_QK; j++) sum += (int32_t)w[j] * (int32_t)x[j];
    return sum;
}

static int32_t block_sum_q4_0(const uint8_t *w, const int8_t *x) {
    int32_t sum = 0;
    for (int j = 0; j < PHI_QK / 2; j++) {
        sum += ((w[j] & 0x0f) - 8) * (int32_t)x[j];
        sum += ((w[j] >> 4) - 8) * (int32_t)x[j + PHI_QK / 2];
    }
    return sum;
}

static float dot_q8_0(const phi_block_q8_0 *w, const phi_block_q8_0 *x, int64_t n) {
    float sum = 0.0f;
    for (int64_t b = 0; b < n / PHI_QK; b++) {
        const int32_t s = block_sum_q8_0(w[b].qs, x[b].qs);
        sum = fmaf((float)s, block_scale(w[b].d, x[b].d), sum);
    }
    return sum;
}

static float dot_q4_0(const phi_block_q4_0 *w, const phi_block_q8_0 *x, int64_t n) {
    float sum = 0.0f;
    for (int64_t b = 0; b < n / PHI_QK; b++) {
        const int32_t s = block_sum_q4_0(w[b].qs, x[b].qs);
        sum = fmaf((float)s, block_scale(w[b].d, x[b].d), sum);
    }
    return sum;
}

float phi_scalar_dot(phi_format format, const void *w, const void *x, int64_t n) {
    switch (format) {
    case PHI_FORMAT_F32: return dot_f32(w, x, n);
    case PHI_FORMAT_F16: return dot_f16(w, x, n);
    case PHI_FORMAT_BF16: return dot_bf16(w, x, n);
    case PHI_FORMAT_Q8_0: return dot_q8_0(w, x, n);
    case PHI_FORMAT_Q4_0: return dot_q4_0(w, x, n);
    }
    return 0.0f;
}

static void scalar_matmul(phi_format format, const void *w, size_t w_row_bytes, int64_t row_begin,
                          int64_t row_end, const void *x, size_t x_row_bytes, int64_t tokens,
                          int64_t cols, float *out, int64_t out_stride) {
    for (int64_t t = 0; t < tokens; t++) {
        const void *xt = (const char *)x + (size_t)t * x_row_bytes;
        for (int64_t r = row_begin; r < row_end; r++) {
            const void *wr = (const char *)w + (size_t)r * w_row_bytes;
            out[t * out_stride + r] = phi_scalar_dot(format, wr, xt, cols);
        }
    }
}

// One row of a repacked matrix, read back from its records: the same block sums as the
// original row, in the same order.
static float dot_repacked_row(phi_format format, const void *packed, int64_t row,
                              const phi_block_q8_0 *x, int64_t blocks) {
    const int64_t group = row / PHI_REPACK_ROWS;
    const int lane = (int)(row % PHI_REPACK_ROWS);
    float sum = 0.0f;
    for (int64_t b = 0; b < blocks; b++) {
        const uint8_t *record = phi_record(packed, format, group, b, blocks);
        const phi_f16 d = (phi_f16)(record[2 * lane] | (record[2 * lane + 1] << 8));
        const uint8_t *slices = record + 2 * PHI_REPACK_ROWS;
        int32_t s;
        if (format == PHI_FORMAT_Q8_0) {
            int8_t qs[PHI_QK];
            for (int slice = 0; slice < PHI_Q8_0_SLICES; slice++) {
                for (int k = 0; k < 4; k++) qs[4 * slice + k] = (int8_t)slices[32 * slice + 4 * lane + k];
            }
            s = block_sum_q8_0(qs, x[b].qs);
        } else {
            uint8_t qs[PHI_QK / 2];
            for (int slice = 0; slice < PHI_Q4_0_SLICES; slice++) {
                for (int k = 0; k < 4; k++) qs[4 * slice + k] = slices[32 * slice + 4 * lane + k];
            }
            s = block_sum_q4_0(qs, x[b].qs);
        }
        sum = fmaf((float)s, block_scale(d, x[b].d), sum);
    }
    return sum;
}

void phi_scalar_matmul_repacked(phi_format format, const void *packed, int64_t row_begin,
                                int64_t row_end, const void *x, size_t x_row_bytes, int64_t tokens,
                                int64_t cols, float *out, int64_t out_stride) {
    if (format != PHI_FORMAT_Q8_0 && format != PHI_FORMAT_Q4_0) return;
    for (int64_t t = 0; t < tokens; t++) {
        const phi_block_q8_0 *xt = (const phi_block_q8_0 *)((const char *)x + (size_t)t * x_row_bytes);
        for (int64_t r = row_begin; r < row_end; r++) {
            out[t * out_stride + r] = dot_repacked_row(format, packed, r, xt, cols / PHI_QK);
        }
    }
}

static const phi_kernels scalar_table = {
    .name = "scalar",
    .dot = phi_scalar_dot,
    .matmul = scalar_matmul,
    .matmul_repacked = phi_scalar_matmul_repacked,
    .quantize_row_q8_0 = phi_quantize_row_q8_0,
    .quantize_row_q4_0 = phi_quantize_row_q4_0,
    .rmsnorm = phi_rmsnorm,
    .swiglu = phi_swiglu,
    .attend_tile_kv = phi_scalar_attend_tile_kv,
    .attend_blocks_kv = phi_scalar_attend_blocks_kv,
    .attend_fold = phi_scalar_attend_fold,
};

const phi_kernels *phi_kernels_scalar(void) { return &scalar_table; }
