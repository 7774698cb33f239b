/* The dashboard's own small parsers (llhttp does the HTTP framing): query
 * parameters, the Cookie header, the Host and Origin rules.  Pure
 * functions over bounded strings; fuzzed by tests/fuzz/fuzz_web.c. */
#ifndef MOAT_WEB_PARSE_H
#define MOAT_WEB_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* The path of a request target (up to '?'), into out: 0, or -1 when it is
 * not an origin-form path ("/..."), or does not fit. */
int web_target_path (const char *target, char *out, size_t len);

/* Query parameter name of target, percent-decoded into out.  1 when
 * found, 0 when absent, -1 when malformed (bad escape, NUL, too long). */
int web_query_get (const char *target, const char *name, char *out,
                   size_t len);

/* Cookie name from a Cookie header ("a=b; c=d").  1, 0 or -1 as above;
 * a name given twice is -1 (a cookie tossed in by a sibling host must not
 * shadow the real one silently). */
int web_cookie_get (const char *header, const char *name, char *out,
                    size_t len);

/* The values of cookie name in a Cookie header, one per call: *pos starts
 * at 0.  1 with the next value in out, 0 when there is no other, -1 when
 * one is malformed (too long).  A browser sends every cookie of that name
 * whose path matches, the longest path first: one planted for 127.0.0.1
 * by a page on another port (cookies ignore ports) comes before the
 * dashboard's own, so a caller tries each. */
int web_cookie_next (const char *header, const char *name, size_t *pos,
                     char *out, size_t len);

/* Host is this dashboard's: 127.0.0.1:PORT, localhost:PORT or
 * <label>.ext.localhost:PORT (label: [a-z0-9-]{1,63}, not starting or
 * ending with '-'); case-insensitive host part, exact port. */
bool web_host_ok (const char *host, unsigned port);

/* Origin is exactly "http://" + host (host already checked). */
bool web_origin_ok (const char *origin, const char *host);

#endif
