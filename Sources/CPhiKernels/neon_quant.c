// The q8_0/q4_0 kernels for plain NEON (armv8.0, e.g. Cortex-A53): the int8 dot product of
// four pairs per lane is built from widening multiplies and pairwise adds.
#if defined(__aarch64__)
#include "neon_common.h"

PHI_INLINE int32x4_t sdot_plain(int32x4_t acc, int8x16_t a, int8x16_t b) {
    const int16x8_t low = vmull_s8(vget_low_s8(a), vget_low_s8(b));  // |product| <= 16384
    const int16x8_t high = vmull_high_s8(a, b);
    return vaddq_s32(acc, vpaddq_s32(vpaddlq_s16(low), vpaddlq_s16(high)));
}
#define SDOT(acc, a, b) sdot_plain(acc, a, b)
#define SDOT_LANE(acc, a, b, k) \
    sdot_plain(acc, a, vreinterpretq_s8_s32(vdupq_laneq_s32(vreinterpretq_s32_s8(b), k)))
#define SUFFIX plain
#include "neon_quant_impl.h"
#endif
