/* moat directory: manage the local organization directory (root only).
 * Opens $MOAT_ROOT/var/lib/moat/directory.db itself; why that is safe
 * next to a running moatd is in src/directory/local.h and docs/signin.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common/cleanup.h"
#include "directory/directory.h"
#include "directory/local.h"
#include "directory/password.h"

static void
usage (FILE *out)
{
  fprintf (out,
           "Usage: moat directory user add NAME [--password-stdin]\n"
           "       moat directory user passwd NAME [--password-stdin]\n"
           "       moat directory user rm NAME\n"
           "       moat directory org add|rm ORG\n"
           "       moat directory member add|rm ORG USER\n"
           "       moat directory ls [--json]\n"
           "\n"
           "Manage the local organization directory that `moat login` "
           "checks\n"
           "(when /etc/moat/directory.json is missing or says {\"type\": "
           "\"local\"}).\n"
           "Root only.  Users have Argon2id password hashes; organizations "
           "and\n"
           "memberships decide who satisfies allowedOrgs.  Names: a-z, 0-9, "
           "'.',\n"
           "'_', '-' (users start with a letter or digit), at most 64 "
           "bytes.\n"
           "\n"
           "The password is read from the terminal without echo (asked "
           "twice),\n"
           "or with --password-stdin from standard input up to the first "
           "newline.\n"
           "It is never taken from the command line.\n"
           "\n"
           "Options:\n"
           "  --password-stdin  read the password from standard input\n"
           "  --json            ls: {\"users\": [{\"name\", \"orgs\"}], "
           "\"orgs\":\n"
           "                    [{\"name\", \"members\"}]}\n");
}

static int
read_new_password (bool from_stdin, char **pw, size_t *len, moat_error_t *err)
{
  char *again = NULL;
  size_t alen = 0;
  bool same;

  if (directory_password_read (from_stdin, "Password: ", pw, len, err) < 0)
    return -1;
  if (from_stdin)
    return 0;
  if (directory_password_read (false, "Password (again): ", &again, &alen, err)
      < 0)
    {
      directory_password_free (*pw, *len);
      return -1;
    }
  same = alen == *len && memcmp (again, *pw, alen) == 0;
  directory_password_free (again, alen);
  if (!same)
    {
      directory_password_free (*pw, *len);
      *pw = NULL;
      return moat_error (err, EINVAL, "the two passwords differ");
    }
  return 0;
}

static int
cmd_user (struct directory_local *l, int argc, char **argv, moat_error_t *err)
{
  bool from_stdin = false;
  const char *name = NULL;
  char *pw = NULL;
  size_t len = 0;
  int r;

  for (int i = 2; i < argc; i++)
    {
      if (strcmp (argv[i], "--password-stdin") == 0)
        from_stdin = true;
      else if (argv[i][0] == '-')
        return moat_error (err, EINVAL, "user: unknown option `%s`", argv[i]);
      else if (name == NULL)
        name = argv[i];
      else
        return moat_error (err, EINVAL, "user: one NAME at a time");
    }
  if (argc < 2 || name == NULL)
    return moat_error (err, EINVAL, "user: usage: user add|passwd|rm NAME");
  if (strcmp (argv[1], "rm") == 0)
    {
      if (from_stdin)
        return moat_error (err, EINVAL, "user rm takes no password");
      if (directory_local_user_rm (l, name, err) < 0)
        return -1;
      printf ("removed user %s (and their memberships)\n", name);
      return 0;
    }
  if (strcmp (argv[1], "add") != 0 && strcmp (argv[1], "passwd") != 0)
    return moat_error (err, EINVAL, "user: unknown action `%s`", argv[1]);
  /* Refuse a bad name before asking for a password. */
  if (!directory_user_name_p (name, false))
    return moat_error (err, EINVAL,
                       "invalid user name `%s`: use a-z, 0-9, '.', '_', "
                       "'-', starting with a letter or digit, at most 64",
                       name);
  if (read_new_password (from_stdin, &pw, &len, err) < 0)
    return -1;
  if (strcmp (argv[1], "add") == 0)
    r = directory_local_user_add (l, name, pw, len, err);
  else
    r = directory_local_user_passwd (l, name, pw, len, err);
  directory_password_free (pw, len);
  if (r < 0)
    return -1;
  printf ("%s user %s\n", strcmp (argv[1], "add") == 0 ? "added" : "updated",
          name);
  return 0;
}

static int
cmd_org (struct directory_local *l, int argc, char **argv, moat_error_t *err)
{
  if (argc != 3)
    return moat_error (err, EINVAL, "org: usage: org add|rm ORG");
  if (strcmp (argv[1], "add") == 0)
    {
      if (directory_local_org_add (l, argv[2], err) < 0)
        return -1;
      printf ("added organization %s\n", argv[2]);
      return 0;
    }
  if (strcmp (argv[1], "rm") == 0)
    {
      if (directory_local_org_rm (l, argv[2], err) < 0)
        return -1;
      printf ("removed organization %s (and its memberships)\n", argv[2]);
      return 0;
    }
  return moat_error (err, EINVAL, "org: unknown action `%s`", argv[1]);
}

