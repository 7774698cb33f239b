/* moat signin policy: the effective allowedOrgs and the file they come
 * from.  Reads the files directly; no daemon needed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "policy/signin.h"

static void
usage (FILE *out, const struct moat_paths *paths)
{
  fprintf (out,
           "Usage: moat signin policy [--json]\n"
           "\n"
           "Print the organisations users must sign in to (allowedOrgs) and\n"
           "the file that supplied them.  Sources, first found wins:\n"
           "  1. %s (moat's own)\n"
           "  2. %s (Docker Desktop's Linux location)\n"
           "When both exist the second is ignored, and moat says so.  When\n"
           "neither exists, sign-in is not enforced.\n"
           "\n"
           "Format: {\"allowedOrgs\": [\"org1\", \"org2\"]}, UTF-8 without a\n"
           "BOM, owned by root and not writable by other users.  Names are\n"
           "lowercase (a-z, 0-9, '.', '_', '-'), one organisation per entry.\n"
           "Every problem is printed as `error: FILE: allowedOrgs[N]: ...`.\n"
           "\n"
           "Options:\n"
           "  --json   print {\"allowedOrgs\": [...], \"source\": FILE|null,\n"
           "           \"ignored\": FILE|null, \"valid\": bool, \"errors\":\n"
           "           [{\"path\",\"message\"}], \"warnings\": [...]}\n"
           "\n"
           "Exit status: 0 when the effective file is valid (or absent), 1\n"
           "when it is invalid.\n",
           paths->registry_json, paths->dd_registry_json);
}

static json_t *
diags (const struct policy_report *rep, enum policy_diag_severity sev)
{
  json_t *a = json_array ();
  for (size_t i = 0; a != NULL && i < rep->n; i++)
    if (rep->items[i].severity == sev)
      json_array_append_new (a, json_pack ("{s:s, s:s}", "path",
                                           rep->items[i].path, "message",
                                           rep->items[i].msg));
  return a;
}

static int
print_json (const struct signin_policy *sp, const struct policy_report *rep,
            bool valid, moat_error_t *err)
{
  json_t *orgs = json_array ();
  json_t *o;
  char *s;

  for (size_t i = 0; orgs != NULL && valid && i < sp->n_orgs; i++)
    json_array_append_new (orgs, json_string (sp->orgs[i]));
  o = json_pack (
      "{s:o, s:o, s:o, s:b, s:o, s:o}", "allowedOrgs", orgs, "source",
      sp->source != NULL ? json_string (sp->source) : json_null (), "ignored",
      sp->ignored != NULL ? json_string (sp->ignored) : json_null (), "valid",
      valid, "errors", diags (rep, POLICY_DIAG_ERROR), "warnings",
      diags (rep, POLICY_DIAG_WARNING));
  s = o != NULL ? json_dumps (o, JSON_INDENT (2)) : NULL;
  json_decref (o);
  if (s == NULL)
    return moat_error (err, ENOMEM, "signin policy");
  printf ("%s\n", s);
  free (s);
  return 0;
}

static void
print_text (const struct moat_paths *paths, const struct signin_policy *sp,
            const struct policy_report *rep, bool valid)
{
  for (size_t i = 0; i < rep->n; i++)
    {
      const struct policy_diag *d = &rep->items[i];
      fprintf (valid ? stdout : stderr, "%s: %s: %s%s%s\n",
               d->severity == POLICY_DIAG_ERROR ? "error" : "warning",
               sp->source != NULL ? sp->source : "?", d->path,
               d->path[0] != '\0' ? ": " : "", d->msg);
    }
  if (sp->source == NULL)
    {
      printf ("allowedOrgs: none (sign-in is not enforced)\n"
              "source: none (neither %s nor %s exists)\n",
              paths->registry_json, paths->dd_registry_json);
      return;
    }
  if (!valid)
    {
      fprintf (stderr, "%s: invalid (%zu error%s)\n", sp->source,
               rep->n_errors, rep->n_errors == 1 ? "" : "s");
      return;
    }
  printf ("allowedOrgs:");
  for (size_t i = 0; i < sp->n_orgs; i++)
    printf ("%s%s", i > 0 ? ", " : " ", sp->orgs[i]);
  printf ("\nsource: %s\n", sp->source);
  if (sp->ignored != NULL)
    printf ("ignored: %s (%s takes precedence)\n", sp->ignored, sp->source);
}

static int
cmd_policy (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  struct signin_policy sp;
  struct policy_report rep = { 0 };
  bool json = false, valid;
  int r;

  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--json") == 0)
        json = true;
      else
        return moat_error (err, EINVAL, "policy: unknown argument `%s`",
                           argv[i]);
    }
  r = signin_load (&cli->paths, &sp, &rep, err);
  if (r < 0 && rep.n_errors == 0)
    {
      signin_policy_free (&sp);
      policy_report_free (&rep);
      return -1;
    }
  valid = r == 0;
  if (json)
    r = print_json (&sp, &rep, valid, err);
  else
    print_text (&cli->paths, &sp, &rep, valid), r = 0;
  signin_policy_free (&sp);
  policy_report_free (&rep);
  if (r < 0)
    return -1;
  return valid ? 0 : 1;
}

int
cli_signin (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  if (argc < 2 || strcmp (argv[1], "--help") == 0
      || strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "help") == 0)
    {
      usage (argc < 2 ? stderr : stdout, &cli->paths);
      return argc < 2 ? 2 : 0;
    }
  if (strcmp (argv[1], "policy") == 0)
    {
      if (cli_wants_help (argc - 1, argv + 1))
        {
          usage (stdout, &cli->paths);
          return 0;
        }
      return cmd_policy (cli, argc - 1, argv + 1, err);
    }
  fprintf (stderr, "moat signin: unknown subcommand `%s`\n\n", argv[1]);
  usage (stderr, &cli->paths);
  return 2;
}
