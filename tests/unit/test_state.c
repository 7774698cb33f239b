/* Unit tests of src/state: migrations, refusal of unknown/corrupt
 * databases, overrides, audit, and consistency after a crash mid-write. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "state/state.h"

static char *
tmp_db (void)
{
  char dir[] = "/tmp/moat-state-XXXXXX";
  char *path = NULL;
  assert_non_null (mkdtemp (dir));
  assert_true (asprintf (&path, "%s/sub/state.db", dir) > 0);
  return path;
}

static void
rm_db (const char *path)
{
  char cmd[512];
  snprintf (cmd, sizeof cmd, "rm -rf \"$(dirname \"$(dirname '%s')\")\"",
            path);
  assert_int_equal (system (cmd), 0);
}

static void
opens_and_migrates (void **state)
{
  cleanup_free char *path = tmp_db ();
  struct moat_state *st = NULL;
  moat_error_t err = NULL;
  assert_int_equal (state_open (path, &st, &err), 0);
  assert_int_equal (state_schema_version (st), state_schema_latest ());
  state_close (st);
  /* Reopen: no migration runs twice. */
  assert_int_equal (state_open (path, &st, &err), 0);
  assert_int_equal (state_schema_version (st), state_schema_latest ());
  state_close (st);
  rm_db (path);
}

static void
refuses_newer_schema (void **state)
{
  cleanup_free char *path = tmp_db ();
  struct moat_state *st = NULL;
  cleanup_error moat_error_t err = NULL;
  char sql[64];
  assert_int_equal (state_open (path, &st, &err), 0);
  snprintf (sql, sizeof sql, "PRAGMA user_version = %d",
            state_schema_latest () + 5);
  assert_int_equal (sqlite3_exec (state_db (st), sql, 0, 0, 0), SQLITE_OK);
  state_close (st);
  assert_int_equal (state_open (path, &st, &err), -1);
  assert_non_null (strstr (moat_error_msg (&err), "newer moat"));
  rm_db (path);
}

static void
refuses_corrupt_file (void **state)
{
  cleanup_free char *path = tmp_db ();
  struct moat_state *st = NULL;
  cleanup_error moat_error_t err = NULL;
  FILE *f;
  assert_int_equal (state_open (path, &st, &err), 0);
  state_close (st);
  f = fopen (path, "r+");
  assert_non_null (f);
  /* Overwrite the page-size field and part of the schema page. */
  fseek (f, 16, SEEK_SET);
  fwrite ("\x00\x03garbage-garbage-garbage", 1, 25, f);
  fclose (f);
  assert_int_equal (state_open (path, &st, &err), -1);
  rm_db (path);
}

static void
overrides_round_trip (void **state)
{
  cleanup_free char *path = tmp_db ();
  struct moat_state *st = NULL;
  moat_error_t err = NULL;
  json_t *o = NULL, *v = json_string ("http://proxy:3128");
  assert_int_equal (state_open (path, &st, &err), 0);
  assert_int_equal (
      state_override_set (st, "containersProxy.http", v, 1000, &err), 0);
  json_decref (v);
  v = json_false ();
  assert_int_equal (state_override_set (st, "x", v, 0, &err), 0);
  v = json_true ();
  assert_int_equal (state_override_set (st, "x", v, 0, &err), 0);
  assert_int_equal (state_overrides_load (st, &o, &err), 0);
  assert_string_equal (
      json_string_value (json_object_get (o, "containersProxy.http")),
      "http://proxy:3128");
  assert_true (json_is_true (json_object_get (o, "x")));
  json_decref (o);
  state_close (st);
  rm_db (path);
}

static void
audit_list_and_tail (void **state)
{
  cleanup_free char *path = tmp_db ();
  struct moat_state *st = NULL;
  moat_error_t err = NULL;
  json_t *arr = NULL;
  assert_int_equal (state_open (path, &st, &err), 0);
  for (int i = 0; i < 10; i++)
    {
      char ep[32];
      struct audit_record r = { .component = "engine",
                                .caller_uid = 1000,
                                .caller_pid = 42,
                                .endpoint = ep,
                                .rule = "eci.namespaces",
                                .outcome = "refused" };
      snprintf (ep, sizeof ep, "/containers/create?%d", i);
      assert_int_equal (state_audit_append (st, &r, &err), 0);
      assert_int_equal (r.id, i + 1);
    }
  assert_int_equal (state_audit_list (st, 7, 0, &arr, &err), 0);
  assert_int_equal (json_array_size (arr), 3);
  assert_int_equal (
      json_integer_value (json_object_get (json_array_get (arr, 0), "id")), 8);
  json_decref (arr);
  assert_int_equal (state_audit_prune (st, 4, &err), 6);
  assert_int_equal (state_audit_list (st, 0, 0, &arr, &err), 0);
  assert_int_equal (json_array_size (arr), 4);
  json_decref (arr);
  assert_int_equal (state_audit_tail (st, 2, &arr, &err), 0);
  assert_int_equal (json_array_size (arr), 2);
  assert_string_equal (json_string_value (json_object_get (
                           json_array_get (arr, 1), "endpoint")),
                       "/containers/create?9");
  json_decref (arr);
  state_close (st);
  rm_db (path);
}

