/* moat login, moat logout, moat whoami: the calling OS user's sign-in
 * session, kept by moatd (which identifies the uid with SO_PEERCRED).
 * The password is read from the terminal without echo or from standard
 * input, and goes to moatd only, over the control socket. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "common/cleanup.h"
#include "ctl/ctl.h"
#include "directory/directory.h"
#include "directory/password.h"

static void
usage_login (FILE *out)
{
  fprintf (
      out,
      "Usage: moat login [--user NAME] [--password-stdin]\n\n"
      "Sign the calling OS user (uid) in to the organization directory\n"
      "(/etc/moat/directory.json).  While the administrator enforces\n"
      "sign-in (allowedOrgs in registry.json), the guarded docker socket\n"
      "serves a uid only while it has the session of a member of an\n"
      "allowed organization.  A session lasts 24 hours; it ends earlier\n"
      "with `moat logout`, or when a check finds the user no longer in any\n"
      "allowed organization (every 15 minutes and at every policy reload).\n\n"
      "Options:\n"
      "  --user NAME        directory user (default: your OS user name)\n"
      "  --password-stdin   read the password from standard input (up to\n"
      "                     the first newline) instead of the terminal\n"
      "  -h, --help         this help\n\n"
      "The password is never taken from the command line.  Exit status: 0\n"
      "when signed in (a warning says when the user is not a member of an\n"
      "allowed organization), 1 otherwise.\n");
}

static void
usage_logout (FILE *out)
{
  fprintf (out, "Usage: moat logout\n\n"
                "End the calling OS user's sign-in session.  Exit status 0,\n"
                "also when there was none.\n");
}

static void
usage_whoami (FILE *out)
{
  fprintf (
      out,
      "Usage: moat whoami [--json]\n\n"
      "Say who the calling OS user is signed in as, with which\n"
      "organizations, and whether that satisfies the administrator's\n"
      "allowedOrgs.\n\n"
      "Options:\n"
      "  --json       {\"signed_in\", \"uid\", \"user\", \"orgs\": [...],\n"
      "               \"allowedOrgs\": [...], \"enforced\", \"satisfied\",\n"
      "               \"expires_at\" (Unix seconds)}\n"
      "  -h, --help   this help\n\n"
      "Exit status: 0 when the session satisfies allowedOrgs (or nothing is\n"
      "enforced), 1 otherwise.\n");
}

static void
print_list (const char *label, json_t *a)
{
  printf ("%s:", label);
  if (json_array_size (a) == 0)
    printf (" none");
  for (size_t i = 0; i < json_array_size (a); i++)
    printf ("%s%s", i > 0 ? ", " : " ",
            json_string_value (json_array_get (a, i)));
  printf ("\n");
}

static void
print_session (json_t *r)
{
  bool enforced = json_is_true (json_object_get (r, "enforced"));
  if (!json_is_true (json_object_get (r, "signed_in")))
    printf ("not signed in\n");
  else
    {
      time_t t
          = (time_t)json_integer_value (json_object_get (r, "expires_at"));
      char when[64] = "";
      struct tm tm;
      if (gmtime_r (&t, &tm) != NULL)
        strftime (when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
      printf ("user: %s\n", json_string_value (json_object_get (r, "user")));
      print_list ("organizations", json_object_get (r, "orgs"));
      printf ("expires: %s\n", when);
    }
  if (enforced)
    print_list ("allowedOrgs", json_object_get (r, "allowedOrgs"));
  else
    printf ("allowedOrgs: none (sign-in is not enforced)\n");
  printf ("satisfied: %s\n",
          json_is_true (json_object_get (r, "satisfied")) ? "yes" : "no");
}

int
cli_login (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  const char *user = NULL;
  bool from_stdin = false;
  cleanup_free char *own = NULL;
  char *pw = NULL;
  size_t pwlen = 0;
  json_t *req, *resp = NULL;
  int ret;

  if (cli_wants_help (argc, argv))
    {
      usage_login (stdout);
      return 0;
    }
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--user") == 0 && i + 1 < argc)
        user = argv[++i];
      else if (strncmp (argv[i], "--user=", 7) == 0)
        user = argv[i] + 7;
      else if (strcmp (argv[i], "--password-stdin") == 0)
        from_stdin = true;
      else
        {
          fprintf (stderr, "moat login: unknown argument `%s`\n\n", argv[i]);
          usage_login (stderr);
          return 2;
        }
    }
  if (user == NULL)
    {
      struct passwd *p = getpwuid (getuid ());
      if (p == NULL || (own = strdup (p->pw_name)) == NULL)
        return moat_error (err, ENOENT,
                           "no user name for uid %u: use --user NAME",
                           (unsigned)getuid ());
      user = own;
    }
  {
    char prompt[300];
    snprintf (prompt, sizeof prompt, "Password for %s: ", user);
    if (directory_password_read (from_stdin, prompt, &pw, &pwlen, err) < 0)
      return -1;
  }
  req = json_pack ("{s:s, s:s, s:s}", "cmd", "signin.login", "user", user,
                   "password", pw);
  directory_password_free (pw, pwlen);
  if (req == NULL)
    return moat_error (err, ENOMEM, "login");
  ret = ctl_call (&cli->paths, req, &resp, err);
  /* jansson keeps its own copy of the password: wipe it too */
  {
    json_t *p = json_object_get (req, "password");
    const char *s = json_string_value (p);
    if (s != NULL)
      explicit_bzero ((char *)s, json_string_length (p));
  }
  json_decref (req);
  if (ret < 0)
    return -1;
  printf ("signed in as %s\n",
          json_string_value (json_object_get (resp, "user")));
  if (!json_is_true (json_object_get (resp, "satisfied")))
    {
      json_t *a = json_object_get (resp, "allowedOrgs");
      fprintf (stderr,
               "warning: user \"%s\" is not a member of any of these "
               "organizations:",
               user);
      for (size_t i = 0; i < json_array_size (a); i++)
        fprintf (stderr, "%s%s", i > 0 ? ", " : " ",
                 json_string_value (json_array_get (a, i)));
      fprintf (stderr, "; the docker socket stays closed to you\n");
    }
  json_decref (resp);
  return 0;
}

