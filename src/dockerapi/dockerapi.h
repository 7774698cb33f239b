/* The Docker Engine API calls moat makes itself (health checks, `moat
 * verify`), over a unix socket with libcurl.  Responses are bounded. */
#ifndef MOAT_DOCKERAPI_DOCKERAPI_H
#define MOAT_DOCKERAPI_DOCKERAPI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

#define DOCKERAPI_MAX_BODY (4 * 1024 * 1024)

struct dockerapi_response
{
  long status;  /* HTTP status */
  char *body;   /* NUL-terminated */
  size_t len;
};

void dockerapi_response_free (struct dockerapi_response *r);

/* method + path (with query) on the engine at sock.  body may be NULL; it
 * is sent with Content-Type: application/json, or application/x-tar when
 * tar is true.  Any HTTP status is a success here: callers judge it. */
int dockerapi_call (const char *sock, const char *method, const char *path,
                    const void *body, size_t body_len, bool tar,
                    long timeout_ms, struct dockerapi_response *out,
                    moat_error_t *err);

/* The "message" of a JSON error body, or the raw body. */
const char *dockerapi_error_message (const struct dockerapi_response *r,
                                     char *buf, size_t bufsz);

#endif
