/* The sign-in role of moatd: sessions of `moat login` (one per OS uid,
 * bound to the SO_PEERCRED of the control connection that made it), their
 * revocation, and the gate table it publishes to the engine guard
 * (docs/signin.md).
 *
 * The guard never reads the database: every change of the sessions or of
 * allowedOrgs builds a new immutable table (engine/gate.h) and swaps it in,
 * so the per-request cost is one binary search.  Everything here runs on
 * moatd's main thread except the directory calls (an Argon2id verify, an
 * LDAP bind or search, which a slow or silent server can hold for its
 * whole timeout): those run on a worker thread of this role, which posts
 * its results back through an eventfd (SRC_SIGNIN).  Meanwhile the control
 * socket, the audit and the dashboard are served as usual; the client
 * that asked is neither read nor answered until its result is in. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "directory/directory.h"
#include "internal.h"
#include "signin.h"

/* Revocation check period (the contract says at most 15 minutes). */
#define CHECK_PERIOD_MS (15 * 60 * 1000)
/* Longest user name accepted on the control socket. */
#define USER_MAX 256
/* One sign-in attempt per uid per LOGIN_GAP_MS: a directory check (an
 * Argon2id verify, an LDAP bind) runs on moatd's main thread, so a uid
 * looping on `moat login` would otherwise stall the control socket for
 * everyone, and guess passwords as fast as the hash allows. */
#define LOGIN_GAP_MS 1000
#define LOGIN_SLOTS 64
/* Sign-ins waiting for the worker, at most (then refused at once). */
#define JOBS_MAX 32

/* One piece of directory work.  The worker fills in the results; the
 * main thread made the job and applies them. */
enum job_kind
{
  JOB_LOGIN,
  JOB_CHECK,
};

struct check_item
{
  uid_t uid;
  int64_t created_s; /* tells the session from a later one of the uid */
  char *user;
  int ret; /* results: 0 with orgs, or -1 with msg */
  char **orgs;
  char *msg;
};

struct job
{
  enum job_kind kind;
  struct client *c; /* JOB_LOGIN: waiting for the reply */
  uid_t uid;
  pid_t pid;
  char *user, *password;    /* JOB_LOGIN; the password wiped when done */
  struct check_item *items; /* JOB_CHECK: the sessions to re-check */
  size_t n_items;
  /* results */
  int ret; /* JOB_LOGIN: directory_authenticate; JOB_CHECK: open/probe */
  int err_kind;
  char *msg; /* why ret < 0 */
  char **orgs;
  struct job *next;
};

/* A policy.reload answered once the running check is done. */
struct deferred
{
  struct client *c;
  json_t *reply;
  struct deferred *next;
};

struct signin_role
{
  struct signin_session *s; /* the table's rows, by uid */
  size_t n;
  struct engine_gate *gate; /* the table the guard holds */
  bool dirty;               /* the last publish failed: retry */
  int64_t checked_ms;       /* monotonic time of the last check */
  char *problem;            /* why the last check failed closed */
  struct
  {
    uid_t uid;
    int64_t at_ms; /* monotonic; 0: free */
  } attempts[LOGIN_SLOTS];

  /* The worker.  todo and done are under mu; efd is written when a job
   * is done. */
  struct source src; /* SRC_SIGNIN, on efd */
  int efd;
  pthread_t thr;
  bool thr_started;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  bool stop;
  struct job *todo, *todo_tail, *done;
  size_t n_jobs;    /* main thread: jobs given and not yet applied */
  bool checking;    /* main thread: a check job is out */
  bool check_again; /* another check was asked for meanwhile */
  struct deferred *after_check;
};

/* The gap runs from the end of uid's last attempt (an attempt may take
 * longer than the gap itself). */
static void
attempt_done (struct signin_role *r, uid_t uid)
{
  for (size_t i = 0; i < LOGIN_SLOTS; i++)
    if (r->attempts[i].at_ms != 0 && r->attempts[i].uid == uid)
      r->attempts[i].at_ms = moatd_now_ms ();
}

