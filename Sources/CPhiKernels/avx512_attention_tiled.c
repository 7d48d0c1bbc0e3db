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
#include "avx2_vec8.h"

#define VEC_REDUCE8(v, out) avx2_reduce_lanes8(v, out)
#define QK_ROWS 6
#define QK_KEYS 4
#define PV_ROWS 6
#define PV_VECS 4
#define PHI_TILED(name) phi_avx512_##name
#include "attention_tiled_impl.h"

PHI_AVX2_END
#endif
