/* moat settings: show, validate, set.  `validate` reads the file itself;
 * `show` and `set` ask moatd, which owns the user overrides (without
 * moatd, `show` computes the same from the files). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/cleanup.h"
#include "ctl/ctl.h"
#include "policy/policy.h"
#include "state/state.h"

static void
usage (FILE *out)
{
  size_t n;
  const char *const *keys = policy_setting_keys (&n);
  const char *const *cmds;

  fprintf (
      out,
      "Usage: moat settings show [--json]\n"
      "       moat settings validate [--json] [FILE]\n"
      "       moat settings set KEY VALUE\n"
      "\n"
      "Settings come from the administrator's admin-settings.json\n"
      "($MOAT_ROOT/etc/moat/admin-settings.json), from users' changes\n"
      "of unlocked settings (kept by moatd), and from moat's defaults.\n"
      "Precedence: admin locked > user > admin unlocked > default.\n"
      "\n"
      "Subcommands:\n"
      "  show       print every effective setting: KEY VALUE SOURCE\n"
      "             LOCKED (source is default, admin or user); asks\n"
      "             moatd.  When moatd is not running, computes them\n"
      "             from admin-settings.json and the user settings in\n"
      "             $MOAT_ROOT/var/lib/moat/state.db (read only) and\n"
      "             says so on stderr.  --json prints the array\n"
      "             [{\"key\",\"value\",\"source\",\"locked\"}].\n"
      "  validate   check an admin-settings.json (default: the\n"
      "             installed one) without moatd.  Prints every\n"
      "             problem as `error: JSON.PATH: message` and\n"
      "             warnings as `warning: ...`.  Exit 0 when valid\n"
      "             (warnings allowed), 1 otherwise.  The installed\n"
      "             file must be owned by root and not writable by\n"
      "             others (else error); for another FILE that is a\n"
      "             warning.  --json prints {\"file\", \"valid\",\n"
      "             \"errors\": [{\"path\",\"message\"}], \"warnings\"}.\n"
      "  set        change an unlocked setting (through moatd).  VALUE\n"
      "             is JSON when it parses as JSON, else a string:\n"
      "               moat settings set containersProxy.http "
      "http://proxy:3128\n"
      "               moat settings set containersProxy.exclude "
      "'[\"10.0.0.0/8\"]'\n"
      "               moat settings set enhancedContainerIsolation "
      "true\n"
      "             A setting whose group the administrator locked is\n"
      "             refused (\"locked by the administrator\").\n"
      "\n"
      "Keys (a sub-key shares the lock of its group):\n");
  for (size_t i = 0; i < n; i++)
    fprintf (out, "  %s\n", keys[i]);
  fprintf (out, "\nValues:\n"
                "  images            image references (docker:cli = "
                "docker.io/library/docker:cli),\n"
                "                    NAME:* (any tag), PREFIX/* (any "
                "repository), NAME@sha256:<hex>, \"*\"\n"
                "  commandList.type  \"allow\" or \"deny\"\n"
                "  commands          docker command names or group "
                "wildcards:\n   ");
  cmds = policy_command_names (&n);
  for (size_t i = 0, col = 3; i < n; i++)
    {
      size_t w = strlen (cmds[i]) + 1;
      if (col + w > 76)
        {
          fprintf (out, "\n   ");
          col = 3;
        }
      fprintf (out, " %s", cmds[i]);
      col += w;
    }
  fprintf (out, "\n"
                "  allowedDrivers    engine plugins and drivers beyond the "
                "built-in ones\n"
                "                    (macvlan, ipvlan, syslog, a plugin "
                "name...)\n"
                "  mode              \"manual\" or \"system\"\n"
                "  http, https       \"\" or http://[user:pass@]host[:port],"
                " https://..., socks5://...\n"
                "  pac               \"\" or http(s)://host/path or "
                "file:///path\n"
                "  exclude           IP addresses, CIDRs, host names, "
                "*.suffix\n"
                "  transparentPorts  \"\" (none), \"*\" (all) or \"80,443,"
                "8000-8100\"\n"
                "  filesharingDirectories  absolute normalised paths\n"
                "\nSee docs/settings.md for the file format and defaults.\n");
}

static int
cmd_validate (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  struct policy_report rep = { 0 };
  struct policy_admin *admin = NULL;
  cleanup_free char *real_file = NULL;
  cleanup_free char *real_installed = NULL;
  const char *file = NULL;
  bool json = false, owner_errors;
  int r;

  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--json") == 0)
        json = true;
      else if (argv[i][0] == '-' && argv[i][1] != '\0')
        return moat_error (err, EINVAL, "validate: unknown option `%s`",
                           argv[i]);
      else if (file == NULL)
        file = argv[i];
      else
        return moat_error (err, EINVAL, "validate takes one FILE");
    }
  if (file == NULL)
    file = cli->paths.admin_settings;
  /* The installed file gets the full ownership check; a draft elsewhere
   * only a warning. */
  real_file = realpath (file, NULL);
  real_installed = realpath (cli->paths.admin_settings, NULL);
  owner_errors = real_file != NULL && real_installed != NULL
                 && strcmp (real_file, real_installed) == 0;
  r = policy_admin_load_file (file, cli->paths.root, owner_errors, &admin,
                              &rep, err);
  policy_admin_free (admin);
  if (r < 0 && rep.n_errors == 0)
    {
      policy_report_free (&rep);
      return moat_error_wrap (err, "validate");
    }
  if (json)
    {
      json_t *o = json_pack (
          "{s:s, s:b, s:o, s:o}", "file", file, "valid", r == 0, "errors",
          policy_report_json (&rep, POLICY_DIAG_ERROR), "warnings",
          policy_report_json (&rep, POLICY_DIAG_WARNING));
      char *s = o != NULL ? json_dumps (o, JSON_INDENT (2)) : NULL;
      json_decref (o);
      if (s == NULL)
        {
          policy_report_free (&rep);
          return moat_error (err, ENOMEM, "validate");
        }
      printf ("%s\n", s);
      free (s);
    }
  else
    {
      cleanup_free char *text = policy_report_format (&rep);
      size_t n_warn = rep.n - (rep.n_errors < rep.n ? rep.n_errors : rep.n);
      fputs (text != NULL ? text : "", stdout);
      if (r == 0)
        printf ("%s: valid (%zu warning%s)\n", file, n_warn,
                n_warn == 1 ? "" : "s");
      else
        printf ("%s: invalid (%zu error%s)\n", file, rep.n_errors,
                rep.n_errors == 1 ? "" : "s");
    }
  policy_report_free (&rep);
  return r == 0 ? 0 : 1;
}

