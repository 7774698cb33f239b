/* moat signin policy: the effective allowedOrgs and the file they come
 * from.  Reads the files directly; no daemon needed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "directory/lint.h"
#include "policy/signin.h"

static void
usage (FILE *out, const struct moat_paths *paths)
{
  fprintf (
      out,
      "Usage: moat signin policy [--json]\n"
      "       moat signin lint [--json] FILE...\n"
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
      "when it is invalid.\n"
      "\n"
      "lint reads the other forms of Docker Desktop's sign-in enforcement,\n"
      "so that a mixed fleet is configured from one place: a Windows .reg\n"
      "export (HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Docker\\Docker "
      "Desktop,\n"
      "multi-string allowedOrgs), a macOS configuration profile\n"
      "(.mobileconfig, allowedOrgs \"org1;org2\"), a macOS plist file\n"
      "(desktop.plist, allowedOrgs array) and registry.json.  It prints\n"
      "each file's allowedOrgs, checks every entry with the rules above,\n"
      "and shows which file each platform would use by Docker Desktop's\n"
      "precedence: registry key, configuration profile, plist file,\n"
      "registry.json.  Exit status 0 when every file is valid, else 1.\n",
      paths->registry_json, paths->dd_registry_json);
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
      valid, "errors", policy_report_json (rep, POLICY_DIAG_ERROR), "warnings",
      policy_report_json (rep, POLICY_DIAG_WARNING));
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

static json_t *
lint_orgs_json (const struct signin_lint_file *f)
{
  json_t *a;
  if (!f->valid)
    return json_null ();
  a = json_array ();
  for (size_t i = 0; a != NULL && i < f->policy.n_orgs; i++)
    json_array_append_new (a, json_string (f->policy.orgs[i]));
  return a;
}

/* Same list, same order? */
static bool
same_orgs (const struct signin_lint_file *a, const struct signin_lint_file *b)
{
  if (a->policy.n_orgs != b->policy.n_orgs)
    return false;
  for (size_t i = 0; i < a->policy.n_orgs; i++)
    if (strcmp (a->policy.orgs[i], b->policy.orgs[i]) != 0)
      return false;
  return true;
}

static void
print_orgs (FILE *out, const struct signin_lint_file *f)
{
  if (!f->valid)
    {
      fprintf (out, "invalid");
      return;
    }
  for (size_t i = 0; i < f->policy.n_orgs; i++)
    fprintf (out, "%s%s", i > 0 ? ", " : "", f->policy.orgs[i]);
}

