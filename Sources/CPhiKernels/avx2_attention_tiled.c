// AVX2 tiled attention: attention_tiled_impl.h over __m256 (one register holds the eight lanes),
// exp8 and avx2_reduce_lanes reproducing phi_expf and phi_reduce_lanes exactly. 16 registers:
// 6 queries x 2 keys of scores (12 accumulators), 6 queries x 16 dimensions of values.
#if defined(__x86_64__)
#include "attention_tiled.h"
#include "avx2_common.h"
#include "avx2_vec8.h"

#define QK_ROWS 6
#define QK_KEYS 2
#define PV_ROWS 6
#define PV_VECS 2
#define PHI_TILED(name) phi_avx2_##name
#include "attention_tiled_impl.h"

PHI_AVX2_END
#endif
