/* The dashboard role: moatd serves src/web's server on its main thread.
 * The server's I/O core loop is turned from moatd's epoll loop (its
 * descriptor is one of moatd's sources), so every callback here runs
 * where the state store and the policy live, and a setting changed in the
 * dashboard goes through the very function `moat settings set` uses. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "dockerapi/dockerapi.h"
#include "ext_ui.h"
#include "internal.h"
#include "web/web.h"

#define CONTAINERS_TTL_MS 1000   /* a list older than this is refreshed */
#define CONTAINERS_STALE_MS 5000 /* older than this: wait for a new one */
#define CONTAINERS_WAIT_MS 2000  /* at most, on moatd's main thread */
#define INSPECT_PER_LIST 64      /* runtimes looked up per refresh */
#define FULL_LIST_MAX_S 30       /* a full list at least this often */

/* The engine's container list is fetched by a thread of its own, so that
 * a slow engine never holds moatd's main thread (control socket, audit,
 * the dashboard itself) for longer than CONTAINERS_WAIT_MS, and a page is
 * served from the last list while a newer one is fetched.
 *
 * A refresh first asks the engine for the container events since the last
 * full list began (a bounded, past-only /events call: the engine answers
 * from the events it keeps in memory).  None: the list still holds and is
 * not fetched again, so an idle dashboard costs the engine (and the two
 * CPUs a page shares with it) next to nothing.  The thread also runs at a
 * lower CPU priority than the main thread that serves the pages. */
struct web_role
{
  struct io_loop *loop;
  struct web *web;
  struct source src;
  json_t *containers; /* main thread: the last list taken, its time */
  int64_t containers_ms, used_ms;
  json_t *rows;     /* main thread: the last /api/containers answer, */
  json_t *rows_for; /* built from this list */
  int64_t rows_dv;  /* and this state database data_version */

  pthread_t thr;
  bool thr_started;
  pthread_mutex_t mu;
  pthread_cond_t cond, done;
  bool want;        /* under mu: fetch a new list */
  atomic_bool stop; /* the thread ends (checked between calls) */
  uint64_t fetches; /* under mu: lists fetched (or failed) so far */
  json_t *fresh;    /* under mu: handed from the thread to main */
  int64_t fresh_ms;
  int64_t held_ms;   /* under mu: the thread's last list still held then */
  char *engine_sock; /* the thread's own copy */
  json_t *runtimes;  /* the thread's: container id -> runtime */
  bool have_list;    /* the thread's: a full list was taken, */
  bool complete;     /* with every runtime known, */
  struct timespec list_start; /* begun at this wall-clock time */
  uint64_t full_lists;        /* under mu: full lists fetched (tests) */
};

static json_t *
op_status (void *ctx)
{
  return moatd_status_json (ctx);
}

static json_t *
op_settings (void *ctx)
{
  struct moatd *d = ctx;
  return json_incref (d->policy->settings);
}

static json_t *
op_settings_set (void *ctx, uid_t uid, const char *key, const char *value)
{
  /* the dashboard's caller has no pid: the audit record says -1 */
  return moatd_settings_set (ctx, uid, -1, key, value);
}

/* container id -> {base, size} from moat-runc's table. */
static json_t *
id_ranges (struct moatd *d)
{
  sqlite3_stmt *st = NULL;
  json_t *o = json_object ();
  if (sqlite3_prepare_v2 (state_db (d->state),
                          "SELECT container_id, base, size FROM "
                          "runtime_id_ranges ORDER BY base",
                          -1, &st, NULL)
      != SQLITE_OK)
    return o; /* no table before the first container */
  while (sqlite3_step (st) == SQLITE_ROW)
    json_object_set_new (o, (const char *)sqlite3_column_text (st, 0),
                         json_pack ("{s:I, s:I}", "base",
                                    (json_int_t)sqlite3_column_int64 (st, 1),
                                    "size",
                                    (json_int_t)sqlite3_column_int64 (st, 2)));
  sqlite3_finalize (st);
  return o;
}

/* SQLite's data_version of moatd's connection: it changes when another
 * connection (moat-runc's) commits.  -1 when it cannot be read. */
static int64_t
data_version (struct moatd *d)
{
  sqlite3_stmt *st = NULL;
  int64_t v = -1;
  if (sqlite3_prepare_v2 (state_db (d->state), "PRAGMA data_version", -1, &st,
                          NULL)
          == SQLITE_OK
      && sqlite3_step (st) == SQLITE_ROW)
    v = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  return v;
}

