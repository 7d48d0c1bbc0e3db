// phi_kernels.h: the C kernels of phi-cluster.
//
// Rules (see STYLE.md): the API takes pointers, counts and strides; it allocates nothing,
// keeps no mutable state and starts no threads. Every kernel has a portable scalar reference;
// SIMD paths (AVX2 on x86_64, NEON with dotprod on aarch64) sit beside it and are reached
// through a `phi_kernels` table that the caller selects once at startup.
//
// Block layouts are GGML's (ggml-common.h): 32 weights per block with an IEEE f16 scale.
#ifndef PHI_KERNELS_H
#define PHI_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PHI_QK 32  // weights per q8_0 / q4_0 block

typedef uint16_t phi_f16;   // IEEE 754 binary16 bits
typedef uint16_t phi_bf16;  // bfloat16 bits (upper half of a float32)

/// q8_0: x[i] = d * qs[i].
typedef struct {
    phi_f16 d;
    int8_t qs[PHI_QK];
} phi_block_q8_0;

/// q4_0: x[i] = d * ((nibble) - 8); low nibbles hold elements 0..15, high nibbles 16..31.
typedef struct {
    phi_f16 d;
    uint8_t qs[PHI_QK / 2];
} phi_block_q4_0;

_Static_assert(sizeof(phi_block_q8_0) == 34, "q8_0 block must be 34 bytes as in GGML");
_Static_assert(sizeof(phi_block_q4_0) == 18, "q4_0 block must be 18 bytes as in GGML");

/// Storage formats of a weight matrix row.
typedef enum {
    PHI_FORMAT_F32 = 0,
    PHI_FORMAT_F16 = 1,
    PHI_FORMAT_BF16 = 2,
    PHI_FORMAT_Q8_0 = 3,
    PHI_FORMAT_Q4_0 = 4,
} phi_format;

// ---- Scalar conversions (exact, round-to-nearest-even where narrowing) ----
float phi_f16_to_f32(phi_f16 h);
phi_f16 phi_f32_to_f16(float f);
float phi_bf16_to_f32(phi_bf16 h);
phi_bf16 phi_f32_to_bf16(float f);

// ---- Row conversions (n elements; quantized formats need n % 32 == 0) ----
void phi_quantize_row_q8_0(const float *x, phi_block_q8_0 *y, int64_t n);
void phi_quantize_row_q4_0(const float *x, phi_block_q4_0 *y, int64_t n);
/// Writes n floats of row `x` stored as `format`.
void phi_dequantize_row(phi_format format, const void *x, float *y, int64_t n);

// ---- Small row operations used by the forward pass ----
/// out[i] = x[i] / sqrt(mean(x^2) + eps) * weight[i]
void phi_rmsnorm(const float *x, const float *weight, float *out, int64_t n, float eps);
/// out[i] = silu(gate[i]) * up[i]
void phi_swiglu(const float *gate, const float *up, float *out, int64_t n);
/// y[i] += x[i]
void phi_add(float *y, const float *x, int64_t n);

/// Causal attention of one query head over `count` cached positions (keys/values in f32,
/// `stride` floats between consecutive positions). `scores` is caller scratch of `count`
/// floats. out[d] = sum_p softmax(scale * q.k_p)_p * v_p[d].
void phi_attend_head_f32(const float *q, const float *keys, const float *values, int64_t stride,
                         int64_t count, int64_t head_dim, float scale, float *scores, float *out);

/// A table of kernels for one instruction set. Each output element of `matmul` is computed
/// exactly as `dot` of the same row computes it, whatever the token count or row range, so a
/// batched prefill and a token-by-token decode give bitwise equal results.
typedef struct phi_kernels {
    const char *name;  // "scalar", "avx2", "neon"
    /// dot of n elements: float formats take f32 activations, q8_0/q4_0 take q8_0 activations.
    float (*dot)(phi_format format, const void *w, const void *x, int64_t n);
    /// out[t * out_stride + r] = dot(row r of w, row t of x) for r in [row_begin, row_end),
    /// t in [0, tokens). Rows of w are w_row_bytes apart, rows of x are x_row_bytes apart.
    void (*matmul)(phi_format format, const void *w, size_t w_row_bytes, int64_t row_begin,
                   int64_t row_end, const void *x, size_t x_row_bytes, int64_t tokens,
                   int64_t cols, float *out, int64_t out_stride);
} phi_kernels;

/// The portable reference; always built.
const phi_kernels *phi_kernels_scalar(void);
/// AVX2+FMA+F16C table, or NULL when not built for x86_64 or the CPU lacks it.
const phi_kernels *phi_kernels_avx2(void);
/// NEON (with dotprod) table, or NULL when not on aarch64 or the CPU lacks it.
const phi_kernels *phi_kernels_neon(void);
/// The fastest table this CPU supports.
const phi_kernels *phi_kernels_best(void);

/// Bytes of one row of `n` elements in `format` (n % 32 == 0 for quantized formats).
size_t phi_row_bytes(phi_format format, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
