/* Docker socket exceptions in moatd: the engine guard's socket-mount hook
 * (image allow list, registry digest check, derived images) and the
 * per-container filtered sockets it hands out, removed again once their
 * container is gone.
 *
 * The hook runs on the guard's check workers (several at once), started by
 * the guard's thread, which lives in the engine's network namespace
 * (guard_role.c), so that registries the engine reaches on its loopback
 * are reached too.  A lookup holds up only the create that needs it (at
 * most SOCKEX_TIMEOUT_MS); digests are cached for SOCKEX_TTL_S. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <limits.h>
#include <linux/nsfs.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "dockerapi/dockerapi.h"
#include "engine/guard.h"
#include "engine/sockex.h"
#include "internal.h"

#define SOCKEX_TTL_S 300
#define SOCKEX_TIMEOUT_MS 3000
/* A socket whose container never showed up (its create failed) goes
 * after this long. */
#define SOCKEX_GRACE_S 30
#define SOCKEX_MAX 1024
/* How long a filtered socket's peer may wait for its starting container
 * to be listed as running. */
#define PEER_WAIT_MS 1500

struct fsock
{
  char *path;
  int id;
  time_t created;
  bool seen;
};

struct sockex_role
{
  struct moatd *d;
  struct sockex_registry *reg;
  char *dir;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool stop;
  pthread_t sweeper;
  bool sweeper_running;
  struct fsock *s;
  size_t n;
};

static int
engine_inspect (void *ctx, const char *name, struct sockex_image *out,
                moat_error_t *err)
{
  struct sockex_role *x = ctx;
  struct dockerapi_response resp = { 0 };
  cleanup_free char *path = NULL;
  int ret;
  /* names were parsed as references: no '?', '#', '%' or spaces */
  if (strpbrk (name, "?#% ") != NULL)
    return 1;
  if (asprintf (&path, "/images/%s/json", name) < 0)
    {
      path = NULL;
      return moat_error (err, ENOMEM, "inspect");
    }
  if (dockerapi_call (x->d->engine_sock, "GET", path, NULL, 0, false,
                      SOCKEX_TIMEOUT_MS, &resp, err)
      < 0)
    return -1;
  if (resp.status == 404)
    ret = 1;
  else if (resp.status != 200)
    ret = moat_error (err, EPROTO, "image inspect: HTTP %ld", resp.status);
  else
    ret = sockex_image_parse (resp.body, resp.len, out, err);
  dockerapi_response_free (&resp);
  return ret;
}

static int
engine_list_images (void *ctx, struct sockex_local **out, size_t *n,
                    moat_error_t *err)
{
  struct sockex_role *x = ctx;
  struct dockerapi_response resp = { 0 };
  int ret;
  if (dockerapi_call (x->d->engine_sock, "GET", "/images/json", NULL, 0, false,
                      SOCKEX_TIMEOUT_MS, &resp, err)
      < 0)
    return -1;
  if (resp.status != 200)
    ret = moat_error (err, EPROTO, "image list: HTTP %ld", resp.status);
  else
    ret = sockex_local_parse (resp.body, resp.len, out, n, err);
  dockerapi_response_free (&resp);
  return ret;
}

static int
remote_digest (void *ctx, const struct imageref *ref, char **digest,
               moat_error_t *err)
{
  struct sockex_role *x = ctx;
  return sockex_registry_digest (x->reg, ref, digest, err);
}

