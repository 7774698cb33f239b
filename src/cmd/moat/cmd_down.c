/* moat down: stop what `moat up` recorded, by PID; data is kept. */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "stack/stack.h"

static void
usage (FILE *out)
{
  fprintf (out,
           "Usage: moat down\n\n"
           "Stop exactly the processes `moat up` recorded in\n"
           "$MOAT_ROOT/run/moat/stack.json: moatd first, then the private\n"
           "dockerd (and a containerd it left behind).  Each PID is checked\n"
           "to still be the same process (same start time) before it is\n"
           "signalled: SIGTERM, then SIGKILL after a timeout (moatd 10 s,\n"
           "dockerd 30 s).  Once dockerd has exited: the iptables rules it\n"
           "made for its bridges, the bridges of user-defined networks, the\n"
           "bridge moat created and, last, the net guard's interception\n"
           "rules are removed (they stay while dockerd runs).  Images,\n"
           "containers, volumes and settings are kept.  A stale pid file is\n"
           "reported and removed, never signalled.  Running `moat down` when\n"
           "moat is not running is not an error.\n\n"
           "Options:\n"
           "  -h, --help   this help\n\n"
           "Environment: MOAT_ROOT (default /) roots every path moat uses.\n");
}

int
cli_down (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  static const struct option longopts[] = {
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  bool was_running;
  int c;

  optind = 1;
  while ((c = getopt_long (argc, argv, "h", longopts, NULL)) != -1)
    {
      if (c == 'h')
        {
          usage (stdout);
          return 0;
        }
      usage (stderr);
      return 2;
    }
  if (optind < argc)
    {
      usage (stderr);
      return 2;
    }
  if (geteuid () != 0)
    return moat_error (err, 0, "moat down must run as root");
  if (stack_down (&cli->paths, &was_running, err) < 0)
    return -1;
  fprintf (stderr, was_running ? "moat is down (data kept)\n"
                               : "moat is not running\n");
  return 0;
}
