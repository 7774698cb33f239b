/* The extensions' UIs in the dashboard (docs/extensions.md, "The UI"):
 * src/web serves the origins; this gives it the installed UIs and runs
 * their SDK calls.  A call to a backend blocks (the engine is asked where
 * the backend runs, then its socket answers when it likes), so calls run
 * on a small pool of worker threads; each result is handed back through
 * the dashboard's I/O loop (io_loop_wake, then ext_ui_drain on moatd's
 * main thread), where it is answered and where the call was audited. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "ext/sandbox.h"
#include "ext/ui.h"
#include "ext_ui.h"
#include "ext_ui_exec.h"

#define WORKERS 4
#define MAX_QUEUED 64 /* calls waiting or running; beyond: 429 */
#define PREFIX "enhanced container isolation: "

struct job
{
  struct job *next;
  uint64_t tag;
  uid_t uid;   /* the token's (signed-in) user */
  json_t *req; /* the call (a deep copy: the worker reads it) */
  char *name, *call, *method, *path, *ctype, *body;
  size_t len;
  /* the result */
  int status;
  json_t *reply;
};

struct ext_ui
{
  struct moatd *d;
  struct io_loop *loop;
  struct web **web; /* the role's server (NULL when not served) */
  char *dir, *engine_sock, *guard_sock;
  pthread_t thr[WORKERS];
  int n_thr;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  struct job *todo, *done; /* under mu */
  size_t in_flight;        /* under mu */
  bool stop;               /* under mu */
};

static struct ext_ui *the; /* one per moatd: the ops' ctx is the moatd */

static void
job_free (struct job *j)
{
  if (j == NULL)
    return;
  free (j->name);
  free (j->call);
  free (j->method);
  free (j->path);
  free (j->ctype);
  free (j->body);
  json_decref (j->req);
  json_decref (j->reply);
  free (j);
}

/* (worker) The answer of a vm.service call: {status, contentType, body},
 * or 502 when the body (of whose: "the backend's") is not UTF-8 text. */
static void
route_reply (struct job *j, int status, const char *ctype, const char *buf,
             size_t len, const char *whose)
{
  json_t *body = json_stringn (buf, len);

  if (body == NULL)
    {
      j->status = 502;
      j->reply = ext_ui_message (
          PREFIX "extension %s: %s answer is not UTF-8 text", j->name, whose);
      return;
    }
  j->status = 200;
  j->reply = json_pack ("{s:i, s:s, s:o}", "status", status, "contentType",
                        ctype, "body", body);
}

/* (worker) A route of the extension's sandboxed backend code
 * (src/ext/sandbox.h): /sandbox/PATH goes to its route PATH. */
static void
sandbox (struct job *j)
{
  moat_error_t err = NULL;
  cleanup_free char *rest = NULL;
  char *reply = NULL;
  size_t len = 0;
  int status = 0;

  if (asprintf (&rest, "%s%s", j->path[8] == '/' ? "" : "/", j->path + 8) < 0)
    {
      rest = NULL;
      j->status = 500;
      j->reply = ext_ui_message ("out of memory");
      return;
    }
  /* as the signed-in user: its docker scope has that user's rights */
  if (ext_sandbox_call (j->name, j->method, rest, j->body, j->len, j->uid,
                        &status, &reply, &len, &err)
      < 0)
    {
      j->status = moat_error_status (&err) == ENOENT ? 404 : 502;
      j->reply = ext_ui_message (PREFIX "extension %s: %s", j->name,
                                 j->status == 404 ? "no sandboxed backend code"
                                                  : moat_error_msg (&err));
      moat_error_release (&err);
      return;
    }
  route_reply (j, status, "", reply, len, "the route's");
  free (reply);
}

/* (worker) Run one call. */
static void
run (struct ext_ui *u, struct job *j)
{
  struct ext_ctx c = {
    .engine_sock = u->engine_sock,
    .guard_sock = u->guard_sock,
    .dir = u->dir,
  };
  struct ext_reply r = { 0 };
  moat_error_t err = NULL;

  if (strcmp (j->call, "vm.service") != 0)
    {
      struct ext_ui_exec_ctx x = {
        .dir = u->dir,
        .engine_sock = u->engine_sock,
        .guard_sock = u->guard_sock,
      };
      ext_ui_exec_run (&x, j->uid, j->name, j->call, j->req, NULL, &j->status,
                       &j->reply);
      return;
    }
  if (strcmp (j->path, "/sandbox") == 0
      || strncmp (j->path, "/sandbox/", 9) == 0
      || strncmp (j->path, "/sandbox?", 9) == 0)
    {
      sandbox (j);
      return;
    }
  if (ext_backend_call (&c, j->name, j->method, j->path, j->ctype, j->body,
                        j->len, EXT_CALL_TIMEOUT_MS, &r, &err)
      < 0)
    {
      j->status = 502;
      j->reply = ext_ui_message (PREFIX "extension %s: %s", j->name,
                                 moat_error_msg (&err));
      moat_error_release (&err);
      return;
    }
  route_reply (j, r.status, r.ctype, r.body, r.len, "the backend's");
  ext_reply_free (&r);
}

