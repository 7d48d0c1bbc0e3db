// phi_affinity.h: pinning threads to cores, for benchmarks that give each worker one core.
#ifndef PHI_AFFINITY_H
#define PHI_AFFINITY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Restricts thread `tid` (a Linux thread id; 0 for the caller) to the `count` CPUs listed in
/// `cpus`. Returns 0, or the errno of sched_setaffinity (EINVAL for a CPU outside the machine
/// or the process's cpuset); ENOSYS where the system has no such call.
int phi_set_thread_affinity(int32_t tid, const int32_t *cpus, int32_t count);

#ifdef __cplusplus
}
#endif
#endif
