/* Fetching the PAC file named by containersProxy.pac. */
#ifndef MOAT_PAC_FETCH_H
#define MOAT_PAC_FETCH_H

#include <stdatomic.h>
#include <stddef.h>

#include "common/error.h"

#define PAC_FETCH_MAX (1u << 20)

/* Fetch url (http, https or file; http(s) redirects followed up to 3 times,
 * never to file:) into *body (malloc'ed, NUL-terminated, *len bytes).
 * Refuses: another scheme, an HTTP status other than 200, a body over
 * PAC_FETCH_MAX, taking longer than timeout_ms (0 = 10 s).  Every failure
 * has a precise message; the caller must then refuse all connections (fail
 * closed) and report the message in `moat status` and the audit log.
 * Environment proxies are ignored: the PAC is fetched directly. */
int pac_fetch (const char *url, unsigned timeout_ms, char **body, size_t *len,
               moat_error_t *err);

/* The same, aborted (ECANCELED) within about a second once *cancel becomes
 * true; cancel may be NULL. */
int pac_fetch_cancel (const char *url, unsigned timeout_ms,
                      const atomic_bool *cancel, char **body, size_t *len,
                      moat_error_t *err);

#endif
