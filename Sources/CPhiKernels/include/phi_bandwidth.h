// phi_bandwidth.h: the streaming read of phi-coord bench's bandwidth probe.
//
// Decode streams every weight once per token, so the machine's streaming read bandwidth bounds
// it; the bench measures that bandwidth with this loop on its own threads and buffer (the C
// side allocates nothing and starts no threads, as every kernel here).
#ifndef PHI_BANDWIDTH_H
#define PHI_BANDWIDTH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Reads every 8-byte word of `bytes` bytes at `buffer` (8-byte aligned; a trailing partial word
/// is skipped) and returns their wrapping sum, so no load can be optimised away.
uint64_t phi_stream_read(const void *buffer, size_t bytes);

#ifdef __cplusplus
}
#endif
#endif
