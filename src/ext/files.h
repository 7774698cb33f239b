/* File-system steps of an install, all relative to directory descriptors
 * and never following a symbolic link (src/ext only). */
#ifndef MOAT_EXT_FILES_H
#define MOAT_EXT_FILES_H

#include <stddef.h>

#include "common/error.h"

/* Unpack a tar stream of the engine's archive endpoint under dirfd.  The
 * first component of every name (the directory asked for) is cut; what
 * remains must be a path inside the image (ext_image_path).  Regular files
 * (0644) and directories (0755) only: a link or device is refused, as is a
 * name that would leave dirfd.  what names the metadata key for messages.
 * want_dir: the archive must be a directory (else one regular file, which
 * is written as leaf). */
int ext_unpack_at (int dirfd, const char *tar, size_t len, const char *what,
                   const char *leaf, moat_error_t *err);

/* rm -rf name under dirfd, without following links; a missing name is
 * fine. */
int ext_rm_tree_at (int dirfd, const char *name, moat_error_t *err);

/* GET /path of the never-started container id as a tar (*tar, *len,
 * malloc'd); 1 when the engine says it is not there (404). */
int ext_get_archive (const char *sock, const char *id, const char *path,
                     char **tar, size_t *len, moat_error_t *err);

/* A host binary (host.binaries[*].linux[*].path) into sfd/host/<path>,
 * 0755; a link or anything but one regular file is refused. */
int ext_stage_binary (const char *sock, int sfd, const char *probe_id,
                      const char *path, moat_error_t *err);

/* The sandbox script (moat.sandbox.script) into sfd/sandbox.js. */
int ext_stage_sandbox (const char *sock, int sfd, const char *probe_id,
                       const char *script, moat_error_t *err);

#endif