int
cli_logout (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  json_t *req, *resp = NULL;
  if (cli_wants_help (argc, argv))
    {
      usage_logout (stdout);
      return 0;
    }
  if (argc > 1)
    {
      fprintf (stderr, "moat logout: unknown argument `%s`\n\n", argv[1]);
      usage_logout (stderr);
      return 2;
    }
  req = json_pack ("{s:s}", "cmd", "signin.logout");
  if (ctl_call (&cli->paths, req, &resp, err) < 0)
    {
      json_decref (req);
      return -1;
    }
  json_decref (req);
  printf ("%s\n", json_is_true (json_object_get (resp, "signed_out"))
                      ? "signed out"
                      : "not signed in");
  json_decref (resp);
  return 0;
}

int
cli_whoami (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  json_t *req, *resp = NULL;
  bool json = false;
  int ret;
  if (cli_wants_help (argc, argv))
    {
      usage_whoami (stdout);
      return 0;
    }
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--json") == 0)
        json = true;
      else
        {
          fprintf (stderr, "moat whoami: unknown argument `%s`\n\n", argv[i]);
          usage_whoami (stderr);
          return 2;
        }
    }
  req = json_pack ("{s:s}", "cmd", "signin.whoami");
  ret = ctl_call (&cli->paths, req, &resp, err);
  json_decref (req);
  if (ret < 0)
    return -1;
  json_object_del (resp, "ok");
  if (json)
    {
      char *s = json_dumps (resp, JSON_INDENT (2));
      if (s != NULL)
        printf ("%s\n", s);
      free (s);
    }
  else
    print_session (resp);
  ret = json_is_true (json_object_get (resp, "satisfied")) ? 0 : 1;
  json_decref (resp);
  return ret;
}
