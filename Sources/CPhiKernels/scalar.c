// The portable scalar reference of every kernel. SIMD tables are tested against this one.
#include "phi_kernels.h"

#include <math.h>

static float dot_f32(const float *w, const float *x, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += w[i] * x[i];
    return sum;
}

static float dot_f16(const phi_f16 *w, const float *x, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += phi_f16_to_f32(w[i]) * x[i];
    return sum;
}

static float dot_bf16(const phi_bf16 *w, const float *x, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += phi_bf16_to_f32(w[i]) * x[i];
    return sum;
}

static float dot_q8_0(const phi_block_q8_0 *w, const phi_block_q8_0 *x, int64_t n) {
    float sum = 0.0f;
    for (int64_t b = 0; b < n / PHI_QK; b++) {
        int32_t acc = 0;
        for (int j = 0; j < PHI_QK; j++) acc += (int32_t)w[b].qs[j] * (int32_t)x[b].qs[j];
        sum += (float)acc * (phi_f16_to_f32(w[b].d) * phi_f16_to_f32(x[b].d));
    }
    return sum;
}

static float dot_q4_0(const phi_block_q4_0 *w, const phi_block_q8_0 *x, int64_t n) {
    float sum = 0.0f;
    for (int64_t b = 0; b < n / PHI_QK; b++) {
        int32_t acc = 0;
        for (int j = 0; j < PHI_QK / 2; j++) {
            acc += ((w[b].qs[j] & 0x0f) - 8) * (int32_t)x[b].qs[j];
            acc += ((w[b].qs[j] >> 4) - 8) * (int32_t)x[b].qs[j + PHI_QK / 2];
        }
        sum += (float)acc * (phi_f16_to_f32(w[b].d) * phi_f16_to_f32(x[b].d));
    }
    return sum;
}

static float scalar_dot(phi_format format, const void *w, const void *x, int64_t n) {
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
            out[t * out_stride + r] = scalar_dot(format, wr, xt, cols);
        }
    }
}

static const phi_kernels scalar_table = {
    .name = "scalar",
    .dot = scalar_dot,
    .matmul = scalar_matmul,
};

const phi_kernels *phi_kernels_scalar(void) { return &scalar_table; }

#if !defined(__x86_64__)
const phi_kernels *phi_kernels_avx2(void) { return 0; }
#endif
#if !defined(__aarch64__)
const phi_kernels *phi_kernels_neon(void) { return 0; }
#endif

const phi_kernels *phi_kernels_best(void) {
    const phi_kernels *table = phi_kernels_avx2();
    if (table) return table;
    table = phi_kernels_neon();
    if (table) return table;
    return phi_kernels_scalar();
}

void phi_rmsnorm(const float *x, const float *weight, float *out, int64_t n, float eps) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += x[i] * x[i];
    const float scale = 1.0f / sqrtf(sum / (float)n + eps);
    for (int64_t i = 0; i < n; i++) out[i] = weight[i] * (x[i] * scale);
}

void phi_swiglu(const float *gate, const float *up, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i];
        out[i] = (g / (1.0f + expf(-g))) * up[i];
    }
}

void phi_add(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

void phi_attend_head_f32(const float *q, const float *keys, const float *values, int64_t stride,
                         int64_t count, int64_t head_dim, float scale, float *scores, float *out) {
    float max = -INFINITY;
    for (int64_t p = 0; p < count; p++) {
        const float s = dot_f32(keys + p * stride, q, head_dim) * scale;
        scores[p] = s;
        if (s > max) max = s;
    }
    float total = 0.0f;
    for (int64_t p = 0; p < count; p++) {
        scores[p] = expf(scores[p] - max);
        total += scores[p];
    }
    const float inverse = 1.0f / total;
    for (int64_t d = 0; d < head_dim; d++) out[d] = 0.0f;
    for (int64_t p = 0; p < count; p++) {
        const float weight = scores[p] * inverse;
        const float *v = values + p * stride;
        for (int64_t d = 0; d < head_dim; d++) out[d] += weight * v[d];
    }
}
