/* A host path reached with a user's rights, not host root's: moat-runc
 * opens a non-root caller's bind sources this way (engine/eci.h,
 * ECI_BINDS_LABEL), so that a symlink or a missing directory the caller
 * controls takes it only where the caller could go itself.
 *
 * And the descriptor passing the runtime's helpers share. */
#ifndef MOAT_RUNTIME_ASUSER_H
#define MOAT_RUNTIME_ASUSER_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"

/* Open path (O_PATH, symlinks followed) in a child that runs as uid, gid
 * and uid's supplementary groups.  With create, the missing directories
 * of path are made first, as that user (mode 0755 less nothing: the
 * engine's own mode), as the engine does for a -v source.  Returns the
 * descriptor (CLOEXEC), or -1 with err: a refusal naming path
 * (REFUSAL_BIND_MISSING / _NO_CREATE / _NO_ACCESS, status 0) when the
 * user may not, another error when the child could not run. */
int asuser_open (uid_t uid, gid_t gid, const char *path, bool create,
                 moat_error_t *err);

/* Send fd (or none: fd < 0) with one int of data over a SOCK_SEQPACKET
 * socket; 0 or -1 (errno set). */
int fdpass_send (int sock, int fd, int data);

/* Receive what fdpass_send sent: the descriptor (CLOEXEC) or -1, and the
 * data in *data; -1 and *data = -1 when nothing came. */
int fdpass_recv (int sock, int *data);

#endif