/* (lister thread) The engine's HostConfig.Runtime of a container (the
 * list does not carry it): inspected once, remembered. */
static const char *
runtime_of (struct web_role *r, const char *id, int *budget)
{
  json_t *v = json_object_get (r->runtimes, id);
  struct dockerapi_response resp = { 0 };
  moat_error_t err = NULL;
  char path[160];
  if (v != NULL)
    return json_string_value (v);
  if (*budget <= 0 || atomic_load (&r->stop))
    return NULL;
  (*budget)--;
  snprintf (path, sizeof path, "/containers/%.80s/json", id);
  if (dockerapi_call (r->engine_sock, "GET", path, NULL, 0, false, 1000, &resp,
                      &err)
          == 0
      && resp.status == 200)
    {
      json_t *o = json_loads (resp.body, 0, NULL);
      const char *rt = json_string_value (
          json_object_get (json_object_get (o, "HostConfig"), "Runtime"));
      json_object_set_new (r->runtimes, id, json_string (rt ? rt : "runc"));
      json_decref (o);
    }
  moat_error_release (&err);
  dockerapi_response_free (&resp);
  return json_string_value (json_object_get (r->runtimes, id));
}

/* (lister thread) [{id, name, image, state, runtime}], or NULL. */
static json_t *
fetch_list (struct web_role *r)
{
  struct dockerapi_response resp = { 0 };
  moat_error_t err = NULL;
  json_t *list, *out, *c;
  int budget = INSPECT_PER_LIST;
  size_t i, missing = 0;

  if (dockerapi_call (r->engine_sock, "GET", "/containers/json?all=1", NULL, 0,
                      false, 2000, &resp, &err)
          < 0
      || resp.status != 200)
    {
      log_warn ("dashboard: list containers: %s",
                err ? moat_error_msg (&err) : resp.body);
      moat_error_release (&err);
      dockerapi_response_free (&resp);
      return NULL;
    }
  list = json_loads (resp.body, 0, NULL);
  dockerapi_response_free (&resp);
  out = json_array ();
  json_array_foreach (list, i, c)
  {
    const char *id = json_string_value (json_object_get (c, "Id"));
    const char *name
        = json_string_value (json_array_get (json_object_get (c, "Names"), 0));
    const char *rt;
    if (id == NULL)
      continue;
    if ((rt = runtime_of (r, id, &budget)) == NULL)
      missing++;
    json_array_append_new (
        out,
        json_pack ("{s:s, s:s, s:s, s:s, s:s?}", "id", id, "name",
                   name ? (name[0] == '/' ? name + 1 : name) : "", "image",
                   json_string_value (json_object_get (c, "Image")) ?: "",
                   "state",
                   json_string_value (json_object_get (c, "State")) ?: "",
                   "runtime", rt));
  }
  json_decref (list);
  r->complete = missing == 0;
  return out;
}

/* (lister thread) Whether the engine's containers may have changed since
 * the last full list began: true unless the engine answers, for the
 * window from just before that start to now, with no container
 * event at all.  The window only grows until the next full list, so an
 * event is seen whenever it happened. */
static bool
changed_since_list (struct web_role *r)
{
  struct dockerapi_response resp = { 0 };
  moat_error_t err = NULL;
  struct timespec now, since = r->list_start;
  char path[256];
  bool changed = true;

  if (!r->have_list || !r->complete)
    return true;
  /* the engine keeps its events in memory only: a restarted engine has
   * forgotten those of its shutdown.  A full list at least this often. */
  clock_gettime (CLOCK_REALTIME, &now);
  if (now.tv_sec - r->list_start.tv_sec >= FULL_LIST_MAX_S
      || now.tv_sec < r->list_start.tv_sec)
    return true;
  /* a quarter second before the list began: an event is stamped after
   * its change, on the same clock, so this is margin only */
  if (since.tv_nsec >= 250000000)
    since.tv_nsec -= 250000000;
  else
    {
      since.tv_sec--;
      since.tv_nsec += 750000000;
    }
  clock_gettime (CLOCK_REALTIME, &now);
  /* until a millisecond ago: the engine then answers at once, from the
   * past only, instead of streaming */
  if (now.tv_nsec >= 1000000)
    now.tv_nsec -= 1000000;
  else
    {
      now.tv_sec--;
      now.tv_nsec += 999000000;
    }
  snprintf (path, sizeof path,
            "/events?since=%lld.%09ld&until=%lld.%09ld"
            "&filters=%%7B%%22type%%22%%3A%%5B%%22container%%22%%5D%%7D",
            (long long)since.tv_sec, since.tv_nsec, (long long)now.tv_sec,
            now.tv_nsec);
  if (dockerapi_call (r->engine_sock, "GET", path, NULL, 0, false, 1000, &resp,
                      &err)
          == 0
      && resp.status == 200)
    {
      changed = false;
      for (size_t i = 0; i < resp.len && !changed; i++)
        changed = resp.body[i] != ' ' && resp.body[i] != '\n'
                  && resp.body[i] != '\r' && resp.body[i] != '\t';
    }
  moat_error_release (&err);
  dockerapi_response_free (&resp);
  return changed;
}

