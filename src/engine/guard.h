/* The engine guard: an HTTP/1.1 proxy of the Docker Engine API that applies
 * policy to every request (command list, ECI create checks and rewrites)
 * and forwards everything else byte-faithfully, streams and hijacked
 * connections included.
 *
 * One guard = one event loop (epoll) serving one or more listening
 * sockets, run on the caller's thread by engine_guard_run().  The checks
 * of collected bodies (container and volume create, start) run on worker
 * threads that engine_guard_run() starts from the caller's thread (they
 * share its namespaces); their connection is parked until the verdict is
 * in, every other connection is served meanwhile.  Other threads
 * may call only engine_guard_set_policy(), engine_guard_add_listener(),
 * engine_guard_remove_listener() and engine_guard_stop(). */
#ifndef MOAT_ENGINE_GUARD_H
#define MOAT_ENGINE_GUARD_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "common/error.h"
#include "common/paths.h"
#include "engine/archive.h"
#include "engine/eci.h"
#include "engine/gate.h"
#include "engine/imgprov.h"
#include "engine/xuser.h"
#include "policy/policy.h"

/* Largest request head (request line + headers) accepted: larger gets 431
 * and the connection is closed. */
#define ENGINE_GUARD_MAX_HEAD (64 * 1024)

/* Pre-connected engine connections (engine_guard_config.engine_pool). */
#define ENGINE_GUARD_POOL_DEFAULT 4
#define ENGINE_GUARD_POOL_MAX 32

/* One refusal or rewrite.  Strings are valid during the callback only. */
struct engine_audit_record
{
  struct timespec time; /* CLOCK_REALTIME */
  uid_t uid;            /* caller: SO_PEERCRED on the guarded socket; on a
                           filtered socket, who created its container */
  gid_t gid;
  pid_t pid; /* the peer's pid (SO_PEERCRED) */
  const char *method;
  const char *uri;       /* request-URI as received */
  const char *endpoint;  /* CLI command of the endpoint ("create", "push") */
  const char *container; /* name or id when known, else "" */
  const char *image;     /* image of a create, else "" */
  const char *rule;      /* "commandList", "eci.namespace", "eci.bind",
                            "eci.socket-mount", "eci.runtime", ... */
  const char *outcome;   /* "refused" or "rewritten" */
  const char *detail;    /* refusal message or what was rewritten */
};

/* Called on the guard's thread; must not block for long. */
typedef void (*engine_audit_fn) (void *ctx,
                                 const struct engine_audit_record *rec);

/* Who may use a filtered socket (listener `listener_id`): the peer
 * (SO_PEERCRED; pidfd from SO_PEERPIDFD or -1, valid during the call) must
 * be a process of the container the socket belongs to.  Return 0 to serve
 * it, with *caller_uid / *caller_gid the caller its requests act for (who
 * created that container); -1 to refuse, *message malloc'd (or NULL).
 * Runs on a check worker: may block (bounded); thread-safe. */
typedef int (*engine_peer_fn) (void *ctx, int listener_id,
                               const struct ucred *cred, int pidfd,
                               uid_t *caller_uid, gid_t *caller_gid,
                               char **message);

/* May the engine reach registry host:port for a request on a filtered
 * socket (listener_id)?  host "" : a login, whose server is in the body.
 * Return 0 to forward the request; -1 to refuse it with *message
 * malloc'd (or NULL).  Runs on a check worker: may block (bounded);
 * thread-safe.  See engine/regpol.h. */
typedef int (*engine_registry_fn) (void *ctx, int listener_id,
                                   const char *host, unsigned port,
                                   char **message);

