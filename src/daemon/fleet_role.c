/* The fleet role (docs/fleet.md): with fleet.json, a worker thread fetches
 * the signed admin settings every refreshSeconds (with jitter and
 * If-None-Match), verifies the signature, the rollback serial and the
 * settings, and hands a result to the main thread, which applies it in
 * place of the local admin-settings.json and keeps it as the last good
 * copy.  Fetching blocks (DNS, TLS, a slow server), so it never runs on
 * the main thread; applying touches the policy, so it only runs there
 * (moatd_fleet_poll, from the periodic timer).
 *
 * Anything that goes wrong leaves the policy in force as it was, and is
 * reported in `moat status` and, once per distinct problem, in the audit
 * log (not once per refresh while the server stays down). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "fleet/fleet.h"
#include "internal.h"

enum result_kind
{
  RES_NONE,
  RES_APPLY,     /* a new verified copy */
  RES_UNCHANGED, /* the copy in force is still what the server serves */
  RES_FAILED,
};

struct result
{
  enum result_kind kind;
  char *msg; /* RES_FAILED */
  char *body, *sig, *etag, *last_modified;
  size_t len, sig_len;
  struct policy_admin *admin;
  int64_t serial;
};

struct fleet_role
{
  const struct moat_paths *paths;
  struct fleet_config cfg;
  char *cfg_path;
  struct file_sig cfg_sig;

  pthread_t thread;
  bool thread_started;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  volatile bool stop; /* also read by curl's progress callback */
  bool kick;

  /* Under mu: the copy in force (the worker compares against it) and the
   * result waiting for the main thread. */
  char *good_body;
  size_t good_len;
  int64_t good_serial;
  char *good_etag;
  char *good_last_modified; /* sent as If-Modified-Since */
  struct result pending;

  /* Main thread only. */
  bool in_force;
  time_t in_force_since;
  const char *last_result; /* "applied", "unchanged", "failed", NULL */
  char *last_msg;
  time_t last_fetch_at;
  int64_t n_fetches; /* results handled, for `moat status` */
  time_t failing_since;
  char *audited; /* the failure last recorded in the audit log */
  char *config_error;
  bool config_changed;
};

static void
result_clear (struct result *r)
{
  free (r->msg);
  free (r->body);
  free (r->sig);
  free (r->etag);
  free (r->last_modified);
  policy_admin_free (r->admin);
  memset (r, 0, sizeof *r);
}

static void
fail (struct result *r, moat_error_t *err, const char *what)
{
  r->kind = RES_FAILED;
  if (asprintf (&r->msg, "%s: %s", what, moat_error_msg (err)) < 0)
    r->msg = NULL;
  moat_error_release (err);
}

/* Verify a copy: signature by the fleet key, a serial, valid settings.
 * Fills r->admin and r->serial; on failure r->msg says why.  Used for
 * what the server sends and for the copy on disk at start. */
static int
check_copy (const struct fleet_config *cfg, struct result *r)
{
  struct policy_report rep = { 0 };
  moat_error_t err = NULL;

  if (fleet_verify (cfg->key, r->body, r->len, r->sig, r->sig_len, &err) < 0)
    {
      fail (r, &err, "signature refused");
      return -1;
    }
  if (fleet_serial (r->body, r->len, &r->serial, &err) < 0
      || fleet_url_check (r->body, r->len, cfg->url, &err) < 0)
    {
      fail (r, &err, "settings refused");
      return -1;
    }
  if (policy_admin_parse (r->body, r->len, &r->admin, &rep, &err) < 0)
    {
      cleanup_free char *why
          = rep.n_errors > 0 ? policy_report_format (&rep) : NULL;
      r->kind = RES_FAILED;
      if (asprintf (&r->msg, "settings refused (signed, but invalid): %s",
                    why != NULL ? why : moat_error_msg (&err))
          < 0)
        r->msg = NULL;
      policy_report_free (&rep);
      moat_error_release (&err);
      return -1;
    }
  policy_report_free (&rep);
  policy_admin_set_fleet (r->admin);
  return 0;
}

