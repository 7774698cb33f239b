/* moat verify [--json] [--host unix://PATH] [--image IMAGE] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/cleanup.h"
#include "verify/verify.h"

static void
usage (FILE *out)
{
  fprintf (out,
           "Usage: moat verify [--json] [--host unix://PATH] [--image IMAGE]\n\n"
           "Run the isolation checks an administrator would run by hand, "
           "through the\nguarded Docker API, and report each:\n"
           "  - the engine socket is root-only (0600)\n"
           "  - a container's root is a private, unprivileged host uid range\n"
           "    (/proc/self/uid_map is `0 BASE 65536`, BASE not 0)\n"
           "  - the runtime is forced to moat-runc even when runc is asked "
           "for\n"
           "  - a --privileged container cannot unmount its masked /proc and\n"
           "    /sys paths, bind /proc without them or mount a fresh procfs\n"
           "  - a local volume with a relative device, and a driver name\n"
           "    that is a path, are refused\n"
           "  - --pid=host and --network=host are refused\n"
           "  - mounting the engine socket, or a parent of it, is refused\n"
           "  - the PAC, when the policy names one, is loaded and its latest\n"
           "    evaluations succeed (moatd's status)\n\n"
           "  --host unix://PATH  the Docker API to check (default: "
           "$MOAT_ROOT/run/moat/docker.sock)\n"
           "  --image IMAGE       image to run (default busybox:latest; "
           "imported from\n"
           "                      /bin/busybox when absent)\n"
           "  --json              print the results as JSON\n\n"
           "Exit status 0 when every check passes, 1 otherwise.\n");
}

int
cli_verify (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  static const struct option opts[] = {
    { "json", no_argument, NULL, 'j' },
    { "host", required_argument, NULL, 'H' },
    { "image", required_argument, NULL, 'i' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  struct verify_opts o = { .docker_sock = cli->paths.docker_sock,
                           .image = "busybox:latest" };
  bool as_json = false, all = false;
  json_t *results = NULL, *r;
  size_t i;
  int c;

  optind = 1;
  while ((c = getopt_long (argc, argv, "H:h", opts, NULL)) != -1)
    switch (c)
      {
      case 'j':
        as_json = true;
        break;
      case 'H':
        o.docker_sock = strncmp (optarg, "unix://", 7) == 0 ? optarg + 7
                                                            : optarg;
        break;
      case 'i':
        o.image = optarg;
        break;
      case 'h':
        usage (stdout);
        return 0;
      default:
        usage (stderr);
        return 2;
      }
  if (optind != argc)
    {
      usage (stderr);
      return 2;
    }
  if (verify_run (&cli->paths, &o, &results, &all, err) < 0)
    return -1;
  if (as_json)
    {
      json_t *doc = json_pack ("{s:b, s:O}", "passed", all, "checks",
                               results);
      cleanup_free char *s = json_dumps (doc, JSON_INDENT (2));
      printf ("%s\n", s ? s : "");
      json_decref (doc);
    }
  else
    json_array_foreach (results, i, r)
    {
      printf ("%s  %-36s %s\n",
              json_is_true (json_object_get (r, "passed")) ? "PASS" : "FAIL",
              json_string_value (json_object_get (r, "check")),
              json_string_value (json_object_get (r, "detail")));
    }
  json_decref (results);
  return all ? 0 : 1;
}
