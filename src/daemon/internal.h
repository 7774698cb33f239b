/* Private to src/daemon: the moatd structure shared by its files. */
#ifndef MOAT_DAEMON_INTERNAL_H
#define MOAT_DAEMON_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "daemon.h"
#include "policy/policy.h"
#include "policy/signin.h"
#include "engine/guard.h"
#include "net/guard.h"
#include "pac/engine.h"
#include "audit_export.h"
#include "snapshot.h"

enum source_kind
{
  SRC_LISTEN,
  SRC_CLIENT,
  SRC_INOTIFY,
  SRC_SIGNAL,
  SRC_TIMER,
  SRC_AUDIT,
  SRC_WEB,    /* the dashboard's I/O core loop (web_role.c) */
  SRC_EXT,    /* extension sandbox calls done (ext_role.c) */
  SRC_SIGNIN, /* the sign-in worker's results (signin_role.c) */
};

struct source
{
  enum source_kind kind;
};

struct client
{
  struct source src; /* first: epoll data points here */
  int fd;
  uid_t uid;
  pid_t pid;
  char *in;
  size_t in_len, in_cap;
  char *out;
  size_t out_len, out_off;
  bool follow;         /* `moat audit --follow` */
  bool closing;        /* close once out is flushed */
  bool dead;           /* closed; freed after the current epoll batch */
  bool eof;            /* the peer half-closed: serve what is buffered */
  bool throttled;      /* its uid is out of tokens: not read meanwhile */
  bool waiting;        /* its request is with a worker: neither read nor
                          served, nor freed, until moatd_client_resume */
  int64_t last_req_ms; /* monotonic; accept or last request served */
  struct client *next;
};

/* Control-socket limits (clients.c; docs/settings.md). */
#define CTL_MAX_CLIENTS 256
#define CTL_ROOT_RESERVE 32 /* of CTL_MAX_CLIENTS, only root may use */
#define CTL_UID_MAX 16      /* connections per non-root uid */
#define CTL_IDLE_MS 10000   /* without a complete request: closed */
#define CTL_RATE 50         /* requests a second per non-root uid */
#define CTL_BURST 100

/* A non-root uid's request tokens, in thousandths. */
struct ctl_bucket
{
  uid_t uid;
  int64_t milli;
  int64_t at_ms; /* monotonic time of the last refill */
};

/* What a file looked like, to tell a real change from a repeated event. */
struct file_sig
{
  bool present;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime, ctime;
  mode_t mode;
  uid_t uid;
  gid_t gid;
};

struct queued_audit
{
  struct audit_record rec;
  char *strs[6]; /* owned copies of the record's strings */
  struct queued_audit *next;
};

struct moatd
{
  const struct moat_paths *paths;
  struct moatd_config cfg;
  char *engine_sock;
  struct moat_state *state;

  struct policy_admin *admin;
  struct policy_snap_holder snaps; /* what role threads acquire */
  struct policy_snap *snap;        /* the main thread's reference */
  const struct policy *policy;     /* = policy_snap_get (snap) */
  struct file_sig admin_sig;
  char *policy_error; /* why the last change was refused; NULL if none */
  int64_t policy_loaded_ms;

  struct signin_policy signin;   /* last valid sign-in policy */
  struct file_sig signin_sig[2]; /* moat's registry.json, Docker's */
  char *signin_error;            /* why the last change was refused */
  int64_t started_ms;
  int64_t audit_pruned_ms;

  int epfd, listen_fd, inotify_fd, signal_fd, timer_fd, audit_efd;
  struct source src_listen, src_inotify, src_signal, src_timer, src_audit;
  bool stop;

  pthread_mutex_t audit_mu;
  struct queued_audit *audit_head, *audit_tail;

  struct client *clients;
  struct ctl_bucket buckets[2 * CTL_MAX_CLIENTS];
  size_t n_buckets;