/* Whether uid may attempt a sign-in now; records the attempt. */
static bool
attempt_allowed (struct signin_role *r, uid_t uid)
{
  int64_t now = moatd_now_ms ();
  size_t oldest = 0;
  for (size_t i = 0; i < LOGIN_SLOTS; i++)
    {
      if (r->attempts[i].at_ms != 0 && r->attempts[i].uid == uid)
        {
          if (now - r->attempts[i].at_ms < LOGIN_GAP_MS)
            return false;
          r->attempts[i].at_ms = now;
          return true;
        }
      if (r->attempts[i].at_ms < r->attempts[oldest].at_ms)
        oldest = i;
    }
  r->attempts[oldest].uid = uid;
  r->attempts[oldest].at_ms = now;
  return true;
}

/* ---- the worker ---- */

static void
item_clear (struct check_item *it)
{
  free (it->user);
  directory_strv_free (it->orgs);
  free (it->msg);
}

static void
job_free (struct job *j)
{
  if (j == NULL)
    return;
  free (j->user);
  if (j->password != NULL)
    {
      explicit_bzero (j->password, strlen (j->password));
      free (j->password);
    }
  for (size_t i = 0; i < j->n_items; i++)
    item_clear (&j->items[i]);
  free (j->items);
  free (j->msg);
  directory_strv_free (j->orgs);
  free (j);
}

/* (worker) The directory calls of j. */
static void
job_run (const struct moat_paths *paths, struct job *j)
{
  struct directory *dir = NULL;
  moat_error_t err = NULL;

  j->ret = directory_open (paths, &dir, &err);
  if (j->ret == 0 && j->kind == JOB_LOGIN)
    j->ret
        = directory_authenticate (dir, j->user, j->password, &j->orgs, &err);
  else if (j->ret == 0 && j->n_items == 0)
    j->ret = directory_probe (dir, &err);
  else if (j->ret == 0)
    for (size_t i = 0; i < j->n_items; i++)
      {
        struct check_item *it = &j->items[i];
        moat_error_t ierr = NULL;
        it->ret = directory_user_orgs (dir, it->user, &it->orgs, &ierr);
        if (it->ret < 0)
          {
            it->msg = strdup (moat_error_msg (&ierr));
            moat_error_release (&ierr);
          }
      }
  if (j->password != NULL)
    explicit_bzero (j->password, strlen (j->password));
  if (j->ret < 0)
    {
      j->err_kind = directory_error_kind (&err);
      j->msg = strdup (moat_error_msg (&err));
      moat_error_release (&err);
    }
  directory_close (dir);
}

static void *
worker (void *arg)
{
  struct moatd *d = arg;
  struct signin_role *r = d->signin_role;
  pthread_mutex_lock (&r->mu);
  for (;;)
    {
      struct job *j;
      uint64_t one = 1;
      while (!r->stop && r->todo == NULL)
        pthread_cond_wait (&r->cond, &r->mu);
      if (r->stop)
        break;
      j = r->todo;
      r->todo = j->next;
      if (r->todo == NULL)
        r->todo_tail = NULL;
      pthread_mutex_unlock (&r->mu);
      job_run (d->paths, j);
      pthread_mutex_lock (&r->mu);
      j->next = r->done;
      r->done = j;
      if (write (r->efd, &one, sizeof one) < 0)
        log_warn ("sign-in worker: eventfd: %s", strerror (errno));
    }
  pthread_mutex_unlock (&r->mu);
  return NULL;
}

/* The worker, started at the first job: moatd's epoll set exists by
 * then.  -1: not started (the caller runs the job itself). */
static int
worker_start (struct moatd *d)
{
  struct signin_role *r = d->signin_role;
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &r->src };
  sigset_t all, old;
  int e;

  if (r->thr_started)
    return 0;
  if (d->epfd < 0)
    return -1;
  if (r->efd < 0)
    {
      r->efd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
      r->src.kind = SRC_SIGNIN;
      if (r->efd < 0 || epoll_ctl (d->epfd, EPOLL_CTL_ADD, r->efd, &ev) < 0)
        {
          log_error ("sign-in worker: %s", strerror (errno));
          if (r->efd >= 0)
            close (r->efd);
          r->efd = -1;
          return -1;
        }
    }
  /* signals stay with the main thread's signalfd */
  sigfillset (&all);
  pthread_sigmask (SIG_BLOCK, &all, &old);
  e = pthread_create (&r->thr, NULL, worker, d);
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  if (e != 0)
    {
      log_error ("sign-in worker: %s", strerror (e));
      return -1;
    }
  r->thr_started = true;
  return 0;
}