static int
cmd_member (struct directory_local *l, int argc, char **argv,
            moat_error_t *err)
{
  if (argc != 4)
    return moat_error (err, EINVAL, "member: usage: member add|rm ORG USER");
  if (strcmp (argv[1], "add") == 0)
    {
      if (directory_local_member_add (l, argv[2], argv[3], err) < 0)
        return -1;
      printf ("%s is now a member of %s\n", argv[3], argv[2]);
      return 0;
    }
  if (strcmp (argv[1], "rm") == 0)
    {
      if (directory_local_member_rm (l, argv[2], argv[3], err) < 0)
        return -1;
      printf ("%s is no longer a member of %s\n", argv[3], argv[2]);
      return 0;
    }
  return moat_error (err, EINVAL, "member: unknown action `%s`", argv[1]);
}

static void
print_list (json_t *arr, const char *key, const char *none)
{
  for (size_t i = 0; i < json_array_size (arr); i++)
    {
      json_t *e = json_array_get (arr, i);
      json_t *others = json_object_get (e, key);
      printf ("  %s:", json_string_value (json_object_get (e, "name")));
      if (json_array_size (others) == 0)
        printf (" %s", none);
      for (size_t k = 0; k < json_array_size (others); k++)
        printf ("%s%s", k > 0 ? ", " : " ",
                json_string_value (json_array_get (others, k)));
      printf ("\n");
    }
}

static int
cmd_ls (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  struct directory_local *l = NULL;
  json_t *out = NULL;
  bool json = false;

  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--json") == 0)
        json = true;
      else
        return moat_error (err, EINVAL, "ls: unknown argument `%s`", argv[i]);
    }
  if (directory_local_open (&cli->paths, false, &l, err) < 0)
    {
      if (moat_error_status (err) != ENOENT)
        return -1;
      moat_error_release (err);
      out = json_pack ("{s:[], s:[]}", "users", "orgs");
    }
  else
    {
      int r = directory_local_list (l, &out, err);
      directory_local_close (l);
      if (r < 0)
        return -1;
    }
  if (out == NULL)
    return moat_error (err, ENOMEM, "ls");
  if (json)
    {
      char *s = json_dumps (out, JSON_INDENT (2));
      if (s == NULL)
        {
          json_decref (out);
          return moat_error (err, ENOMEM, "ls");
        }
      printf ("%s\n", s);
      free (s);
    }
  else
    {
      printf ("users:%s\n",
              json_array_size (json_object_get (out, "users")) ? "" : " none");
      print_list (json_object_get (out, "users"), "orgs", "(no organization)");
      printf ("organizations:%s\n",
              json_array_size (json_object_get (out, "orgs")) ? "" : " none");
      print_list (json_object_get (out, "orgs"), "members", "(no member)");
    }
  json_decref (out);
  return 0;
}

/* A note when directory.json makes sign-in use another directory. */
static void
warn_if_not_used (struct moat_cli *cli)
{
  struct directory *dir = NULL;
  moat_error_t err = NULL;
  if (directory_open (&cli->paths, &dir, &err) < 0)
    {
      fprintf (stderr, "moat directory: warning: %s\n", moat_error_msg (&err));
      moat_error_release (&err);
      return;
    }
  if (strcmp (directory_type (dir), "local") != 0)
    fprintf (stderr,
             "moat directory: warning: directory.json selects the %s "
             "directory; sign-in does not use this local one\n",
             directory_type (dir));
  directory_close (dir);
}

int
cli_directory (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  struct directory_local *l = NULL;
  int r;

  if (argc < 2 || strcmp (argv[1], "help") == 0 || cli_wants_help (argc, argv))
    {
      usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
  if (geteuid () != 0)
    return moat_error (err, EPERM,
                       "root only: the directory holds password hashes");
  warn_if_not_used (cli);
  if (strcmp (argv[1], "ls") == 0)
    return cmd_ls (cli, argc - 1, argv + 1, err);
  if (strcmp (argv[1], "user") != 0 && strcmp (argv[1], "org") != 0
      && strcmp (argv[1], "member") != 0)
    {
      fprintf (stderr, "moat directory: unknown subcommand `%s`\n\n", argv[1]);
      usage (stderr);
      return 2;
    }
  if (directory_local_open (&cli->paths, true, &l, err) < 0)
    return -1;
  if (strcmp (argv[1], "user") == 0)
    r = cmd_user (l, argc - 1, argv + 1, err);
  else if (strcmp (argv[1], "org") == 0)
    r = cmd_org (l, argc - 1, argv + 1, err);
  else
    r = cmd_member (l, argc - 1, argv + 1, err);
  directory_local_close (l);
  return r;
}