static void *
lister (void *arg)
{
  struct web_role *r = arg;
  /* below the main thread, which serves the pages (a thread's nice value
   * is its own on Linux); failing that, it runs as before */
  if (setpriority (PRIO_PROCESS, (id_t)gettid (), 10) < 0)
    log_debug ("dashboard: lower the list thread's priority: %s",
               strerror (errno));
  pthread_mutex_lock (&r->mu);
  for (;;)
    {
      while (!atomic_load (&r->stop) && !r->want)
        pthread_cond_wait (&r->cond, &r->mu);
      if (atomic_load (&r->stop))
        break;
      r->want = false;
      pthread_mutex_unlock (&r->mu);
      int64_t asked_ms = moatd_now_ms ();
      json_t *list = NULL;
      bool changed = changed_since_list (r);
      struct timespec start;
      clock_gettime (CLOCK_REALTIME, &start);
      if (changed && (list = fetch_list (r)) != NULL)
        {
          r->have_list = true;
          r->list_start = start;
        }
      pthread_mutex_lock (&r->mu);
      if (list != NULL)
        {
          json_decref (r->fresh);
          r->fresh = list;
          r->fresh_ms = moatd_now_ms ();
          r->full_lists++;
        }
      else if (!changed)
        r->held_ms = asked_ms; /* the last list still holds */
      r->fetches++;
      pthread_cond_broadcast (&r->done);
    }
  pthread_mutex_unlock (&r->mu);
  return NULL;
}

/* (main thread, under mu) Take the thread's newest list, and the time
 * it last found that list still holds. */
static void
take_fresh (struct web_role *r)
{
  if (r->fresh != NULL)
    {
      json_decref (r->containers);
      r->containers = r->fresh;
      r->containers_ms = r->fresh_ms;
      r->fresh = NULL;
    }
  if (r->containers != NULL && r->held_ms > r->containers_ms)
    r->containers_ms = r->held_ms;
}

/* Ask for a new list; with wait_ms, wait that long at most for it.  Then
 * take the newest list the thread has. */
static void
refresh (struct web_role *r, int wait_ms)
{
  pthread_mutex_lock (&r->mu);
  uint64_t before = r->fetches;
  r->want = true;
  pthread_cond_signal (&r->cond);
  if (wait_ms > 0)
    {
      struct timespec until;
      clock_gettime (CLOCK_REALTIME, &until);
      until.tv_sec += wait_ms / 1000;
      until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
      if (until.tv_nsec >= 1000000000)
        {
          until.tv_sec++;
          until.tv_nsec -= 1000000000;
        }
      while (r->fetches == before
             && pthread_cond_timedwait (&r->done, &r->mu, &until) == 0)
        ;
    }
  take_fresh (r);
  pthread_mutex_unlock (&r->mu);
}