static void apply (struct moatd *d, struct job *j);

/* Hand j to the worker; without one, run it here (as before the worker
 * existed) and apply it at once. */
static void
post (struct moatd *d, struct job *j)
{
  struct signin_role *r = d->signin_role;
  r->n_jobs++;
  if (worker_start (d) < 0)
    {
      job_run (d->paths, j);
      apply (d, j);
      return;
    }
  pthread_mutex_lock (&r->mu);
  j->next = NULL;
  if (r->todo_tail != NULL)
    r->todo_tail->next = j;
  else
    r->todo = j;
  r->todo_tail = j;
  pthread_cond_signal (&r->cond);
  pthread_mutex_unlock (&r->mu);
}

void
moatd_session_results (struct moatd *d)
{
  struct signin_role *r = d->signin_role;
  struct job *list, *rev = NULL;
  uint64_t x;
  if (r == NULL || r->efd < 0)
    return;
  if (read (r->efd, &x, sizeof x) < 0)
    (void)0;
  pthread_mutex_lock (&r->mu);
  list = r->done;
  r->done = NULL;
  pthread_mutex_unlock (&r->mu);
  while (list != NULL) /* in the order they were done */
    {
      struct job *j = list;
      list = j->next;
      j->next = rev;
      rev = j;
    }
  while (rev != NULL)
    {
      struct job *j = rev;
      rev = j->next;
      apply (d, j);
    }
}

bool
moatd_session_reply_after_check (struct moatd *d, struct client *c,
                                 json_t *reply)
{
  struct signin_role *r = d->signin_role;
  struct deferred *df;
  if (r == NULL || !r->checking || (df = calloc (1, sizeof *df)) == NULL)
    return false;
  df->c = c;
  df->reply = reply;
  df->next = r->after_check;
  r->after_check = df;
  moatd_client_wait (d, c);
  return true;
}

static int64_t
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return ts.tv_sec;
}

static void
audit (struct moatd *d, int64_t uid, int64_t pid, const char *user,
       const char *rule, const char *outcome, const char *detail)
{
  struct audit_record r = {
    .component = "signin",
    .caller_uid = uid,
    .caller_pid = pid,
    .endpoint = user,
    .rule = rule,
    .outcome = outcome,
    .detail = detail,
  };
  moatd_audit_record (d, &r);
}

static char *
orgs_text (const struct signin_policy *pol)
{
  size_t len = 1;
  char *s;
  for (size_t i = 0; i < pol->n_orgs; i++)
    len += strlen (pol->orgs[i]) + 2;
  s = malloc (len);
  if (s == NULL)
    return NULL;
  s[0] = '\0';
  for (size_t i = 0; i < pol->n_orgs; i++)
    {
      if (i > 0)
        strcat (s, ", ");
      strcat (s, pol->orgs[i]);
    }
  return s;
}

static int
reload_rows (struct moatd *d, moat_error_t *err)
{
  struct signin_role *r = d->signin_role;
  struct signin_session *v = NULL;
  size_t n = 0;
  if (signin_store_load (state_db (d->state), &v, &n, err) < 0)
    return -1;
  signin_sessions_free (r->s, r->n);
  r->s = v;
  r->n = n;
  return 0;
}

static struct signin_session *
find (struct signin_role *r, uid_t uid)
{
  for (size_t i = 0; i < r->n; i++)
    if (r->s[i].uid == uid)
      return &r->s[i];
  return NULL;
}

void
moatd_session_publish (struct moatd *d)
{
  struct signin_role *r = d->signin_role;
  struct engine_gate *g, *old;
  moat_error_t err = NULL;
  if (r == NULL)
    return;
  g = signin_gate_build (r->s, r->n, &d->signin, now_s (), &err);
  if (g == NULL)
    {
      /* the previous table stays; retried at the next tick */
      log_error ("sign-in gate not updated: %s", moat_error_msg (&err));
      moat_error_release (&err);
      r->dirty = true;
      return;
    }
  old = r->gate;
  r->gate = g;
  r->dirty = false;
  if (d->guard != NULL)
    engine_guard_set_gate (d->guard, g);
  /* the guard no longer reads the old table */
  engine_gate_free (old);
}

