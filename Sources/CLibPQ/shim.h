// The system libpq (PostgreSQL's C client). It has no variadic functions Muster needs, so this header only
// includes it: the module map cannot name a header found through pkg-config's include path directly.
#ifndef MUSTER_CLIBPQ_SHIM_H
#define MUSTER_CLIBPQ_SHIM_H

#include <libpq-fe.h>

#endif
