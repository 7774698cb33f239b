/* Private to src/ext/sandbox*.c: the scope tables shared by the scope
 * checks (sandbox_scopes.c) and the host functions (sandbox.c). */
#ifndef MOAT_EXT_SANDBOX_INT_H
#define MOAT_EXT_SANDBOX_INT_H

#include <stdbool.h>

/* The docker commands a sandbox may be granted: read-only ones. */
bool ext_sandbox_docker_read_only_p (const char *cmd);

#endif