int
moatd_session_start (struct moatd *d, moat_error_t *err)
{
  struct signin_role *r = calloc (1, sizeof *r);
  if (r == NULL)
    return moat_error (err, ENOMEM, "start the sign-in sessions");
  d->signin_role = r;
  r->checked_ms = moatd_now_ms ();
  r->efd = -1;
  pthread_mutex_init (&r->mu, NULL);
  pthread_cond_init (&r->cond, NULL);
  if (signin_store_init (state_db (d->state), err) < 0
      || reload_rows (d, err) < 0)
    return moat_error_wrap (err, "start the sign-in sessions");
  r->gate = signin_gate_build (r->s, r->n, &d->signin, now_s (), err);
  if (r->gate == NULL)
    return moat_error_wrap (err, "start the sign-in gate");
  return 0;
}

void
moatd_session_stop (struct moatd *d)
{
  struct signin_role *r = d->signin_role;
  if (r == NULL)
    return;
  if (r->thr_started)
    {
      pthread_mutex_lock (&r->mu);
      r->stop = true;
      pthread_cond_signal (&r->cond);
      pthread_mutex_unlock (&r->mu);
      pthread_join (r->thr, NULL);
    }
  /* jobs not applied: their clients are closed with the rest */
  while (r->todo != NULL || r->done != NULL)
    {
      struct job **q = r->todo != NULL ? &r->todo : &r->done;
      struct job *j = *q;
      *q = j->next;
      job_free (j);
    }
  while (r->after_check != NULL)
    {
      struct deferred *df = r->after_check;
      r->after_check = df->next;
      json_decref (df->reply);
      free (df);
    }
  if (r->efd >= 0)
    close (r->efd);
  pthread_mutex_destroy (&r->mu);
  pthread_cond_destroy (&r->cond);
  if (d->guard != NULL)
    engine_guard_set_gate (d->guard, NULL);
  engine_gate_free (r->gate);
  signin_sessions_free (r->s, r->n);
  free (r->problem);
  free (r);
  d->signin_role = NULL;
}

const char *
moatd_session_gate_refusal (struct moatd *d, uid_t uid)
{
  struct signin_role *r = d->signin_role;
  const char *msg = NULL;
  if (r == NULL || r->gate == NULL)
    return NULL;
  return engine_gate_check (r->gate, uid, now_s (), &msg) < 0 ? msg : NULL;
}

const char *
moatd_session_problem (const struct moatd *d)
{
  return d->signin_role != NULL ? d->signin_role->problem : NULL;
}

/* Sign uid out (audited with outcome and why). */
static void
sign_out (struct moatd *d, const struct signin_session *s, int64_t pid,
          const char *rule, const char *outcome, const char *why)
{
  moat_error_t err = NULL;
  cleanup_free char *user = strdup (s->user);
  uid_t uid = s->uid;
  if (signin_store_delete (state_db (d->state), uid, &err) < 0)
    {
      /* fail closed in memory even when the row stays */
      log_error ("sign-out of uid %u: %s", (unsigned)uid,
                 moat_error_msg (&err));
      moat_error_release (&err);
    }
  log_info ("uid %u (%s) signed out: %s", (unsigned)uid, user ? user : "?",
            why);
  audit (d, uid, pid, user, rule, outcome, why);
}

static void
set_problem (struct moatd *d, const char *msg)
{
  struct signin_role *r = d->signin_role;
  free (r->problem);
  r->problem = msg != NULL ? strdup (msg) : NULL;
}

/* The session of uid that was current when a check job was made, if it
 * still is. */
static struct signin_session *
find_same (struct signin_role *r, const struct check_item *it)
{
  struct signin_session *s = find (r, it->uid);
  return s != NULL && s->created_s == it->created_s
                 && strcmp (s->user, it->user) == 0
             ? s
             : NULL;
}

