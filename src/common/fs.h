/* File-system helpers shared by every component. */
#ifndef MOAT_COMMON_FS_H
#define MOAT_COMMON_FS_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Read a whole regular file, refusing anything larger than max bytes.
 * *out is NUL-terminated; *len excludes the NUL.  O_NOFOLLOW is not used:
 * callers that care about who may write the file use fs_check_root_owned. */
int fs_read_file (const char *path, size_t max, char **out, size_t *len,
                  moat_error_t *err);

/* Write data to path atomically (temp file, fsync, rename, fsync dir). */
int fs_write_file_atomic (const char *path, const void *data, size_t len,
                          mode_t mode, moat_error_t *err);

/* mkdir -p with the given mode for directories it creates. */
int fs_mkdir_p (const char *path, mode_t mode, moat_error_t *err);

/* Fail unless path, and every directory above it up to (not including)
 * stop_at, is owned by root and not writable by group or others (a
 * group-writable entry is accepted only when its group is root).  Prevents a
 * non-root user from changing policy by editing or replacing the file. */
int fs_check_root_owned (const char *path, const char *stop_at,
                         moat_error_t *err);

/* A moat program installed beside the running one: env (when not NULL
 * and set) wins, then the directory of /proc/self/exe, then ../sbin of it
 * (the layout of `make install`).  Returns a malloc'd path or NULL. */
char *fs_find_helper (const char *name, const char *env);

#endif