static void *
worker (void *arg)
{
  struct ext_ui *u = arg;
  pthread_mutex_lock (&u->mu);
  for (;;)
    {
      struct job *j;
      while (!u->stop && u->todo == NULL)
        pthread_cond_wait (&u->cond, &u->mu);
      if (u->stop)
        break;
      j = u->todo;
      u->todo = j->next;
      pthread_mutex_unlock (&u->mu);
      run (u, j);
      pthread_mutex_lock (&u->mu);
      j->next = u->done;
      u->done = j;
      io_loop_wake (u->loop);
    }
  pthread_mutex_unlock (&u->mu);
  return NULL;
}

/* ---- the ops (moatd's main thread) ---- */

static void
audit (struct moatd *d, uid_t uid, const char *name, const char *outcome,
       const char *detail)
{
  char ep[96];
  struct audit_record r = {
    .component = "extensions",
    .caller_uid = uid == (uid_t)-1 ? -1 : (int64_t)uid,
    .caller_pid = -1,
    .endpoint = ep,
    .container = name,
    .rule = "extension.call",
    .outcome = outcome,
    .detail = detail,
  };
  snprintf (ep, sizeof ep, "%s.ext.localhost", name);
  moatd_audit_record (d, &r);
}

static json_t *
op_ext_list (void *ctx)
{
  (void)ctx;
  return the != NULL ? ext_ui_list (the->dir) : json_array ();
}

static json_t *
op_ext_info (void *ctx, const char *name)
{
  (void)ctx;
  return the != NULL ? ext_ui_info (the->dir, name) : NULL;
}

static int
op_ext_open (void *ctx, const char *name, const char *rel, int *fd,
             size_t *size)
{
  (void)ctx;
  if (the == NULL)
    {
      errno = ENOENT;
      return -1;
    }
  return ext_ui_open (the->dir, name, rel, fd, size);
}

static void
op_ext_audit (void *ctx, uid_t uid, const char *name, const char *call,
              const char *detail)
{
  cleanup_free char *m = NULL;
  if (asprintf (&m, "%s: %s", call, detail) < 0)
    m = NULL;
  audit (ctx, uid, name, "refused", m ? m : detail);
}

static char *
dup_str (json_t *o, const char *key, const char *dflt)
{
  const char *s = json_string_value (json_object_get (o, key));
  return strdup (s != NULL ? s : dflt);
}

static int
op_ext_call (void *ctx, uid_t uid, const char *name, json_t *call,
             uint64_t tag)
{
  struct moatd *d = ctx;
  struct ext_ui *u = the;
  struct job *j;
  json_t *b = json_object_get (call, "body");
  cleanup_free char *detail = NULL;
  int n;

  if (u == NULL || (j = calloc (1, sizeof *j)) == NULL)
    return -1;
  j->tag = tag;
  j->uid = uid;
  j->req = json_deep_copy (call);
  j->name = strdup (name);
  j->call = dup_str (call, "call", "");
  j->method = dup_str (call, "method", "GET");
  j->path = dup_str (call, "path", "/");
  j->ctype = json_string_value (json_object_get (call, "contentType"))
                 ? dup_str (call, "contentType", "")
                 : NULL;
  if (json_is_string (b))
    {
      j->len = json_string_length (b);
      j->body = malloc (j->len + 1);
      if (j->body != NULL)
        memcpy (j->body, json_string_value (b), j->len + 1);
    }
  else if (b != NULL && !json_is_null (b))
    {
      j->body = json_dumps (b, JSON_COMPACT | JSON_ENCODE_ANY);
      j->len = j->body ? strlen (j->body) : 0;
      if (j->ctype == NULL)
        j->ctype = strdup ("application/json");
    }
  if (j->req == NULL || j->name == NULL || j->call == NULL || j->method == NULL
      || j->path == NULL
      || (b != NULL && !json_is_null (b) && j->body == NULL))
    {
      job_free (j);
      return -1;
    }
  pthread_mutex_lock (&u->mu);
  if (u->in_flight >= MAX_QUEUED)
    {
      pthread_mutex_unlock (&u->mu);
      audit (d, uid, name, "refused", "too many SDK calls in flight");
      job_free (j);
      return -1;
    }
  u->in_flight++;
  j->next = u->todo;
  u->todo = j;
  pthread_cond_signal (&u->cond);
  pthread_mutex_unlock (&u->mu);
  if (strcmp (j->call, "vm.service") == 0)
    n = asprintf (&detail, "%s %s %.200s", j->call, j->method, j->path);
  else
    {
      cleanup_free char *args
          = json_dumps (json_object_get (j->req, "args"), JSON_COMPACT);
      const char *cmd
          = json_string_value (json_object_get (j->req, "command"));
      n = asprintf (&detail, "%s %.100s %.200s", j->call, cmd ? cmd : "",
                    args ? args : "");
    }
  if (n < 0)
    detail = NULL;
  /* each call is judged where it runs (the host binary list, the guard
   * as the user): audited here as allowed to start */
  audit (d, uid, name, "allowed", detail);
  return 0;
}

