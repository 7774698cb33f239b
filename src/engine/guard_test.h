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

/* What engine_guard_feed_ex() would have sent; malloc'd, NUL-terminated. */
struct engine_guard_feed_out
{
  char *to_engine;
  size_t to_engine_len;
  char *to_client;
  size_t to_client_len;
};

/* engine_guard_feed, keeping what would be sent (free both in *out), with
 * the re-serialised head of each request limited to head_limit bytes
 * (0: no limit): a stand-in for running out of memory while a head is
 * written. */
int engine_guard_feed_ex (struct engine_guard *g, const char *client,
                          size_t clen, const char *engine, size_t elen,
                          size_t step, size_t head_limit,
                          struct engine_guard_feed_out *out);

/* The number of epoll_wait calls the guard's loop has made (io_loop_batch):
 * read by a test while the loop waits. */
unsigned long long engine_guard_test_batches (struct engine_guard *g);

#endif
