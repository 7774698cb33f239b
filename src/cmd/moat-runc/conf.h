/* moat-runc's options from a file beside the name it was called by, so
 * that containerd's BinaryName can be moat-runc itself (a link to it)
 * instead of the shell wrapper (docs/kubernetes.md, "Without the
 * wrapper"). */
#ifndef MOAT_CMD_MOAT_RUNC_CONF_H
#define MOAT_CMD_MOAT_RUNC_CONF_H

#include "common/error.h"

/* The file for argv0: ARGV0.conf, ARGV0 with its directory resolved
 * (only when argv0 names a path, with a slash).  Malloc'd, or NULL when
 * argv0 has no slash or its directory cannot be resolved. */
char *conf_path_for (const char *argv0);

/* When ARGV0.conf exists: *argv becomes argv[0], the options the file
 * gives, then argv[1..] (a new NULL-terminated vector; the strings live
 * as long as the program).  The file must be root's and writable by
 * nobody but root (fs_read_trusted), at most 4 KiB, one option a line:
 * "--moat-NAME" or "--moat-NAME VALUE"; blank lines and lines starting
 * with # are skipped; any other line is an error.  Returns 1 when a file
 * was read, 0 when there is none, -1 on error (nothing is changed). */
int conf_apply (int *argc, char ***argv, moat_error_t *err);

/* What conf_apply read and the vector it made, for the program's life. */
extern char *conf_data;
extern char **conf_argv;

#endif