struct engine_guard_config
{
  /* Listening unix stream socket: an fd the caller made (the guard takes
   * ownership), or listen_fd = -1 and a path the guard creates (replacing
   * a stale socket, mode 0660; the caller sets its group). */
  int listen_fd;
  const char *listen_path;
  const char *engine_path;  /* the real engine socket */
  bool command_list;        /* apply eci.commandList on this first listener */
  unsigned head_timeout_ms; /* request head must complete within; 0=10 s */
  unsigned max_conns;       /* 0 = 4096; beyond, new clients are closed */
  /* Engine connections kept opened ahead for new client connections, at
   * most ENGINE_GUARD_POOL_MAX; 0: ENGINE_GUARD_POOL_DEFAULT.  no_pool:
   * none (each client connection connects when its first request is
   * decided). */
  unsigned engine_pool;
  bool no_pool;
  struct eci_config eci; /* copied; the strings must outlive the guard */
  engine_audit_fn audit;
  void *audit_ctx;
  /* Checked on every connection to a listener added with
   * ENGINE_LISTENER_COMMAND_LIST before anything is read from it; NULL:
   * every peer is served as its own caller. */
  engine_peer_fn peer_check;
  void *peer_ctx;
  /* Decides the registry of a pull, push, search, login or distribution
   * request on a listener with ENGINE_LISTENER_COMMAND_LIST before the
   * request goes to the engine; NULL: not checked. */
  engine_registry_fn registry_check;
  void *registry_ctx;
  /* Engine lookups of the docker cp check (engine/archive.h); NULL: a
   * non-root caller's docker cp is refused under ECI. */
  engine_get_fn engine_get;
  void *engine_get_ctx;
  /* A non-root caller's new named volume is made by the guard, labelled
   * as its (engine/xuser.h), with engine_get_ctx; NULL: such a create is
   * refused under ECI. */
  engine_post_fn engine_post;
  /* Image name provenance (engine/imgprov.h): NULL, nothing is recorded
   * and no create is checked for it. */
  engine_image_note_fn image_note;
  engine_image_namer_fn image_namer;
  void *image_ctx;
};

struct engine_guard;

/* Storage for the path lists engine_guard_config_init() points cfg at; it
 * must outlive the guard. */
struct engine_guard_paths
{
  const char *protect[8];
  const char *sockets[4];
};

/* Defaults for moatd: listen on paths->docker_sock, forward to
 * paths->engine_sock, never mount moat's etc/state/run/log directories nor
 * the engine's data and exec roots, treat the engine, guard and control
 * sockets as engine sockets.  Command lists off (the main socket). */
void engine_guard_config_init (struct engine_guard_config *cfg,
                               struct engine_guard_paths *store,
                               const struct moat_paths *paths);

struct engine_guard *engine_guard_new (const struct engine_guard_config *cfg,
                                       moat_error_t *err);

/* Swap the policy (thread-safe).  Until the first call every request but
 * /_ping is answered 503.  When this returns, the guard no longer uses the
 * previous policy: the caller may free it (it waits for the checks in
 * flight that use it, a few seconds at most).  The new one must stay alive
 * until it is replaced or the guard is freed. */
void engine_guard_set_policy (struct engine_guard *g,
                              const struct policy *pol);

/* Swap the sign-in gate (engine/gate.h; thread-safe; NULL: none).  Every
 * request head is checked against it, on every listener, as the
 * connection's caller uid (a filtered socket's caller is who created its
 * container).  When this returns the guard no longer uses the previous
 * table: the caller may free it. */
void engine_guard_set_gate (struct engine_guard *g,
                            const struct engine_gate *gate);

/* Run the event loop until engine_guard_stop().  Returns 0, or -1 on a
 * failure of the loop itself (never because of a client). */
int engine_guard_run (struct engine_guard *g, moat_error_t *err);

/* Flags of engine_guard_add_listener(). */
#define ENGINE_LISTENER_COMMAND_LIST 0x1u /* apply eci.commandList */

/* Serve one more listening unix socket (thread-safe; the guard takes the
 * fd, also on failure).  For the filtered sockets of containers allowed to
 * mount the engine socket: ENGINE_LISTENER_COMMAND_LIST.  Returns an id
 * (> 0) for engine_guard_remove_listener(), or -1.  Takes effect on the
 * loop's next turn. */
int engine_guard_add_listener (struct engine_guard *g, int fd, unsigned flags,
                               moat_error_t *err);

/* Stop serving listener id and close the connections accepted on it
 * (thread-safe).  The caller unlinks the socket path. */
void engine_guard_remove_listener (struct engine_guard *g, int id);

/* Make engine_guard_run() return soon (async-signal-safe: one write). */
void engine_guard_stop (struct engine_guard *g);

/* Close every connection and the listener. */
void engine_guard_free (struct engine_guard *g);

#endif
