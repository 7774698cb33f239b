/* File-system helpers shared by every component. */
#ifndef MOAT_COMMON_FS_H
#define MOAT_COMMON_FS_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Read a whole regular file, refusing anything larger than max bytes.
 * *out is NUL-terminated; *len excludes the NUL.  Opened with O_NONBLOCK
 * and checked with fstat before the first read, so a FIFO is refused
 * instead of blocking.  Symlinks are followed and the owner is not looked
 * at: a file only root may change is read with fs_read_trusted. */
int fs_read_file (const char *path, size_t max, char **out, size_t *len,
                  moat_error_t *err);

/* Write data to path atomically (temp file, fsync, rename, fsync dir). */
int fs_write_file_atomic (const char *path, const void *data, size_t len,
                          mode_t mode, moat_error_t *err);

/* mkdir -p: path gets mode; a missing parent gets mode plus search (x)
 * for owner, group and others, so it lists nothing mode would not and
 * keeps nothing below it out of reach.  Existing directories keep their
 * modes.  The umask applies as for mkdir(2). */
int fs_mkdir_p (const char *path, mode_t mode, moat_error_t *err);

/* Root-trusted files (admin-settings.json, registry.json, proxy-ca.pem, a
 * file:// PAC, and any later file that only root may change: directory.json,
 * fleet.json, the extension marketplace list) are opened once and checked
 * through the descriptor that is then read, so nothing can be swapped
 * between the check and the read.
 *
 * path must be absolute.  The walk starts at stop_at when path lies under it
 * (the MOAT_ROOT of tests; opened as given), else at "/", and then opens
 * every component with O_NOFOLLOW: a symbolic link anywhere below the start
 * is refused.  Every directory walked (and "/" itself when the walk starts
 * there) must be owned by root and not writable by group or others (a
 * group-writable one is accepted only when its group is root; a
 * world-writable one only with the sticky bit, as /tmp).  The file must be a
 * regular file with the same owner and mode rules; it is opened with
 * O_NONBLOCK, so a FIFO or device never blocks the caller.
 *
 * Errors: ENOENT (missing), EPERM (a symlink, a wrong owner or mode: a
 * non-root user could change the file), EINVAL (not a regular file, "." or
 * "..", not absolute), or the errno of a failed call.
 * Returns the open descriptor (O_RDONLY, O_CLOEXEC). */
int fs_open_trusted (const char *path, const char *stop_at, moat_error_t *err);

/* fs_open_trusted, then read at most max bytes from that descriptor.  *out
 * is NUL-terminated; *len (may be NULL) excludes the NUL.  EFBIG when the
 * file is larger than max. */
int fs_read_trusted (const char *path, const char *stop_at, size_t max,
                     char **out, size_t *len, moat_error_t *err);

/* A moat program installed beside the running one: env (when not NULL
 * and set) wins, then the directory of /proc/self/exe, then ../sbin of it
 * (the layout of `make install`).  Returns a malloc'd path or NULL. */
char *fs_find_helper (const char *name, const char *env);

#endif
