/* The dashboard's HTTP side (docs/dashboard.md): a loopback-only HTTP/1.1
 * server on the I/O core (io/loop.h), requests parsed by llhttp.
 *
 * Every request must name this server in Host (127.0.0.1:PORT,
 * localhost:PORT or <name>.ext.localhost:PORT; anything else is 421: the
 * DNS rebinding defence).  Pages and data need a session cookie, bound to
 * the uid that asked moatd for the ticket and checked against the uid that
 * owns the browser's socket.  A state-changing request (POST) needs the
 * session, an Origin equal to http://<Host>, and a JSON body.
 *
 * The server knows nothing of moatd: what it shows comes from the owner's
 * callbacks (struct web_ops), all called on the loop's thread.  Errors
 * follow common/error.h; nothing here exits. */
#ifndef MOAT_WEB_WEB_H
#define MOAT_WEB_WEB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "io/loop.h"

#define WEB_DEFAULT_PORT 7979
#define WEB_MAX_HEAD (16 * 1024) /* request line + headers: 431 past it */
#define WEB_MAX_BODY (16 * 1024) /* a request body: 413 past it */
#define WEB_MAX_CONNS 512        /* accepted beyond: closed at once */
/* per peer uid (connections whose uid is not known count as one uid):
 * one local user cannot take every connection and lock the others out */
#define WEB_MAX_CONNS_PER_UID 64
#define WEB_MAX_FOLLOWERS 256            /* audit streams at once */
#define WEB_REQ_DEADLINE_MS 10000        /* a begun request must be complete */
#define WEB_IDLE_MS 30000                /* keep-alive without a request */
#define WEB_STREAM_BUF (1024 * 1024)     /* a slow follower past it: dropped */
#define WEB_MAX_REPLY (16 * 1024 * 1024) /* queued answers of a connection */

/* What the dashboard shows; every call returns a new reference (NULL: the
 * request gets 500).  uid is the session's. */
struct web_ops
{
  void *ctx;
  json_t *(*status) (void *ctx);
  json_t *(*settings) (void *ctx);
  /* {"ok":true,...} or {"ok":false,"error":MSG}: `moat settings set`. */
  json_t *(*settings_set) (void *ctx, uid_t uid, const char *key,
                           const char *value);
  json_t *(*containers) (void *ctx);
  /* Newest first: at most limit records with id < before (0: any),
   * component and outcome filters (NULL: any). */
  json_t *(*audit) (void *ctx, int64_t before, int limit,
                    const char *component, const char *outcome);
  /* The records with id > since_id, oldest first (catch-up of a stream). */
  json_t *(*audit_since) (void *ctx, int64_t since_id);
  /* Chart data: {"pool":{...},"ranges":[...],"refusals":[...]}. */
  json_t *(*charts) (void *ctx);

  /* Extensions' UIs (docs/extensions.md, "The UI").  May be NULL: no
   * extension origin is then served. */
  /* [{"name","title","src","generation"}] of the installed UIs. */
  json_t *(*ext_list) (void *ctx);
  /* One of them, or NULL when name has no installed UI. */
  json_t *(*ext_info) (void *ctx, const char *name);
  /* A UI file: 0 with *fd, *size, or -1 with errno (ENOENT, EFBIG). */
  int (*ext_open) (void *ctx, const char *name, const char *rel, int *fd,
                   size_t *size);
  /* An SDK call of name's page by uid, already authenticated: call is
   * {"call","method","path","contentType","body"}.  Returns 0 when queued:
   * the answer then comes with web_ext_reply (w, tag, ...) on the loop's
   * thread; -1 (too many calls in flight) is answered 429 here. */
  int (*ext_call) (void *ctx, uid_t uid, const char *name, json_t *call,
                   uint64_t tag);
  /* A streamed exec call (call has "stream": true; docs/extensions.md,
   * "Streamed exec"): 0 when started, its frames then come with
   * web_ext_stream_push (w, tag, ...); -1 (too many) is answered 429.
   * ext_stream_closed (ctx, tag): the connection went before the last
   * frame (the run is to be cancelled).  May be NULL: not offered. */
  int (*ext_stream) (void *ctx, uid_t uid, const char *name, json_t *call,
                     uint64_t tag);
  void (*ext_stream_closed) (void *ctx, uint64_t tag);
  /* Audit a refused SDK call (outcome "refused"). */
  void (*ext_audit) (void *ctx, uid_t uid, const char *name, const char *call,
                     const char *detail);
};

struct web_config
{
  unsigned port;           /* 0: an ephemeral port (tests) */
  uint64_t ticket_ttl_ms;  /* 0: 60 s */
  uint64_t session_ttl_ms; /* 0: 8 h */
};

struct web;

/* Listen on 127.0.0.1:port and serve on l. */
int web_new (struct io_loop *l, const struct web_config *cfg,
             const struct web_ops *ops, struct web **out, moat_error_t *err);
/* Closes every connection (their memory after the loop's next batch, or
 * now when the loop is not turned again). */
void web_free (struct web *w);
unsigned web_port (const struct web *w);

/* A one-time sign-in URL for uid (http://127.0.0.1:PORT/login?ticket=...):
 * 256 random bits, single use, valid ticket_ttl_ms. */
int web_ticket (struct web *w, uid_t uid, char *url, size_t len,
                moat_error_t *err);

/* A new audit record (its JSON, as state_audit_record_json gives it): sent
 * to every stream follower whose session is still valid. */
void web_audit_push (struct web *w, json_t *rec);
/* Heartbeats and expired-session sweeps; call about every few seconds. */
void web_tick (struct web *w);

size_t web_followers (const struct web *w);

/* The answer to the SDK call tag (web_ops.ext_call): status and a JSON
 * object body (taken).  On the loop's thread; a call whose connection has
 * gone is dropped. */
void web_ext_reply (struct web *w, uint64_t tag, int status, json_t *body);
/* Frames (len bytes of newline-delimited JSON) of the streamed call tag;
 * end: the last ones (the connection then closes once they are sent).
 * -1 when the connection is gone or cannot take them (the caller cancels
 * the run). */
int web_ext_stream_push (struct web *w, uint64_t tag, const char *data,
                         size_t len, bool end);

#endif