/* One fetch cycle, on the worker thread. */
static void
fetch_once (struct fleet_role *fr, struct result *r)
{
  moat_error_t err = NULL;
  cleanup_free char *etag = NULL;
  cleanup_free char *ims = NULL;
  int64_t good_serial;
  bool same;
  int st;

  pthread_mutex_lock (&fr->mu);
  etag = fr->good_etag != NULL ? strdup (fr->good_etag) : NULL;
  ims = fr->good_last_modified != NULL ? strdup (fr->good_last_modified)
                                       : NULL;
  good_serial = fr->good_serial;
  pthread_mutex_unlock (&fr->mu);

  st = fleet_http_get (fr->cfg.url, POLICY_MAX_FILE_SIZE, etag, ims, &fr->stop,
                       &r->body, &r->len, &r->etag, &r->last_modified, &err);
  if (st < 0)
    {
      fail (r, &err, "fetch failed");
      return;
    }
  if (st == 304)
    {
      r->kind = RES_UNCHANGED;
      return;
    }
  pthread_mutex_lock (&fr->mu);
  same = fr->good_body != NULL && fr->good_len == r->len
         && memcmp (fr->good_body, r->body, r->len) == 0;
  pthread_mutex_unlock (&fr->mu);
  if (same)
    {
      r->kind = RES_UNCHANGED;
      return;
    }
  st = fleet_http_get (fr->cfg.sig_url, FLEET_SIG_MAX, NULL, NULL, &fr->stop,
                       &r->sig, &r->sig_len, NULL, NULL, &err);
  if (st < 0)
    {
      fail (r, &err, "fetch of the signature failed");
      return;
    }
  if (check_copy (&fr->cfg, r) < 0)
    return;
  /* Rollback guard: an older signed copy (or another copy under the same
   * serial) replayed by the server or a man in the middle is refused. */
  if (r->serial <= good_serial)
    {
      r->kind = RES_FAILED;
      if (asprintf (&r->msg,
                    "rollback refused: the server's copy has fleetSerial "
                    "%lld, not above %lld of the copy in force",
                    (long long)r->serial, (long long)good_serial)
          < 0)
        r->msg = NULL;
      return;
    }
  r->kind = RES_APPLY;
}

/* refreshSeconds, +-10% so that a fleet's machines spread out. */
static int64_t
next_wait_ms (int refresh_s)
{
  uint32_t rnd = 0;
  int64_t base = (int64_t)refresh_s * 1000, span = base / 5;
  if (getrandom (&rnd, sizeof rnd, GRND_NONBLOCK) != sizeof rnd)
    rnd = (uint32_t)time (NULL);
  return base - span / 2 + (span > 0 ? (int64_t)(rnd % (uint64_t)span) : 0);
}

static void *
worker (void *arg)
{
  struct fleet_role *fr = arg;

  for (;;)
    {
      struct result r = { 0 };
      struct timespec until;
      int64_t wait_ms;

      fetch_once (fr, &r);
      pthread_mutex_lock (&fr->mu);
      result_clear (&fr->pending);
      fr->pending = r;
      wait_ms = next_wait_ms (fr->cfg.refresh_seconds);
      clock_gettime (CLOCK_MONOTONIC, &until);
      until.tv_sec += wait_ms / 1000;
      until.tv_nsec += (wait_ms % 1000) * 1000000;
      if (until.tv_nsec >= 1000000000)
        until.tv_sec++, until.tv_nsec -= 1000000000;
      while (!fr->stop && !fr->kick)
        if (pthread_cond_timedwait (&fr->cv, &fr->mu, &until) == ETIMEDOUT)
          break;
      fr->kick = false;
      if (fr->stop)
        {
          pthread_mutex_unlock (&fr->mu);
          return NULL;
        }
      pthread_mutex_unlock (&fr->mu);
    }
}

