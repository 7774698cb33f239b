/* Private to src/ext/sandbox*.c: the scope tables shared by the scope
 * checks (sandbox_scopes.c) and the host functions (sandbox.c). */
#ifndef MOAT_EXT_SANDBOX_INT_H
#define MOAT_EXT_SANDBOX_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

/* The docker commands a sandbox may be granted: read-only ones. */
bool ext_sandbox_docker_read_only_p (const char *cmd);

/* A connection to the guarded socket sock made as as_uid (with its groups;
 * EXT_SANDBOX_NO_USER: `nobody` with the socket's group only), so the guard
 * applies that user's rules (sandbox_as.c).  The descriptor, or -1 with
 * *err.  Blocks for a fork and a connect. */
int ext_sandbox_connect_as (const char *sock, uid_t as_uid, moat_error_t *err);

/* GET path on the guarded socket sock as as_uid (ext_sandbox_connect_as),
 * within timeout_ms: *status and *body (malloc'd, NUL-terminated, *blen
 * bytes, at most max).  -1 with *err when there is no whole answer. */
int ext_sandbox_docker_get (const char *sock, uid_t as_uid, const char *path,
                            long timeout_ms, size_t max, int *status,
                            char **body, size_t *blen, moat_error_t *err);

#endif