/* The effective settings as moatd would compute them, from the files
 * alone: the admin file (checked as moatd checks it) and the overrides in
 * the state database (read-only).  For an administrator checking the
 * settings before anything runs. */
static json_t *
settings_from_files (struct moat_cli *cli, moat_error_t *err)
{
  struct policy_report rep = { 0 };
  struct policy_admin *admin = NULL;
  struct policy *p = NULL;
  json_t *overrides = NULL, *rows = NULL;
  int r = policy_admin_load (&cli->paths, &admin, &rep, err);

  if (r < 0 && rep.n_errors > 0)
    {
      cleanup_free char *text = policy_report_format (&rep);
      moat_error (err, EINVAL,
                  "%s is invalid (moatd would not start with it):\n%s",
                  cli->paths.admin_settings, text ? text : "");
    }
  policy_report_free (&rep);
  if (r < 0)
    goto done;
  if (state_overrides_read (cli->paths.state_db, &overrides, err) < 0)
    {
      moat_error_wrap (err, "user settings");
      goto done;
    }
  if (policy_build (admin, overrides, &p, err) < 0)
    goto done;
  rows = json_incref (p->settings);
done:
  policy_free (p);
  json_decref (overrides);
  policy_admin_free (admin);
  return rows;
}

static int
cmd_show (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  json_t *req, *resp = NULL, *rows, *row;
  bool json = false;
  size_t i;

  for (int k = 1; k < argc; k++)
    {
      if (strcmp (argv[k], "--json") == 0)
        json = true;
      else
        return moat_error (err, EINVAL, "show: unknown argument `%s`",
                           argv[k]);
    }
  req = json_pack ("{s:s}", "cmd", "settings.show");
  if (req == NULL)
    return moat_error (err, ENOMEM, "show");
  if (ctl_call (&cli->paths, req, &resp, err) < 0)
    {
      int st = moat_error_status (err);
      json_decref (req);
      /* No moatd listening (never started, or stopped): the same
       * computation from the files.  Any other failure is moatd's. */
      if (st != ENOENT && st != ECONNREFUSED)
        return moat_error_wrap (err, "show");
      moat_error_release (err);
      rows = settings_from_files (cli, err);
      if (rows == NULL)
        return moat_error_wrap (err, "show (moatd is not running)");
      fprintf (stderr,
               "moat settings: moatd is not running; these settings are "
               "computed from %s and %s\n",
               cli->paths.admin_settings, cli->paths.state_db);
      resp = json_pack ("{s:o}", "settings", rows);
      if (resp == NULL)
        return moat_error (err, ENOMEM, "show");
    }
  else
    json_decref (req);
  rows = json_object_get (resp, "settings");
  if (!json_is_array (rows))
    {
      json_decref (resp);
      return moat_error (err, EPROTO, "moatd sent no settings");
    }
  if (json)
    {
      char *s = json_dumps (rows, JSON_INDENT (2));
      if (s != NULL)
        printf ("%s\n", s);
      free (s);
      json_decref (resp);
      return 0;
    }
  printf ("%-58s %-24s %-8s %s\n", "KEY", "VALUE", "SOURCE", "LOCKED");
  json_array_foreach (rows, i, row)
  {
    char *v = json_dumps (json_object_get (row, "value"),
                          JSON_COMPACT | JSON_ENCODE_ANY);
    const char *key = json_string_value (json_object_get (row, "key"));
    const char *src = json_string_value (json_object_get (row, "source"));
    printf ("%-58s %-24s %-8s %s\n", key != NULL ? key : "?",
            v != NULL ? v : "?", src != NULL ? src : "?",
            json_is_true (json_object_get (row, "locked")) ? "yes" : "no");
    free (v);
  }
  json_decref (resp);
  return 0;
}

