#include "signin.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "internal.h"

/* Check one organisation name; every problem it has is reported. */
static int
check_org (const char *s, const char *path, struct policy_report *rep)
{
  size_t before = rep->n_errors;
  bool upper = false, other = false;

  if (s[0] == '\0')
    {
      report_error (rep, path, "empty organisation name");
      return -1;
    }
  if (strchr (s, ',') != NULL)
    report_error (rep, path,
                  "\"%s\" contains a comma; list each organisation as a "
                  "separate array entry: [\"org1\", \"org2\"]",
                  s);
  if (strpbrk (s, " \t\r\n") != NULL)
    report_error (rep, path,
                  "\"%s\" contains a space; organisation names have no "
                  "spaces",
                  s);
  for (const char *c = s; *c != '\0'; c++)
    {
      if (isupper ((unsigned char)*c))
        upper = true;
      else if (!islower ((unsigned char)*c) && !isdigit ((unsigned char)*c)
               && strchr ("._-, \t\r\n", *c) == NULL)
        other = true;
    }
  if (upper)
    {
      cleanup_free char *lower = strdup (s);
      for (char *c = lower; c != NULL && *c != '\0'; c++)
        *c = (char)tolower ((unsigned char)*c);
      report_error (rep, path,
                    "\"%s\" has uppercase letters; organisation names are "
                    "lowercase (\"%s\")",
                    s, lower != NULL ? lower : "");
    }
  if (other)
    report_error (rep, path,
                  "\"%s\" has characters other than a-z, 0-9, '.', '_' and "
                  "'-'",
                  s);
  return rep->n_errors > before ? -1 : 0;
}

static int
collect_orgs (const json_t *arr, struct signin_policy *out,
              struct policy_report *rep)
{
  size_t i;
  json_t *e;

  out->orgs = calloc (json_array_size (arr) + 1, sizeof *out->orgs);
  if (out->orgs == NULL)
    return -1;
  json_array_foreach (arr, i, e)
  {
    cleanup_free char *ipath = path_index ("allowedOrgs", i);
    const char *s = json_string_value (e);
    bool dup = false;
    if (!json_is_string (e))
      {
        report_error (rep, ipath, "expected a string, found %s",
                      json_type_desc (e));
        continue;
      }
    if (check_org (s, ipath, rep) < 0)
      continue;
    for (size_t k = 0; k < out->n_orgs; k++)
      dup = dup || strcmp (out->orgs[k], s) == 0;
    if (dup)
      {
        report_warn (rep, ipath, "\"%s\" is listed twice", s);
        continue;
      }
    out->orgs[out->n_orgs] = strdup (s);
    if (out->orgs[out->n_orgs] == NULL)
      return -1;
    out->n_orgs++;
  }
  return 0;
}

int
signin_parse (const char *buf, size_t len, struct signin_policy *out,
              struct policy_report *rep, moat_error_t *err)
{
  static const char *const known[] = { "allowedOrgs" };
  json_t *doc = policy_json_from_bytes (buf, len, rep);
  const char *key;
  json_t *v, *orgs;
  int r = 0;

  if (doc == NULL)
    return rep->oom ? moat_error (err, ENOMEM, "parse registry.json") : -1;
  json_object_foreach (doc, key, v)
  {
    const char *hint;
    if (strcmp (key, "allowedOrgs") == 0)
      continue;
    hint = suggest (key, known, 1);
    if (hint != NULL)
      report_error (rep, key, "unknown key \"%s\"; did you mean \"%s\"?", key,
                    hint);
    else
      report_error (rep, key, "unknown key \"%s\"", key);
  }
  orgs = json_object_get (doc, "allowedOrgs");
  if (orgs == NULL)
    report_error (rep, "allowedOrgs",
                  "missing; write {\"allowedOrgs\": [\"org1\", \"org2\"]}");
  else if (!json_is_array (orgs))
    report_error (rep, "allowedOrgs",
                  "expected an array of strings such as [\"org1\", "
                  "\"org2\"], found %s",
                  json_type_desc (orgs));
  else if (json_array_size (orgs) == 0)
    report_error (rep, "allowedOrgs",
                  "empty; list at least one organisation, or remove the "
                  "file to stop enforcing sign-in");
  else if (collect_orgs (orgs, out, rep) < 0)
    r = moat_error (err, ENOMEM, "parse registry.json");
  json_decref (doc);
  if (r == 0 && rep->oom)
    r = moat_error (err, ENOMEM, "parse registry.json");
  if (r == 0 && rep->n_errors > 0)
    r = -1;
  return r;
}

int
signin_load (const struct moat_paths *paths, struct signin_policy *out,
             struct policy_report *rep, moat_error_t *err)
{
  cleanup_free char *buf = NULL;
  struct stat st;
  bool have_moat, have_dd;
  size_t len = 0;
  const char *use;

  memset (out, 0, sizeof *out);
  have_moat = lstat (paths->registry_json, &st) == 0;
  have_dd = lstat (paths->dd_registry_json, &st) == 0;
  if (!have_moat && !have_dd)
    return 0;
  use = have_moat ? paths->registry_json : paths->dd_registry_json;
  out->source = strdup (use);
  if (out->source == NULL)
    return moat_error (err, ENOMEM, "sign-in policy");
  if (have_moat && have_dd)
    {
      out->ignored = strdup (paths->dd_registry_json);
      if (out->ignored == NULL)
        return moat_error (err, ENOMEM, "sign-in policy");
      report_warn (rep, "",
                   "both %s and %s exist; moat uses %s and ignores %s",
                   paths->registry_json, paths->dd_registry_json,
                   paths->registry_json, paths->dd_registry_json);
    }
  if (policy_read_file (use, paths->root, POLICY_DIAG_ERROR, &buf, &len, rep,
                        err)
      < 0)
    return -1;
  if (signin_parse (buf, len, out, rep, err) < 0)
    return -1;
  return rep->n_errors > 0 ? -1 : 0;
}

void
signin_policy_free (struct signin_policy *p)
{
  if (p == NULL)
    return;
  for (size_t i = 0; i < p->n_orgs; i++)
    free (p->orgs[i]);
  free (p->orgs);
  free (p->source);
  free (p->ignored);
  memset (p, 0, sizeof *p);
}
