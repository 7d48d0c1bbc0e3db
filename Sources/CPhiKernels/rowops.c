// Scalar references of the row operations: RMSNorm, SwiGLU, residual add; untiled attention of
// one head (the accuracy reference of the tiled kernels). Their sums use the eight lanes of phi_kernels.h and exp is phi_expf, so the SIMD versions in
// each table can reproduce them bit for bit.
#include "phi_internal.h"

#include <math.h>
#include <string.h>

// Cephes' expf polynomial (minimax on [-ln2/2, ln2/2]) after a Cody-Waite reduction written
// with fmaf; the scale 2^n is applied in two halves so n = 128 and results near FLT_MIN need
// no special case. Measured against double exp over [-87.3, 88.7]: at most 1.008 ulp.
float phi_expf(float x) {
    if (!(x > -87.33654f)) return x != x ? x : 0.0f;
    if (x > 88.72283f) return INFINITY;
    const float t = x * 1.44269504088896341f;         // x / ln 2
    const float n = (t + 12582912.0f) - 12582912.0f;  // round to nearest even (|t| < 2^22)
    float r = fmaf(n, -0.693145751953125f, x);        // ln 2, high part (exact product)
    r = fmaf(n, -1.428606765330187045e-06f, r);       // ln 2, low part
    const float z = r * r;
    float p = 1.9875691500e-4f;
    p = fmaf(p, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    const float y = fmaf(p, z, r) + 1.0f;
    const int32_t exponent = (int32_t)n;
    const int32_t half = exponent >> 1;  // arithmetic shift: floor(n / 2)
    const uint32_t bits1 = (uint32_t)(half + 127) << 23;
    const uint32_t bits2 = (uint32_t)(exponent - half + 127) << 23;
    float scale1, scale2;
    memcpy(&scale1, &bits1, sizeof scale1);
    memcpy(&scale2, &bits2, sizeof scale2);
    return (y * scale1) * scale2;
}

void phi_rmsnorm(const float *x, const float *weight, float *out, int64_t n, float eps) {
    float lane[PHI_LANES] = {0};
    for (int64_t i = 0; i < n; i++) lane[i % PHI_LANES] = fmaf(x[i], x[i], lane[i % PHI_LANES]);
    const float sum = phi_reduce_lanes(lane);
    const float scale = 1.0f / sqrtf(sum / (float)n + eps);
    for (int64_t i = 0; i < n; i++) out[i] = weight[i] * (x[i] * scale);
}

void phi_swiglu(const float *gate, const float *up, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i];
        out[i] = (g / (1.0f + phi_expf(-g))) * up[i];
    }
}

void phi_add(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

// The untiled softmax the tiled kernels (attention_tiled.c) are measured against.
void phi_attend_head_f32(const float *q, const float *keys, const float *values, int64_t stride,
                         int64_t count, int64_t head_dim, float scale, float *scores, float *out) {
    float max = -INFINITY;
    for (int64_t p = 0; p < count; p++) {
        const float s = phi_scalar_dot(PHI_FORMAT_F32, keys + p * stride, q, head_dim) * scale;
        scores[p] = s;
        if (s > max) max = s;
    }
    float lane[PHI_LANES] = {0};
    for (int64_t p = 0; p < count; p++) {
        scores[p] = phi_expf(scores[p] - max);
        lane[p % PHI_LANES] += scores[p];
    }
    const float inverse = 1.0f / phi_reduce_lanes(lane);
    for (int64_t d = 0; d < head_dim; d++) out[d] = 0.0f;
    for (int64_t p = 0; p < count; p++) {
        const float weight = scores[p] * inverse;
        const float *v = values + p * stride;
        for (int64_t d = 0; d < head_dim; d++) out[d] = fmaf(weight, v[d], out[d]);
    }
}
