/* moat's Duktape configuration: Debian's duk_config.h plus the execution
 * timeout hook, which Debian's build leaves off.  Every translation unit that
 * touches Duktape (duktape.c itself, built by module.mk with -include of this
 * file, and src/sandbox/) sees the same options.
 *
 * Without DUK_USE_EXEC_TIMEOUT_CHECK an untrusted `while(1){}` could only be
 * stopped by killing the process; with it the interpreter polls
 * moat_duk_exec_timeout_check() and throws a RangeError past the deadline. */
#ifndef MOAT_SANDBOX_DUK_MOAT_CONFIG_H
#define MOAT_SANDBOX_DUK_MOAT_CONFIG_H

#if defined(MOAT_DUK_BUILD)
/* duktape.c defines this before including duktape.h; it selects the
 * platform sections of duk_config.h that the engine itself needs. */
#define DUK_COMPILING_DUKTAPE
#endif

#include <duk_config.h>

#define DUK_USE_INTERRUPT_COUNTER
#define DUK_USE_EXEC_TIMEOUT_CHECK(udata) moat_duk_exec_timeout_check (udata)

/* Implemented in src/sandbox/runtime.c: non-zero once the call's deadline
 * has passed. */
duk_bool_t moat_duk_exec_timeout_check (void *udata);

#endif
