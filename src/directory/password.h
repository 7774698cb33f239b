/* Reading a password for `moat directory user add` and `moat login`:
 * from the terminal without echo, or from standard input
 * (--password-stdin).  Never from argv or the environment. */
#ifndef MOAT_DIRECTORY_PASSWORD_H
#define MOAT_DIRECTORY_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* from_stdin: read standard input up to the first newline or end of file
 * (a trailing "\n" or "\r\n" is not part of the password).  Otherwise open
 * /dev/tty, print prompt there, and read one line with echo off (ENXIO
 * when there is no terminal: the message says to use --password-stdin).
 * Refuses an empty password and one longer than DIRECTORY_PASSWORD_MAX
 * (EINVAL).  *out is NUL-terminated; free it with directory_password_free
 * (out, len), which wipes it. */
int directory_password_read (bool from_stdin, const char *prompt, char **out,
                             size_t *len, moat_error_t *err);

#endif
