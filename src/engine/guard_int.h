/* The engine guard's internals, shared by its files: guard.c (the loop
 * and connections) and guard_checks.c (the check workers).  Not for other
 * modules: engine/guard.h is the guard's interface. */
#ifndef MOAT_ENGINE_GUARD_INT_H
#define MOAT_ENGINE_GUARD_INT_H

#include <llhttp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "engine/archive.h"
#include "io/buf.h"
#include "io/loop.h"
#include "io/relay.h"
#include "engine/gate.h"
#include "engine/guard.h"
#include "engine/imgpend.h"
#include "engine/request.h"
#include "engine/route.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* Check jobs that are not route ops: a filtered socket's peer, checked
 * before anything is read from it. */
#define JOB_PEER (-1)
/* a build's base images, looked up for ONBUILD triggers (guard_build.c) */
#define JOB_BUILD_BASES (-2)
/* image names a finished request bound, to record (guard_prov.c) */
#define JOB_IMG_NOTE (-3)
/* the registry a filtered socket's request makes the engine reach
 * (guard_regpol.c) */
#define JOB_REGISTRY (-4)

#define READ_CHUNK (64 * 1024)
#define HIGH_WATER (256 * 1024)
#define MAX_PENDING 32

/* One listening socket; connections accepted on it inherit its flags. */
struct listener
{
  struct engine_guard *g;
  int id;
  struct io_handle h; /* IO_LISTEN */
  bool command_list;
  struct io_grave grave;
  struct listener *next;
};

/* Listener changes asked for by other threads, applied by the loop. */
struct listener_op
{
  bool add;
  int id;
  int fd;
  bool command_list;
  struct listener_op *next;
};

enum req_state
{
  RS_HEAD,        /* reading a request head */
  RS_FORWARD,     /* streaming the body to the engine */
  RS_COLLECT,     /* collecting a JSON body to check */
  RS_DISCARD,     /* dropping the body of a refused request */
  RS_WAIT_HIJACK, /* attach/exec sent: wait for the engine's answer */
  RS_WAIT_LOCAL,  /* a local answer waits for earlier responses */
  RS_PARKED,      /* a collected body is being checked off the loop */
  RS_CLOSED,      /* no further requests on this connection */
};

struct pending
{
  bool head;
  bool hijack;
  /* image names it binds (engine/imgprov.h, guard_prov.c) */
  int prov;                /* enum engine_image_prov */
  char *prov_names;        /* '\n'-separated, malloc'd */
  uint64_t prov_token;     /* its names in g->inflight (imgpend.h), or 0 */
  int status;              /* the answer's */
  struct io_buf prov_body; /* a load's or pull's answer, unscanned tail */
  struct io_buf prov_keep; /* its lines the record needs */
};

struct check_job;
struct build_scan;

struct conn
{
  struct engine_guard *g;
  struct check_job *job; /* while RS_PARKED */
  struct conn *prev, *next;
  struct io_handle hc; /* the client (IO_CLIENT) */
  struct io_handle hu; /* the engine (IO_UPSTREAM); fd -1 until connected */
  struct io_grave grave;
  struct io_timer head_timer; /* armed while a begun head is incomplete */
  struct ucred cred;
  /* whom its requests act for: the peer, or on a filtered socket who
   * created the socket's container (engine_peer_fn) */
  uid_t caller_uid;
  gid_t caller_gid;
  int listener_id;
  bool command_list; /* apply eci.commandList (filtered socket) */

