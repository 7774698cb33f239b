/* Unit tests of src/directory: directory.json, the local directory
 * (users, organizations, memberships, Argon2id), and the refusals that
 * must not tell an unknown user from a wrong password. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "directory/directory.h"
#include "directory/local.h"

struct fixture
{
  char root[64];
  struct moat_paths paths;
};

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  moat_error_t err = NULL;
  char etc[128];
  strcpy (f->root, "/tmp/moat-dir-XXXXXX");
  assert_non_null (mkdtemp (f->root));
  assert_int_equal (chmod (f->root, 0755), 0);
  assert_int_equal (moat_paths_init (&f->paths, f->root, &err), 0);
  snprintf (etc, sizeof etc, "%s/etc/moat", f->root);
  assert_int_equal (fs_mkdir_p (etc, 0755, &err), 0);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  char cmd[128];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", f->root);
  assert_int_equal (system (cmd), 0);
  moat_paths_free (&f->paths);
  free (f);
  return 0;
}

static void
write_conf (struct fixture *f, const char *text)
{
  char path[128];
  FILE *fp;
  snprintf (path, sizeof path, "%s/etc/moat/directory.json", f->root);
  fp = fopen (path, "w");
  assert_non_null (fp);
  fputs (text, fp);
  fclose (fp);
  assert_int_equal (chmod (path, 0644), 0);
}

static void
conf_refused (struct fixture *f, const char *text, const char *needle)
{
  struct directory *dir = NULL;
  cleanup_error moat_error_t err = NULL;
  write_conf (f, text);
  assert_int_equal (directory_open (&f->paths, &dir, &err), -1);
  assert_null (dir);
  if (strstr (moat_error_msg (&err), needle) == NULL
      || strstr (moat_error_msg (&err), "directory.json") == NULL)
    fail_msg ("message `%s` lacks `%s` or the file name",
              moat_error_msg (&err), needle);
}

static void
conf_files (void **state)
{
  struct fixture *f = *state;
  struct directory *dir = NULL;
  moat_error_t err = NULL;

  /* Missing: local. */
  assert_int_equal (directory_open (&f->paths, &dir, &err), 0);
  assert_string_equal (directory_type (dir), "local");
  directory_close (dir);
  write_conf (f, "{\"type\": \"local\"}");
  assert_int_equal (directory_open (&f->paths, &dir, &err), 0);
  assert_string_equal (directory_type (dir), "local");
  directory_close (dir);
  write_conf (f, "{\"type\": \"ldap\", \"url\": \"ldap://127.0.0.1:3890\", "
                 "\"userDnTemplate\": \"uid=%s,ou=people,dc=x\", "
                 "\"groupBaseDn\": \"ou=groups,dc=x\"}");
  assert_int_equal (directory_open (&f->paths, &dir, &err), 0);
  assert_string_equal (directory_type (dir), "ldap");
  directory_close (dir);

  conf_refused (f, "{\"type\": \"local\"", "does not parse");
  conf_refused (f, "[]", "expected a JSON object");
  conf_refused (f, "{}", "type: missing");
  conf_refused (f, "{\"type\": \"nis\"}", "expected \"local\" or \"ldap\"");
  conf_refused (f, "{\"type\": \"local\", \"type\": \"ldap\"}",
                "does not parse");
  conf_refused (f, "{\"type\": \"local\", \"url\": \"x\"}", "no other key");
  conf_refused (f, "{\"type\": \"ldap\", \"groupBaseDn\": \"x\"}",
                "url: missing");
  conf_refused (f,
                "{\"type\": \"ldap\", \"url\": \"ldap://127.0.0.1\", "
                "\"groupBaseDn\": \"x\"}",
                "either userDnTemplate or baseDn");
  conf_refused (f,
                "{\"type\": \"ldap\", \"url\": \"ldap://127.0.0.1\", "
                "\"userDnTemplate\": \"uid=%s,%s\", \"groupBaseDn\": \"x\"}",
                "exactly one %s");
  conf_refused (f,
                "{\"type\": \"ldap\", \"url\": \"ldap://ldap.example.org\", "
                "\"baseDn\": \"dc=x\", \"groupBaseDn\": \"x\"}",
                "in clear");
  conf_refused (f,
                "{\"type\": \"ldap\", \"url\": \"http://127.0.0.1\", "
                "\"baseDn\": \"dc=x\", \"groupBaseDn\": \"x\"}",
                "ldaps://");
  conf_refused (f,
                "{\"type\": \"ldap\", \"url\": \"ldap://127.0.0.1\", "
                "\"baseDn\": \"dc=x\", \"groupBaseDn\": \"x\", "
                "\"gruopMemberAttr\": \"member\"}",
                "unknown key");
  conf_refused (f,
                "{\"type\": \"ldap\", \"url\": \"ldap://127.0.0.1\", "
                "\"baseDn\": \"dc=x\", \"groupBaseDn\": \"x\", "
                "\"timeoutSeconds\": 0}",
                "timeoutSeconds");
  conf_refused (f,
                "{\"type\": \"ldap\", \"url\": \"ldap://127.0.0.1\", "
                "\"baseDn\": \"dc=x\", \"groupBaseDn\": \"x\", "
                "\"bindDn\": \"cn=admin\"}",
                "go together");
}

