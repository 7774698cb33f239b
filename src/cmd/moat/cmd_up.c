/* moat up: start the private engine (or use an existing one) and moatd. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common/log.h"
#include "stack/stack.h"

static void
usage (FILE *out)
{
  fprintf (
      out,
      "Usage: moat up [OPTIONS]\n\n"
      "Start moat: a Docker engine of moat's own (or an existing one) and\n"
      "moatd, wait until both answer, and print the DOCKER_HOST to use.\n"
      "What was started is recorded in $MOAT_ROOT/run/moat/stack.json;\n"
      "`moat down` stops exactly that.\n\n"
      "Options:\n"
      "  --engine private|SOCKET  `private` (default): start a dockerd of\n"
      "                         moat's own (data root /var/lib/moat/engine,\n"
      "                         socket /run/moat/engine.sock mode 0600, its "
      "own\n"
      "                         bridge and address pool, moat-runc as "
      "default\n"
      "                         runtime when installed).  SOCKET (a path or\n"
      "                         unix:///path): use that running engine; no\n"
      "                         dockerd is started\n"
      "  -d, --detach           return once everything answers; without it\n"
      "                         moat up stays in the foreground and stops\n"
      "                         everything on Ctrl-C / SIGTERM\n"
      "  --bridge NAME          bridge interface moat creates for the "
      "private\n"
      "                         engine (default moat0); refused if it exists\n"
      "  --bridge-ip CIDR       address of that bridge (default "
      "10.213.0.1/24)\n"
      "  --address-pool CIDR[/SIZE]  networks `docker network create` takes\n"
      "                         from (default 10.214.0.0/16, size 24)\n"
      "  --runtime PATH|none    OCI runtime made the engine's default "
      "(default:\n"
      "                         moat-runc next to moat or in ../sbin if "
      "present;\n"
      "                         `none` keeps dockerd's runc)\n"
      "  --dockerd PATH         dockerd binary (default /usr/sbin/dockerd)\n"
      "  --moatd PATH           moatd binary (default: next to moat, or "
      "../sbin)\n"
      "  --timeout SECONDS      how long each component may take to answer\n"
      "                         (default 60)\n"
      "  --dashboard-port N     moatd serves the dashboard on 127.0.0.1:N\n"
      "                         (default 7979; 0 turns it off; see `moat\n"
      "                         dashboard`)\n"
      "  -h, --help             this help\n\n"
      "Output: `DOCKER_HOST=unix://…/run/moat/docker.sock` on stdout (the\n"
      "guarded socket), then a `#` comment naming the raw engine socket "
      "(root\n"
      "only, not guarded).  Logs: /var/log/moat/dockerd.log, moatd.log.\n\n"
      "Environment:\n"
      "  MOAT_ROOT              roots every path moat uses (default /)\n"
      "  MOAT_ENGINE_NETNS=NAME test knob: run the private dockerd in the\n"
      "                         existing network namespace /run/netns/NAME "
      "(its\n"
      "                         bridge and iptables rules stay there); for "
      "test\n"
      "                         harnesses only\n\n"
      "Egress: the net guard's interception rules (nftables table `inet\n"
      "moat`) are loaded before dockerd starts, refusing everything until\n"
      "moatd applies the policy, and stay while any container can run.\n"
      "The table names its stack (comment `moat stack at MOAT_ROOT`); moat\n"
      "up refuses a network namespace whose table is another recorded\n"
      "stack's (one namespace, one stack).\n\n"
      "When moatd is not running but the engine is, moat up restarts moatd\n"
      "alone (the engine, its containers and the rules stay).  In the\n"
      "foreground, a moatd that dies is restarted the same way (at most 5\n"
      "times in 10 minutes); if dockerd dies, everything is stopped and\n"
      "moat up fails.\n\n"
      "Containers' root file systems are mounted below $MOAT_ROOT/run/moat\n"
      "from inside their user namespace: moat up makes moat's own\n"
      "directories on the way searchable by others ($MOAT_ROOT and below;\n"
      "0700 becomes 0711, as dockerd does for its data root).\n\n"
      "Fails with a clear message, and leaves nothing half-started, when "
      "moat\n"
      "is already running, a pid file names a live process moat did not\n"
      "record, the engine socket or bridge is taken, a directory moat does\n"
      "not own keeps others from searching the way to $MOAT_ROOT/run/moat,\n"
      "or a component dies or does not answer in time.  Stale state of a\n"
      "crashed run is cleaned up.\n");
}

static int
parse_pool (struct stack_up_opts *o, char *arg, moat_error_t *err)
{
  /* "10.214.0.0/16/24": the last component is the network size. */
  char *first = strchr (arg, '/');
  char *second = first ? strchr (first + 1, '/') : NULL;
  if (second != NULL)
    {
      char *end;
      long n = strtol (second + 1, &end, 10);
      if (*end != '\0' || n < 1 || n > 30)
        return moat_error (err, EINVAL, "bad --address-pool size in `%s`",
                           arg);
      *second = '\0';
      o->pool_size = (int)n;
    }
  o->pool = arg;
  return 0;
}

