// The eight-lane vector operations attention_tiled_impl.h is written over, on __m256: shared by
// the AVX2 and AVX-512 tiled attention (avx2_attention_tiled.c, avx512_attention_tiled.c), which
// differ only in their register blocks. exp8 and avx2_reduce_lanes reproduce phi_expf and
// phi_reduce_lanes exactly. Include after avx2_common.h, inside its target region.
#ifndef PHI_AVX2_VEC8_H
#define PHI_AVX2_VEC8_H

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
#define VEC_LOAD_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define VEC_LOAD_Q8(qs, d) \
    _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(qs)))), _mm256_set1_ps(d))

#endif
