// NEON tiled attention: attention_tiled_impl.h over two quads (lo holds lanes 0-3 of the eight,
// hi lanes 4-7, as in neon_float.c), neon_exp4 and neon_reduce_lanes reproducing phi_expf and
// phi_reduce_lanes exactly. 32 registers: 4 queries x 2 keys of scores (16 quads of
// accumulators), 4 queries x 16 dimensions of values. Plain armv8-a: both NEON tables use it
// (fp16 arithmetic or dotprod would change the f32 sums the reference defines).
#if defined(__aarch64__)
#include "attention_tiled.h"
#include "neon_common.h"

typedef struct {
    float32x4_t lo, hi;
} neon_f32x8;

PHI_INLINE neon_f32x8 v8_make(float32x4_t lo, float32x4_t hi) {
    neon_f32x8 v = {lo, hi};
    return v;
}
PHI_INLINE neon_f32x8 v8_set1(float x) { return v8_make(vdupq_n_f32(x), vdupq_n_f32(x)); }
PHI_INLINE neon_f32x8 v8_load(const float *p) { return v8_make(vld1q_f32(p), vld1q_f32(p + 4)); }
PHI_INLINE void v8_store(float *p, neon_f32x8 v) {
    vst1q_f32(p, v.lo);
    vst1q_f32(p + 4, v.hi);
}
PHI_INLINE neon_f32x8 v8_fma(neon_f32x8 a, neon_f32x8 b, neon_f32x8 c) {
    return v8_make(vfmaq_f32(c.lo, a.lo, b.lo), vfmaq_f32(c.hi, a.hi, b.hi));
}
PHI_INLINE neon_f32x8 v8_add(neon_f32x8 a, neon_f32x8 b) { return v8_make(vaddq_f32(a.lo, b.lo), vaddq_f32(a.hi, b.hi)); }
PHI_INLINE neon_f32x8 v8_sub(neon_f32x8 a, neon_f32x8 b) { return v8_make(vsubq_f32(a.lo, b.lo), vsubq_f32(a.hi, b.hi)); }
PHI_INLINE neon_f32x8 v8_mul(neon_f32x8 a, neon_f32x8 b) { return v8_make(vmulq_f32(a.lo, b.lo), vmulq_f32(a.hi, b.hi)); }
PHI_INLINE neon_f32x8 v8_exp(neon_f32x8 v) { return v8_make(neon_exp4(v.lo), neon_exp4(v.hi)); }
PHI_INLINE neon_f32x8 v8_load_f16(const phi_f16 *p) {
    const uint16x8_t h = vld1q_u16(p);
    return v8_make(neon_f16x4_to_f32(vget_low_u16(h)), neon_f16x4_to_f32(vget_high_u16(h)));
}
PHI_INLINE neon_f32x8 v8_load_q8(const int8_t *qs, float d) {
    const int16x8_t q = vmovl_s8(vld1_s8(qs));
    return v8_make(vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_low_s16(q))), d),
                   vmulq_n_f32(vcvtq_f32_s32(vmovl_s16(vget_high_s16(q))), d));
}

#define VEC neon_f32x8
#define VEC_ZERO() v8_set1(0.0f)
#define VEC_SET1(x) v8_set1(x)
#define VEC_LOAD(p) v8_load(p)
#define VEC_STORE(p, v) v8_store(p, v)
#define VEC_FMA(a, b, c) v8_fma(a, b, c)
#define VEC_ADD(a, b) v8_add(a, b)
#define VEC_SUB(a, b) v8_sub(a, b)
#define VEC_MUL(a, b) v8_mul(a, b)
#define VEC_EXP(v) v8_exp(v)
#define VEC_REDUCE(v) neon_reduce_lanes((v).lo, (v).hi)
#define VEC_LOAD_F16(p) v8_load_f16(p)
#define VEC_LOAD_Q8(qs, d) v8_load_q8(qs, d)
#define QK_ROWS 4
#define QK_KEYS 2
#define PV_ROWS 4
#define PV_VECS 2
#define PHI_TILED(name) phi_neon_##name
#include "attention_tiled_impl.h"
#endif