static json_t *
op_containers (void *ctx)
{
  struct moatd *d = ctx;
  struct web_role *r = d->web;
  json_t *out, *ranges, *c;
  int64_t now = moatd_now_ms (), dv;
  size_t i;

  r->used_ms = now;
  pthread_mutex_lock (&r->mu);
  take_fresh (r);
  pthread_mutex_unlock (&r->mu);
  if (r->containers == NULL || now - r->containers_ms >= CONTAINERS_STALE_MS)
    refresh (r, CONTAINERS_WAIT_MS);
  else if (now - r->containers_ms >= CONTAINERS_TTL_MS)
    refresh (r, 0);
  if (r->containers == NULL)
    return json_array ();
  /* The same list and no other writer to the state database since (the
   * id ranges are moat-runc's): the answer built last time holds. */
  dv = data_version (d);
  if (r->rows != NULL && r->rows_for == r->containers && dv >= 0
      && dv == r->rows_dv)
    return json_incref (r->rows);
  ranges = id_ranges (d);
  out = json_array ();
  json_array_foreach (r->containers, i, c)
  {
    json_t *row = json_copy (c);
    json_t *range = json_object_get (
        ranges, json_string_value (json_object_get (c, "id")));
    json_object_set (row, "id_range", range != NULL ? range : json_null ());
    json_array_append_new (out, row);
  }
  json_decref (ranges);
  json_decref (r->rows);
  json_decref (r->rows_for);
  r->rows = json_incref (out);
  r->rows_for = json_incref (r->containers);
  r->rows_dv = dv;
  return out;
}

static json_t *
audit_rows (sqlite3_stmt *st)
{
  json_t *out = json_array ();
  while (sqlite3_step (st) == SQLITE_ROW)
    {
      struct audit_record rec = {
        .id = sqlite3_column_int64 (st, 0),
        .time_ms = sqlite3_column_int64 (st, 1),
        .component = (const char *)sqlite3_column_text (st, 2),
        .caller_uid = sqlite3_column_int64 (st, 3),
        .caller_pid = sqlite3_column_int64 (st, 4),
        .endpoint = (const char *)sqlite3_column_text (st, 5),
        .container = (const char *)sqlite3_column_text (st, 6),
        .rule = (const char *)sqlite3_column_text (st, 7),
        .outcome = (const char *)sqlite3_column_text (st, 8),
        .detail = (const char *)sqlite3_column_text (st, 9),
      };
      json_array_append_new (out, state_audit_record_json (&rec));
    }
  return out;
}

#define AUDIT_COLS                                                            \
  "SELECT id, time_ms, component, caller_uid, caller_pid, endpoint, "         \
  "container, rule, outcome, detail FROM audit "