  /* client -> engine */
  struct engine_req req;
  enum req_state rs;
  struct io_buf cin; /* read from the client, not yet parsed */
  const struct engine_route *route;
  bool chunked_out;       /* re-framing a chunked body to the engine */
  struct io_buf head_out; /* re-serialised head (RS_COLLECT) */
  struct io_buf body;     /* collected body */
  bool body_too_big;
  int op;           /* route op being collected or checked */
  bool eci_on;      /* ECI applied to the current request */
  bool starts;      /* a start or restart whose image is checked first */
  char *container;  /* name= of a create */
  char *archive;    /* container of a checked docker cp, as requested */
  char version[16]; /* /vX.Y of the current request-URI, or "" */
  char *query;      /* its query, or NULL */
  char *registry;   /* the registry it makes the engine reach, or NULL */
  unsigned registry_port;
  struct io_buf local; /* local answer waiting (RS_WAIT_LOCAL/DISCARD) */
  bool local_close;    /* close after the local answer */
  enum req_state after_local;
  struct io_buf uout; /* to the engine */
  bool cin_eof;
  bool ushut_done;

  /* engine -> client */
  llhttp_t resp;
  struct pending pend[MAX_PENDING];
  size_t pend_head, pend_n;
  bool resp_informational;
  char resp_hname[32];
  size_t resp_hname_len;
  bool resp_in_ct;
  char resp_ct[96];
  size_t resp_ct_len;
  bool resp_in_value;
  bool resp_mid;  /* inside an engine answer (begun, not complete) */
  bool resp_keep; /* the engine's last answer keeps its connection open */
  /* The engine connection carried a hijack or an upgrade: never handed
   * to another client (guard_pool_put) */
  bool hu_taint;
  /* the client finished cleanly (guard_conn_update): the engine
   * connection may go back to the pool (guard_engine_reusable_p) */
  bool hu_reuse;
  struct io_buf cout; /* to the client */
  bool uin_eof;
  bool cshut_done;
  bool raw; /* hijacked: bytes flow both ways unparsed */
  /* A raw stream is handed to src/io's splice relay (a: the client, b:
   * the engine); the bytes buffered before the hijack go first. */
  struct io_relay relay;
  bool relaying;
  bool close_when_flushed;
  bool dead;
  bool closed;   /* handles closed, memory freed after the batch */
  bool kick;     /* run the parser even with no new bytes (it may complete a
                    message without consuming input) */
  bool gate_cut; /* the gate no longer serves its caller: closed */
  /* a build's context under ECI (guard_build.c): scanned as it is relayed;
   * bheld: body bytes not yet released to the engine */
  struct build_scan *bscan;
  struct io_buf bheld;
  uint64_t bfed, bsent;
};

/* A collected body's check, run by a worker thread: a socket-mount
 * decision may wait seconds for the engine and a registry, and the loop
 * must keep serving everyone else meanwhile. */
struct check_job
{
  struct engine_guard *g;
  struct conn *c; /* NULL once the connection is gone (under g->jmu) */
  int op;         /* a route op, or JOB_PEER */
  char *body;
  size_t len;
  bool eci;         /* ECI applies (else a create only gets its labels) */
  uid_t caller_uid; /* in: a create's caller; out: JOB_PEER's */
  gid_t caller_gid;
  struct ucred cred;   /* JOB_PEER */
  int pidfd;           /* JOB_PEER, or -1 */
  int listener_id;     /* JOB_PEER */
  char *name;          /* ROUTE_OP_ARCHIVE: the container as requested;
                          JOB_IMG_NOTE: the names;
                          JOB_REGISTRY: the registry host */
  int prov;            /* JOB_IMG_NOTE: enum engine_image_prov */
  bool detached;       /* JOB_IMG_NOTE: runs with no connection */
  bool starts;         /* start, restart: the image is re-checked */
  bool prov_counted;   /* JOB_IMG_NOTE: in g->prov_inflight */
  uint64_t prov_token; /* JOB_IMG_NOTE: dropped from g->inflight after */
  unsigned port;       /* JOB_REGISTRY */
  int r;               /* results */
  struct eci_verdict v;
  char *out; /* the body to send; ROUTE_OP_ARCHIVE: the container's id */
  size_t out_len;
  struct check_job *next;
};

#define N_WORKERS 4

