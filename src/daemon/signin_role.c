/* The sign-in role of moatd: sessions of `moat login` (one per OS uid,
 * bound to the SO_PEERCRED of the control connection that made it), their
 * revocation, and the gate table it publishes to the engine guard
 * (docs/signin.md).
 *
 * The guard never reads the database: every change of the sessions or of
 * allowedOrgs builds a new immutable table (engine/gate.h) and swaps it in,
 * so the per-request cost is one binary search.  Everything here runs on
 * moatd's main thread.  A directory call (an Argon2id verify, an LDAP bind)
 * blocks that thread for its duration; the guard keeps serving meanwhile
 * on its own thread. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
  if (d->guard != NULL)
    engine_guard_set_gate (d->guard, NULL);
  engine_gate_free (r->gate);
  signin_sessions_free (r->s, r->n);
  free (r->problem);
  free (r);
  d->signin_role = NULL;
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

void
moatd_session_check (struct moatd *d)
{
  struct signin_role *r = d->signin_role;
  struct directory *dir = NULL;
  moat_error_t err = NULL;
  cleanup_free char *allowed = NULL;
  bool failed = false;

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
  /* Nobody to re-check: still say whether a sign-in could work now (an
   * LDAP server that is down shows in moat status before anyone tries). */
  if (r->n == 0)
    {
      if (directory_open (d->paths, &dir, &err) < 0
          || directory_probe (dir, &err) < 0)
        {
          cleanup_free char *why = NULL;
          if (asprintf (&why, "the directory is unavailable: %s",
                        moat_error_msg (&err))
              < 0)
            why = NULL;
          set_problem (d, why ? why : "the directory is unavailable");
          moat_error_release (&err);
        }
      else
        set_problem (d, NULL);
      directory_close (dir);
      moatd_session_publish (d);
      return;
    }
  allowed = orgs_text (&d->signin);
  if (directory_open (d->paths, &dir, &err) < 0)
    {
      /* fail closed: a directory that cannot be read confirms nobody */
      cleanup_free char *why = NULL;
      if (asprintf (&why, "the directory is unavailable: %s",
                    moat_error_msg (&err))
          < 0)
        why = NULL;
      set_problem (d, why ? why : "the directory is unavailable");
      for (size_t i = 0; i < r->n; i++)
        sign_out (d, &r->s[i], -1, "signin.revoke", "revoked",
                  why ? why : "the directory is unavailable");
      moat_error_release (&err);
      goto done;
    }
  for (size_t i = 0; i < r->n; i++)
    {
      struct signin_session *s = &r->s[i];
      char **orgs = NULL;
      if (directory_user_orgs (dir, s->user, &orgs, &err) < 0)
        {
          cleanup_free char *why = NULL;
          if (asprintf (&why, "membership cannot be checked: %s",
                        moat_error_msg (&err))
              < 0)
            why = NULL;
          if (!failed)
            set_problem (d, why);
          failed = true;
          sign_out (d, s, -1, "signin.revoke", "revoked",
                    why ? why : "membership cannot be checked");
          moat_error_release (&err);
          continue;
        }
      if (!signin_member_p (orgs, &d->signin))
        {
          cleanup_free char *why = NULL;
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
          s->orgs = orgs;
          orgs = NULL;
          if (signin_store_put (state_db (d->state), s, &err) < 0)
            {
              log_warn ("%s", moat_error_msg (&err));
              moat_error_release (&err);
            }
          orgs = keep;
        }
      directory_strv_free (orgs);
    }
  directory_close (dir);
  if (!failed)
    set_problem (d, NULL);
done:
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
 * password goes to the directory only: never to a log or the audit. */
static json_t *
login (struct moatd *d, struct client *c, json_t *req)
{
  struct signin_role *r = d->signin_role;
  const char *user = json_string_value (json_object_get (req, "user"));
  const char *password = json_string_value (json_object_get (req, "password"));
  struct directory *dir = NULL;
  moat_error_t err = NULL;
  char **orgs = NULL;
  struct signin_session s = { 0 };
  cleanup_free char *msg = NULL;
  json_t *reply;
  int ret;

  if (user == NULL || password == NULL)
    return fail ("signin.login needs \"user\" and \"password\" strings");
  if (strlen (user) > USER_MAX)
    return fail ("sign-in failed: " DIRECTORY_BADCRED_MSG);
  if (!attempt_allowed (r, c->uid))
    {
      audit (d, c->uid, c->pid, user, "signin.login", "refused",
             "too many attempts");
      return fail ("sign-in failed: too many attempts; try again in a "
                   "second");
    }
  ret = directory_open (d->paths, &dir, &err) < 0
            ? -1
            : directory_authenticate (dir, user, password, &orgs, &err);
  attempt_done (r, c->uid);
  if (ret < 0)
    {
      int kind = directory_error_kind (&err);
      if (kind == DIRECTORY_E_BADCRED)
        msg = strdup ("sign-in failed: " DIRECTORY_BADCRED_MSG);
      else if (asprintf (&msg, "sign-in failed: %s", moat_error_msg (&err))
               < 0)
        msg = NULL;
      audit (d, c->uid, c->pid, user, "signin.login",
             kind == DIRECTORY_E_BADCRED ? "refused" : "error",
             msg ? msg : "sign-in failed");
      log_info ("uid %u: sign-in as `%s` failed", (unsigned)c->uid, user);
      directory_close (dir);
      moat_error_release (&err);
      return fail (msg ? msg : "sign-in failed");
    }
  directory_close (dir);
  s.uid = c->uid;
  s.user = (char *)user;
  s.orgs = orgs;
  s.created_s = now_s ();
  s.expires_s = s.created_s + SIGNIN_SESSION_TTL_S;
  if (signin_store_put (state_db (d->state), &s, &err) < 0
      || reload_rows (d, &err) < 0)
    {
      directory_strv_free (orgs);
      reply = fail (moat_error_msg (&err));
      moat_error_release (&err);
      return reply;
    }
  directory_strv_free (orgs);
  moatd_session_publish (d);
  {
    const struct signin_session *now = find (r, c->uid);
    bool member = now != NULL && signin_member_p (now->orgs, &d->signin);
    audit (d, c->uid, c->pid, user, "signin.login", "allowed",
           d->signin.n_orgs == 0 ? "signed in (no allowedOrgs enforced)"
           : member              ? "signed in, member of an allowed "
                                   "organization"
                                 : "signed in, not a member of any allowed "
                                   "organization");
    log_info ("uid %u signed in as `%s`", (unsigned)c->uid, user);
    return session_json (d, now);
  }
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
