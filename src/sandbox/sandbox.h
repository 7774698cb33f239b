/* The child side of moat-sandbox: a Duktape heap behind the framed protocol
 * of proto.h, locked down with rlimits and a seccomp filter.
 *
 * Lifecycle: sandbox_run() drops root for SANDBOX_UID (when started as
 * root), initialises the heap (capped allocator, fatal
 * handler), applies rlimits, closes every descriptor above 2, installs the
 * seccomp filter, sends READY and then serves LOAD/CALL frames on fd 0/1
 * until EOF.  Only main() of src/cmd/moat-sandbox calls it. */
#ifndef MOAT_SANDBOX_SANDBOX_H
#define MOAT_SANDBOX_SANDBOX_H

#include <stddef.h>

#include "common/error.h"

struct sandbox_limits
{
  size_t heap_bytes;    /* cap of the Duktape allocator */
  size_t address_space; /* RLIMIT_AS; 0 = leave (sanitizer builds) */
  unsigned cpu_seconds; /* RLIMIT_CPU, cumulative over the process */
};

/* The identity moat-sandbox takes when started as root: nobody/nogroup.
 * Other processes running as nobody may signal it (a killed sandbox is
 * restarted; the PAC fails closed meanwhile) but not ptrace it (it is not
 * dumpable) nor reach it otherwise: seccomp leaves it only its pipe. */
#define SANDBOX_UID 65534
#define SANDBOX_GID 65534

#define SANDBOX_DEFAULT_HEAP (64u << 20)
#define SANDBOX_DEFAULT_AS (512ul << 20)
#define SANDBOX_DEFAULT_CPU 300u

/* Fill the defaults above (address_space 0 under ASan, which reserves
 * terabytes of shadow memory). */
void sandbox_limits_default (struct sandbox_limits *l);

/* Install the sandbox's seccomp filter on the calling thread (and set
 * no_new_privs).  After it the process may only: read fd 0, write fds 1 and
 * 2, manage memory without PROT_EXEC, read clocks, query its signal stack
 * and exit; anything else
 * kills the process (SIGSYS).  Exported so tests can prove the filter. */
int sandbox_seccomp_install (moat_error_t *err);

/* Serve the protocol on fd 0 (in) and fd 1 (out).  Returns the exit code. */
int sandbox_run (const struct sandbox_limits *limits, moat_error_t *err);

#endif