/* A streamed exec call (ext_ui_stream.c): audited as allowed to start,
 * like the collected form, with "(streamed)". */
static int
op_ext_stream (void *ctx, uid_t uid, const char *name, json_t *call,
               uint64_t tag)
{
  struct moatd *d = ctx;
  cleanup_free char *detail = NULL;
  cleanup_free char *args
      = json_dumps (json_object_get (call, "args"), JSON_COMPACT);
  const char *c = json_string_value (json_object_get (call, "call"));
  const char *cmd = json_string_value (json_object_get (call, "command"));

  if (asprintf (&detail, "%s %.100s %.200s (streamed)", c ? c : "",
                cmd ? cmd : "", args ? args : "")
      < 0)
    detail = NULL;
  if (ext_ui_stream_start (uid, name, call, tag) < 0)
    {
      audit (d, uid, name, "refused", "too many streamed calls");
      return -1;
    }
  audit (d, uid, name, "allowed", detail);
  return 0;
}

static void
op_ext_stream_closed (void *ctx, uint64_t tag)
{
  (void)ctx;
  ext_ui_stream_closed (tag);
}

void
moatd_ext_ui_ops (struct web_ops *ops)
{
  ops->ext_stream = op_ext_stream;
  ops->ext_stream_closed = op_ext_stream_closed;
  ops->ext_list = op_ext_list;
  ops->ext_info = op_ext_info;
  ops->ext_open = op_ext_open;
  ops->ext_call = op_ext_call;
  ops->ext_audit = op_ext_audit;
}

void
moatd_ext_ui_drain (struct io_loop *l, void *ctx)
{
  struct ext_ui *u = the;
  struct job *done;
  (void)l;
  (void)ctx;
  if (u == NULL)
    return;
  ext_ui_stream_drain ();
  pthread_mutex_lock (&u->mu);
  done = u->done;
  u->done = NULL;
  pthread_mutex_unlock (&u->mu);
  while (done != NULL)
    {
      struct job *j = done;
      done = j->next;
      pthread_mutex_lock (&u->mu);
      u->in_flight--;
      pthread_mutex_unlock (&u->mu);
      if (*u->web != NULL)
        {
          web_ext_reply (*u->web, j->tag, j->status, j->reply);
          j->reply = NULL;
        }
      job_free (j);
    }
}

int
moatd_ext_ui_start (struct moatd *d, struct io_loop *loop, struct web **web,
                    moat_error_t *err)
{
  struct ext_ui *u = calloc (1, sizeof *u);
  if (u == NULL)
    return moat_error (err, ENOMEM, "extension UIs");
  u->d = d;
  u->loop = loop;
  u->web = web;
  if (asprintf (&u->dir, "%s/extensions", d->paths->state_dir) < 0)
    u->dir = NULL;
  u->engine_sock = strdup (d->engine_sock);
  u->guard_sock = strdup (d->paths->docker_sock);
  pthread_mutex_init (&u->mu, NULL);
  pthread_cond_init (&u->cond, NULL);
  the = u;
  if (u->dir == NULL || u->engine_sock == NULL || u->guard_sock == NULL
      || ext_ui_stream_init (loop, web, u->dir, u->engine_sock, u->guard_sock)
             < 0)
    return moat_error (err, ENOMEM, "extension UIs");
  for (; u->n_thr < WORKERS; u->n_thr++)
    if (pthread_create (&u->thr[u->n_thr], NULL, worker, u) != 0)
      return moat_error (err, EAGAIN, "extension UIs: start a worker");
  return 0;
}

void
moatd_ext_ui_stop (struct moatd *d)
{
  struct ext_ui *u = the;
  (void)d;
  if (u == NULL)
    return;
  ext_ui_stream_stop ();
  pthread_mutex_lock (&u->mu);
  u->stop = true;
  pthread_cond_broadcast (&u->cond);
  pthread_mutex_unlock (&u->mu);
  /* a worker in a call ends when it does (EXT_CALL_TIMEOUT_MS at most) */
  for (int i = 0; i < u->n_thr; i++)
    pthread_join (u->thr[i], NULL);
  while (u->todo != NULL)
    {
      struct job *j = u->todo;
      u->todo = j->next;
      job_free (j);
    }
  while (u->done != NULL)
    {
      struct job *j = u->done;
      u->done = j->next;
      job_free (j);
    }
  pthread_mutex_destroy (&u->mu);
  pthread_cond_destroy (&u->cond);
  free (u->dir);
  free (u->engine_sock);
  free (u->guard_sock);
  free (u);
  the = NULL;
}
