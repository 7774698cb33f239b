/* The body of a legacy build (POST /build): a local context, read as it is
 * relayed to the engine.  The engine's legacy builder unpacks the whole
 * context before it reads the Dockerfile, and `ADD <URL>` in that
 * Dockerfile makes it download the URL itself, as host root, from the
 * host's network (its loopback services too), outside the net guard.  The
 * scanner finds the Dockerfile in the tar stream (plain or gzip), checks
 * its ADD sources, and says how much of the body may reach the engine
 * before the decision: never the tar's end, so the engine cannot start
 * building before the guard has decided.  docs/engine-eci-checks.md,
 * "build contexts". */
#ifndef MOAT_ENGINE_BUILDSCAN_H
#define MOAT_ENGINE_BUILDSCAN_H

#include <stddef.h>
#include <stdint.h>

/* Largest Dockerfile (and PAX or GNU long-name record) the scanner keeps
 * to read; a larger one is refused.  The context itself has no cap. */
#define BUILD_SCAN_MAX_DOCKERFILE (1024 * 1024)

struct build_scan;

/* A scanner for a build whose request query is `query` (its dockerfile=
 * parameter names the Dockerfile in the context).  NULL: out of memory. */
struct build_scan *build_scan_new (const char *query);
void build_scan_free (struct build_scan *s);

/* Feed the next raw body bytes.  0, or -1 once refused
 * (build_scan_message). */
int build_scan_feed (struct build_scan *s, const char *p, size_t n);

/* How many raw body bytes, from its start, may reach the engine now. */
uint64_t build_scan_safe (const struct build_scan *s);

/* The body is complete: 0 to let the rest through, -1 to refuse. */
int build_scan_finish (struct build_scan *s);

/* The refusal (contract prefix), once refused. */
const char *build_scan_message (const struct build_scan *s);

/* The images the Dockerfile(s) build FROM or COPY --from, as written (not
 * the Dockerfile's own stages, nor scratch; a reference with a variable is
 * listed as written).  Their ONBUILD triggers run in the build: the guard
 * looks them up in the engine (build_dockerfile_check on each trigger)
 * before it lets the context's end through. */
size_t build_scan_bases (const struct build_scan *s, char *const **refs);

/* Check a Dockerfile's text: 0 when no ADD (nor ONBUILD ADD) could make
 * the engine fetch a URL; -1 otherwise, with *message a malloc'd refusal
 * (NULL when out of memory). */
int build_dockerfile_check (const char *text, size_t len, char **message);

#endif