static json_t *
op_audit (void *ctx, int64_t before, int limit, const char *component,
          const char *outcome)
{
  struct moatd *d = ctx;
  sqlite3_stmt *st = NULL;
  json_t *out;
  if (sqlite3_prepare_v2 (state_db (d->state),
                          AUDIT_COLS "WHERE (?1 = 0 OR id < ?1) AND "
                                     "(?2 IS NULL OR component = ?2) AND "
                                     "(?3 IS NULL OR outcome = ?3) "
                                     "ORDER BY id DESC LIMIT ?4",
                          -1, &st, NULL)
      != SQLITE_OK)
    return NULL;
  sqlite3_bind_int64 (st, 1, before);
  sqlite3_bind_text (st, 2, component, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 3, outcome, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int (st, 4, limit);
  out = audit_rows (st);
  sqlite3_finalize (st);
  return out;
}

static json_t *
op_audit_since (void *ctx, int64_t since_id)
{
  struct moatd *d = ctx;
  sqlite3_stmt *st = NULL;
  json_t *out;
  if (sqlite3_prepare_v2 (state_db (d->state),
                          AUDIT_COLS "WHERE id > ?1 ORDER BY id LIMIT 1000",
                          -1, &st, NULL)
      != SQLITE_OK)
    return NULL;
  sqlite3_bind_int64 (st, 1, since_id);
  out = audit_rows (st);
  sqlite3_finalize (st);
  return out;
}

/* moat-runc's pool: the `moat` entry of $MOAT_ROOT/etc/subuid (read, never
 * created here: moat-runc creates it). */
static json_t *
pool_json (struct moatd *d)
{
  cleanup_free char *path = moat_paths_join (d->paths, "/etc/subuid");
  cleanup_file FILE *f = path ? fopen (path, "re") : NULL;
  char line[256];
  unsigned long start, count;
  while (f != NULL && fgets (line, sizeof line, f) != NULL)
    if (sscanf (line, "moat:%lu:%lu", &start, &count) == 2)
      return json_pack ("{s:I, s:I, s:I}", "start", (json_int_t)start, "count",
                        (json_int_t)count, "ranges",
                        (json_int_t)(count / 65536));
  return json_object ();
}

static json_t *
op_charts (void *ctx)
{
  struct moatd *d = ctx;
  sqlite3_stmt *st = NULL;
  json_t *ranges = json_array (), *bars = json_array ();
  int64_t now_h = moatd_now_ms () / 3600000;
  int64_t counts[24] = { 0 };

  if (sqlite3_prepare_v2 (state_db (d->state),
                          "SELECT container_id, base, size FROM "
                          "runtime_id_ranges ORDER BY base",
                          -1, &st, NULL)
      == SQLITE_OK)
    while (sqlite3_step (st) == SQLITE_ROW)
      json_array_append_new (
          ranges, json_pack ("{s:s, s:I, s:I}", "container",
                             (const char *)sqlite3_column_text (st, 0), "base",
                             (json_int_t)sqlite3_column_int64 (st, 1), "size",
                             (json_int_t)sqlite3_column_int64 (st, 2)));
  sqlite3_finalize (st);
  st = NULL;
  if (sqlite3_prepare_v2 (state_db (d->state),
                          "SELECT time_ms / 3600000, count(*) FROM audit "
                          "WHERE outcome = 'refused' AND time_ms >= ?1 "
                          "GROUP BY 1",
                          -1, &st, NULL)
      == SQLITE_OK)
    {
      sqlite3_bind_int64 (st, 1, (now_h - 23) * 3600000);
      while (sqlite3_step (st) == SQLITE_ROW)
        {
          int64_t h = sqlite3_column_int64 (st, 0) - (now_h - 23);
          if (h >= 0 && h < 24)
            counts[h] = sqlite3_column_int64 (st, 1);
        }
    }
  sqlite3_finalize (st);
  for (int h = 0; h < 24; h++)
    json_array_append_new (bars,
                           json_pack ("{s:I, s:I}", "hour_ms",
                                      (json_int_t)((now_h - 23 + h) * 3600000),
                                      "count", (json_int_t)counts[h]));
  return json_pack ("{s:o, s:o, s:o}", "pool", pool_json (d), "ranges", ranges,
                    "refusals", bars);
}

int
moatd_web_start (struct moatd *d, moat_error_t *err)
{
  struct web_config cfg = { .port = d->cfg.dashboard_port };
  struct web_ops ops = {
    .ctx = d,
    .status = op_status,
    .settings = op_settings,
    .settings_set = op_settings_set,
    .containers = op_containers,
    .audit = op_audit,
    .audit_since = op_audit_since,
    .charts = op_charts,
  };
  struct io_loop_config lcfg = { .on_wake = moatd_ext_ui_drain, .ctx = d };
  struct web_role *r;
  moat_error_t werr = NULL;
  const char *ttl = getenv ("MOAT_DASHBOARD_TICKET_TTL_MS"); /* tests */

  if (d->cfg.dashboard_port == 0)
    {
      log_info ("dashboard off (--dashboard-port 0)");
      return 0;
    }
  moatd_ext_ui_ops (&ops);
  if ((r = calloc (1, sizeof *r)) == NULL)
    return moat_error (err, ENOMEM, "dashboard");
  d->web = r;
  pthread_mutex_init (&r->mu, NULL);
  pthread_cond_init (&r->cond, NULL);
  pthread_cond_init (&r->done, NULL);
  atomic_init (&r->stop, false);
  if ((r->runtimes = json_object ()) == NULL
      || (r->engine_sock = strdup (d->engine_sock)) == NULL)
    return moat_error (err, ENOMEM, "dashboard");
  if (pthread_create (&r->thr, NULL, lister, r) != 0)
    return moat_error (err, EAGAIN, "dashboard: start the list thread");
  r->thr_started = true;
  /* the knob only shortens: a ticket is never valid beyond the contract's
   * 60 s (an expiry is checked on use, against the monotonic clock) */
  if (ttl != NULL && strtoull (ttl, NULL, 10) > 0
      && strtoull (ttl, NULL, 10) < 60000)
    cfg.ticket_ttl_ms = strtoull (ttl, NULL, 10);
  r->src.kind = SRC_WEB;
  if (io_loop_new (&lcfg, &r->loop, err) < 0)
    return moat_error_wrap (err, "dashboard");
  if (moatd_ext_ui_start (d, r->loop, &r->web, err) < 0)
    return -1;
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &r->src };
  if (epoll_ctl (d->epfd, EPOLL_CTL_ADD, io_loop_fd (r->loop), &ev) < 0)
    return moat_error (err, errno, "dashboard: epoll_ctl");
  /* A port taken by something else does not stop moatd: the guards
   * matter more than the dashboard.  `moat status` reports it. */
  if (web_new (r->loop, &cfg, &ops, &r->web, &werr) < 0)
    {
      log_error ("dashboard not served: %s", moat_error_msg (&werr));
      free (d->web_error);
      d->web_error = strdup (moat_error_msg (&werr));
      moat_error_release (&werr);
      return 0;
    }
  log_info ("dashboard on http://127.0.0.1:%u/", web_port (r->web));
  return 0;
}