static int
lint_report (struct signin_lint_file *files, size_t n, bool json,
             moat_error_t *err)
{
  static const char *const pkeys[] = { "windows", "macos", "linux" };
  int win[SIGNIN_P_N];
  bool all_valid = true, consistent = true;
  const struct signin_lint_file *ref = NULL;

  for (int p = 0; p < SIGNIN_P_N; p++)
    {
      win[p] = signin_lint_winner (files, n, (enum signin_platform)p);
      if (win[p] >= 0 && files[win[p]].valid)
        {
          if (ref != NULL && !same_orgs (ref, &files[win[p]]))
            consistent = false;
          ref = ref != NULL ? ref : &files[win[p]];
        }
    }
  for (size_t i = 0; i < n; i++)
    all_valid = all_valid && files[i].valid;

  if (json)
    {
      json_t *fa = json_array (), *plat = json_object (), *o;
      char *s;
      for (size_t i = 0; i < n; i++)
        json_array_append_new (
            fa, json_pack (
                    "{s:s, s:s, s:b, s:o, s:o, s:o}", "path", files[i].path,
                    "method", signin_method_name (files[i].method), "valid",
                    files[i].valid, "allowedOrgs", lint_orgs_json (&files[i]),
                    "errors",
                    policy_report_json (&files[i].rep, POLICY_DIAG_ERROR),
                    "warnings",
                    policy_report_json (&files[i].rep, POLICY_DIAG_WARNING)));
      for (int p = 0; p < SIGNIN_P_N; p++)
        json_object_set_new (
            plat, pkeys[p],
            win[p] < 0 ? json_null ()
                       : json_pack (
                           "{s:s, s:s, s:o}", "source", files[win[p]].path,
                           "method", signin_method_name (files[win[p]].method),
                           "allowedOrgs", lint_orgs_json (&files[win[p]])));
      o = json_pack ("{s:o, s:o, s:b, s:b}", "files", fa, "platforms", plat,
                     "consistent", consistent, "valid", all_valid);
      s = o != NULL ? json_dumps (o, JSON_INDENT (2)) : NULL;
      json_decref (o);
      if (s == NULL)
        return moat_error (err, ENOMEM, "signin lint");
      printf ("%s\n", s);
      free (s);
      return all_valid ? 0 : 1;
    }

  for (size_t i = 0; i < n; i++)
    {
      const struct signin_lint_file *f = &files[i];
      printf ("%s: %s: allowedOrgs: ", f->path,
              signin_method_name (f->method));
      print_orgs (stdout, f);
      printf ("\n");
      for (size_t k = 0; k < f->rep.n; k++)
        {
          const struct policy_diag *d = &f->rep.items[k];
          printf ("%s: %s: %s%s%s\n",
                  d->severity == POLICY_DIAG_ERROR ? "error" : "warning",
                  f->path, d->path, d->path[0] != '\0' ? ": " : "", d->msg);
        }
      for (size_t k = 0; k < i; k++)
        if (files[k].method == f->method && f->method != SIGNIN_M_UNKNOWN)
          {
            printf ("warning: %s: a machine has one %s; %s, given first, is "
                    "the one shown as effective\n",
                    f->path, signin_method_name (f->method), files[k].path);
            break;
          }
    }
  printf ("\neffective, by Docker Desktop's precedence (registry key, "
          "configuration profile, plist file, registry.json):\n");
  for (int p = 0; p < SIGNIN_P_N; p++)
    {
      printf ("  %-8s ", signin_platform_name ((enum signin_platform)p));
      if (win[p] < 0)
        {
          printf ("nothing enforced (no file of a method it reads)\n");
          continue;
        }
      print_orgs (stdout, &files[win[p]]);
      printf (" (%s %s)\n", signin_method_name (files[win[p]].method),
              files[win[p]].path);
    }
  if (!consistent)
    printf ("warning: the platforms enforce different organisations\n");
  return all_valid ? 0 : 1;
}

static int
cmd_lint (int argc, char **argv, moat_error_t *err)
{
  struct signin_lint_file *files;
  bool json = false;
  size_t n = 0;
  int r = 0;

  files = calloc ((size_t)argc, sizeof *files);
  if (files == NULL)
    return moat_error (err, ENOMEM, "signin lint");
  for (int i = 1; i < argc && r == 0; i++)
    {
      if (strcmp (argv[i], "--json") == 0)
        json = true;
      else if (argv[i][0] == '-' && argv[i][1] != '\0')
        r = moat_error (err, EINVAL, "lint: unknown option `%s`", argv[i]);
      else
        r = signin_lint_load (argv[i], &files[n++], err);
    }
  if (r == 0 && n == 0)
    r = moat_error (err, EINVAL, "lint: give at least one FILE");
  if (r == 0)
    r = lint_report (files, n, json, err);
  for (size_t i = 0; i < n; i++)
    signin_lint_file_free (&files[i]);
  free (files);
  return r;
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
  if (strcmp (argv[1], "lint") == 0)
    {
      if (cli_wants_help (argc - 1, argv + 1))
        {
          usage (stdout, &cli->paths);
          return 0;
        }
      return cmd_lint (argc - 1, argv + 1, err);
    }
  fprintf (stderr, "moat signin: unknown subcommand `%s`\n\n", argv[1]);
  usage (stderr, &cli->paths);
  return 2;
}
