// The parts of nng that phi-cluster uses: the core API, the req0/rep0 protocols and TCP options.
#ifndef PHI_CNNG_SHIM_H
#define PHI_CNNG_SHIM_H
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/transport/tcp/tcp.h>
#endif