static void
audit (struct moatd *d, const char *outcome, const char *detail)
{
  struct audit_record r = {
    .component = "policy",
    .caller_uid = -1,
    .caller_pid = -1,
    .endpoint
    = d->fleet->cfg.url != NULL ? d->fleet->cfg.url : d->fleet->cfg_path,
    .rule = "fleet",
    .outcome = outcome,
    .detail = detail,
  };
  moatd_audit_record (d, &r);
}

static void
set_str (char **dst, const char *s)
{
  free (*dst);
  *dst = s != NULL ? strdup (s) : NULL;
}

/* Put r's copy in force; main thread.  Takes r's body, sig and admin. */
static int
apply (struct moatd *d, struct result *r, bool save, moat_error_t *err)
{
  struct fleet_role *fr = d->fleet;
  struct policy_admin *old = d->admin;

  if (save
      && fleet_store_save (d->paths, r->body, r->len, r->sig, r->sig_len, err)
             < 0)
    return -1;
  d->admin = r->admin;
  if (moatd_policy_rebuild (d, err) < 0)
    {
      d->admin = old;
      return -1;
    }
  r->admin = NULL;
  policy_admin_free (old);
  pthread_mutex_lock (&fr->mu);
  free (fr->good_body);
  free (fr->good_etag);
  free (fr->good_last_modified);
  fr->good_body = steal_pointer (&r->body);
  fr->good_len = r->len;
  fr->good_serial = r->serial;
  fr->good_etag = steal_pointer (&r->etag);
  fr->good_last_modified = steal_pointer (&r->last_modified);
  pthread_mutex_unlock (&fr->mu);
  fr->in_force = true;
  return 0;
}

/* At start: the last good copy, re-verified with the key of fleet.json. */
static void
load_last_good (struct moatd *d)
{
  struct fleet_role *fr = d->fleet;
  struct result r = { 0 };
  moat_error_t err = NULL;
  cleanup_free char *dir = fleet_store_dir (d->paths);
  cleanup_free char *path = NULL;
  struct stat st;

  if (fleet_store_load (d->paths, &r.body, &r.len, &r.sig, &r.sig_len, &err)
      < 0)
    {
      if (moat_error_status (&err) != ENOENT)
        {
          log_error ("fleet: the last good copy is not used: %s",
                     moat_error_msg (&err));
          set_str (&fr->last_msg, moat_error_msg (&err));
        }
      moat_error_release (&err);
      return;
    }
  if (check_copy (&fr->cfg, &r) < 0 || apply (d, &r, false, &err) < 0)
    {
      const char *why = r.msg != NULL ? r.msg : moat_error_msg (&err);
      log_error ("fleet: the last good copy on disk is not used: %s", why);
      if (asprintf (&fr->last_msg,
                    "the last good copy on disk is not used: %s", why)
          < 0)
        fr->last_msg = NULL;
      moat_error_release (&err);
      result_clear (&r);
      return;
    }
  fr->in_force_since = time (NULL);
  if (dir != NULL && asprintf (&path, "%s/admin-settings.json", dir) >= 0
      && stat (path, &st) == 0)
    fr->in_force_since = st.st_mtim.tv_sec;
  log_info ("fleet: the last good copy (fleetSerial %lld) is in force until "
            "the server answers",
            (long long)fr->good_serial);
  result_clear (&r);
}