  /* The engine guard role (guard_role.c, opaque); guard is its running
   * guard, to which the socket exceptions add listeners. */
  struct guard_role *guard_role;
  struct engine_guard *guard;
  struct sockex_role *sockex; /* sockex_role.c */

  /* The net guard role, opaque outside net_role.c (NULL until
   * moatd_net_start). */
  struct net_role *netr;

  struct fleet_role *fleet; /* fleet_role.c; NULL before moatd_fleet_start */
  struct signin_role *signin_role; /* sessions and the gate, signin_role.c */
  /* The dashboard (web_role.c, opaque); web_error says why it is not
   * served when it should be. */
  struct web_role *web;
  char *web_error;
  struct audit_export *export; /* audit_export.c: syslog / journal copies */
};

int64_t moatd_now_ms (void);

/* reload.c */
int moatd_policy_init (struct moatd *d, moat_error_t *err);
void moatd_policy_check (struct moatd *d, bool force);
int moatd_policy_rebuild (struct moatd *d, moat_error_t *err);
int moatd_signin_init (struct moatd *d, moat_error_t *err);
void moatd_signin_check (struct moatd *d, bool force);

/* ext_role.c: extension.* control requests (NULL: answered later, from
 * moatd_ext_drain) and the extension sandboxes. */
int moatd_ext_start (struct moatd *d, moat_error_t *err);
void moatd_ext_drain (struct moatd *d);
void moatd_ext_stop (struct moatd *d);
json_t *moatd_ext_request (struct moatd *d, struct client *c, const char *cmd,
                           json_t *req);

/* guard_role.c */
int moatd_guard_start (struct moatd *d, moat_error_t *err);
void moatd_guard_policy (struct moatd *d);
void moatd_guard_stop (struct moatd *d);

/* sockex_role.c: the socket-mount hook (an eci_socket_mount_fn, ctx =
 * the moatd) and the filtered sockets' life cycle. */
int moatd_sockex_start (struct moatd *d, moat_error_t *err);
int moatd_sockex_hook (void *ctx, const struct policy *pol, const char *image,
                       const char *host_path, char **replace, char **image_id,
                       char **message);
/* The guard's peer check of the filtered sockets (an engine_peer_fn, ctx =
 * the moatd): only processes of a container that mounts the socket. */
/* engine_registry_fn of the filtered sockets (regpol_role.c) */
int moatd_registry_check (void *ctx, int listener_id, const char *host,
                          unsigned port, char **message);
int moatd_sockex_peer (void *ctx, int listener_id, const struct ucred *cred,
                       int pidfd, uid_t *caller_uid, gid_t *caller_gid,
                       char **message);
void moatd_sockex_restore (struct moatd *d); /* after the guard exists */
void moatd_sockex_stop (struct moatd *d);

/* net_role.c */
int moatd_net_start (struct moatd *d, moat_error_t *err);
int moatd_net_policy (struct moatd *d, moat_error_t *err);
int moatd_net_remove_rules (struct moatd *d, moat_error_t *err);
const char *moatd_net_pac_problem (struct moatd *d, char *buf, size_t len);
void moatd_net_stop (struct moatd *d);
/* The net guard runs (for `moat status`). */
bool moatd_net_running_p (const struct moatd *d);
struct pac_engine;
/* The net guard's PAC engine (NULL when it does not run): thread-safe,
 * for a worker's decision (ext_role.c, sandbox requests). */
struct pac_engine *moatd_net_pac (const struct moatd *d);
void moatd_pac_refresh (struct moatd *d);

/* fleet_role.c (docs/fleet.md) */
int moatd_fleet_start (struct moatd *d, moat_error_t *err);
bool moatd_fleet_in_force_p (const struct moatd *d);
void moatd_fleet_kick (struct moatd *d); /* fetch now (reload, SIGHUP) */
void moatd_fleet_poll (struct moatd *d); /* apply a result; main thread */
json_t *moatd_fleet_status (struct moatd *d);
const char *moatd_fleet_problem (const struct moatd *d);
void moatd_fleet_stop (struct moatd *d);
/* signin_role.c: sign-in sessions and the gate they publish to the
 * engine guard (docs/signin.md).  Main thread only. */