/* A fresh listening socket for one container. */
static char *
make_socket (struct sockex_role *x, int *fd_out, moat_error_t *err)
{
  unsigned char rnd[16];
  char hex[33];
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  cleanup_free char *path = NULL;
  cleanup_close int fd = -1;
  if (getrandom (rnd, sizeof rnd, 0) != sizeof rnd)
    {
      moat_error (err, errno, "getrandom");
      return NULL;
    }
  for (size_t i = 0; i < sizeof rnd; i++)
    snprintf (hex + 2 * i, 3, "%02x", rnd[i]);
  if (asprintf (&path, "%s/%s.sock", x->dir, hex) < 0)
    {
      path = NULL;
      moat_error (err, ENOMEM, "filtered socket");
      return NULL;
    }
  if (strlen (path) >= sizeof sa.sun_path)
    {
      moat_error (err, ENAMETOOLONG, "filtered socket `%s`", path);
      return NULL;
    }
  memcpy (sa.sun_path, path, strlen (path) + 1);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind (fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    {
      moat_error (err, errno, "bind `%s`", path);
      return NULL;
    }
  /* The container's root may be any id of its range: the socket is
   * reachable only through its unlistable, unguessable path. */
  if (chmod (path, 0666) < 0 || listen (fd, 128) < 0)
    {
      moat_error (err, errno, "listen on `%s`", path);
      unlink (path);
      return NULL;
    }
  *fd_out = steal_fd (&fd);
  char *ret = path;
  path = NULL;
  return ret;
}

/* Is path (resolved) one of the filtered sockets being served? */
static bool
filtered_socket_p (struct sockex_role *x, const char *path)
{
  cleanup_free char *rdir = realpath (x->dir, NULL);
  const char *base = strrchr (path, '/');
  bool found = false;
  if (base == NULL)
    return false;
  pthread_mutex_lock (&x->mu);
  for (size_t i = 0; i < x->n && !found; i++)
    {
      const char *fb = strrchr (x->s[i].path ? x->s[i].path : "", '/');
      found = strcmp (x->s[i].path ? x->s[i].path : "", path) == 0
              || (rdir != NULL && fb != NULL && strcmp (fb, base) == 0
                  && strncmp (path, rdir, strlen (rdir)) == 0
                  && path + strlen (rdir) == base);
    }
  pthread_mutex_unlock (&x->mu);
  return found;
}

int
moatd_sockex_hook (void *ctx, const struct policy *pol, const char *image,
                   const char *host_path, char **replace, char **image_id,
                   char **message)
{
  struct moatd *d = ctx;
  struct sockex_role *x = d->sockex;
  struct sockex_ops ops = { .inspect = engine_inspect,
                            .remote_digest = remote_digest,
                            .list_images = engine_list_images,
                            .ctx = x };
  moat_error_t err = NULL;
  char *path;
  int fd = -1, id;
  (void)host_path;
  if (x == NULL || d->guard == NULL)
    return -1;
  /* An inherited socket (VolumesFrom) cannot be swapped for a filtered
   * one: only a filtered socket moat handed out may be shared, never the
   * engine's own. */
  if (replace == NULL && !filtered_socket_p (x, host_path))
    {
      if (asprintf (message,
                    "enhanced container isolation: docker socket mount "
                    "denied for container with image \"%s\"; only a "
                    "filtered docker socket can be shared through "
                    "volumes-from.",
                    image)
          < 0)
        *message = NULL;
      return -1;
    }
  struct timespec t0, t1;
  clock_gettime (CLOCK_MONOTONIC, &t0);
  int r = sockex_decide (pol, &ops, image, image_id, message);
  clock_gettime (CLOCK_MONOTONIC, &t1);
  log_info ("socket mount for a container of %s %s in %.3f ms", image,
            r == 0 ? "allowed" : "refused",
            (double)(t1.tv_sec - t0.tv_sec) * 1e3
                + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
  if (r < 0)
    return -1;
  if (replace == NULL)
    return 0; /* decision only: an inherited socket (VolumesFrom) */
  pthread_mutex_lock (&x->mu);
  if (x->n >= SOCKEX_MAX)
    {
      pthread_mutex_unlock (&x->mu);
      *message = strdup ("moat: too many filtered docker sockets");
      return -1;
    }
  pthread_mutex_unlock (&x->mu);
  path = make_socket (x, &fd, &err);
  if (path == NULL)
    goto fail;
  id = engine_guard_add_listener (d->guard, fd, ENGINE_LISTENER_COMMAND_LIST,
                                  &err);
  if (id < 0)
    {
      unlink (path);
      free (path);
      goto fail;
    }
  pthread_mutex_lock (&x->mu);
  struct fsock *ns = realloc (x->s, (x->n + 1) * sizeof *ns);
  if (ns != NULL)
    {
      x->s = ns;
      x->s[x->n++] = (struct fsock){ .path = strdup (path),
                                     .id = id,
                                     .created = time (NULL) };
    }
  pthread_mutex_unlock (&x->mu);
  log_info ("filtered docker socket %s for a container of %s", path, image);
  *replace = path;
  return 0;
fail:
  log_error ("filtered docker socket: %s", moat_error_msg (&err));
  *message = strdup ("moat: cannot create the container's filtered docker "
                     "socket");
  moat_error_release (&err);
  return -1;
}

/* ---- who may use a filtered socket ------------------------------------- */

/* Is the namespace `want` (an nsfs inode) ns_fd's, or one of its
 * ancestors (a container that nests pid or user namespaces of its own)?
 * Takes ns_fd. */
static bool
ns_within (int ns_fd, dev_t want_dev, ino_t want_ino)
{
  bool found = false;
  for (int depth = 0; ns_fd >= 0 && depth < 33 && !found; depth++)
    {
      struct stat st;
      int parent;
      if (fstat (ns_fd, &st) == 0 && st.st_dev == want_dev
          && st.st_ino == want_ino)
        found = true;
      parent = found ? -1 : ioctl (ns_fd, NS_GET_PARENT);
      close (ns_fd);
      ns_fd = parent;
    }
  if (ns_fd >= 0)
    close (ns_fd);
  return found;
}

static int
open_ns (pid_t pid, const char *ns)
{
  char p[64];
  snprintf (p, sizeof p, "/proc/%ld/ns/%s", (long)pid, ns);
  return open (p, O_RDONLY | O_CLOEXEC);
}

/* Is the peer's namespace (peer_fd, kept) of kind `ns` within the one of
 * pid?  A container in moatd's own namespace of that kind proves nothing:
 * false for pid namespaces, and "no constraint" (true) for user
 * namespaces (a container without one of its own). */
static bool
peer_ns_within (int peer_fd, pid_t pid, const char *ns)
{
  struct stat st, self;
  char selfp[32];
  int cfd = open_ns (pid, ns);
  int dup_fd;
  bool r = false;
  snprintf (selfp, sizeof selfp, "/proc/self/ns/%s", ns);
  if (cfd < 0 || fstat (cfd, &st) < 0 || stat (selfp, &self) < 0)
    goto out;
  if (self.st_dev == st.st_dev && self.st_ino == st.st_ino)
    {
      r = strcmp (ns, "user") == 0;
      goto out;
    }
  dup_fd = fcntl (peer_fd, F_DUPFD_CLOEXEC, 0);
  r = dup_fd >= 0 && ns_within (dup_fd, st.st_dev, st.st_ino);
out:
  if (cfd >= 0)
    close (cfd);
  return r;
}

/* Is the process now at pid the one that connected?  With a pidfd, it is
 * while it lives; without (Linux < 6.5), its effective uid must still be
 * the connecting one: a recycled pid would belong to a process of another
 * uid, a container's processes all run in its own id range. */
static bool
peer_still_p (const struct ucred *cred, int pidfd)
{
  char p[64], line[256];
  cleanup_file FILE *f = NULL;
  if (pidfd >= 0)
    return syscall (SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
  snprintf (p, sizeof p, "/proc/%ld/status", (long)cred->pid);
  f = fopen (p, "re");
  if (f == NULL)
    return false;
  while (fgets (line, sizeof line, f))
    {
      unsigned long r, e;
      if (sscanf (line, "Uid: %lu %lu", &r, &e) == 2)
        return e == (unsigned long)cred->uid;
    }
  return false;
}

static bool
decimal_id (const char *s, unsigned long *out)
{
  char *end;
  if (s == NULL || s[0] < '0' || s[0] > '9')
    return false;
  errno = 0;
  *out = strtoul (s, &end, 10);
  return errno == 0 && *end == '\0' && *out < 0xffffffffUL;
}

/* The running or starting containers that mount `path` (their ids); sets
 * *starting when one of them is still "created": the engine records a
 * container as running (with its pid) only once its runtime's start has
 * returned, and by then its first process may already be connecting. */
static json_t *
containers_mounting (struct sockex_role *x, const char *path, bool *starting)
{
  struct dockerapi_response resp = { 0 };
  moat_error_t err = NULL;
  json_t *list = NULL, *c, *ids = json_array ();
  size_t i;
  if (ids == NULL)
    return NULL;
  *starting = false;
  if (dockerapi_call (x->d->engine_sock, "GET", "/containers/json?all=1", NULL,
                      0, false, SOCKEX_TIMEOUT_MS, &resp, &err)
      < 0)
    {
      log_warn ("filtered socket peer: list containers: %s",
                moat_error_msg (&err));
      moat_error_release (&err);
      return ids;
    }
  if (resp.status == 200)
    list = json_loadb (resp.body, resp.len, 0, NULL);
  dockerapi_response_free (&resp);
  json_array_foreach (list, i, c)
  {
    json_t *m;
    size_t k;
    const char *id = json_string_value (json_object_get (c, "Id"));
    const char *state = json_string_value (json_object_get (c, "State"));
    bool created = state != NULL && strcmp (state, "created") == 0;
    if (state == NULL
        || !(created || strcmp (state, "running") == 0
             || strcmp (state, "restarting") == 0))
      continue;
    json_array_foreach (json_object_get (c, "Mounts"), k, m)
    {
      const char *src = json_string_value (json_object_get (m, "Source"));
      if (id != NULL && src != NULL && strcmp (src, path) == 0
          && strspn (id, "0123456789abcdef") == strlen (id))
        {
          json_array_append_new (ids, json_string (id));
          *starting = *starting || created;
          break;
        }
    }
  }
  json_decref (list);
  return ids;
}

/* Is the peer (its pid and user namespaces, kept) a process of container
 * id: in its pid namespace and its user namespace (so that a container
 * that joined this one's pid namespace, with ids of its own, is not)?  On
 * yes, *uid / *gid are the caller labels of that container (who created
 * it), 65534 when it has none (made before moat recorded callers). */
static bool
peer_in_container (struct sockex_role *x, const char *id, int pid_fd,
                   int user_fd, uid_t *uid, gid_t *gid)
{
  struct dockerapi_response resp = { 0 };
  moat_error_t err = NULL;
  char url[128];
  json_t *root = NULL, *labels;
  json_int_t pid;
  bool found = false;
  unsigned long u, g;
  snprintf (url, sizeof url, "/containers/%.64s/json", id);
  if (dockerapi_call (x->d->engine_sock, "GET", url, NULL, 0, false,
                      SOCKEX_TIMEOUT_MS, &resp, &err)
      < 0)
    {
      moat_error_release (&err);
      return false;
    }
  if (resp.status == 200)
    root = json_loadb (resp.body, resp.len, 0, NULL);
  dockerapi_response_free (&resp);
  pid = json_integer_value (
      json_object_get (json_object_get (root, "State"), "Pid"));
  found = pid > 1 && peer_ns_within (pid_fd, (pid_t)pid, "pid")
          && peer_ns_within (user_fd, (pid_t)pid, "user");
  labels = json_object_get (json_object_get (root, "Config"), "Labels");
  if (found)
    {
      *uid = decimal_id (json_string_value (
                             json_object_get (labels, ECI_CALLER_UID_LABEL)),
                         &u)
                 ? (uid_t)u
                 : 65534;
      *gid = decimal_id (json_string_value (
                             json_object_get (labels, ECI_CALLER_GID_LABEL)),
                         &g)
                 ? (gid_t)g
                 : 65534;
    }
  json_decref (root);
  return found;
}

int
moatd_sockex_peer (void *ctx, int listener_id, const struct ucred *cred,
                   int pidfd, uid_t *caller_uid, gid_t *caller_gid,
                   char **message)
{
  struct moatd *d = ctx;
  struct sockex_role *x = d->sockex;
  cleanup_free char *path = NULL;
  json_t *ids = NULL, *idv;
  size_t i;
  int ns_fd = -1, user_fd = -1;
  bool ok = false;

  *message = NULL;
  if (x == NULL || cred->pid <= 0)
    goto refuse;
  pthread_mutex_lock (&x->mu);
  for (size_t k = 0; k < x->n && path == NULL; k++)
    if (x->s[k].id == listener_id && x->s[k].path != NULL)
      path = strdup (x->s[k].path);
  pthread_mutex_unlock (&x->mu);
  if (path == NULL)
    goto refuse;
  ns_fd = open_ns (cred->pid, "pid");
  user_fd = open_ns (cred->pid, "user");
  if (ns_fd < 0 || user_fd < 0 || !peer_still_p (cred, pidfd))
    goto refuse;
  {
    struct stat a, b;
    bool host = fstat (ns_fd, &a) == 0 && stat ("/proc/self/ns/pid", &b) == 0
                && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
    /* host root may use any socket (it may do anything anyway) */
    if (host && cred->uid == 0)
      {
        *caller_uid = 0;
        *caller_gid = 0;
        close (ns_fd);
        close (user_fd);
        return 0;
      }
    /* A container's first process may connect before the engine lists
     * it as running: while one of the socket's containers is starting,
     * look again, for at most PEER_WAIT_MS.  Never for a process of the
     * host's pid namespace, which no container's can be. */
    for (int tries = 0; !ok && tries <= PEER_WAIT_MS / 50; tries++)
      {
        bool starting = false;
        if (tries > 0)
          usleep (50 * 1000);
        ids = containers_mounting (x, path, &starting);
        json_array_foreach (ids, i, idv)
        {
          if (peer_in_container (x, json_string_value (idv), ns_fd, user_fd,
                                 caller_uid, caller_gid))
            {
              ok = true;
              break;
            }
        }
        json_decref (ids);
        if (host || !starting)
          break;
      }
  }
refuse:
  if (ns_fd >= 0)
    close (ns_fd);
  if (user_fd >= 0)
    close (user_fd);
  if (ok)
    return 0;
  log_info ("filtered docker socket %s: refused uid %ld pid %ld, not a "
            "process of its container",
            path ? path : "?", (long)cred->uid, (long)cred->pid);
  *message = strdup (
      "enhanced container isolation: this docker socket belongs to a "
      "container; only that container's processes may use it");
  return -1;
}

/* Outside x->mu: the guard's hook takes the guard's lock, then x->mu. */
static void
drop (struct sockex_role *x, struct fsock *f)
{
  engine_guard_remove_listener (x->d->guard, f->id);
  if (f->path)
    unlink (f->path);
  log_info ("filtered docker socket %s removed", f->path ? f->path : "?");
  free (f->path);
}

/* Did the engine create a container with this socket?  Its event log
 * answers even when the container was removed before a sweep saw it. */
static bool
created_p (struct sockex_role *x, const char *path, time_t since, time_t until)
{
  struct dockerapi_response resp = { 0 };
  moat_error_t err = NULL;
  cleanup_free char *filters = NULL;
  char enc[3 * 1024], url[4096];
  size_t o = 0;
  bool found;
  if (asprintf (&filters,
                "{\"type\":[\"container\"],\"event\":[\"create\"],"
                "\"label\":[\"%s=%s\"]}",
                ECI_SOCKET_LABEL, path)
      < 0)
    {
      filters = NULL;
      return false;
    }
  for (const char *p = filters; *p && o + 4 < sizeof enc; p++)
    {
      unsigned char ch = (unsigned char)*p;
      if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
          || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.')
        enc[o++] = (char)ch;
      else
        o += (size_t)snprintf (enc + o, 4, "%%%02X", ch);
    }
  enc[o] = '\0';
  snprintf (url, sizeof url, "/events?since=%lld&until=%lld&filters=%s",
            (long long)since, (long long)until, enc);
  if (dockerapi_call (x->d->engine_sock, "GET", url, NULL, 0, false,
                      SOCKEX_TIMEOUT_MS, &resp, &err)
      < 0)
    {
      moat_error_release (&err);
      return false;
    }
  found = resp.status == 200 && resp.body && strstr (resp.body, "\"create\"");
  dockerapi_response_free (&resp);
  return found;
}

/* Mark seen the sockets whose container the engine created. */
static void
mark_created (struct sockex_role *x, time_t now)
{
  struct fsock *cand;
  size_t n = 0;
  pthread_mutex_lock (&x->mu);
  cand = calloc (x->n + 1, sizeof *cand);
  for (size_t k = 0; cand && k < x->n; k++)
    if (!x->s[k].seen && (cand[n].path = strdup (x->s[k].path)) != NULL)
      cand[n++].created = x->s[k].created;
  pthread_mutex_unlock (&x->mu);
  for (size_t k = 0; k < n; k++)
    {
      /* I/O outside x->mu: the guard's hook may be waiting for it */
      cand[k].seen = created_p (x, cand[k].path, cand[k].created - 2, now);
    }
  pthread_mutex_lock (&x->mu);
  for (size_t k = 0; k < n; k++)
    for (size_t j = 0; cand[k].seen && j < x->n; j++)
      if (strcmp (x->s[j].path, cand[k].path) == 0)
        x->s[j].seen = true;
  pthread_mutex_unlock (&x->mu);
  for (size_t k = 0; k < n; k++)
    free (cand[k].path);
  free (cand);
}

/* Remove the sockets whose container is gone. */
static void
sweep (struct sockex_role *x)
{
  struct dockerapi_response resp = { 0 };
  moat_error_t err = NULL;
  json_t *list = NULL, *c;
  size_t i;
  time_t now = time (NULL);

  pthread_mutex_lock (&x->mu);
  i = x->n;
  pthread_mutex_unlock (&x->mu);
  if (i == 0)
    return;
  mark_created (x, now);
  if (dockerapi_call (
          x->d->engine_sock, "GET",
          "/containers/"
          "json?all=1&filters=%7B%22label%22%3A%5B%22" ECI_SOCKET_LABEL
          "%22%5D%7D",
          NULL, 0, false, SOCKEX_TIMEOUT_MS, &resp, &err)
      < 0)
    {
      moat_error_release (&err);
      return; /* the engine is down: keep everything until it answers */
    }
  if (resp.status == 200)
    list = json_loadb (resp.body, resp.len, 0, NULL);
  dockerapi_response_free (&resp);
  if (!json_is_array (list))
    {
      json_decref (list);
      return;
    }
  struct fsock *gone = NULL;
  size_t n_gone = 0;
  pthread_mutex_lock (&x->mu);
  gone = calloc (x->n, sizeof *gone);
  for (size_t k = 0; gone && k < x->n; k++)
    {
      size_t j;
      json_array_foreach (list, j, c)
      {
        json_t *l = json_object_get (json_object_get (c, "Labels"),
                                     ECI_SOCKET_LABEL);
        if (json_is_string (l)
            && strcmp (json_string_value (l), x->s[k].path) == 0)
          x->s[k].seen = true;
      }
    }
  for (size_t k = gone ? x->n : 0; k-- > 0;)
    {
      bool in_use = false;
      size_t j;
      json_array_foreach (list, j, c)
      {
        json_t *l = json_object_get (json_object_get (c, "Labels"),
                                     ECI_SOCKET_LABEL);
        if (json_is_string (l)
            && strcmp (json_string_value (l), x->s[k].path) == 0)
          in_use = true;
      }
      if (!in_use && (x->s[k].seen || now - x->s[k].created > SOCKEX_GRACE_S))
        {
          gone[n_gone++] = x->s[k];
          x->s[k] = x->s[--x->n];
        }
    }
  pthread_mutex_unlock (&x->mu);
  for (size_t k = 0; k < n_gone; k++)
    drop (x, &gone[k]);
  free (gone);
  json_decref (list);
}

static void *
sweeper (void *arg)
{
  struct sockex_role *x = arg;
  pthread_mutex_lock (&x->mu);
  while (!x->stop)
    {
      struct timespec ts;
      clock_gettime (CLOCK_REALTIME, &ts);
      ts.tv_sec += 1;
      pthread_cond_timedwait (&x->cv, &x->mu, &ts);
      if (x->stop)
        break;
      pthread_mutex_unlock (&x->mu);
      sweep (x);
      pthread_mutex_lock (&x->mu);
    }
  pthread_mutex_unlock (&x->mu);
  return NULL;
}

/* Is path one of ours: x->dir/<32 hex>.sock? */
static bool
our_socket_p (struct sockex_role *x, const char *path)
{
  size_t dl = strlen (x->dir);
  const char *b = path + dl + 1;
  if (strncmp (path, x->dir, dl) != 0 || path[dl] != '/'
      || strlen (b) != 32 + 5 || strcmp (b + 32, ".sock") != 0)
    return false;
  for (int i = 0; i < 32; i++)
    if (!((b[i] >= '0' && b[i] <= '9') || (b[i] >= 'a' && b[i] <= 'f')))
      return false;
  return true;
}

/* Is the process pid, held by pidfd, in container id?  Every hierarchy of
 * its /proc/PID/cgroup must name the container (cgroup_names_p), read while
 * the pidfd shows it alive: a pid recycled after the engine answered
 * belongs to another cgroup, and a process that died after the read fails
 * the pidfd check. */
static bool
container_pid_p (pid_t pid, int pidfd, const char *id)
{
  char p[64], line[1024];
  bool any = false;
  cleanup_file FILE *f = NULL;
  snprintf (p, sizeof p, "/proc/%ld/cgroup", (long)pid);
  f = fopen (p, "re");
  if (f == NULL)
    return false;
  while (fgets (line, sizeof line, f))
    {
      /* hierarchy-id:controllers:path; the empty v2 of a hybrid host and
       * v1 hierarchies the engine does not use (name=systemd's path is
       * the engine's too) all name it, or the line is "/" */
      const char *path = strchr (line, ':');
      path = path ? strchr (path + 1, ':') : NULL;
      if (path == NULL)
        return false;
      path++;
      if (strcmp (path, "/\n") == 0 || strcmp (path, "/") == 0)
        continue;
      if (!sockex_cgroup_names_p (path, id))
        return false;
      any = true;
    }
  return any && syscall (SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
}

/* Mount the socket now at path over dest in the mount namespace of the
 * process pid (container id's first process): its bind still names
 * the socket file moatd made before it restarted, an inode nobody listens
 * on any more.  The process is held by a pidfd and checked to be the
 * container's (container_pid_p), and its mount namespace must not be
 * moatd's own: a recycled pid never takes the mount to the host.  The
 * socket is cloned as a detached mount here (host mount namespace), a
 * child enters the container's mount namespace (setns needs a
 * single-threaded caller; it also makes the container's root the child's
 * root, so dest resolves inside the container), takes the old bind off
 * when it can and attaches the clone there. */
static int
reattach (pid_t pid, const char *id, const char *path, const char *dest,
          moat_error_t *err)
{
  char ns[64];
  int tree, mnt, st, pidfd;
  struct stat self_ns, its_ns;
  pid_t child;
  pidfd = (int)syscall (SYS_pidfd_open, pid, 0);
  if (pidfd < 0)
    return moat_error (err, errno, "pidfd_open pid %ld", (long)pid);
  snprintf (ns, sizeof ns, "/proc/%ld/ns/mnt", (long)pid);
  mnt = open (ns, O_RDONLY | O_CLOEXEC);
  if (mnt < 0 || !container_pid_p (pid, pidfd, id)
      || stat ("/proc/self/ns/mnt", &self_ns) < 0 || fstat (mnt, &its_ns) < 0
      || (self_ns.st_dev == its_ns.st_dev && self_ns.st_ino == its_ns.st_ino))
    {
      int e = mnt < 0 ? errno : ESRCH;
      if (mnt >= 0)
        close (mnt);
      close (pidfd);
      return moat_error (err, e,
                         "pid %ld is no longer the container's first process",
                         (long)pid);
    }
  close (pidfd);
  tree = (int)syscall (SYS_open_tree, AT_FDCWD, path,
                       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0)
    {
      close (mnt);
      return moat_error (err, errno, "clone the mount of `%s`", path);
    }
  child = fork ();
  if (child == 0)
    {
      if (setns (mnt, CLONE_NEWNS) < 0)
        _exit (1);
      (void)umount2 (dest, MNT_DETACH | UMOUNT_NOFOLLOW);
      if (syscall (SYS_move_mount, tree, "", AT_FDCWD, dest,
                   MOVE_MOUNT_F_EMPTY_PATH)
          < 0)
        _exit (2);
      _exit (0);
    }
  close (tree);
  close (mnt);
  if (child < 0)
    return moat_error (err, errno, "fork");
  while (waitpid (child, &st, 0) < 0)
    if (errno != EINTR)
      return moat_error (err, errno, "wait");
  if (!WIFEXITED (st) || WEXITSTATUS (st) != 0)
    return moat_error (err, EIO, "%s `%s` in the mount namespace of pid %ld",
                       WIFEXITED (st) && WEXITSTATUS (st) == 1
                           ? "cannot enter"
                           : "cannot mount over",
                       dest, (long)pid);
  return 0;
}

/* Is path one of the sockets restored? */
static bool
restored_p (struct sockex_role *x, const char *path)
{
  bool r = false;
  pthread_mutex_lock (&x->mu);
  for (size_t i = 0; i < x->n && !r; i++)
    r = x->s[i].path != NULL && strcmp (x->s[i].path, path) == 0;
  pthread_mutex_unlock (&x->mu);
  return r;
}

/* The running containers that mount a restored socket (the one it was
 * made for and those that inherited it, VolumesFrom) get it mounted anew
 * over their bind. */
static void
reattach_running (struct sockex_role *x)
{
  struct dockerapi_response resp = { 0 };
  moat_error_t err = NULL;
  json_t *list = NULL, *c, *m;
  size_t j, k;
  if (dockerapi_call (x->d->engine_sock, "GET", "/containers/json", NULL, 0,
                      false, SOCKEX_TIMEOUT_MS, &resp, &err)
      < 0)
    {
      log_error ("filtered sockets not mounted again: %s",
                 moat_error_msg (&err));
      moat_error_release (&err);
      return;
    }
  if (resp.status == 200)
    list = json_loadb (resp.body, resp.len, 0, NULL);
  dockerapi_response_free (&resp);
  json_array_foreach (list, j, c)
  {
    const char *id = json_string_value (json_object_get (c, "Id"));
    json_array_foreach (json_object_get (c, "Mounts"), k, m)
    {
      const char *src = json_string_value (json_object_get (m, "Source"));
      const char *dst = json_string_value (json_object_get (m, "Destination"));
      char url[128];
      json_t *root = NULL;
      json_int_t pid;
      if (id == NULL || src == NULL || dst == NULL || dst[0] != '/'
          || !our_socket_p (x, src) || !restored_p (x, src))
        continue;
      snprintf (url, sizeof url, "/containers/%.64s/json", id);
      if (dockerapi_call (x->d->engine_sock, "GET", url, NULL, 0, false,
                          SOCKEX_TIMEOUT_MS, &resp, &err)
          < 0)
        {
          moat_error_release (&err);
          continue;
        }
      if (resp.status == 200)
        root = json_loadb (resp.body, resp.len, 0, NULL);
      dockerapi_response_free (&resp);
      pid = json_integer_value (
          json_object_get (json_object_get (root, "State"), "Pid"));
      json_decref (root);
      if (pid <= 1)
        continue;
      if (reattach ((pid_t)pid, id, src, dst, &err) < 0)
        {
          log_error ("filtered docker socket %s: container %.12s: %s", src, id,
                     moat_error_msg (&err));
          moat_error_release (&err);
        }
      else
        log_info ("filtered docker socket %s mounted again at %s in "
                  "container %.12s",
                  src, dst, id);
    }
  }
  json_decref (list);
}

/* Serve again the filtered sockets of the containers that exist (moatd
 * restarted); their containers' binds name these paths. */
void
moatd_sockex_restore (struct moatd *d)
{
  struct sockex_role *x = d->sockex;
  struct dockerapi_response resp = { 0 };
  moat_error_t err = NULL;
  json_t *list = NULL, *c;
  size_t j;
  if (x == NULL || d->guard == NULL)
    return;
  if (dockerapi_call (
          d->engine_sock, "GET",
          "/containers/"
          "json?all=1&filters=%7B%22label%22%3A%5B%22" ECI_SOCKET_LABEL
          "%22%5D%7D",
          NULL, 0, false, SOCKEX_TIMEOUT_MS, &resp, &err)
      < 0)
    {
      log_error ("filtered sockets not restored: %s", moat_error_msg (&err));
      moat_error_release (&err);
      return;
    }
  if (resp.status == 200)
    list = json_loadb (resp.body, resp.len, 0, NULL);
  dockerapi_response_free (&resp);
  json_array_foreach (list, j, c)
  {
    json_t *l
        = json_object_get (json_object_get (c, "Labels"), ECI_SOCKET_LABEL);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    const char *path = json_string_value (l);
    struct fsock *ns;
    int fd, id;
    /* the label is moat's (ECI drops forged ones), but check anyway that
     * it names a socket of ours and nothing else */
    if (path == NULL || !our_socket_p (x, path)
        || strlen (path) >= sizeof sa.sun_path)
      continue;
    memcpy (sa.sun_path, path, strlen (path) + 1);
    unlink (path);
    fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind (fd, (struct sockaddr *)&sa, sizeof sa) < 0
        || chmod (path, 0666) < 0 || listen (fd, 128) < 0)
      {
        log_error ("filtered socket %s not restored: %s", path,
                   strerror (errno));
        if (fd >= 0)
          close (fd);
        continue;
      }
    id = engine_guard_add_listener (d->guard, fd, ENGINE_LISTENER_COMMAND_LIST,
                                    &err);
    if (id < 0)
      {
        moat_error_release (&err);
        unlink (path);
        continue;
      }
    pthread_mutex_lock (&x->mu);
    ns = realloc (x->s, (x->n + 1) * sizeof *ns);
    if (ns != NULL)
      {
        x->s = ns;
        x->s[x->n++] = (struct fsock){
          .path = strdup (path), .id = id, .created = time (NULL), .seen = true
        };
      }
    pthread_mutex_unlock (&x->mu);
    log_info ("filtered docker socket %s restored", path);
  }
  json_decref (list);
  reattach_running (x);
}

int
moatd_sockex_start (struct moatd *d, moat_error_t *err)
{
  struct sockex_role *x = calloc (1, sizeof *x);
  if (x == NULL)
    return moat_error (err, ENOMEM, "socket exceptions");
  x->d = d;
  pthread_mutex_init (&x->mu, NULL);
  pthread_cond_init (&x->cv, NULL);
  d->sockex = x;
  x->reg = sockex_registry_new (SOCKEX_TTL_S, SOCKEX_TIMEOUT_MS);
  if (x->reg == NULL
      || asprintf (&x->dir, "%s/sockets", d->paths->run_dir) < 0)
    {
      x->dir = NULL;
      return moat_error (err, ENOMEM, "socket exceptions");
    }
  /* 0711: the filtered sockets' names are their only secret */
  if (mkdir (x->dir, 0711) < 0 && errno != EEXIST)
    return moat_error (err, errno, "create `%s`", x->dir);
  if (chmod (x->dir, 0711) < 0)
    return moat_error (err, errno, "chmod `%s`", x->dir);
  if (pthread_create (&x->sweeper, NULL, sweeper, x) != 0)
    return moat_error (err, EAGAIN, "start the filtered socket sweeper");
  x->sweeper_running = true;
  return 0;
}

/* After the guard stopped: every filtered socket goes. */
void
moatd_sockex_stop (struct moatd *d)
{
  struct sockex_role *x = d->sockex;
  if (x == NULL)
    return;
  if (x->sweeper_running)
    {
      pthread_mutex_lock (&x->mu);
      x->stop = true;
      pthread_cond_signal (&x->cv);
      pthread_mutex_unlock (&x->mu);
      pthread_join (x->sweeper, NULL);
    }
  for (size_t i = 0; i < x->n; i++)
    {
      unlink (x->s[i].path);
      free (x->s[i].path);
    }
  free (x->s);
  free (x->dir);
  sockex_registry_free (x->reg);
  pthread_cond_destroy (&x->cv);
  pthread_mutex_destroy (&x->mu);
  free (x);
  d->sockex = NULL;
}
