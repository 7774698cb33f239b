/* moatd: the daemon.  Parses options and runs src/daemon. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "daemon/daemon.h"

static void
usage (FILE *out)
{
  fprintf (out,
           "Usage: moatd [--engine-sock PATH] [--container-cidrs LIST]\n"
           "             [--engine-netns NAME] [--engine-bridge NAME]\n"
           "             [--net-port N] [--dashboard-port N] "
           "[--sandbox PATH]\n"
           "             [--log-format text|json] [--debug]\n\n"
           "The moat daemon: holds the effective policy, serves moat's "
           "control socket\n($MOAT_ROOT/run/moat/moatd.sock), applies "
           "admin-settings.json changes live\nand keeps the audit log.  "
           "Normally started by `moat up`.\n\n"
           "  --engine-sock PATH   the Docker engine socket moatd guards\n"
           "                       (default $MOAT_ROOT/run/moat/engine.sock)\n"
           "  --container-cidrs L  the containers' networks, comma "
           "separated; turns on\n"
           "                       the net guard (egress interception)\n"
           "  --engine-netns NAME  network namespace the engine runs in "
           "(tests)\n"
           "  --engine-bridge NAME the engine's default bridge (default "
           "moat0); it and\n"
           "                       the br-* bridges are intercepted\n"
           "  --net-port N         the net guard's listener (default "
           "15001)\n"
           "  --dashboard-port N   serve the dashboard on 127.0.0.1:N "
           "(default: none;\n"
           "                       `moat up` passes 7979)\n"
           "  --sandbox PATH       moat-sandbox (default: next to moatd)\n"
           "  --log-format FMT     text (default) or json lines on stderr\n"
           "  --debug              log debug messages\n");
}

int
main (int argc, char **argv)
{
  static const struct option opts[] = {
    { "engine-sock", required_argument, NULL, 'e' },
    { "container-cidrs", required_argument, NULL, 'c' },
    { "engine-netns", required_argument, NULL, 'n' },
    { "engine-bridge", required_argument, NULL, 'b' },
    { "net-port", required_argument, NULL, 'p' },
    { "sandbox", required_argument, NULL, 's' },
    { "dashboard-port", required_argument, NULL, 'W' },
    { "log-format", required_argument, NULL, 'f' },
    { "debug", no_argument, NULL, 'D' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct moatd_config cfg = { 0 };
  enum moat_log_format fmt = MOAT_LOG_HUMAN;
  enum moat_log_level level = MOAT_LOG_INFO;
  struct moat_paths paths;
  struct moatd *d = NULL;
  cleanup_error moat_error_t err = NULL;
  int c, ret = 0;
  cleanup_free char *sandbox = NULL;

  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    switch (c)
      {
      case 'e':
        cfg.engine_sock = optarg;
        break;
      case 'c':
        cfg.container_cidrs = optarg;
        break;
      case 'n':
        cfg.engine_netns = optarg;
        break;
      case 'b':
        cfg.engine_bridge = optarg;
        break;
      case 'p':
        {
          char *end;
          unsigned long v = strtoul (optarg, &end, 10);
          if (*end != '\0' || v == 0 || v > 65535)
            {
              fprintf (stderr, "moatd: bad --net-port `%s`\n", optarg);
              return 2;
            }
          cfg.net_port = (unsigned) v;
        }
        break;
      case 's':
        cfg.sandbox_exe = optarg;
        break;
      case 'W':
        {
          char *end;
          unsigned long v = strtoul (optarg, &end, 10);
          if (*end != '\0' || optarg[0] == '\0' || v > 65535)
            {
              fprintf (stderr, "moatd: bad --dashboard-port `%s`\n", optarg);
              return 2;
            }
          cfg.dashboard_port = (unsigned)v;
        }
        break;
      case 'f':
        if (moat_log_format_parse (optarg, &fmt) < 0)
          {
            fprintf (stderr, "moatd: unknown log format `%s`\n", optarg);
            return 2;
          }
        break;
      case 'D':
        level = MOAT_LOG_DEBUG;
        break;
      case 'h':
        usage (stdout);
        return 0;
      default:
        usage (stderr);
        return 2;
      }
  moat_log_init ("moatd", fmt, level, 2);
  /* Before any thread: registry lookups (guard check workers) and PAC
   * fetches (loader thread) use libcurl from several threads. */
  if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
    {
      log_error ("cannot initialise libcurl");
      return 1;
    }
  if (cfg.net_port == 0)
    cfg.net_port = 15001;
  {
    /* The guards hold several descriptors per connection (the net guard
     * six): take the hard limit as the soft one. */
    struct rlimit rl;
    if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
      {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit (RLIMIT_NOFILE, &rl) < 0)
          log_warn ("cannot raise the descriptor limit");
      }
  }
  if (cfg.sandbox_exe == NULL)
    cfg.sandbox_exe = sandbox = fs_find_helper ("moat-sandbox",
                                                "MOAT_SANDBOX");
  if (moat_paths_init (&paths, getenv ("MOAT_ROOT"), &err) < 0)
    {
      log_error ("%s", moat_error_msg (&err));
      return 1;
    }
  if (moatd_new (&paths, &cfg, &d, &err) < 0
      || moatd_run (d, &err) < 0)
    {
      log_error ("%s", moat_error_msg (&err));
      ret = 1;
    }
  moatd_free (d);
  moat_paths_free (&paths);
  return ret;
}
