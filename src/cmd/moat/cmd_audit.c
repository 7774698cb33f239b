/* moat audit [--follow] [--json] [--limit N]: the decisions log. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/cleanup.h"
#include "ctl/ctl.h"

static void
usage (FILE *out)
{
  fprintf (out,
           "Usage: moat audit [--follow] [--json] [--limit N]\n\n"
           "Print moat's decisions log: every refusal and rewrite of a Docker "
           "API call,\nevery policy change (applied or rejected), every "
           "settings change, every\nnet-guard decision.  Each record has its "
           "time, component, caller uid/pid,\nendpoint, container, rule and "
           "outcome.\n\n"
           "  -f, --follow   keep printing records as they happen\n"
           "      --json     one JSON object per line\n"
           "  -n, --limit N  how many of the latest records to print "
           "(default 100)\n");
}

static void
print_record (json_t *rec, bool as_json)
{
  if (as_json)
    {
      cleanup_free char *s = json_dumps (rec, JSON_COMPACT);
      if (s != NULL)
        printf ("%s\n", s);
    }
  else
    {
      const char *container
          = json_string_value (json_object_get (rec, "container"));
      const char *detail = json_string_value (json_object_get (rec, "detail"));
      printf ("%s %-7s %-9s %-22s %s%s%s uid=%lld pid=%lld%s%s\n",
              json_string_value (json_object_get (rec, "time")),
              json_string_value (json_object_get (rec, "component")),
              json_string_value (json_object_get (rec, "outcome")),
              json_string_value (json_object_get (rec, "rule")),
              json_string_value (json_object_get (rec, "endpoint")),
              container ? " container=" : "", container ? container : "",
              (long long) json_integer_value (
                  json_object_get (rec, "caller_uid")),
              (long long) json_integer_value (
                  json_object_get (rec, "caller_pid")),
              detail ? " -- " : "", detail ? detail : "");
    }
  fflush (stdout);
}

int
cli_audit (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  static const struct option opts[] = {
    { "follow", no_argument, NULL, 'f' },
    { "json", no_argument, NULL, 'j' },
    { "limit", required_argument, NULL, 'n' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  bool follow = false, as_json = false;
  long limit = 100;
  json_t *req, *resp = NULL, *recs, *rec;
  json_int_t last_id = 0;
  size_t i;
  int c;

  optind = 1;
  while ((c = getopt_long (argc, argv, "fn:h", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        follow = true;
        break;
      case 'j':
        as_json = true;
        break;
      case 'n':
        limit = strtol (optarg, NULL, 10);
        if (limit <= 0 || limit > 100000)
          return moat_error (err, 0, "--limit must be 1..100000");
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

  req = json_pack ("{s:s, s:i}", "cmd", "audit.list", "limit", (int) limit);
  if (ctl_call (&cli->paths, req, &resp, err) < 0)
    {
      json_decref (req);
      return -1;
    }
  json_decref (req);
  recs = json_object_get (resp, "records");
  json_array_foreach (recs, i, rec)
  {
    print_record (rec, as_json);
    last_id = json_integer_value (json_object_get (rec, "id"));
  }
  json_decref (resp);
  if (!follow)
    return 0;

  {
    cleanup_close int fd = ctl_connect (&cli->paths, err);
    json_t *msg = NULL;
    if (fd < 0)
      return -1;
    req = json_pack ("{s:s, s:I}", "cmd", "audit.follow", "since_id",
                     last_id);
    if (ctl_send (fd, req, err) < 0)
      {
        json_decref (req);
        return -1;
      }
    json_decref (req);
    for (;;)
      {
        int r = ctl_recv (fd, -1, &msg, err);
        if (r < 0)
          return -1;
        if (r == 1)
          return moat_error (err, 0, "moatd closed the connection");
        rec = json_object_get (msg, "record");
        if (rec != NULL)
          print_record (rec, as_json);
        else if (!json_is_true (json_object_get (msg, "ok")))
          {
            moat_error (err, 0, "%s",
                        json_string_value (json_object_get (msg, "error")));
            json_decref (msg);
            return -1;
          }
        json_decref (msg);
      }
  }
}
