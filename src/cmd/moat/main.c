/* moat: the administrator's and user's command line.  Parses the verb and
 * dispatches; all work happens in the libraries and in moatd. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"

#ifndef MOAT_VERSION
#define MOAT_VERSION "0.1.0"
#endif

static const struct cli_command commands[] = {
  { "up", cli_up, "start the stack (private engine, moatd)" },
  { "down", cli_down, "stop what `moat up` started; data is kept" },
  { "status", cli_status, "components, effective policy, isolation figures" },
  { "settings", cli_settings, "show, validate or change settings" },
  { "signin", cli_signin, "sign-in enforcement: policy, lint of other forms" },
  { "login", cli_login, "sign the calling user in to the directory" },
  { "logout", cli_logout, "end the calling user's sign-in session" },
  { "whoami", cli_whoami, "who the calling user is signed in as" },
  { "audit", cli_audit, "the decisions log" },
  { "verify", cli_verify, "run the isolation checks and report each" },
  { "pac", cli_pac, "evaluate a PAC file in the sandbox (pac eval)" },
  { "net", cli_net, "what the net guard would decide for a URL" },
  { "directory", cli_directory, "the local organization directory (root)" },
  { "dashboard", cli_dashboard, "open the dashboard (one-time link)" },
  { "extension", cli_extension, "install, list, update, remove extensions" },
};

static void
usage (FILE *out)
{
  fprintf (out, "Usage: moat COMMAND [OPTIONS]\n\n"
                "moat holds a Docker Engine to the administrator's policy.\n\n"
                "Commands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf (out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf (out,
           "\nRun `moat COMMAND --help` for a command's options.\n"
           "Environment: MOAT_ROOT (default /) roots every path moat uses.\n");
}

int
cli_find_sandbox (char *out, size_t outlen, moat_error_t *err)
{
  cleanup_free char *path = fs_find_helper ("moat-sandbox", "MOAT_SANDBOX");
  if (path == NULL)
    return moat_error (err, ENOENT,
                       "moat-sandbox not found next to moat (or in ../sbin)");
  if (strlen (path) >= outlen)
    return moat_error (err, ENAMETOOLONG, "moat-sandbox path");
  strcpy (out, path);
  return 0;
}

bool
cli_wants_help (int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--") == 0)
        return false;
      if (strcmp (argv[i], "-h") == 0 || strcmp (argv[i], "--help") == 0)
        return true;
    }
  return false;
}

int
main (int argc, char **argv)
{
  cleanup_error moat_error_t err = NULL;
  struct moat_cli cli = { .argv0 = argv[0] };
  int ret;

  moat_log_init ("moat", MOAT_LOG_HUMAN, MOAT_LOG_INFO, 2);
  if (argc < 2)
    {
      usage (stderr);
      return 2;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0
      || strcmp (argv[1], "help") == 0)
    {
      usage (stdout);
      return 0;
    }
  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("moat %s\n", MOAT_VERSION);
      return 0;
    }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    {
      if (strcmp (argv[1], commands[i].name) != 0)
        continue;
      if (moat_paths_init (&cli.paths, getenv ("MOAT_ROOT"), &err) < 0)
        {
          fprintf (stderr, "moat: %s\n", moat_error_msg (&err));
          return 1;
        }
      ret = commands[i].fn (&cli, argc - 1, argv + 1, &err);
      moat_paths_free (&cli.paths);
      if (ret < 0)
        {
          fprintf (stderr, "moat %s: %s\n", argv[1], moat_error_msg (&err));
          return 1;
        }
      return ret;
    }
  fprintf (stderr, "moat: unknown command `%s`\n\n", argv[1]);
  usage (stderr);
  return 2;
}