static void
conf_untrusted (void **state)
{
  struct fixture *f = *state;
  struct directory *dir = NULL;
  cleanup_error moat_error_t err = NULL;
  char path[128];

  write_conf (f, "{\"type\": \"local\"}");
  snprintf (path, sizeof path, "%s/etc/moat/directory.json", f->root);
  assert_int_equal (chmod (path, 0666), 0);
  assert_int_equal (directory_open (&f->paths, &dir, &err), -1);
  assert_int_equal (moat_error_status (&err), EPERM);
}

static void
expect_badcred (struct directory *dir, const char *user, const char *pw)
{
  cleanup_error moat_error_t err = NULL;
  char **orgs = (char **)1;
  assert_int_equal (directory_authenticate (dir, user, pw, &orgs, &err), -1);
  assert_null (orgs);
  assert_int_equal (directory_error_kind (&err), DIRECTORY_E_BADCRED);
  assert_string_equal (moat_error_msg (&err), DIRECTORY_BADCRED_MSG);
}

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
local_directory (void **state)
{
  struct fixture *f = *state;
  struct directory_local *l = NULL;
  struct directory *dir = NULL;
  moat_error_t err = NULL;
  char **orgs = NULL;
  char dbpath[128];
  struct stat st;
  json_t *ls = NULL;
  double t0, t_known, t_unknown;

  /* No database yet: every sign-in fails, nothing is created. */
  assert_int_equal (directory_open (&f->paths, &dir, &err), 0);
  expect_badcred (dir, "alice", "secret");
  snprintf (dbpath, sizeof dbpath, "%s/var/lib/moat/directory.db", f->root);
  assert_int_equal (stat (dbpath, &st), -1);
  assert_int_equal (directory_local_open (&f->paths, false, &l, &err), -1);
  assert_int_equal (moat_error_status (&err), ENOENT);
  moat_error_release (&err);

  assert_int_equal (directory_local_open (&f->paths, true, &l, &err), 0);
  assert_int_equal (stat (dbpath, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);
  assert_int_equal (directory_local_user_add (l, "alice", "s3cret", 6, &err),
                    0);
  assert_int_equal (directory_local_user_add (l, "bob", "hunter2", 7, &err),
                    0);
  assert_int_equal (directory_local_user_add (l, "alice", "x", 1, &err), -1);
  assert_int_equal (moat_error_status (&err), EEXIST);
  moat_error_release (&err);
  assert_int_equal (directory_local_user_add (l, "Alice", "x", 1, &err), -1);
  assert_int_equal (moat_error_status (&err), EINVAL);
  moat_error_release (&err);
  assert_int_equal (directory_local_user_add (l, "carol", "", 0, &err), -1);
  assert_int_equal (moat_error_status (&err), EINVAL);
  moat_error_release (&err);
  assert_int_equal (directory_local_org_add (l, "acme", &err), 0);
  assert_int_equal (directory_local_org_add (l, "beta-org", &err), 0);
  assert_int_equal (directory_local_org_add (l, "Acme", &err), -1);
  moat_error_release (&err);
  assert_int_equal (directory_local_org_add (l, "a,b", &err), -1);
  moat_error_release (&err);
  assert_int_equal (directory_local_member_add (l, "beta-org", "alice", &err),
                    0);
  assert_int_equal (directory_local_member_add (l, "acme", "alice", &err), 0);
  assert_int_equal (directory_local_member_add (l, "acme", "alice", &err), -1);
  assert_int_equal (moat_error_status (&err), EEXIST);
  moat_error_release (&err);
  assert_int_equal (directory_local_member_add (l, "nope", "alice", &err), -1);
  assert_int_equal (moat_error_status (&err), ENOENT);
  moat_error_release (&err);
  assert_int_equal (directory_local_member_add (l, "acme", "nobody", &err),
                    -1);
  assert_int_equal (moat_error_status (&err), ENOENT);
  moat_error_release (&err);

  /* The handle opened before the database existed now sees it. */
  t0 = now_s ();
  assert_int_equal (
      directory_authenticate (dir, "alice", "s3cret", &orgs, &err), 0);
  t_known = now_s () - t0;
  assert_string_equal (orgs[0], "acme");
  assert_string_equal (orgs[1], "beta-org");
  assert_null (orgs[2]);
  directory_strv_free (orgs);
  print_message ("argon2id verify: %.0f ms\n", t_known * 1000);

  expect_badcred (dir, "alice", "s3cre");
  expect_badcred (dir, "alice", "s3cret\n");
  expect_badcred (dir, "alice", "");
  t0 = now_s ();
  expect_badcred (dir, "mallory", "s3cret");
  t_unknown = now_s () - t0;
  /* An unknown user costs an Argon2id run too (within a factor of 3). */
  assert_true (t_unknown > t_known / 3);
  expect_badcred (dir, "x' OR '1'='1", "s3cret");
  expect_badcred (dir, NULL, "s3cret");
  expect_badcred (dir, "alice", NULL);

  assert_int_equal (
      directory_authenticate (dir, "bob", "hunter2", &orgs, &err), 0);
  assert_null (orgs[0]);
  directory_strv_free (orgs);

  assert_int_equal (directory_user_orgs (dir, "alice", &orgs, &err), 0);
  assert_string_equal (orgs[0], "acme");
  directory_strv_free (orgs);

  assert_int_equal (directory_local_list (l, &ls, &err), 0);
  {
    char *s = json_dumps (ls, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal (
        s, "{\"orgs\":[{\"members\":[\"alice\"],\"name\":\"acme\"},"
           "{\"members\":[\"alice\"],\"name\":\"beta-org\"}],"
           "\"users\":[{\"name\":\"alice\",\"orgs\":[\"acme\",\"beta-org\"]},"
           "{\"name\":\"bob\",\"orgs\":[]}]}");
    free (s);
  }
  json_decref (ls);

  /* Leaving an organization, and removal of the organization. */
  assert_int_equal (directory_local_member_rm (l, "acme", "alice", &err), 0);
  assert_int_equal (directory_local_member_rm (l, "acme", "alice", &err), -1);
  assert_int_equal (moat_error_status (&err), ENOENT);
  moat_error_release (&err);
  assert_int_equal (directory_local_org_rm (l, "beta-org", &err), 0);
  assert_int_equal (directory_user_orgs (dir, "alice", &orgs, &err), 0);
  assert_null (orgs[0]);
  directory_strv_free (orgs);

  /* A password change; a removed user is a member of nothing. */
  assert_int_equal (
      directory_local_user_passwd (l, "alice", "new-pass", 8, &err), 0);
  expect_badcred (dir, "alice", "s3cret");
  assert_int_equal (
      directory_authenticate (dir, "alice", "new-pass", &orgs, &err), 0);
  directory_strv_free (orgs);
  assert_int_equal (directory_local_member_add (l, "acme", "alice", &err), 0);
  assert_int_equal (directory_local_user_rm (l, "alice", &err), 0);
  assert_int_equal (directory_local_user_rm (l, "alice", &err), -1);
  moat_error_release (&err);
  expect_badcred (dir, "alice", "new-pass");
  assert_int_equal (directory_user_orgs (dir, "alice", &orgs, &err), 0);
  assert_null (orgs[0]);
  directory_strv_free (orgs);

  directory_local_close (l);
  directory_close (dir);

  /* A database others can read is refused. */
  assert_int_equal (chmod (dbpath, 0644), 0);
  assert_int_equal (directory_local_open (&f->paths, false, &l, &err), -1);
  assert_int_equal (moat_error_status (&err), EPERM);
  moat_error_release (&err);
  assert_int_equal (directory_open (&f->paths, &dir, &err), 0);
  assert_int_equal (
      directory_authenticate (dir, "bob", "hunter2", &orgs, &err), -1);
  assert_int_equal (directory_error_kind (&err), 0);
  moat_error_release (&err);
  directory_close (dir);
}

static void
names (void **state)
{
  assert_true (directory_user_name_p ("alice", false));
  assert_true (directory_user_name_p ("a.b_c-1", false));
  assert_false (directory_user_name_p ("", false));
  assert_false (directory_user_name_p ("-a", false));
  assert_false (directory_user_name_p ("Alice", false));
  assert_true (directory_user_name_p ("Alice@x", true));
  assert_false (directory_user_name_p ("a*", true));
  assert_false (directory_user_name_p ("a,cn=x", true));
  assert_false (directory_user_name_p ("a)(uid=*", true));
  assert_false (directory_user_name_p (
      "a1234567890123456789012345678901234567890123456789012345678901234",
      false));
  assert_true (directory_org_name_p ("my-org_2.x"));
  assert_false (directory_org_name_p ("My"));
  assert_false (directory_org_name_p ("a b"));
  assert_false (directory_org_name_p (""));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (names),
    cmocka_unit_test_setup_teardown (conf_files, setup, teardown),
    cmocka_unit_test_setup_teardown (conf_untrusted, setup, teardown),
    cmocka_unit_test_setup_teardown (local_directory, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
