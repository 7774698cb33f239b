/* Sandboxed backend JavaScript of extensions (issue 15 §5, after Directus's
 * secure extensions; docs/extensions.md "Sandboxed backend code").
 *
 * An extension that declares `"moat": {"sandbox": {"script", ...}}` gets its
 * own moat-sandbox process (Duktape, seccomp, rlimits, heap cap), started at
 * its first call.  The script registers routes:
 *
 *   moat.route("GET", "/hello", function (req) { return {status: 200,
 *              body: "hi"}; });
 *
 * and the UI reaches them as ddClient.extension.vm.service.get
 * ("/sandbox/hello").  Everything the script does outside its heap goes
 * through host functions checked against the extension's GRANTED scopes
 * (request, log, sleep, storage, docker); a call outside them throws
 * `no permission to access "<scope>"`.
 *
 * A crash, an out-of-memory or a timeout ends that sandbox only: the call
 * fails (status 502/504), the next call restarts it after a backoff, and
 * after EXT_SANDBOX_QUARANTINE_AFTER failures in a row it is quarantined
 * (calls refused with 503) until the extension is updated or reinstalled
 * or moatd restarts.
 *
 * Thread-safety: every function here may be called from any thread; each
 * extension's sandbox is used by one call at a time (its own lock), calls
 * to different extensions run in parallel.  ext_sandbox_call BLOCKS for at
 * most the per-call time limit plus the time of the host functions the
 * script calls (request, sleep): never call it on moatd's event loop. */
#ifndef MOAT_EXT_SANDBOX_H
#define MOAT_EXT_SANDBOX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

#define EXT_SANDBOX_DEFAULT_HEAP_MB 100
#define EXT_SANDBOX_DEFAULT_CALL_MS 1000
#define EXT_SANDBOX_QUARANTINE_AFTER 5
#define EXT_SANDBOX_BODY_MAX (1u << 20)    /* request and reply bodies */
#define EXT_SANDBOX_STORAGE_MAX (1u << 20) /* per extension, keys + values */

/* The message of a call outside the granted scopes (contract). */
#define EXT_SANDBOX_NO_PERMISSION "no permission to access \"%s\""

/* Egress decision for the request scope, the one a container gets: host
 * is the URL's host name, addr one numeric address it resolved to (the one
 * the request will connect to), port the URL's port.  Returns 0 when the
 * connection may go, with proxy set to "" (direct) or the proxy to go
 * through ("http://h:p", "socks5h://h:p"); -1 with the refusal in *err.
 * NULL: only loopback, unspecified, multicast and link-local destinations
 * are refused (a container cannot reach them either). */
typedef int (*ext_sandbox_egress_fn) (void *ud, const char *host,
                                      const char *addr, unsigned port,
                                      char *proxy, size_t proxy_size,
                                      moat_error_t *err);

struct ext_sandbox_conf
{
  const char *exe;        /* moat-sandbox binary */
  const char *ext_dir;    /* $STATE/extensions (installed extensions) */
  unsigned heap_mb;       /* 0 = EXT_SANDBOX_DEFAULT_HEAP_MB */
  unsigned call_ms;       /* 0 = EXT_SANDBOX_DEFAULT_CALL_MS */
  const char *guard_sock; /* guarded engine, for the docker scope */
  /* The engine's network namespace (a /run/netns path) or NULL: requests
   * leave from there, as a container's would. */
  const char *netns;
  ext_sandbox_egress_fn egress;
  void *egress_ud;
};

/* Set once by moatd before any call (copied).  Returns -1 on ENOMEM. */
int ext_sandbox_init (const struct ext_sandbox_conf *conf, moat_error_t *err);
/* Stop every sandbox (moatd shutdown). */
void ext_sandbox_shutdown (void);

/* Call route (method, path) of extension name's sandbox.  path is the part
 * after /sandbox (starts with '/'; a query string is passed to the route
 * as req.query).  body may be NULL.  On return 0: *status is the route's
 * HTTP status (404 when no route matches), *reply its body (malloc'd,
 * NUL-terminated, *reply_len bytes without the NUL).  The status also
 * says what went wrong in the sandbox: 500 the script threw (reply is its
 * message), 502 the sandbox crashed or ran out of memory, 504 the call
 * timed out, 503 quarantined or backing off.  -1 with *err only when the
 * extension has no sandbox (ENOENT) or on ENOMEM.
 *
 * as_uid: the user the call serves (the signed-in dashboard user, the
 * control caller).  The script's docker scope acts as that user on the
 * guarded engine (its connection is made by a child that has become
 * as_uid with its groups, so SO_PEERCRED, ECI's owner rule and every other
 * rule are that user's): sandboxed code never holds more than the user it
 * serves.  EXT_SANDBOX_NO_USER (a call no user is behind): it acts as
 * `nobody` with only the socket's group, who owns nothing. */
#define EXT_SANDBOX_NO_USER ((uid_t)-1)
int ext_sandbox_call (const char *name, const char *method, const char *path,
                      const char *body, size_t len, uid_t as_uid, int *status,
                      char **reply, size_t *reply_len, moat_error_t *err);

/* Forget name's sandbox (after rm / update): kills its process and lifts a
 * quarantine. */
void ext_sandbox_forget (const char *name);

/* {"state": "idle"|"running"|"backoff"|"quarantined", "failures": N,
 *  "restarts": N, "last_error": "..."} for ls, or NULL when name has no
 * sandbox started or failed since moatd started ("idle" is then shown). */
json_t *ext_sandbox_status (const char *name);

/* The grants of an install: what the extension requested, cut down to what
 * the administrator pinned (pinned NULL: all requested scopes are granted;
 * otherwise a scope absent from pinned is not granted, and request.urls /
 * docker.commands are intersected).  New reference. */
json_t *ext_sandbox_grants (const json_t *requested, const json_t *pinned);

/* Check requestedScopes: known scope names and shapes; problems named
 * under "moat.sandbox.requestedScopes". Returns 0 or -1 with problems. */
struct ext_problems;
int ext_sandbox_scopes_check (const json_t *scopes,
                              struct ext_problems *probs);

#endif
