// NEON + dotprod kernels (aarch64). Placeholder table until the SIMD paths land.
#include "phi_kernels.h"

#if defined(__aarch64__)
const phi_kernels *phi_kernels_neon(void) { return 0; }
#endif
