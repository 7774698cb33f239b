/* Unit tests of the sign-in policy: registry.json parsing and the choice
 * between moat's file and Docker Desktop's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "policy/signin.h"

static void
has (const struct policy_report *rep, enum policy_diag_severity sev,
     const char *path, const char *msg)
{
  for (size_t i = 0; i < rep->n; i++)
    if (rep->items[i].severity == sev && strcmp (rep->items[i].path, path) == 0
        && strcmp (rep->items[i].msg, msg) == 0)
      return;
  for (size_t i = 0; i < rep->n; i++)
    fprintf (stderr, "  have %s: %s\n", rep->items[i].path, rep->items[i].msg);
  fail_msg ("missing diagnostic %s: %s", path, msg);
}

static int
parse (const char *text, size_t len, struct policy_report *rep,
       struct signin_policy *sp)
{
  moat_error_t err = NULL;
  int r;
  memset (sp, 0, sizeof *sp);
  r = signin_parse (text, len, sp, rep, &err);
  assert_null (err);
  return r;
}

static void
bad (const char *text, const char *path, const char *msg)
{
  struct policy_report rep = { 0 };
  struct signin_policy sp;
  assert_int_equal (parse (text, strlen (text), &rep, &sp), -1);
  has (&rep, POLICY_DIAG_ERROR, path, msg);
  signin_policy_free (&sp);
  policy_report_free (&rep);
}

static void
valid_lists (void **state)
{
  struct policy_report rep = { 0 };
  struct signin_policy sp;
  const char *t = "{\"allowedOrgs\": [\"org1\", \"my-org_2.x\", \"org1\"]}";
  assert_int_equal (parse (t, strlen (t), &rep, &sp), 0);
  assert_int_equal (sp.n_orgs, 2);
  assert_string_equal (sp.orgs[0], "org1");
  assert_string_equal (sp.orgs[1], "my-org_2.x");
  has (&rep, POLICY_DIAG_WARNING, "allowedOrgs[2]",
       "\"org1\" is listed twice");
  signin_policy_free (&sp);
  policy_report_free (&rep);
}

static void
bad_names (void **state)
{
  bad ("{\"allowedOrgs\": [\"ok\", \"MyOrg\"]}", "allowedOrgs[1]",
       "\"MyOrg\" has uppercase letters; organisation names are lowercase "
       "(\"myorg\")");
  bad ("{\"allowedOrgs\": [\"my org\"]}", "allowedOrgs[0]",
       "\"my org\" contains a space; organisation names have no spaces");
  bad ("{\"allowedOrgs\": [\"org1,org2\"]}", "allowedOrgs[0]",
       "\"org1,org2\" contains a comma; list each organisation as a separate "
       "array entry: [\"org1\", \"org2\"]");
  bad ("{\"allowedOrgs\": [\"a\", \"\"]}", "allowedOrgs[1]",
       "empty organisation name");
  bad ("{\"allowedOrgs\": [\"a\", 1]}", "allowedOrgs[1]",
       "expected a string, found a number");
  bad ("{\"allowedOrgs\": [\"a/b\"]}", "allowedOrgs[0]",
       "\"a/b\" has characters other than a-z, 0-9, '.', '_' and '-'");
}

static void
bad_structure (void **state)
{
  bad ("{\"allowedOrgs\": \"org1,org2\"}", "allowedOrgs",
       "expected an array of strings such as [\"org1\", \"org2\"], found a "
       "string");
  bad ("{}", "allowedOrgs",
       "missing; write {\"allowedOrgs\": [\"org1\", \"org2\"]}");
  bad ("{\"allowedOrgs\": []}", "allowedOrgs",
       "empty; list at least one organisation, or remove the file to stop "
       "enforcing sign-in");
  bad ("{\"allowedOrgs\": [\"a\"], \"allowedOrg\": []}", "allowedOrg",
       "unknown key \"allowedOrg\"; did you mean \"allowedOrgs\"?");
  bad ("{\"allowedOrgs\": [\"a\"], \"allowedOrgs\": [\"b\"]}", "",
       "invalid JSON at line 1, column 36: duplicate key \"allowedOrgs\"");
  bad ("[\"a\"]", "", "the file must hold a JSON object, found an array");
  bad ("\xef\xbb\xbf{\"allowedOrgs\": [\"a\"]}", "",
       "the file starts with a UTF-8 byte order mark (BOM); save it as UTF-8 "
       "without a BOM");
  bad ("{\"allowedOrgs\": [\"\xff\"]}", "",
       "the file is not valid UTF-8 (byte 0xff at line 1, column 19)");
}

struct root
{
  char dir[64];
  struct moat_paths paths;
};

static void
write_file (const char *path, const char *text, mode_t mode)
{
  FILE *f;
  char *dir = strdup (path);
  *strrchr (dir, '/') = '\0';
  assert_int_equal (fs_mkdir_p (dir, 0755, NULL), 0);
  free (dir);
  f = fopen (path, "w");
  assert_non_null (f);
  fputs (text, f);
  fclose (f);
  assert_int_equal (chmod (path, mode), 0);
}

static void
sources (void **state)
{
  struct root r;
  struct policy_report rep = { 0 };
  struct signin_policy sp;
  moat_error_t err = NULL;
  char cmd[128];

  strcpy (r.dir, "/tmp/moat-test-signin-XXXXXX");
  assert_non_null (mkdtemp (r.dir));
  assert_int_equal (chmod (r.dir, 0755), 0);
  assert_int_equal (moat_paths_init (&r.paths, r.dir, &err), 0);

  /* Neither file: not enforced. */
  assert_int_equal (signin_load (&r.paths, &sp, &rep, &err), 0);
  assert_null (sp.source);
  assert_int_equal (sp.n_orgs, 0);
  signin_policy_free (&sp);

  /* Docker Desktop's file alone is used. */
  write_file (r.paths.dd_registry_json, "{\"allowedOrgs\": [\"dd\"]}", 0644);
  if (geteuid () == 0)
    {
      assert_int_equal (signin_load (&r.paths, &sp, &rep, &err), 0);
      assert_string_equal (sp.source, r.paths.dd_registry_json);
      assert_null (sp.ignored);
      assert_string_equal (sp.orgs[0], "dd");
      signin_policy_free (&sp);

      /* moat's file wins; the other is named as ignored. */
      write_file (r.paths.registry_json,
                  "{\"allowedOrgs\": [\"org1\", \"org2\"]}", 0644);
      assert_int_equal (signin_load (&r.paths, &sp, &rep, &err), 0);
      assert_string_equal (sp.source, r.paths.registry_json);
      assert_string_equal (sp.ignored, r.paths.dd_registry_json);
      assert_int_equal (sp.n_orgs, 2);
      assert_int_equal (rep.n, 1);
      assert_int_equal (rep.items[0].severity, POLICY_DIAG_WARNING);
      signin_policy_free (&sp);
      policy_report_free (&rep);

      /* Writable by others: refused, even though the content is fine. */
      assert_int_equal (chmod (r.paths.registry_json, 0646), 0);
      assert_int_equal (signin_load (&r.paths, &sp, &rep, &err), -1);
      {
        char *want = NULL;
        assert_true (asprintf (&want,
                               "moat ignores this file: `%s` is "
                               "writable by all users",
                               r.paths.registry_json)
                     > 0);
        has (&rep, POLICY_DIAG_ERROR, "", want);
        free (want);
      }
      assert_string_equal (sp.source, r.paths.registry_json);
      signin_policy_free (&sp);
      policy_report_free (&rep);
    }
  moat_paths_free (&r.paths);
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", r.dir);
  assert_int_equal (system (cmd), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (valid_lists),
    cmocka_unit_test (bad_names),
    cmocka_unit_test (bad_structure),
    cmocka_unit_test (sources),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
