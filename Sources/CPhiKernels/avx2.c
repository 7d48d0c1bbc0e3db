// The AVX2+FMA+F16C table (x86_64), offered only when the CPU reports all three.
#if defined(__x86_64__)
#include "attention_tiled.h"
#include "avx2_common.h"

static float avx2_dot(phi_format format, const void *w, const void *x, int64_t n) {
    if (format == PHI_FORMAT_Q8_0 || format == PHI_FORMAT_Q4_0) return phi_avx2_dot_quant(format, w, x, n);
    return phi_avx2_dot_float(format, w, x, n);
}

static void avx2_matmul(phi_format format, const void *w, size_t w_row_bytes, int64_t row_begin,
                        int64_t row_end, const void *x, size_t x_row_bytes, int64_t tokens,
                        int64_t cols, float *out, int64_t out_stride) {
    if (format == PHI_FORMAT_Q8_0 || format == PHI_FORMAT_Q4_0) {
        phi_avx2_matmul_quant(format, w, w_row_bytes, row_begin, row_end, x, x_row_bytes, tokens, cols, out, out_stride);
    } else {
        phi_avx2_matmul_float(format, w, w_row_bytes, row_begin, row_end, x, x_row_bytes, tokens, cols, out, out_stride);
    }
}

// Every entry but attention: the AVX2 and AVX-512 tables share them.
#define AVX2_TABLE_ENTRIES \
    .dot = avx2_dot, \
    .matmul = avx2_matmul, \
    .matmul_repacked = phi_avx2_matmul_repacked, \
    .quantize_row_q8_0 = phi_avx2_quantize_row_q8_0, \
    .quantize_row_q4_0 = phi_avx2_quantize_row_q4_0, \
    .rmsnorm = phi_avx2_rmsnorm, \
    .swiglu = phi_avx2_swiglu

static const phi_kernels avx2_table = {
    .name = "avx2",
    AVX2_TABLE_ENTRIES,
    .attend_tile_kv = phi_avx2_attend_tile_kv,
    .attend_blocks_kv = phi_avx2_attend_blocks_kv,
    .attend_fold = phi_avx2_attend_fold,
};

// The AVX2 table with the attention built for AVX-512 (avx512_attention_tiled.c).
static const phi_kernels avx512_table = {
    .name = "avx512",
    AVX2_TABLE_ENTRIES,
    .attend_tile_kv = phi_avx512_attend_tile_kv,
    .attend_blocks_kv = phi_avx512_attend_blocks_kv,
    .attend_fold = phi_avx512_attend_fold,
};

PHI_AVX2_END

const phi_kernels *phi_kernels_avx2(void) {
    __builtin_cpu_init();
    const int supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                          __builtin_cpu_supports("f16c");
    return supported ? &avx2_table : 0;
}

const phi_kernels *phi_kernels_avx512(void) {
    __builtin_cpu_init();
    const int supported = phi_kernels_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
    return supported ? &avx512_table : 0;
}
#endif