int
moatd_fleet_start (struct moatd *d, moat_error_t *err)
{
  struct fleet_role *fr;
  moat_error_t why = NULL;

  fr = calloc (1, sizeof *fr);
  if (fr == NULL)
    return moat_error (err, ENOMEM, "fleet");
  fr->paths = d->paths;
  fr->cfg_path = fleet_config_path (d->paths);
  if (fr->cfg_path == NULL)
    {
      free (fr);
      return moat_error (err, ENOMEM, "fleet");
    }
  pthread_mutex_init (&fr->mu, NULL);
  {
    pthread_condattr_t ca;
    pthread_condattr_init (&ca);
    pthread_condattr_setclock (&ca, CLOCK_MONOTONIC);
    pthread_cond_init (&fr->cv, &ca);
    pthread_condattr_destroy (&ca);
  }
  d->fleet = fr;
  file_sig_read (fr->cfg_path, &fr->cfg_sig);
  if (fleet_config_load (d->paths, &fr->cfg, &why) < 0)
    {
      if (moat_error_status (&why) != ENOENT)
        {
          /* Ignored, loudly: a fleet.json a non-root user could change (or
           * one that does not parse) never decides where policy comes
           * from; the local admin-settings.json stays in force. */
          log_error ("fleet: `%s` is ignored: %s", fr->cfg_path,
                     moat_error_msg (&why));
          set_str (&fr->config_error, moat_error_msg (&why));
          audit (d, "rejected", fr->config_error);
        }
      moat_error_release (&why);
      return 0;
    }
  load_last_good (d);
  {
    /* The worker takes no signals: moatd's main thread reads them from its
     * signalfd, and one delivered here (SIGHUP) would end moatd. */
    sigset_t all, old;
    int r;
    sigfillset (&all);
    pthread_sigmask (SIG_BLOCK, &all, &old);
    r = pthread_create (&fr->thread, NULL, worker, fr);
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    if (r != 0)
      return moat_error (err, r, "fleet: start the fetch thread");
  }
  fr->thread_started = true;
  log_info ("fleet: fetching %s every %d s", fr->cfg.url,
            fr->cfg.refresh_seconds);
  return 0;
}

bool
moatd_fleet_in_force_p (const struct moatd *d)
{
  return d->fleet != NULL && d->fleet->in_force;
}

void
moatd_fleet_kick (struct moatd *d)
{
  struct fleet_role *fr = d->fleet;
  if (fr == NULL || !fr->thread_started)
    return;
  pthread_mutex_lock (&fr->mu);
  fr->kick = true;
  pthread_cond_signal (&fr->cv);
  pthread_mutex_unlock (&fr->mu);
}

static void
failed (struct moatd *d, const char *msg)
{
  struct fleet_role *fr = d->fleet;
  cleanup_free char *detail = NULL;

  fr->last_result = "failed";
  set_str (&fr->last_msg, msg);
  if (fr->failing_since == 0)
    fr->failing_since = fr->last_fetch_at;
  /* One record per distinct problem, not one per refresh. */
  if (fr->audited != NULL && strcmp (fr->audited, msg) == 0)
    return;
  set_str (&fr->audited, msg);
  if (asprintf (&detail, "%s; %s in force", msg,
                fr->in_force ? "the last good fleet copy stays"
                             : "the local admin settings stay")
      < 0)
    detail = NULL;
  log_error ("fleet: %s", detail != NULL ? detail : msg);
  audit (d, "rejected", detail != NULL ? detail : msg);
}

