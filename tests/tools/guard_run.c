/* guard-run: run the engine guard alone, for integration tests and
 * benchmarks (moatd wires the same library with the real policy).
 *
 *   guard-run --listen SOCK --engine SOCK [--share DIR]... [--protect P]...
 *             [--deny CMD]... | [--allow CMD]... [--command-list]
 *             [--filtered SOCK]... [--no-eci] [--audit FILE]
 *             [--head-timeout MS] [--allow-driver NAME]...
 *             [--container-cidr CIDR]... [--engine-pool N] [--engine-get]
 *
 * --engine-get: the guard may ask the engine (GET) itself, as moatd's
 * does: the docker cp check and a build's base images (off by default).
 * --engine-pool N: idle engine connections kept, opened ahead and given
 * back by cleanly finished client connections (0: none, and none reused;
 * default ENGINE_GUARD_POOL_DEFAULT).
 * --deny/--allow set the policy's command list; it applies on --listen only
 * with --command-list, and always on each --filtered socket (served by the
 * same loop through engine_guard_add_listener).
 *
 * The policy is built by hand from the flags; audit records are written as
 * JSON lines to FILE (default stderr).  SIGTERM/SIGINT stop the loop. */
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dockerapi/dockerapi.h"
#include "engine/guard.h"

static struct engine_guard *the_guard;

/* GET path on the engine (--engine-get): 0 with the body, 1 on 404, -1
 * otherwise. */