/* A writer killed with SIGKILL at arbitrary points: every reopen must pass
 * the integrity check and see whole transactions only (each transaction
 * writes one override and one audit row with the same number). */
static void
consistent_after_crash (void **state)
{
  cleanup_free char *path = tmp_db ();
  struct moat_state *st = NULL;
  moat_error_t err = NULL;
  srand ((unsigned)time (NULL));
  assert_int_equal (state_open (path, &st, &err), 0);
  state_close (st);
  for (int round = 0; round < 8; round++)
    {
      pid_t pid = fork ();
      assert_true (pid >= 0);
      if (pid == 0)
        {
          struct moat_state *cst = NULL;
          moat_error_t cerr = NULL;
          sqlite3_stmt *q = NULL;
          int64_t start;
          if (state_open (path, &cst, &cerr) < 0)
            _exit (3);
          /* Continue the numbering of earlier rounds so that the invariant
           * below holds over all rounds together. */
          if (sqlite3_prepare_v2 (state_db (cst), "SELECT count(*) FROM audit",
                                  -1, &q, NULL)
                  != SQLITE_OK
              || sqlite3_step (q) != SQLITE_ROW)
            _exit (5);
          start = sqlite3_column_int64 (q, 0);
          sqlite3_finalize (q);
          for (int64_t i = start;; i++)
            {
              char key[32];
              json_t *v = json_integer (i);
              struct audit_record r = { .component = "test",
                                        .outcome = "applied",
                                        .endpoint = key };
              snprintf (key, sizeof key, "k%lld", (long long)(i % 50));
              if (state_begin (cst, &cerr) < 0
                  || state_override_set (cst, key, v, 0, &cerr) < 0
                  || state_audit_append (cst, &r, &cerr) < 0
                  || state_commit (cst, &cerr) < 0)
                _exit (4);
              json_decref (v);
            }
        }
      usleep (20000 + (useconds_t)(rand () % 80000));
      kill (pid, SIGKILL);
      waitpid (pid, NULL, 0);

      assert_int_equal (state_open (path, &st, &err), 0);
      {
        sqlite3_stmt *s = NULL;
        int64_t audits, max_override;
        assert_int_equal (
            sqlite3_prepare_v2 (state_db (st),
                                "SELECT (SELECT count(*) FROM audit WHERE "
                                "component='test'), (SELECT count(*) FROM "
                                "settings_override)",
                                -1, &s, NULL),
            SQLITE_OK);
        assert_int_equal (sqlite3_step (s), SQLITE_ROW);
        audits = sqlite3_column_int64 (s, 0);
        max_override = sqlite3_column_int64 (s, 1);
        sqlite3_finalize (s);
        /* Overrides cycle over 50 keys: after n whole transactions there
         * are min(n, 50) of them. */
        assert_true (max_override == (audits < 50 ? audits : 50));
      }
      state_close (st);
    }
  rm_db (path);
}

/* image name records: another non-root uid's binding, until a pull */
static void
image_names (void **state)
{
  cleanup_free char *path = tmp_db ();
  struct moat_state *st = NULL;
  moat_error_t err = NULL;
  int64_t o = 0;
  (void)state;
  assert_int_equal (state_open (path, &st, &err), 0);
  assert_int_equal (state_image_namer (st, "n:1", "i1", 1000, &o, &err), 0);
  assert_int_equal (state_image_note (st, "n:1", "i1", 1001, &err), 0);
  assert_int_equal (state_image_namer (st, "n:1", "i1", 1000, &o, &err), 1);
  assert_int_equal (o, 1001);
  /* its own; another image; another name */
  assert_int_equal (state_image_namer (st, "n:1", "i1", 1001, &o, &err), 0);
  assert_int_equal (state_image_namer (st, "n:1", "i2", 1000, &o, &err), 0);
  assert_int_equal (state_image_namer (st, "n:2", "i1", 1000, &o, &err), 0);
  /* the caller's own later binding does not clear it; a pull does */
  assert_int_equal (state_image_note (st, "n:1", "i1", 1000, &err), 0);
  assert_int_equal (state_image_namer (st, "n:1", "i1", 1000, &o, &err), 1);
  assert_int_equal (state_image_note (st, "n:1", "i1", -1, &err), 0);
  assert_int_equal (state_image_namer (st, "n:1", "i1", 1000, &o, &err), 0);
  /* bound again after the pull */
  assert_int_equal (state_image_note (st, "n:1", "i1", 1002, &err), 0);
  assert_int_equal (state_image_namer (st, "n:1", "i1", 1000, &o, &err), 1);
  assert_int_equal (o, 1002);
  state_close (st);
  rm_db (path);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (opens_and_migrates),
    cmocka_unit_test (refuses_newer_schema),
    cmocka_unit_test (refuses_corrupt_file),
    cmocka_unit_test (overrides_round_trip),
    cmocka_unit_test (audit_list_and_tail),
    cmocka_unit_test (consistent_after_crash),
    cmocka_unit_test (image_names),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
