// phi_gguf.h: GGML's block layouts for the GGUF tensor types that the matmul kernels do not read
// directly, and their dequantization to float32, exactly as ggml-quants.c `dequantize_row_*`
// defines it (same operations in the same order, so results are bitwise equal).
//
// Included from Swift only (through the module map); the kernels never need it.
#ifndef PHI_GGUF_H
#define PHI_GGUF_H

#include <stdint.h>

#include "phi_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PHI_QK_K 256  // weights per k-quant super-block

/// q4_1: x[i] = d * nibble + m; low nibbles hold elements 0..15, high nibbles 16..31.
typedef struct {
    phi_f16 d;
    phi_f16 m;
    uint8_t qs[PHI_QK / 2];
} phi_block_q4_1;

/// q4_K: 8 sub-blocks of 32 with 6-bit scales and mins packed in 12 bytes;
/// x = d * scale * nibble - dmin * min.
typedef struct {
    phi_f16 d;
    phi_f16 dmin;
    uint8_t scales[12];
    uint8_t qs[PHI_QK_K / 2];
} phi_block_q4_K;

/// q5_K: q4_K plus a fifth bit per weight in `qh`.
typedef struct {
    phi_f16 d;
    phi_f16 dmin;
    uint8_t scales[12];
    uint8_t qh[PHI_QK_K / 8];
    uint8_t qs[PHI_QK_K / 2];
} phi_block_q5_K;

/// q6_K: 16 sub-blocks of 16 with int8 scales; 4 low bits in `ql`, 2 high bits in `qh`;
/// x = d * scale * (q - 32).
typedef struct {
    uint8_t ql[PHI_QK_K / 2];
    uint8_t qh[PHI_QK_K / 4];
    int8_t scales[PHI_QK_K / 16];
    phi_f16 d;
} phi_block_q6_K;

_Static_assert(sizeof(phi_block_q4_1) == 20, "q4_1 block must be 20 bytes as in GGML");
_Static_assert(sizeof(phi_block_q4_K) == 144, "q4_K block must be 144 bytes as in GGML");
_Static_assert(sizeof(phi_block_q5_K) == 176, "q5_K block must be 176 bytes as in GGML");
_Static_assert(sizeof(phi_block_q6_K) == 210, "q6_K block must be 210 bytes as in GGML");

/// Each writes the n floats stored in the blocks at x (n a multiple of the type's block size:
/// 32 for q4_1, 256 for the k-quants). x needs no alignment.
void phi_dequantize_row_q4_1(const void *x, float *y, int64_t n);
void phi_dequantize_row_q4_K(const void *x, float *y, int64_t n);
void phi_dequantize_row_q5_K(const void *x, float *y, int64_t n);
void phi_dequantize_row_q6_K(const void *x, float *y, int64_t n);

#ifdef __cplusplus
}
#endif
#endif
