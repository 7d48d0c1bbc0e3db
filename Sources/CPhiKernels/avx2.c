// AVX2 + FMA + F16C kernels (x86_64). Placeholder table until the SIMD paths land.
#include "phi_kernels.h"

#if defined(__x86_64__)
const phi_kernels *phi_kernels_avx2(void) { return 0; }
#endif