void
moatd_fleet_poll (struct moatd *d)
{
  struct fleet_role *fr = d->fleet;
  struct result r;
  struct file_sig sig;
  moat_error_t err = NULL;

  if (fr == NULL)
    return;
  file_sig_read (fr->cfg_path, &sig);
  if (!file_sig_equal (&sig, &fr->cfg_sig) && !fr->config_changed)
    {
      fr->config_changed = true;
      log_warn ("fleet: `%s` changed; moatd reads it when it starts: "
                "restart moatd to apply the change",
                fr->cfg_path);
    }
  if (!fr->thread_started)
    return;
  pthread_mutex_lock (&fr->mu);
  r = fr->pending;
  memset (&fr->pending, 0, sizeof fr->pending);
  pthread_mutex_unlock (&fr->mu);
  if (r.kind == RES_NONE)
    return;
  fr->last_fetch_at = time (NULL);
  fr->n_fetches++;
  switch (r.kind)
    {
    case RES_NONE:
      break;
    case RES_FAILED:
      failed (d, r.msg != NULL ? r.msg : "out of memory");
      break;
    case RES_UNCHANGED:
      fr->last_result = "unchanged";
      set_str (&fr->last_msg, NULL);
      if (fr->failing_since != 0)
        {
          log_info ("fleet: the server answers again");
          audit (d, "recovered", "the fleet server answers again");
        }
      fr->failing_since = 0;
      set_str (&fr->audited, NULL);
      break;
    case RES_APPLY:
      {
        int64_t serial = r.serial;
        cleanup_free char *detail = NULL;
        if (apply (d, &r, true, &err) < 0)
          {
            cleanup_free char *m = NULL;
            if (asprintf (&m, "could not apply: %s", moat_error_msg (&err))
                < 0)
              m = NULL;
            moat_error_release (&err);
            failed (d, m != NULL ? m : "could not apply");
            break;
          }
        fr->last_result = "applied";
        set_str (&fr->last_msg, NULL);
        fr->in_force_since = fr->last_fetch_at;
        fr->failing_since = 0;
        set_str (&fr->audited, NULL);
        if (asprintf (&detail, "fleet copy with fleetSerial %lld in force",
                      (long long)serial)
            < 0)
          detail = NULL;
        log_info ("fleet: %s", detail != NULL ? detail : "new copy in force");
        audit (d, "applied", detail);
        break;
      }
    }
  result_clear (&r);
}

json_t *
moatd_fleet_status (struct moatd *d)
{
  struct fleet_role *fr = d->fleet;
  int64_t serial;

  if (fr == NULL || (fr->cfg.url == NULL && fr->config_error == NULL))
    return json_pack ("{s:b}", "configured", 0);
  pthread_mutex_lock (&fr->mu);
  serial = fr->good_serial;
  pthread_mutex_unlock (&fr->mu);
  return json_pack (
      "{s:b, s:s?, s:s, s:I, s:I, s:s?, s:s?, s:I, s:I, s:I, s:s?, s:b}",
      "configured", fr->cfg.url != NULL, "url", fr->cfg.url, "in_force",
      fr->in_force ? "fleet" : "local", "fleet_serial",
      fr->in_force ? (json_int_t)serial : (json_int_t)0, "in_force_since",
      fr->in_force ? (json_int_t)fr->in_force_since : (json_int_t)0,
      "last_fetch", fr->last_result, "last_error", fr->last_msg,
      "last_fetch_at", (json_int_t)fr->last_fetch_at, "fetches",
      (json_int_t)fr->n_fetches, "failing_since",
      (json_int_t)fr->failing_since, "config_error", fr->config_error,
      "config_changed", fr->config_changed);
}

/* A problem for status's errors array, or NULL. */
const char *
moatd_fleet_problem (const struct moatd *d)
{
  const struct fleet_role *fr = d->fleet;
  if (fr == NULL)
    return NULL;
  if (fr->config_error != NULL)
    return fr->config_error;
  if (fr->last_result != NULL && strcmp (fr->last_result, "failed") == 0)
    return fr->last_msg;
  if (fr->last_result == NULL && fr->last_msg != NULL)
    return fr->last_msg;
  return NULL;
}

void
moatd_fleet_stop (struct moatd *d)
{
  struct fleet_role *fr = d->fleet;

  if (fr == NULL)
    return;
  if (fr->thread_started)
    {
      pthread_mutex_lock (&fr->mu);
      fr->stop = true;
      pthread_cond_signal (&fr->cv);
      pthread_mutex_unlock (&fr->mu);
      pthread_join (fr->thread, NULL);
    }
  result_clear (&fr->pending);
  pthread_mutex_destroy (&fr->mu);
  pthread_cond_destroy (&fr->cv);
  fleet_config_free (&fr->cfg);
  free (fr->cfg_path);
  free (fr->good_body);
  free (fr->good_etag);
  free (fr->good_last_modified);
  free (fr->last_msg);
  free (fr->audited);
  free (fr->config_error);
  free (fr);
  d->fleet = NULL;
}