static int
cmd_set (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  json_t *req, *resp = NULL;

  if (argc != 3)
    return moat_error (err, EINVAL, "usage: moat settings set KEY VALUE");
  req = json_pack ("{s:s, s:s, s:s}", "cmd", "settings.set", "key", argv[1],
                   "value", argv[2]);
  if (req == NULL)
    return moat_error (err, EINVAL, "set: KEY and VALUE must be UTF-8");
  if (ctl_call (&cli->paths, req, &resp, err) < 0)
    {
      json_decref (req);
      return moat_error_wrap (err, "set `%s`", argv[1]);
    }
  json_decref (req);
  json_decref (resp);
  printf ("%s set\n", argv[1]);
  return 0;
}

int
cli_settings (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  static const struct
  {
    const char *name;
    cli_fn fn;
  } subs[] = {
    { "show", cmd_show },
    { "validate", cmd_validate },
    { "set", cmd_set },
  };

  if (argc < 2 || strcmp (argv[1], "--help") == 0
      || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
  for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
    if (strcmp (argv[1], subs[i].name) == 0)
      {
        if (cli_wants_help (argc - 1, argv + 1))
          {
            usage (stdout);
            return 0;
          }
        return subs[i].fn (cli, argc - 1, argv + 1, err);
      }
  fprintf (stderr, "moat settings: unknown subcommand `%s`\n\n", argv[1]);
  usage (stderr);
  return 2;
}
