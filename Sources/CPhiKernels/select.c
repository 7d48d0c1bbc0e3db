// Choosing a table: the best one this CPU runs, or every one it runs (tests, benchmarks).
#include "phi_internal.h"

#if !defined(__x86_64__)
const phi_kernels *phi_kernels_avx2(void) { return 0; }
const phi_kernels *phi_kernels_avx512(void) { return 0; }
#endif
#if !defined(__aarch64__)
const phi_kernels *phi_kernels_neon(void) { return 0; }
const phi_kernels *phi_kernels_neon_plain(void) { return 0; }
#else
const phi_kernels *phi_kernels_neon_plain(void);
#endif

const phi_kernels *phi_kernels_best(void) {
    const phi_kernels *table = phi_kernels_avx512();
    if (table) return table;
    table = phi_kernels_avx2();
    if (table) return table;
    table = phi_kernels_neon();
    if (table) return table;
    return phi_kernels_scalar();
}

int phi_kernels_available(const phi_kernels **tables, int capacity) {
    const phi_kernels *candidates[] = {
        phi_kernels_scalar(), phi_kernels_avx2(), phi_kernels_avx512(), phi_kernels_neon_plain(), phi_kernels_neon(),
    };
    int count = 0;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        const phi_kernels *table = candidates[i];
        if (!table) continue;
        int seen = 0;
        for (int j = 0; j < count && j < capacity; j++) seen |= tables[j] == table;
        if (seen) continue;
        if (count < capacity) tables[count] = table;
        count++;
    }
    return count;
}
