/* moat status: is the stack healthy, and what does moatd say. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "stack/stack.h"

static void
usage (FILE *out)
{
  fprintf (out,
           "Usage: moat status [--json]\n\n"
           "Show what `moat up` started (each recorded process checked to be\n"
           "alive and still the same process), whether the engine answers\n"
           "(/_ping, version) and whether moatd answers, then what moatd\n"
           "reports: its own state, the effective policy and the last policy\n"
           "errors.\n\n"
           "Options:\n"
           "  --json       one JSON object: healthy, running, processes,\n"
           "               engine, moatd, docker_host, bridge, root\n"
           "               ({searchable, error}: can containers reach their\n"
           "               root file systems below MOAT_ROOT), pool_peers\n"
           "               (other live roots on this host whose id pools\n"
           "               overlap this one's, with their ranges and\n"
           "               conflicts: not healthy when a range is shared),\n"
           "               and every key\n"
           "               moatd's status adds (policy, fleet, errors, ...)\n"
           "  -h, --help   this help\n\n"
           "Exit status: 0 when every component is healthy, 1 otherwise.\n"
           "Environment: MOAT_ROOT (default /) roots every path moat uses.\n");
}

static void
print_value (const char *label, json_t *v)
{
  char *s;
  if (v == NULL || json_is_null (v))
    return;
  if (json_is_string (v))
    {
      printf ("%s: %s\n", label, json_string_value (v));
      return;
    }
  s = json_dumps (v, JSON_INDENT (2) | JSON_SORT_KEYS | JSON_ENCODE_ANY);
  if (s != NULL)
    printf ("%s: %s\n", label, s);
  free (s);
}

static void
print_time (const char *label, json_t *v)
{
  time_t t = (time_t)json_integer_value (v);
  char buf[64];
  struct tm tm;
  if (t <= 0 || gmtime_r (&t, &tm) == NULL
      || strftime (buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    return;
  printf ("%s%s", label, buf);
}

/* The fleet (docs/fleet.md): which source is in force, since when, and
 * how the last fetch went. */
static void
print_fleet (json_t *f)
{
  const char *last = json_string_value (json_object_get (f, "last_fetch"));
  const char *why = json_string_value (json_object_get (f, "last_error"));
  const char *cfg = json_string_value (json_object_get (f, "config_error"));

  if (cfg != NULL)
    {
      printf ("fleet: fleet.json IGNORED: %s\n", cfg);
      return;
    }
  if (!json_is_true (json_object_get (f, "configured")))
    return;
  printf ("fleet: %s\n",
          json_string_value (json_object_get (f, "url")) ?: "?");
  if (strcmp (json_string_value (json_object_get (f, "in_force")) ?: "",
              "fleet")
      == 0)
    {
      printf (
          "  in force   fleet copy, fleetSerial %lld",
          (long long)json_integer_value (json_object_get (f, "fleet_serial")));
      print_time (", since ", json_object_get (f, "in_force_since"));
      printf ("\n");
    }
  else
    printf ("  in force   the local admin settings (no verified fleet copy "
            "yet)\n");
  printf ("  last fetch %s", last != NULL ? last : "pending");
  print_time (" at ", json_object_get (f, "last_fetch_at"));
  printf ("\n");
  if (why != NULL)
    printf ("  problem    %s\n", why);
  print_time ("  failing since ", json_object_get (f, "failing_since"));
  if (json_integer_value (json_object_get (f, "failing_since")) > 0)
    printf ("\n");
}

static void
print_human (json_t *st)
{
  json_t *procs = json_object_get (st, "processes");
  json_t *eng = json_object_get (st, "engine");
  json_t *moatd = json_object_get (st, "moatd");
  const char *key;
  json_t *val;

  printf ("moat: %s\n", json_is_true (json_object_get (st, "healthy"))
                            ? "healthy"
                            : "NOT healthy");
  if (json_object_get (st, "error"))
    printf ("  %s\n", json_string_value (json_object_get (st, "error")));
  for (void *it = json_object_iter (procs); it != NULL;
       it = json_object_iter_next (procs, it))
    if ((key = json_object_iter_key (it)) != NULL
        && (val = json_object_iter_value (it)) != NULL)
      printf ("  %-11s pid %-7lld %s\n", key,
              (long long)json_integer_value (json_object_get (val, "pid")),
              json_string_value (json_object_get (val, "state")));
  printf ("  engine      %s %s",
          json_string_value (json_object_get (eng, "mode")),
          json_string_value (json_object_get (eng, "socket")));
  if (json_is_true (json_object_get (eng, "reachable")))
    printf (": reachable, version %s (API %s)\n",
            json_string_value (json_object_get (eng, "version")) ?: "?",
            json_string_value (json_object_get (eng, "api_version")) ?: "?");
  else
    printf (": NOT reachable: %s\n",
            json_string_value (json_object_get (eng, "error")) ?: "?");
  printf ("  moatd       %s: %s\n",
          json_string_value (json_object_get (moatd, "socket")),
          json_is_true (json_object_get (moatd, "reachable"))
              ? "reachable"
              : json_string_value (json_object_get (moatd, "error")) ?: "?");
  if (json_is_false (
          json_object_get (json_object_get (st, "root"), "searchable")))
    printf ("  containers  cannot start: %s\n",
            json_string_value (
                json_object_get (json_object_get (st, "root"), "error"))
                ?: "?");
  if (json_object_get (st, "docker_host"))
    printf ("  DOCKER_HOST %s\n",
            json_string_value (json_object_get (st, "docker_host")));
  /* Whatever else moatd reports, printed generically. */
  for (void *it = json_object_iter (moatd); it != NULL;
       it = json_object_iter_next (moatd, it))
    if ((key = json_object_iter_key (it)) != NULL
        && (val = json_object_iter_value (it)) != NULL)
      {
        if (strcmp (key, "socket") == 0 || strcmp (key, "reachable") == 0
            || strcmp (key, "error") == 0)
          continue;
        char label[128];
        snprintf (label, sizeof label, "  moatd.%s", key);
        print_value (label, val);
      }
  for (void *it = json_object_iter (st); it != NULL;
       it = json_object_iter_next (st, it))
    if ((key = json_object_iter_key (it)) != NULL
        && (val = json_object_iter_value (it)) != NULL)
      {
        static const char *const known[]
            = { "healthy", "running", "error",       "processes",
                "engine",  "moatd",   "docker_host", "bridge",
                "started", "root",    "fleet" };
        bool skip = false;
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
          skip = skip || strcmp (key, known[i]) == 0;
        if (!skip)
          print_value (key, val);
      }
  print_fleet (json_object_get (st, "fleet"));
}

int
cli_status (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  static const struct option longopts[] = {
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  bool json = false, healthy;
  json_t *st;
  int c;

  optind = 1;
  while ((c = getopt_long (argc, argv, "h", longopts, NULL)) != -1)
    {
      if (c == 'h')
        {
          usage (stdout);
          return 0;
        }
      if (c == 'j')
        {
          json = true;
          continue;
        }
      usage (stderr);
      return 2;
    }
  if (optind < argc)
    {
      usage (stderr);
      return 2;
    }
  st = stack_status (&cli->paths, &healthy);
  if (st == NULL)
    return moat_error (err, ENOMEM, "status");
  if (json)
    {
      char *s = json_dumps (st, JSON_INDENT (2) | JSON_SORT_KEYS);
      if (s != NULL)
        puts (s);
      free (s);
    }
  else
    print_human (st);
  json_decref (st);
  return healthy ? 0 : 1;
}