struct engine_guard
{
  struct engine_guard_config cfg;
  /* Check workers: a queue of jobs (jq), finished ones for the loop
   * (jdone, announced by io_loop_wake).  Workers hold pol_rw for reading while
   * they use the policy, so engine_guard_set_policy() waits for them,
   * never the loop. */
  pthread_mutex_t jmu;
  pthread_cond_t jcv;
  struct check_job *jq, *jq_tail, *jdone;
  /* image name records queued, not yet written (under jmu): a create
   * check waits for them (guard_prov_wait) */
  unsigned prov_inflight;
  pthread_cond_t prov_cv;
  /* non-root bindings sent whose answer was not seen (imgpend.h) */
  struct engine_image_pending inflight;
  pthread_t workers[N_WORKERS];
  int n_workers;
  bool jstop;
  pthread_rwlock_t pol_rw;
  bool sync_checks;  /* engine_guard_feed: check on the caller's thread */
  size_t head_limit; /* engine_guard_feed_ex: limit of head_out */
  char *engine_path;
  char *listen_path;
  struct io_loop *loop;       /* wake: listener ops and finished checks */
  struct io_timer tick;       /* 1 s: engine pool retry */
  struct io_pipe_pool pipes;  /* of the relays of hijacked streams */
  struct listener *listeners; /* loop-owned */
  struct listener_op *ops;    /* under mu */
  int next_listener_id;       /* under mu */
  pthread_mutex_t mu;
  const struct policy *pol;
  const struct engine_gate *gate; /* under mu; NULL: no sign-in gate */
  bool gate_changed; /* under mu: the loop re-judges open connections */
  pid_t self;        /* this process: moatd's own calls */
  struct conn *conns;
  size_t n_conns;
  llhttp_settings_t resp_settings;
  /* pre-connected engine connections (guard_pool.c) */
  int pool[ENGINE_GUARD_POOL_MAX];
  unsigned pool_n, pool_max;
  bool pool_hold; /* connecting failed: wait for the timer */
};

/* guard.c: connections */
int guard_set_nonblock (int fd);
/* A connection on fd, registered with mask (0: not registered); NULL:
 * fd stays the caller's. */
struct conn *guard_conn_new (struct engine_guard *g, int fd, uint32_t mask);
void guard_conn_link (struct conn *c);
/* Read what a just accepted client sent already, and act on it. */
void guard_conn_first_read (struct conn *c);
/* Close both sockets now; the memory goes after the epoll batch. */
void guard_conn_close (struct conn *c);
void guard_conn_free (struct conn *c);
/* Flush, apply half-closes, decide whether the connection is over, and
 * set the epoll interest of both sockets. */
void guard_conn_update (struct conn *c);
/* Feed buffered client bytes to the parser while the state allows. */
void guard_process_client (struct conn *c);
/* Bytes from the engine: track response framing, queue them for the
 * client. */
void guard_engine_bytes (struct conn *c, const char *tmp, size_t n);
void guard_engine_readable (struct conn *c);
void guard_audit (struct conn *c, const char *rule, const char *outcome,
                  const char *detail, const char *image);
/* Queue a local answer: sent now if nothing is outstanding on the engine
 * side (guard_emit_local), else after the engine's responses. */
void guard_local_answer (struct conn *c, int status, const char *message,
                         bool close);
void guard_emit_local (struct conn *c);
/* Refuse the current request: answer once its body is consumed. */
void guard_refuse (struct conn *c, int status, const char *message,
                   bool close);
/* A request that cannot be written whole: 500, then close. */
void guard_refuse_unwritable (struct conn *c);
/* Send the checked head (c->head_out, without framing), then the body. */
void guard_forward_head (struct conn *c);
int guard_push_pending (struct conn *c, bool hijack);

