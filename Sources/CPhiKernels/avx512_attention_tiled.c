// AVX-512 tiled attention: the AVX2 set's eight-lane operations (attention_tiled_impl.h over
// __m256) compiled for AVX-512F/VL, whose 32 vector registers hold twice the register blocks:
// 6 queries x 4 keys of scores (reduced eight at a time, avx2_reduce_lanes8), 6 queries x 32
// dimensions of values. Lanes are still eight, so the results are the scalar reference's bit for
// bit. Offered by phi_kernels_avx512() only on a CPU reporting AVX-512F and VL (besides AVX2, FMA,
// F16C); it must compile everywhere x86_64 does.
#if defined(__x86_64__)
#define PHI_AVX512 1
#include "attention_tiled.h"
#include "avx2_common.h"

#define VEC __m256
#define VEC_ZERO() _mm256_setzero_ps()
#define VEC_SET1(x) _mm256_set1_ps(x)
#define VEC_LOAD(p) _mm256_loadu_ps(p)
#define VEC_STORE(p, v) _mm256_storeu_ps(p, v)
#define VEC_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define VEC_ADD(a, b) _mm256_add_ps(a, b)
#define VEC_SUB(a, b) _mm256_sub_ps(a, b)
#define VEC_MUL(a, b) _mm256_mul_ps(a, b)
#define VEC_EXP(v) exp8(v)
#define VEC_REDUCE(v) avx2_reduce_lanes(v)
#define VEC_REDUCE8(v, out) avx2_reduce_lanes8(v, out)
#define VEC_LOAD_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define VEC_LOAD_Q8(qs, d) \
    _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(qs)))), _mm256_set1_ps(d))
#define QK_ROWS 6
#define QK_KEYS 4
#define PV_ROWS 6
#define PV_VECS 4
#define PHI_TILED(name) phi_avx512_##name
#include "attention_tiled_impl.h"

PHI_AVX2_END
#endif