void
moatd_session_check (struct moatd *d)
{
  struct signin_role *r = d->signin_role;
  struct job *j;

  if (r == NULL)
    return;
  r->checked_ms = moatd_now_ms ();
  /* Without allowedOrgs nothing is enforced: no directory traffic. */
  if (d->signin.n_orgs == 0)
    {
      set_problem (d, NULL);
      moatd_session_publish (d);
      return;
    }
  /* A new allowedOrgs is in force at once, from the organisations each
   * session had at its last check; the directory is asked meanwhile. */
  moatd_session_publish (d);
  if (r->checking)
    {
      r->check_again = true;
      return;
    }
  if ((j = calloc (1, sizeof *j)) == NULL
      || (r->n > 0 && (j->items = calloc (r->n, sizeof *j->items)) == NULL))
    {
      free (j);
      log_error ("sign-in check: out of memory");
      return;
    }
  j->kind = JOB_CHECK;
  /* Nobody to re-check: the job still says whether a sign-in could work
   * now (an LDAP server that is down shows in moat status before anyone
   * tries). */
  for (size_t i = 0; i < r->n; i++)
    {
      j->items[i].uid = r->s[i].uid;
      j->items[i].created_s = r->s[i].created_s;
      if ((j->items[i].user = strdup (r->s[i].user)) == NULL)
        {
          job_free (j);
          log_error ("sign-in check: out of memory");
          return;
        }
      j->n_items = i + 1;
    }
  r->checking = true;
  post (d, j);
}

/* A check's results: sign out whom the directory no longer confirms
 * (fail closed: a directory that cannot be read confirms nobody). */
static void
apply_check (struct moatd *d, struct job *j)
{
  struct signin_role *r = d->signin_role;
  moat_error_t err = NULL;
  cleanup_free char *allowed = orgs_text (&d->signin);
  bool failed = false;

  r->checking = false;
  if (d->signin.n_orgs == 0)
    set_problem (d, NULL); /* allowedOrgs went away meanwhile */
  else if (j->ret < 0)
    {
      cleanup_free char *why = NULL;
      if (asprintf (&why, "the directory is unavailable: %s",
                    j->msg ? j->msg : "?")
          < 0)
        why = NULL;
      set_problem (d, why ? why : "the directory is unavailable");
      for (size_t i = 0; i < j->n_items; i++)
        {
          struct signin_session *s = find_same (r, &j->items[i]);
          if (s != NULL)
            sign_out (d, s, -1, "signin.revoke", "revoked",
                      why ? why : "the directory is unavailable");
        }
    }
  else
    {
      for (size_t i = 0; i < j->n_items; i++)
        {
          struct check_item *it = &j->items[i];
          struct signin_session *s = find_same (r, it);
          cleanup_free char *why = NULL;
          if (s == NULL)
            continue; /* signed out or in again meanwhile */
          if (it->ret < 0)
            {
              if (asprintf (&why, "membership cannot be checked: %s",
                            it->msg ? it->msg : "?")
                  < 0)
                why = NULL;
              if (!failed)
                set_problem (d, why);
              failed = true;
              sign_out (d, s, -1, "signin.revoke", "revoked",
                        why ? why : "membership cannot be checked");
            }
          else if (!signin_member_p (it->orgs, &d->signin))
            {
              if (asprintf (&why,
                            "user \"%s\" is not a member of any of these "
                            "organizations: %s",
                            s->user, allowed ? allowed : "")
                  < 0)
                why = NULL;
              sign_out (d, s, -1, "signin.revoke", "revoked",
                        why ? why : "not a member");
            }
          else
            {
              /* keep the organisations whoami shows current */
              char **keep = s->orgs;
              s->orgs = it->orgs;
              it->orgs = keep;
              if (signin_store_put (state_db (d->state), s, &err) < 0)
                {
                  log_warn ("%s", moat_error_msg (&err));
                  moat_error_release (&err);
                }
            }
        }
      if (!failed)
        set_problem (d, NULL);
    }
  if (reload_rows (d, &err) < 0)
    {
      /* the rows in memory may still hold a revoked session: drop them
       * all from the gate rather than serve one */
      log_error ("%s", moat_error_msg (&err));
      moat_error_release (&err);
      signin_sessions_free (r->s, r->n);
      r->s = NULL;
      r->n = 0;
    }
  moatd_session_publish (d);
  if (r->check_again)
    {
      r->check_again = false;
      moatd_session_check (d);
      if (r->checking)
        return; /* the deferred replies wait for that one */
    }
  while (r->after_check != NULL)
    {
      struct deferred *df = r->after_check;
      r->after_check = df->next;
      moatd_client_resume (d, df->c, df->reply);
      json_decref (df->reply);
      free (df);
    }
}