void
moatd_web_turn (struct moatd *d)
{
  moat_error_t err = NULL;
  if (d->web == NULL || d->web->loop == NULL)
    return;
  if (io_loop_once (d->web->loop, 0, &err) < 0)
    {
      log_warn ("dashboard: %s", moat_error_msg (&err));
      moat_error_release (&err);
    }
}

void
moatd_web_tick (struct moatd *d)
{
  if (d->web == NULL)
    return;
  web_tick (d->web->web);
  /* keep the list fresh while someone looks at it */
  if (d->web->thr_started && moatd_now_ms () - d->web->used_ms < 60000)
    refresh (d->web, 0);
  moatd_web_turn (d);
}

void
moatd_web_audit (struct moatd *d, json_t *rec)
{
  /* never turns the loop: this may run inside one of its callbacks (a
   * setting changed from the dashboard is audited) */
  if (d->web != NULL && d->web->web != NULL)
    web_audit_push (d->web->web, rec);
}

json_t *
moatd_web_ticket (struct moatd *d, uid_t uid)
{
  char url[256];
  moat_error_t err = NULL;
  json_t *reply;
  if (d->web == NULL || d->web->web == NULL)
    return json_pack ("{s:b, s:s}", "ok", 0, "error",
                      d->web_error != NULL ? d->web_error
                                           : "the dashboard is off (moat up "
                                             "--dashboard-port 0)");
  if (web_ticket (d->web->web, uid, url, sizeof url, &err) < 0)
    {
      reply
          = json_pack ("{s:b, s:s}", "ok", 0, "error", moat_error_msg (&err));
      moat_error_release (&err);
      return reply;
    }
  return json_pack ("{s:b, s:s, s:i}", "ok", 1, "url", url, "expires_in_s",
                    60);
}

json_t *
moatd_web_status (struct moatd *d)
{
  if (d->web != NULL && d->web->web != NULL)
    {
      json_int_t lists;
      pthread_mutex_lock (&d->web->mu);
      lists = (json_int_t)d->web->full_lists;
      pthread_mutex_unlock (&d->web->mu);
      return json_pack ("{s:b, s:i, s:i, s:I}", "running", 1, "port",
                        (int)web_port (d->web->web), "followers",
                        (int)web_followers (d->web->web), "container_lists",
                        lists);
    }
  return json_pack ("{s:b, s:s?}", "running", 0, "error", d->web_error);
}

void
moatd_web_stop (struct moatd *d)
{
  struct web_role *r = d->web;
  if (r == NULL)
    return;
  moatd_ext_ui_stop (d);
  web_free (r->web);
  if (r->loop != NULL)
    {
      moat_error_t err = NULL;
      /* the closed connections' memory */
      if (io_loop_once (r->loop, 0, &err) < 0)
        moat_error_release (&err);
      io_loop_free (r->loop);
    }
  if (r->thr_started)
    {
      pthread_mutex_lock (&r->mu);
      atomic_store (&r->stop, true);
      pthread_cond_signal (&r->cond);
      pthread_mutex_unlock (&r->mu);
      pthread_join (r->thr, NULL);
    }
  pthread_mutex_destroy (&r->mu);
  pthread_cond_destroy (&r->cond);
  pthread_cond_destroy (&r->done);
  json_decref (r->fresh);
  json_decref (r->containers);
  json_decref (r->rows);
  json_decref (r->rows_for);
  json_decref (r->runtimes);
  free (r->engine_sock);
  free (r);
  d->web = NULL;
  free (d->web_error);
  d->web_error = NULL;
}
