/* moat's error convention (see STYLE.md).
 *
 * A function that can fail returns a negative value (or NULL) and fills a
 * `moat_error_t *` out-parameter.  Callers add context on the way up with
 * moat_error_wrap(); only main() prints and exits.  An error owns its
 * message; release it with moat_error_release(). */
#ifndef MOAT_COMMON_ERROR_H
#define MOAT_COMMON_ERROR_H

#include <stdio.h>

struct moat_error_s
{
  int status; /* errno-style; 0 when the failure has no errno meaning */
  char *msg;
};
typedef struct moat_error_s *moat_error_t;

/* Set *err to a new error and return -1 (an int for `return moat_error (…)`).
 * When status is non-zero, strerror(status) is appended. */
int moat_error (moat_error_t *err, int status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Prefix the message of *err with more context ("ctx: old message") and
 * return -1.  Safe to call when *err is NULL (then it creates one). */
int moat_error_wrap (moat_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

void moat_error_release (moat_error_t *err);

/* Status of an error, or 0. */
int moat_error_status (const moat_error_t *err);

/* Message of an error, or "unknown error". */
const char *moat_error_msg (const moat_error_t *err);

#define cleanup_error __attribute__ ((cleanup (moat_error_release)))

#endif