void
moatd_session_tick (struct moatd *d)
{
  struct signin_role *r = d->signin_role;
  int64_t t = now_s ();
  bool expired = false;
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n; i++)
    if (r->s[i].expires_s <= t)
      {
        sign_out (d, &r->s[i], -1, "signin.expire", "expired",
                  "the session expired");
        expired = true;
      }
  if (expired)
    {
      moat_error_t err = NULL;
      if (reload_rows (d, &err) < 0)
        {
          log_error ("%s", moat_error_msg (&err));
          moat_error_release (&err);
        }
      moatd_session_publish (d);
    }
  if (moatd_now_ms () - r->checked_ms >= CHECK_PERIOD_MS)
    moatd_session_check (d);
  else if (r->dirty)
    moatd_session_publish (d);
}

static json_t *
fail (const char *msg)
{
  return json_pack ("{s:b, s:s}", "ok", 0, "error", msg);
}

static json_t *
strv_json (char *const *v)
{
  json_t *a = json_array ();
  for (size_t i = 0; a != NULL && v != NULL && v[i] != NULL; i++)
    json_array_append_new (a, json_string (v[i]));
  return a;
}

/* The reply of login and whoami: who uid is signed in as. */
static json_t *
session_json (struct moatd *d, const struct signin_session *s)
{
  bool enforced = d->signin.n_orgs > 0;
  json_t *allowed = json_array ();
  for (size_t i = 0; allowed != NULL && i < d->signin.n_orgs; i++)
    json_array_append_new (allowed, json_string (d->signin.orgs[i]));
  if (s == NULL)
    return json_pack ("{s:b, s:b, s:o, s:b, s:b}", "ok", 1, "signed_in", 0,
                      "allowedOrgs", allowed, "enforced", enforced,
                      "satisfied", !enforced);
  return json_pack ("{s:b, s:b, s:I, s:s, s:o, s:o, s:b, s:b, s:I}", "ok", 1,
                    "signed_in", 1, "uid", (json_int_t)s->uid, "user", s->user,
                    "orgs", strv_json (s->orgs), "allowedOrgs", allowed,
                    "enforced", enforced, "satisfied",
                    signin_member_p (s->orgs, &d->signin), "expires_at",
                    (json_int_t)s->expires_s);
}

/* signin.login {"user","password"}: sign the caller's uid in.  The
 * password goes to the directory only: never to a log or the audit.  The
 * directory is asked on the worker; the reply comes from apply_login. */
static json_t *
login (struct moatd *d, struct client *c, json_t *req)
{
  struct signin_role *r = d->signin_role;
  const char *user = json_string_value (json_object_get (req, "user"));
  const char *password = json_string_value (json_object_get (req, "password"));
  struct job *j;

  if (user == NULL || password == NULL)
    return fail ("signin.login needs \"user\" and \"password\" strings");
  if (strlen (user) > USER_MAX)
    return fail ("sign-in failed: " DIRECTORY_BADCRED_MSG);
  if (r->n_jobs >= JOBS_MAX)
    return fail ("sign-in failed: moatd is busy with other sign-ins; try "
                 "again");
  if (!attempt_allowed (r, c->uid))
    {
      audit (d, c->uid, c->pid, user, "signin.login", "refused",
             "too many attempts");
      return fail ("sign-in failed: too many attempts; try again in a "
                   "second");
    }
  if ((j = calloc (1, sizeof *j)) == NULL || (j->user = strdup (user)) == NULL
      || (j->password = strdup (password)) == NULL)
    {
      job_free (j);
      attempt_done (r, c->uid);
      return fail ("sign-in failed: out of memory");
    }
  j->kind = JOB_LOGIN;
  j->c = c;
  j->uid = c->uid;
  j->pid = c->pid;
  moatd_client_wait (d, c);
  post (d, j);
  return json_null ();
}

