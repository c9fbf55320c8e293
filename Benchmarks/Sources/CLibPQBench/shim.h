// The system libpq, for the raw PostgreSQL baselines of `muster-bench journal`: the benchmarks talk to the
// database directly, without Muster's internal connection type. Module map and header as in Sources/CLibPQ.
#ifndef MUSTER_CLIBPQ_BENCH_SHIM_H
#define MUSTER_CLIBPQ_BENCH_SHIM_H

#include <libpq-fe.h>

#endif