static int
engine_get (void *ctx, const char *path, char **body, size_t *len)
{
  struct dockerapi_response resp = { 0 };
  moat_error_t err = NULL;
  int ret;
  if (dockerapi_call (ctx, "GET", path, NULL, 0, false, 3000, &resp, &err) < 0)
    {
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

static void
on_signal (int sig)
{
  (void)sig;
  if (the_guard)
    engine_guard_stop (the_guard);
}

static void
audit_line (void *ctx, const struct engine_audit_record *r)
{
  FILE *f = ctx;
  json_t *j = json_pack ("{s:I, s:i, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
                         "s:s}",
                         "time", (json_int_t)r->time.tv_sec, "uid",
                         (int)r->uid, "pid", (int)r->pid, "method", r->method,
                         "uri", r->uri, "endpoint", r->endpoint, "container",
                         r->container, "image", r->image, "rule", r->rule,
                         "outcome", r->outcome, "detail", r->detail);
  if (j == NULL)
    return;
  char *s = json_dumps (j, JSON_COMPACT);
  if (s)
    {
      fprintf (f, "%s\n", s);
      fflush (f);
    }
  free (s);
  json_decref (j);
}

static void
push (char ***v, size_t *n, const char *s)
{
  *v = realloc (*v, (*n + 1) * sizeof **v);
  if (*v == NULL)
    exit (2);
  (*v)[(*n)++] = strdup (s);
}

int
main (int argc, char **argv)
{
  static const struct option opts[] = {
    { "listen", required_argument, 0, 'l' },
    { "engine", required_argument, 0, 'e' },
    { "share", required_argument, 0, 's' },
    { "protect", required_argument, 0, 'p' },
    { "socket", required_argument, 0, 'k' },
    { "deny", required_argument, 0, 'd' },
    { "allow", required_argument, 0, 'a' },
    { "no-eci", no_argument, 0, 'n' },
    { "audit", required_argument, 0, 'A' },
    { "head-timeout", required_argument, 0, 't' },
    { "command-list", no_argument, 0, 'c' },
    { "filtered", required_argument, 0, 'f' },
    { "allow-driver", required_argument, 0, 'D' },
    { "container-cidr", required_argument, 0, 'C' },
    { "engine-pool", required_argument, 0, 'P' },
    { "engine-get", no_argument, 0, 'G' },
    { 0, 0, 0, 0 },
  };
  struct policy pol;
  struct engine_guard_config cfg;
  char **protect = NULL, **sockets = NULL, **filtered = NULL, **cidrs = NULL;
  size_t n_protect = 0, n_sockets = 0, n_filtered = 0, n_cidrs = 0;
  bool cmdlist = false;
  FILE *audit = stderr;
  moat_error_t err = NULL;
  int c;

  memset (&pol, 0, sizeof pol);
  memset (&cfg, 0, sizeof cfg);
  pol.eci.enabled = true;
  pol.eci.cmd_type = POLICY_CMDLIST_DENY;
  cfg.listen_fd = -1;
  while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1)
    switch (c)
      {
      case 'l':
        cfg.listen_path = optarg;
        break;
      case 'e':
        cfg.engine_path = optarg;
        break;
      case 's':
        push (&pol.filesharing.dirs, &pol.filesharing.n_dirs, optarg);
        break;
      case 'p':
        push (&protect, &n_protect, optarg);
        break;
      case 'k':
        push (&sockets, &n_sockets, optarg);
        break;
      case 'd':
      case 'a':
        pol.eci.cmd_type
            = c == 'd' ? POLICY_CMDLIST_DENY : POLICY_CMDLIST_ALLOW;
        push (&pol.eci.commands, &pol.eci.n_commands, optarg);
        break;
      case 'c':
        cmdlist = true;
        break;
      case 'f':
        push (&filtered, &n_filtered, optarg);
        push (&sockets, &n_sockets, optarg);
        break;
      case 'n':
        pol.eci.enabled = false;
        break;
      case 'D':
        push (&pol.eci.drivers, &pol.eci.n_drivers, optarg);
        break;
      case 'C':
        push (&cidrs, &n_cidrs, optarg);
        break;
      case 'A':
        audit = fopen (optarg, "ae");
        if (audit == NULL)
          {
            perror (optarg);
            return 2;
          }
        break;
      case 't':
        cfg.head_timeout_ms = (unsigned)atoi (optarg);
        break;
      case 'G':
        cfg.engine_get = engine_get;
        break;
      case 'P':
        cfg.engine_pool = (unsigned)atoi (optarg);
        cfg.no_pool = cfg.engine_pool == 0;
        break;
      default:
        fprintf (stderr,
                 "usage: see the comment in tests/tools/guard_run.c\n");
        return 2;
      }
  if (cfg.engine_get != NULL)
    cfg.engine_get_ctx = (void *)cfg.engine_path;
  if (cfg.listen_path == NULL || cfg.engine_path == NULL)
    {
      fprintf (stderr, "guard-run: --listen and --engine are required\n");
      return 2;
    }
  /* the engine socket and the guard's own socket are engine sockets */
  push (&sockets, &n_sockets, cfg.engine_path);
  push (&sockets, &n_sockets, cfg.listen_path);
  cfg.command_list = cmdlist;
  cfg.eci.protected_paths = (const char *const *)protect;
  cfg.eci.n_protected = n_protect;
  cfg.eci.socket_paths = (const char *const *)sockets;
  cfg.eci.n_sockets = n_sockets;
  cfg.eci.container_cidrs = (const char *const *)cidrs;
  cfg.eci.n_container_cidrs = n_cidrs;
  cfg.audit = audit_line;
  cfg.audit_ctx = audit;

  the_guard = engine_guard_new (&cfg, &err);
  if (the_guard == NULL)
    {
      fprintf (stderr, "guard-run: %s\n", moat_error_msg (&err));
      return 1;
    }
  engine_guard_set_policy (the_guard, &pol);
  for (size_t i = 0; i < n_filtered; i++)
    {
      struct sockaddr_un sa = { .sun_family = AF_UNIX };
      int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      snprintf (sa.sun_path, sizeof sa.sun_path, "%s", filtered[i]);
      unlink (filtered[i]);
      if (fd < 0 || bind (fd, (struct sockaddr *)&sa, sizeof sa) < 0
          || listen (fd, SOMAXCONN) < 0
          || engine_guard_add_listener (the_guard, fd,
                                        ENGINE_LISTENER_COMMAND_LIST, &err)
                 < 0)
        {
          fprintf (stderr, "guard-run: filtered socket %s failed\n",
                   filtered[i]);
          return 1;
        }
    }
  signal (SIGTERM, on_signal);
  signal (SIGINT, on_signal);
  signal (SIGPIPE, SIG_IGN);
  if (engine_guard_run (the_guard, &err) < 0)
    {
      fprintf (stderr, "guard-run: %s\n", moat_error_msg (&err));
      engine_guard_free (the_guard);
      return 1;
    }
  engine_guard_free (the_guard);
  for (size_t i = 0; i < n_filtered; i++)
    free (filtered[i]);
  free (filtered);
  for (size_t i = 0; i < n_protect; i++)
    free (protect[i]);
  for (size_t i = 0; i < n_sockets; i++)
    free (sockets[i]);
  free (protect);
  free (sockets);
  for (size_t i = 0; i < pol.filesharing.n_dirs; i++)
    free (pol.filesharing.dirs[i]);
  free (pol.filesharing.dirs);
  for (size_t i = 0; i < pol.eci.n_commands; i++)
    free (pol.eci.commands[i]);
  free (pol.eci.commands);
  for (size_t i = 0; i < pol.eci.n_drivers; i++)
    free (pol.eci.drivers[i]);
  free (pol.eci.drivers);
  for (size_t i = 0; i < n_cidrs; i++)
    free (cidrs[i]);
  free (cidrs);
  return 0;
}