/* The rest of a sign-in, once the directory answered: the reply. */
static json_t *
login_done (struct moatd *d, struct job *j)
{
  struct signin_role *r = d->signin_role;
  moat_error_t err = NULL;
  struct signin_session s = { 0 };
  cleanup_free char *msg = NULL;
  json_t *reply;

  attempt_done (r, j->uid);
  if (j->ret < 0)
    {
      if (j->err_kind == DIRECTORY_E_BADCRED)
        msg = strdup ("sign-in failed: " DIRECTORY_BADCRED_MSG);
      else if (asprintf (&msg, "sign-in failed: %s", j->msg ? j->msg : "?")
               < 0)
        msg = NULL;
      audit (d, j->uid, j->pid, j->user, "signin.login",
             j->err_kind == DIRECTORY_E_BADCRED ? "refused" : "error",
             msg ? msg : "sign-in failed");
      log_info ("uid %u: sign-in as `%s` failed", (unsigned)j->uid, j->user);
      return fail (msg ? msg : "sign-in failed");
    }
  s.uid = j->uid;
  s.user = j->user;
  s.orgs = j->orgs;
  s.created_s = now_s ();
  s.expires_s = s.created_s + SIGNIN_SESSION_TTL_S;
  if (signin_store_put (state_db (d->state), &s, &err) < 0
      || reload_rows (d, &err) < 0)
    {
      reply = fail (moat_error_msg (&err));
      moat_error_release (&err);
      return reply;
    }
  moatd_session_publish (d);
  {
    const struct signin_session *now = find (r, j->uid);
    bool member = now != NULL && signin_member_p (now->orgs, &d->signin);
    audit (d, j->uid, j->pid, j->user, "signin.login", "allowed",
           d->signin.n_orgs == 0 ? "signed in (no allowedOrgs enforced)"
           : member              ? "signed in, member of an allowed "
                                   "organization"
                                 : "signed in, not a member of any allowed "
                                   "organization");
    log_info ("uid %u signed in as `%s`", (unsigned)j->uid, j->user);
    return session_json (d, now);
  }
}

static void
apply (struct moatd *d, struct job *j)
{
  struct signin_role *r = d->signin_role;
  r->n_jobs--;
  if (j->kind == JOB_LOGIN)
    {
      json_t *reply = login_done (d, j);
      moatd_client_resume (d, j->c, reply);
      json_decref (reply);
    }
  else
    apply_check (d, j);
  job_free (j);
}

static json_t *
logout (struct moatd *d, struct client *c)
{
  struct signin_role *r = d->signin_role;
  const struct signin_session *s = find (r, c->uid);
  moat_error_t err = NULL;
  bool was = s != NULL;
  if (s != NULL)
    sign_out (d, s, c->pid, "signin.logout", "applied", "signed out");
  else if (signin_store_delete (state_db (d->state), c->uid, &err) < 0)
    moat_error_release (&err);
  if (reload_rows (d, &err) < 0)
    {
      json_t *reply = fail (moat_error_msg (&err));
      moat_error_release (&err);
      return reply;
    }
  moatd_session_publish (d);
  return json_pack ("{s:b, s:b}", "ok", 1, "signed_out", was);
}

json_t *
moatd_session_request (struct moatd *d, struct client *c, const char *cmd,
                       json_t *req)
{
  if (d->signin_role == NULL)
    return NULL;
  if (strcmp (cmd, "signin.login") == 0)
    {
      json_t *reply = login (d, c, req);
      /* the request's copy of the password is not kept either */
      json_t *pw = json_object_get (req, "password");
      if (json_is_string (pw))
        explicit_bzero ((char *)json_string_value (pw),
                        json_string_length (pw));
      return reply;
    }
  if (strcmp (cmd, "signin.logout") == 0)
    return logout (d, c);
  if (strcmp (cmd, "signin.whoami") == 0)
    {
      const struct signin_session *s = find (d->signin_role, c->uid);
      if (s != NULL && s->expires_s <= now_s ())
        s = NULL;
      return session_json (d, s);
    }
  return NULL;
}
