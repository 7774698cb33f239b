/* The engine guard role: moatd runs the guard's event loop on a thread of
 * its own, hands it every new policy snapshot, and turns its refusals and
 * rewrites into audit records. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "dockerapi/dockerapi.h"
#include "engine/guard.h"
#include "internal.h"
#include "state/state.h"

struct guard_role
{
  struct engine_guard_paths paths; /* the guard's config points into it */
  /* cfg.container_cidrs split, for the network create check */
  char *cidr_list;
  const char *cidrs[16];
  struct policy_snap *snap; /* the policy the guard uses */
  /* image name records (engine/imgprov.h): a connection of the check
   * workers' own, one at a time */
  struct moat_state *img_state;
  pthread_mutex_t img_mu;
  pthread_t thread;
  bool running;
};

static void
guard_audit (void *ctx, const struct engine_audit_record *rec)
{
  struct moatd *d = ctx;
  char endpoint[4096];
  const char *container
      = rec->container && rec->container[0]
            ? rec->container
            : (rec->image && rec->image[0] ? rec->image : NULL);
  struct audit_record r = {
    .time_ms = (int64_t)rec->time.tv_sec * 1000 + rec->time.tv_nsec / 1000000,
    .component = "engine",
    .caller_uid = rec->uid,
    .caller_pid = rec->pid,
    .endpoint = endpoint,
    .container = container,
    .rule = rec->rule,
    .outcome = rec->outcome,
    .detail = rec->detail,
  };
  snprintf (endpoint, sizeof endpoint, "%s %s", rec->method, rec->uri);
  moatd_audit_post (d, &r);
}

static int
guard_image_note (void *ctx, const char *name, const char *id, int64_t uid)
{
  struct guard_role *r = ctx;
  moat_error_t err = NULL;
  int ret;
  pthread_mutex_lock (&r->img_mu);
  ret = state_image_note (r->img_state, name, id, uid, &err);
  pthread_mutex_unlock (&r->img_mu);
  if (ret < 0)
    {
      log_warn ("engine guard: %s", moat_error_msg (&err));
      moat_error_release (&err);
    }
  return ret;
}

static int
guard_image_namer (void *ctx, const char *name, const char *id, uid_t caller,
                   uid_t *other)
{
  struct guard_role *r = ctx;
  moat_error_t err = NULL;
  int64_t o = 0;
  int ret;
  pthread_mutex_lock (&r->img_mu);
  ret = state_image_namer (r->img_state, name, id, (int64_t)caller, &o, &err);
  pthread_mutex_unlock (&r->img_mu);
  if (ret < 0)
    {
      log_warn ("engine guard: %s", moat_error_msg (&err));
      moat_error_release (&err);
    }
  *other = (uid_t)o;
  return ret;
}

/* GET path on the engine (an engine_get_fn, for the docker cp check):
 * 0 with the body, 1 on 404, -1 otherwise.  Runs on a check worker of the
 * guard: bounded by the timeout. */
static int
guard_engine_get (void *ctx, const char *path, char **body, size_t *len)
{
  struct moatd *d = ctx;
  struct dockerapi_response resp = { 0 };
  moat_error_t err = NULL;
  int ret;
  if (dockerapi_call (d->engine_sock, "GET", path, NULL, 0, false, 3000, &resp,
                      &err)
      < 0)
    {
      log_warn ("engine guard: GET %s: %s", path, moat_error_msg (&err));
      moat_error_release (&err);
      return -1;
    }
  if (resp.status == 404)
    ret = 1;
  else if (resp.status != 200)
    ret = -1;
  else
    {
      *body = resp.body;
      *len = resp.len;
      resp.body = NULL;
      ret = 0;
    }
  dockerapi_response_free (&resp);
  return ret;
}

/* POST path with a JSON body on the engine (an engine_post_fn: a
 * non-root caller's new volume, engine/xuser.h): the status, or -1. */
static int
guard_engine_post (void *ctx, const char *path, const char *body, size_t len)
{
  struct moatd *d = ctx;
  struct dockerapi_response resp = { 0 };
  moat_error_t err = NULL;
  int st;
  if (dockerapi_call (d->engine_sock, "POST", path, body, len, false, 3000,
                      &resp, &err)
      < 0)
    {
      log_warn ("engine guard: POST %s: %s", path, moat_error_msg (&err));
      moat_error_release (&err);
      return -1;
    }
  st = resp.status;
  dockerapi_response_free (&resp);
  return st;
}

/* The guard's VolumesFrom check asks the engine about the source
 * container (name already validated: no character that changes the
 * URL). */
static int
guard_inspect_container (void *ctx, const char *name, char **json, size_t *len)
{
  char path[512];
  if (snprintf (path, sizeof path, "/containers/%s/json", name)
      >= (int)sizeof path)
    return -1;
  return guard_engine_get (ctx, path, json, len);
}

static void *
guard_thread (void *arg)
{
  struct moatd *d = arg;
  moat_error_t err = NULL;
  /* Registry lookups of the socket-mount hook run on this thread and must
   * reach what the engine reaches.  Harmless for the guard itself: every
   * socket it listens on or connects to is a unix socket named by path. */
  if (d->cfg.engine_netns != NULL)
    {
      char path[PATH_MAX];
      int fd;
      snprintf (path, sizeof path, "/run/netns/%s", d->cfg.engine_netns);
      fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns (fd, CLONE_NEWNET) < 0)
        log_error ("engine guard: cannot enter network namespace `%s` (%s); "
                   "registries are reached from moatd's own",
                   path, strerror (errno));
      if (fd >= 0)
        close (fd);
    }
  if (engine_guard_run (d->guard, &err) < 0)
    {
      log_error ("engine guard stopped: %s", moat_error_msg (&err));
      moat_error_release (&err);
    }
  return NULL;
}

