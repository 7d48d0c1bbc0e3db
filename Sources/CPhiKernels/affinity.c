// Thread affinity through sched_setaffinity (Linux); other systems report ENOSYS.
#if defined(__linux__)
#define _GNU_SOURCE
#include <sched.h>
#endif
#include "phi_affinity.h"

#include <errno.h>

int phi_set_thread_affinity(int32_t tid, const int32_t *cpus, int32_t count) {
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    for (int32_t i = 0; i < count; i++) {
        if (cpus[i] < 0 || cpus[i] >= CPU_SETSIZE) return EINVAL;
        CPU_SET(cpus[i], &set);
    }
    return sched_setaffinity(tid, sizeof set, &set) == 0 ? 0 : errno;
#else
    (void)tid;
    (void)cpus;
    (void)count;
    return ENOSYS;
#endif
}