int moatd_session_start (struct moatd *d, moat_error_t *err);
/* Hand the guard a gate built from the sessions and allowedOrgs. */
void moatd_session_publish (struct moatd *d);
/* Re-check every session's organisations in the directory now (policy
 * reload); sign out those no longer in an allowed organisation. */
void moatd_session_check (struct moatd *d);
/* From the periodic timer: expiry, and the check every 15 minutes. */
void moatd_session_tick (struct moatd *d);
/* The directory work (sign-in, check) runs on a worker thread; its
 * results are applied here when SRC_SIGNIN is readable. */
void moatd_session_results (struct moatd *d);
/* While a check is under way: answer c with reply when it is done (true;
 * reply is taken).  false: no check under way, reply stays the caller's. */
bool moatd_session_reply_after_check (struct moatd *d, struct client *c,
                                      json_t *reply);
/* signin.login, signin.logout, signin.whoami; NULL for another cmd,
 * json_null () when the reply comes later (moatd_client_resume). */
json_t *moatd_session_request (struct moatd *d, struct client *c,
                               const char *cmd, json_t *req);
/* The gate's refusal of uid now (its text, valid until the next publish),
 * or NULL when the gate serves uid: for engine work moatd does on a
 * caller's behalf (extensions). */
const char *moatd_session_gate_refusal (struct moatd *d, uid_t uid);
/* A problem of the last check (directory unavailable), or NULL. */
const char *moatd_session_problem (const struct moatd *d);
void moatd_session_stop (struct moatd *d); /* after the guard stopped */

/* control.c */
void moatd_handle_request (struct moatd *d, struct client *c, json_t *req);
/* The `status` reply, and `settings.set` as uid (pid -1: unknown): the
 * control socket and the dashboard share them. */
json_t *moatd_status_json (struct moatd *d);
json_t *moatd_settings_set (struct moatd *d, uid_t uid, pid_t pid,
                            const char *key, const char *text);

/* web_role.c: the dashboard. */
int moatd_web_start (struct moatd *d, moat_error_t *err);
void moatd_web_turn (struct moatd *d); /* its loop's fd is readable */
void moatd_web_tick (struct moatd *d); /* periodic */
void moatd_web_audit (struct moatd *d, json_t *rec);
json_t *moatd_web_ticket (struct moatd *d, uid_t uid);
json_t *moatd_web_status (struct moatd *d);
void moatd_web_stop (struct moatd *d);

/* clients.c: the control socket's connections. */
void moatd_client_send (struct moatd *d, struct client *c, json_t *msg);
/* c's request went to a worker: c is neither read nor served (nor freed)
 * until moatd_client_resume, which sends reply (unless c was closed
 * meanwhile) and serves c again. */
void moatd_client_wait (struct moatd *d, struct client *c);
void moatd_client_resume (struct moatd *d, struct client *c, json_t *reply);
void moatd_client_event (struct moatd *d, struct client *c, uint32_t events);
void moatd_clients_accept (struct moatd *d);
/* After each epoll batch: serve buffered requests fairly, free the dead. */
void moatd_clients_turn (struct moatd *d);
/* epoll_wait's timeout: 0 while requests wait, a token's time while a
 * uid is throttled, else -1. */
int moatd_clients_wait_ms (struct moatd *d);
/* From the periodic timer: close idle connections. */
void moatd_clients_idle (struct moatd *d);
void moatd_clients_close_all (struct moatd *d);

/* audit.c */
void moatd_audit_record (struct moatd *d, struct audit_record *r);
void moatd_audit_drain (struct moatd *d);

void file_sig_read (const char *path, struct file_sig *sig);
bool file_sig_equal (const struct file_sig *a, const struct file_sig *b);

#endif