/* guard_checks.c: the loop's side of checks */
/* The collected body is complete: park c and check it, or answer 413. */
void guard_handle_collected (struct conn *c);
/* A non-root caller's docker cp: check the container first. */
void guard_start_archive_check (struct conn *c);
/* A filtered socket's new connection: check its peer first. */
void guard_start_peer_check (struct conn *c, int listener_id);
/* Run j for c on a worker, c parked meanwhile. */
void guard_submit_job (struct conn *c, struct check_job *j);
/* guard_regpol.c: a filtered socket's registry requests */
void guard_start_registry_check (struct conn *c);
void guard_registry_run (struct engine_guard *g, struct check_job *j);
void guard_registry_finish (struct conn *c, struct check_job *j);
/* Apply the finished checks (on the loop's wake). */
void guard_resume_checked (struct engine_guard *g);

/* guard_build.c: a build's context, scanned for ADD <URL> on its way */
/* Start scanning the current request's body (a build under ECI). */
int guard_build_start (struct conn *c);
/* Body bytes of a scanned build (RS_FORWARD): held, scanned, released. */
int guard_build_body (struct conn *c, const char *at, size_t len);
/* The body is complete: release the rest (0), refuse (-1: the engine
 * connection is cut and the refusal is c->local), or park c while its
 * base images are looked up (1: guard_build_bases_finish ends the
 * request). */
int guard_build_end (struct conn *c);
/* JOB_BUILD_BASES: the lookup (a worker) and its end (the loop) */
void guard_build_bases_run (struct engine_guard *g, struct check_job *j);
void guard_build_bases_finish (struct conn *c, struct check_job *j);
void guard_build_clear (struct conn *c);

/* guard_resp.c: the response parser's settings */
void guard_resp_settings (llhttp_settings_t *s);

/* guard_listen.c */
/* A listening unix socket at path (a stale socket is replaced). */
int guard_make_listener (const char *path, moat_error_t *err);
int guard_listener_start (struct engine_guard *g, int id, int fd,
                          bool command_list);
/* Apply the listener changes other threads queued, in order. */
void guard_apply_listener_ops (struct engine_guard *g);
/* Accept what a listener has. */
void guard_accept_clients (struct engine_guard *g, struct listener *l);

/* guard_pool.c: pre-connected engine connections */
/* A new connection to the engine at path (non-blocking), or -1. */
int guard_engine_dial (const char *path);
/* An engine connection for a client connection: a pooled one, else a new
 * one; -1 with errno. */
int guard_pool_take (struct engine_guard *g);
/* Top the pool up (the loop, before it waits) once it is half empty. */
void guard_pool_fill (struct engine_guard *g);
/* Whether c's engine connection is idle at an answer's end, so that
 * another client connection may use it (guard_pool_put). */
bool guard_engine_reusable_p (const struct conn *c);
/* An idle engine connection back into the pool (closed if it is full). */
void guard_pool_put (struct engine_guard *g, int fd);
void guard_pool_free (struct engine_guard *g);

/* guard_checks.c */
void guard_job_free (struct check_job *j);

/* guard_prov.c: image name provenance of forwarded requests */
int guard_prov_mark (struct conn *c, struct pending *pe);
int guard_prov_namer (void *ctx, const char *name, const char *id,
                      uid_t caller, uid_t *other);
void guard_prov_body (struct conn *c, const char *at, size_t len);
void guard_prov_done (struct conn *c, struct pending *pe);
void guard_prov_clear (struct pending *pe);
void guard_prov_run (struct engine_guard *g, struct check_job *j);
int guard_prov_wait (struct engine_guard *g);
/* Run j's check now, on the calling thread (a worker, or the caller with
 * sync_checks). */
void guard_checks_run (struct engine_guard *g, struct check_job *j);
/* Queue j for a worker; it comes back through guard_checks_take_done
 * (announced by io_loop_wake). */
void guard_checks_enqueue (struct engine_guard *g, struct check_job *j);
/* The finished jobs, oldest first. */
struct check_job *guard_checks_take_done (struct engine_guard *g);
/* Start the workers from the loop's thread (they share its namespaces);
 * with none, checks run on the loop (sync_checks). */
void guard_checks_start (struct engine_guard *g);
void guard_checks_stop (struct engine_guard *g);

#endif
