// The NEON tables (aarch64): plain NEON everywhere, and with dotprod where the CPU reports
// it (Linux: HWCAP_ASIMDDP in AT_HWCAP; macOS: hw.optional.arm.FEAT_DotProd).
#if defined(__aarch64__)
#include "attention_tiled.h"
#include "neon_common.h"

#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
static int cpu_has_dotprod(void) { return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0; }
#elif defined(__APPLE__)
#include <sys/sysctl.h>
static int cpu_has_dotprod(void) {
    int value = 0;
    size_t size = sizeof value;
    return sysctlbyname("hw.optional.arm.FEAT_DotProd", &value, &size, 0, 0) == 0 && value != 0;
}
#else
static int cpu_has_dotprod(void) { return 0; }
#endif

#define PHI_NEON_TABLE(SUFFIX, NAME)                                                                   \
    static float dot_##SUFFIX(phi_format format, const void *w, const void *x, int64_t n) {           \
        if (format == PHI_FORMAT_Q8_0 || format == PHI_FORMAT_Q4_0)                                    \
            return phi_neon_dot_quant_##SUFFIX(format, w, x, n);                                       \
        return phi_neon_dot_float(format, w, x, n);                                                    \
    }                                                                                                  \
    static void matmul_##SUFFIX(phi_format format, const void *w, size_t wb, int64_t rb, int64_t re,  \
                                const void *x, size_t xb, int64_t tokens, int64_t cols, float *out,    \
                                int64_t os) {                                                          \
        if (format == PHI_FORMAT_Q8_0 || format == PHI_FORMAT_Q4_0)                                    \
            phi_neon_matmul_quant_##SUFFIX(format, w, wb, rb, re, x, xb, tokens, cols, out, os);       \
        else                                                                                           \
            phi_neon_matmul_float(format, w, wb, rb, re, x, xb, tokens, cols, out, os);                \
    }                                                                                                  \
    static const phi_kernels table_##SUFFIX = {                                                        \
        .name = NAME,                                                                                  \
        .dot = dot_##SUFFIX,                                                                           \
        .matmul = matmul_##SUFFIX,                                                                     \
        .matmul_repacked = phi_neon_matmul_repacked_##SUFFIX,                                          \
        .quantize_row_q8_0 = phi_neon_quantize_row_q8_0,                                               \
        .quantize_row_q4_0 = phi_neon_quantize_row_q4_0,                                               \
        .rmsnorm = phi_neon_rmsnorm,                                                                   \
        .swiglu = phi_neon_swiglu,                                                                     \
        .attend_tile_kv = phi_neon_attend_tile_kv,                                                     \
        .attend_blocks_kv = phi_neon_attend_blocks_kv,                                                 \
        .attend_fold = phi_neon_attend_fold,                                                           \
    };

PHI_NEON_TABLE(plain, "neon")
PHI_NEON_TABLE(dotprod, "neon-dotprod")

const phi_kernels *phi_kernels_neon_plain(void) { return &table_plain; }

const phi_kernels *phi_kernels_neon(void) { return cpu_has_dotprod() ? &table_dotprod : &table_plain; }
#endif
