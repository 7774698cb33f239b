/* Test-only entry points of the engine guard (fuzzing, unit tests). */
#ifndef MOAT_ENGINE_GUARD_TEST_H
#define MOAT_ENGINE_GUARD_TEST_H

#include <stddef.h>

#include "engine/guard.h"

/* Run one connection's request and response parsers over bytes, without
 * sockets: `client` bytes as if sent by a client, `engine` bytes as if
 * answered by the engine, fed alternately `step` bytes at a time.  Whatever
 * the guard would send is dropped.  Exercises the exact code the event loop
 * runs (head checks, body collection and ECI checks, hijack detection). */
int engine_guard_feed (struct engine_guard *g, const char *client, size_t clen,
                       const char *engine, size_t elen, size_t step);

#endif
