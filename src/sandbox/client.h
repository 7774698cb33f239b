/* The parent side of moat-sandbox: spawn it, load scripts, call functions
 * with a deadline, answer its host callbacks, and kill and restart it when it
 * hangs, dies or breaks the protocol.
 *
 * A client is one sandbox process and is not thread-safe: callers that share
 * one across threads hold their own lock (pac_engine does).  Calls block the
 * calling thread for at most timeout_ms plus the grace period. */
#ifndef MOAT_SANDBOX_CLIENT_H
#define MOAT_SANDBOX_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

/* Answer a host callback `__moat_host(name, ...args)` made by the script.
 * args_json is a JSON array.  On success set *result_json to a malloc'ed
 * JSON text (the script receives it decoded) and return 0; on -1 the script
 * sees an Error with err's message.  Runs on the calling thread, inside
 * sandbox_client_call(), and counts against the call's deadline. */
typedef int (*sandbox_host_fn) (void *ud, const char *name,
                                const char *args_json, char **result_json,
                                moat_error_t *err);

struct sandbox_client_opts
{
  const char *exe;      /* path of the moat-sandbox binary */
  sandbox_host_fn host; /* NULL: every host callback throws */
  void *host_ud;
  unsigned grace_ms; /* watchdog slack after a call's timeout; 0 = 50 ms */
  unsigned start_timeout_ms; /* spawn until READY; 0 = 5000 ms */
  unsigned cpu_seconds;      /* the sandbox's RLIMIT_CPU; recycled at half */
  /* Start the process at the first load, call or reset rather than in
   * sandbox_client_new (the PAC pool's extra sandboxes: reset at the first
   * PAC load anyway, so starting them earlier only delays moatd's start). */
  bool lazy;
  /* Heap cap in MiB passed as --heap-mb (0: the binary's default). */
  unsigned heap_mb;
};

struct sandbox_client;

int sandbox_client_new (const struct sandbox_client_opts *opts,
                        struct sandbox_client **out, moat_error_t *err);
void sandbox_client_free (struct sandbox_client *c);

/* Compile and run a script's top level.  A script that loads is remembered
 * and loaded again, in order, into every restarted sandbox.  Errors: status
 * 0 for a script error (message from the engine, e.g. "SyntaxError: …"),
 * ETIMEDOUT when it ran past timeout_ms, ECHILD/EPROTO when the sandbox died
 * or misbehaved (it has been restarted by then). */
int sandbox_client_load (struct sandbox_client *c, const char *name,
                         const char *src, size_t len, unsigned timeout_ms,
                         moat_error_t *err);

/* Call global function fn with args_json (a JSON array); *result_json gets
 * the JSON of its return value (malloc'ed; "null" for undefined).  Same
 * error statuses as sandbox_client_load.  A sandbox that is still running
 * past timeout_ms + grace is killed by PID and restarted. */
int sandbox_client_call (struct sandbox_client *c, const char *fn,
                         const char *args_json, unsigned timeout_ms,
                         char **result_json, moat_error_t *err);

/* Drop all loaded scripts and start a fresh sandbox. */
int sandbox_client_reset (struct sandbox_client *c, moat_error_t *err);

pid_t sandbox_client_pid (const struct sandbox_client *c);
unsigned long sandbox_client_restarts (const struct sandbox_client *c);

#endif