int
moatd_guard_start (struct moatd *d, moat_error_t *err)
{
  struct engine_guard_config cfg;
  struct group *gr;
  struct guard_role *r = d->guard_role;

  if (r == NULL && (r = d->guard_role = calloc (1, sizeof *r)) == NULL)
    return moat_error (err, ENOMEM, "start the engine guard");
  engine_guard_config_init (&cfg, &r->paths, d->paths);
  cfg.engine_path = d->engine_sock;
  cfg.audit = guard_audit;
  cfg.audit_ctx = d;
  /* user networks stay inside the engine's address pool */
  if (d->cfg.container_cidrs != NULL)
    {
      char *save = NULL;
      size_t n = 0;
      free (r->cidr_list);
      r->cidr_list = strdup (d->cfg.container_cidrs);
      if (r->cidr_list == NULL)
        return moat_error (err, ENOMEM, "start the engine guard");
      for (char *t = strtok_r (r->cidr_list, ",", &save); t != NULL;
           t = strtok_r (NULL, ",", &save))
        {
          if (n == sizeof r->cidrs / sizeof r->cidrs[0])
            return moat_error (err, E2BIG, "more than %zu container networks",
                               n);
          r->cidrs[n++] = t;
        }
      cfg.eci.container_cidrs = r->cidrs;
      cfg.eci.n_container_cidrs = n;
    }
  if (moatd_sockex_start (d, err) < 0)
    return moat_error_wrap (err, "start the docker socket exceptions");
  cfg.eci.socket_mount_allowed = moatd_sockex_hook;
  cfg.eci.socket_mount_ctx = d;
  /* a non-root caller's host binds reach the engine as this empty,
   * root-owned directory (engine/eci.h ECI_BINDS_LABEL) */
  if (mkdir (d->paths->bind_standin, 0555) < 0 && errno != EEXIST)
    return moat_error (err, errno, "create `%s`", d->paths->bind_standin);
  cfg.eci.bind_standin = d->paths->bind_standin;
  cfg.eci.inspect_container = guard_inspect_container;
  cfg.eci.inspect_ctx = d;
  cfg.peer_check = moatd_sockex_peer;
  cfg.peer_ctx = d;
  cfg.registry_check = moatd_registry_check;
  cfg.registry_ctx = d;
  cfg.engine_get = guard_engine_get;
  cfg.engine_post = guard_engine_post;
  cfg.engine_get_ctx = d;
  if (r->img_state == NULL)
    {
      if (state_open (d->paths->state_db, &r->img_state, err) < 0)
        return moat_error_wrap (err, "open the image name records");
      pthread_mutex_init (&r->img_mu, NULL);
    }
  cfg.image_note = guard_image_note;
  cfg.image_namer = guard_image_namer;
  cfg.image_ctx = r;
  d->guard = engine_guard_new (&cfg, err);
  if (d->guard == NULL)
    return moat_error_wrap (err, "start the engine guard on `%s`",
                            d->paths->docker_sock);
  /* the sign-in gate is in place before the first request is read */
  moatd_session_publish (d);
  /* Users reach the guarded socket through the docker group, as they
   * would reach a plain Docker socket. */
  gr = getgrnam ("docker");
  if (chown (d->paths->docker_sock, 0, gr != NULL ? gr->gr_gid : 0) < 0
      || chmod (d->paths->docker_sock, 0660) < 0)
    return moat_error (err, errno, "set owner of `%s`", d->paths->docker_sock);
  moatd_guard_policy (d);
  moatd_sockex_restore (d);
  if (pthread_create (&r->thread, NULL, guard_thread, d) != 0)
    return moat_error (err, EAGAIN, "start the engine guard thread");
  r->running = true;
  log_info ("engine guard serving %s -> %s", d->paths->docker_sock,
            d->engine_sock);
  return 0;
}

/* Hand the current policy to the guard; the guard's previous snapshot is
 * released only once the guard has stopped using it. */
void
moatd_guard_policy (struct moatd *d)
{
  struct guard_role *r = d->guard_role;
  struct policy_snap *old;
  if (d->guard == NULL || r == NULL)
    return;
  old = r->snap;
  r->snap = policy_snap_acquire (&d->snaps);
  engine_guard_set_policy (d->guard, policy_snap_get (r->snap));
  policy_snap_release (old);
}

void
moatd_guard_stop (struct moatd *d)
{
  struct guard_role *r = d->guard_role;
  if (r != NULL && r->running)
    {
      engine_guard_stop (d->guard);
      pthread_join (r->thread, NULL);
      r->running = false;
    }
  moatd_sockex_stop (d);
  engine_guard_free (d->guard);
  d->guard = NULL;
  if (r == NULL)
    return;
  policy_snap_release (r->snap);
  /* the guard's config pointed into it: freed after the guard */
  free (r->cidr_list);
  if (r->img_state != NULL)
    {
      state_close (r->img_state);
      pthread_mutex_destroy (&r->img_mu);
    }
  free (r);
  d->guard_role = NULL;
}