int
cli_up (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  enum
  {
    OPT_ENGINE = 256,
    OPT_BRIDGE,
    OPT_BRIDGE_IP,
    OPT_POOL,
    OPT_RUNTIME,
    OPT_DOCKERD,
    OPT_MOATD,
    OPT_TIMEOUT,
    OPT_DASHBOARD,
  };
  static const struct option longopts[] = {
    { "engine", required_argument, NULL, OPT_ENGINE },
    { "detach", no_argument, NULL, 'd' },
    { "bridge", required_argument, NULL, OPT_BRIDGE },
    { "bridge-ip", required_argument, NULL, OPT_BRIDGE_IP },
    { "address-pool", required_argument, NULL, OPT_POOL },
    { "runtime", required_argument, NULL, OPT_RUNTIME },
    { "dockerd", required_argument, NULL, OPT_DOCKERD },
    { "moatd", required_argument, NULL, OPT_MOATD },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "dashboard-port", required_argument, NULL, OPT_DASHBOARD },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct stack_up_opts o;
  bool detach = false;
  sigset_t sigs, old;
  json_t *record = NULL;
  const char *netns = getenv ("MOAT_ENGINE_NETNS");
  int c, ret;

  stack_up_opts_init (&o);
  optind = 1;
  while ((c = getopt_long (argc, argv, "dh", longopts, NULL)) != -1)
    {
      char *end;
      switch (c)
        {
        case 'h':
          usage (stdout);
          return 0;
        case 'd':
          detach = true;
          break;
        case OPT_ENGINE:
          o.engine = optarg;
          break;
        case OPT_BRIDGE:
          o.bridge = optarg;
          break;
        case OPT_BRIDGE_IP:
          o.bridge_cidr = optarg;
          break;
        case OPT_POOL:
          if (parse_pool (&o, optarg, err) < 0)
            return -1;
          break;
        case OPT_RUNTIME:
          o.runtime_path = strcmp (optarg, "none") == 0 ? "" : optarg;
          break;
        case OPT_DOCKERD:
          o.dockerd_path = optarg;
          break;
        case OPT_MOATD:
          o.moatd_path = optarg;
          break;
        case OPT_TIMEOUT:
          errno = 0;
          o.timeout_s = (int)strtol (optarg, &end, 10);
          if (errno != 0 || *end != '\0' || o.timeout_s < 1
              || o.timeout_s > 3600)
            return moat_error (err, EINVAL, "bad --timeout `%s`", optarg);
          break;
        case OPT_DASHBOARD:
          errno = 0;
          o.dashboard_port = (int)strtol (optarg, &end, 10);
          if (errno != 0 || *end != '\0' || optarg[0] == '\0'
              || o.dashboard_port < 0 || o.dashboard_port > 65535)
            return moat_error (err, EINVAL, "bad --dashboard-port `%s`",
                               optarg);
          break;
        default:
          usage (stderr);
          return 2;
        }
    }
  if (optind < argc)
    return moat_error (err, EINVAL, "unexpected argument `%s`", argv[optind]);
  if (netns != NULL && netns[0] != '\0')
    o.netns = netns;
  if (geteuid () != 0)
    return moat_error (err, 0, "moat up must run as root");

  /* Ctrl-C or SIGTERM during startup rolls back; in the foreground they
   * stop the stack.  Children get a clean signal mask (stack_spawn). */
  sigemptyset (&sigs);
  sigaddset (&sigs, SIGINT);
  sigaddset (&sigs, SIGTERM);
  sigaddset (&sigs, SIGHUP);
  sigprocmask (SIG_BLOCK, &sigs, &old);
  o.abort_on = &sigs;

  if (stack_up (&cli->paths, &o, &record, err) < 0)
    {
      sigprocmask (SIG_SETMASK, &old, NULL);
      return -1;
    }
  {
    struct stack_proc p;
    const char *eng
        = json_string_value (json_object_get (record, "engine_sock"));
    fprintf (stderr, "moat is up (");
    if (stack_record_get_proc (record, "moatd", &p))
      fprintf (stderr, "moatd pid %d", (int)p.pid);
    if (stack_record_get_proc (record, "dockerd", &p))
      fprintf (stderr, ", dockerd pid %d", (int)p.pid);
    fprintf (stderr, ")\n");
    printf ("DOCKER_HOST=%s\n",
            json_string_value (json_object_get (record, "docker_host")));
    printf ("# raw engine, root only, not guarded by moat: "
            "DOCKER_HOST=unix://%s\n",
            eng);
    fflush (stdout);
  }
  if (detach)
    {
      json_decref (record);
      sigprocmask (SIG_SETMASK, &old, NULL);
      return 0;
    }

  ret = stack_supervise (&cli->paths, record, &sigs, err);
  json_decref (record);
  if (ret > 0)
    {
      bool was_running;
      log_info ("received %s; stopping moat", strsignal (ret));
      ret = stack_down (&cli->paths, &was_running, err);
      sigprocmask (SIG_SETMASK, &old, NULL);
      return ret < 0 ? -1 : 0;
    }
  {
    /* A component died: stop the rest and fail, so that a supervisor
     * (systemd) sees it and can restart the whole stack.  When the record
     * is gone, `moat down` ran meanwhile: a requested stop, not a
     * failure. */
    cleanup_error moat_error_t e2 = NULL;
    bool was_running = true;
    if (stack_down (&cli->paths, &was_running, &e2) < 0)
      log_error ("%s", moat_error_msg (&e2));
    sigprocmask (SIG_SETMASK, &old, NULL);
    if (!was_running)
      {
        moat_error_release (err);
        log_info ("moat was stopped by `moat down`");
        return 0;
      }
    log_error ("%s; stopped moat", moat_error_msg (err));
  }
  return -1;
}
