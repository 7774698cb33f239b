/* Unit tests of sign-in sessions: the gate's uid -> verdict table
 * (engine/gate.c) and the session store in the state database
 * (daemon/signin_store.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/signin.h"
#include "engine/gate.h"
#include "engine/guard_test.h"
#include "state/state.h"

#define REQUIRED                                                              \
  "sign-in required: your administrator requires you to sign in to an "       \
  "account in one of these organizations: acme, beta; run \"moat login\""

static const char *const orgs2[] = { "acme", "beta" };

static void
test_gate_not_enforced (void **state)
{
  struct engine_gate *g = engine_gate_new (NULL, 0, NULL);
  const char *m = NULL;
  (void)state;
  assert_non_null (g);
  engine_gate_seal (g);
  assert_false (engine_gate_enforced_p (g));
  assert_int_equal (engine_gate_check (g, 1000, 100, &m), 0);
  assert_int_equal (engine_gate_check (NULL, 0, 100, &m), 0);
  engine_gate_free (g);
}

static void
test_gate_messages (void **state)
{
  struct engine_gate *g = engine_gate_new (orgs2, 2, NULL);
  const char *m = NULL;
  (void)state;
  assert_non_null (g);
  assert_int_equal (engine_gate_add (g, 1000, "alice", true, 200, NULL), 0);
  assert_int_equal (engine_gate_add (g, 1001, "bob", false, 200, NULL), 0);
  assert_int_equal (engine_gate_add (g, 5, "carol", true, 50, NULL), 0);
  engine_gate_seal (g);
  assert_true (engine_gate_enforced_p (g));
  /* a member with a live session */
  assert_int_equal (engine_gate_check (g, 1000, 100, &m), 0);
  /* no session; root is no exception */
  assert_int_equal (engine_gate_check (g, 0, 100, &m), -1);
  assert_string_equal (m, REQUIRED);
  assert_int_equal (engine_gate_check (g, 999, 100, &m), -1);
  assert_string_equal (m, REQUIRED);
  /* signed in, not a member */
  assert_int_equal (engine_gate_check (g, 1001, 100, &m), -1);
  assert_string_equal (m, "sign-in required: user \"bob\" is not a member "
                          "of any of these organizations: acme, beta");
  /* expired */
  assert_int_equal (engine_gate_check (g, 5, 49, &m), 0);
  assert_int_equal (engine_gate_check (g, 5, 50, &m), -1);
  assert_string_equal (m, REQUIRED);
  engine_gate_free (g);
}

static void
test_gate_last_add_wins (void **state)
{
  struct engine_gate *g = engine_gate_new (orgs2, 1, NULL);
  const char *m = NULL;
  (void)state;
  for (uid_t u = 2000; u > 1000; u--)
    assert_int_equal (engine_gate_add (g, u, "x", u % 2 == 0, 200, NULL), 0);
  assert_int_equal (engine_gate_add (g, 1500, "x", false, 200, NULL), 0);
  assert_int_equal (engine_gate_add (g, 1501, "x", true, 200, NULL), 0);
  engine_gate_seal (g);
  assert_int_equal (engine_gate_add (g, 7, "x", true, 200, NULL), -1);
  assert_int_equal (engine_gate_check (g, 1500, 100, &m), -1);
  assert_int_equal (engine_gate_check (g, 1501, 100, &m), 0);
  assert_int_equal (engine_gate_check (g, 1502, 100, &m), 0);
  assert_int_equal (engine_gate_check (g, 1503, 100, &m), -1);
  assert_int_equal (engine_gate_check (g, 2001, 100, &m), -1);
  assert_int_equal (engine_gate_check (g, 1000, 100, &m), -1);
  engine_gate_free (g);
}

static void
test_gate_exempt (void **state)
{
  (void)state;
  assert_true (engine_gate_exempt_p ("/_ping"));
  assert_true (engine_gate_exempt_p ("/version"));
  assert_false (engine_gate_exempt_p ("/info"));
  assert_false (engine_gate_exempt_p ("/containers/json"));
  assert_false (engine_gate_exempt_p (NULL));
}

struct fixture
{
  char dir[64];
  char path[128];
  struct moat_state *st;
};

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  snprintf (f->dir, sizeof f->dir, "/tmp/moat-signin-XXXXXX");
  if (mkdtemp (f->dir) == NULL)
    return -1;
  snprintf (f->path, sizeof f->path, "%s/state.db", f->dir);
  if (state_open (f->path, &f->st, NULL) < 0)
    return -1;
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  char cmd[160];
  state_close (f->st);
  snprintf (cmd, sizeof cmd, "rm -rf %s", f->dir);
  if (system (cmd) != 0)
    return -1;
  free (f);
  return 0;
}

static void
test_store_roundtrip (void **state)
{
  struct fixture *f = *state;
  sqlite3 *db = state_db (f->st);
  char *o1[] = { "acme", "zeta", NULL };
  struct signin_session a = { .uid = 1001,
                              .user = "alice",
                              .orgs = o1,
                              .created_s = 10,
                              .expires_s = 10 + SIGNIN_SESSION_TTL_S };
  struct signin_session b = { .uid = 0,
                              .user = "root-user",
                              .orgs = NULL,
                              .created_s = 11,
                              .expires_s = 12 };
  struct signin_session *v = NULL;
  size_t n = 0;

  assert_int_equal (signin_store_init (db, NULL), 0);
  assert_int_equal (signin_store_init (db, NULL), 0); /* idempotent */
  assert_int_equal (signin_store_put (db, &a, NULL), 0);
  assert_int_equal (signin_store_put (db, &b, NULL), 0);
  assert_int_equal (signin_store_load (db, &v, &n, NULL), 0);
  assert_int_equal (n, 2);
  assert_int_equal (v[0].uid, 0);
  assert_string_equal (v[0].user, "root-user");
  assert_null (v[0].orgs[0]);
  assert_int_equal (v[1].uid, 1001);
  assert_string_equal (v[1].orgs[0], "acme");
  assert_string_equal (v[1].orgs[1], "zeta");
  assert_null (v[1].orgs[2]);
  assert_int_equal (v[1].expires_s, 10 + SIGNIN_SESSION_TTL_S);
  signin_sessions_free (v, n);

  /* one session per uid: a new login replaces it */
  a.user = "alice2";
  assert_int_equal (signin_store_put (db, &a, NULL), 0);
  assert_int_equal (signin_store_load (db, &v, &n, NULL), 0);
  assert_int_equal (n, 2);
  assert_string_equal (v[1].user, "alice2");
  signin_sessions_free (v, n);

  assert_int_equal (signin_store_delete (db, 1001, NULL), 1);
  assert_int_equal (signin_store_delete (db, 1001, NULL), 0);
  assert_int_equal (signin_store_load (db, &v, &n, NULL), 0);
  assert_int_equal (n, 1);
  signin_sessions_free (v, n);
}

/* Sessions survive closing and reopening the database (a moatd restart). */
static void
test_store_persists (void **state)
{
  struct fixture *f = *state;
  char *o[] = { "acme", NULL };
  struct signin_session a = {
    .uid = 42, .user = "dave", .orgs = o, .created_s = 1, .expires_s = 99
  };
  struct signin_session *v = NULL;
  size_t n = 0;
  assert_int_equal (signin_store_init (state_db (f->st), NULL), 0);
  assert_int_equal (signin_store_put (state_db (f->st), &a, NULL), 0);
  state_close (f->st);
  assert_int_equal (state_open (f->path, &f->st, NULL), 0);
  assert_int_equal (signin_store_init (state_db (f->st), NULL), 0);
  assert_int_equal (signin_store_load (state_db (f->st), &v, &n, NULL), 0);
  assert_int_equal (n, 1);
  assert_string_equal (v[0].user, "dave");
  signin_sessions_free (v, n);
}

static void
test_gate_build (void **state)
{
  char *acme[] = { "ACME", NULL }, *other[] = { "other", NULL };
  char *pol_orgs[] = { "acme", "beta" };
  struct signin_policy pol = { .orgs = pol_orgs, .n_orgs = 2 };
  struct signin_policy none = { 0 };
  struct signin_session v[] = {
    { .uid = 1000, .user = "alice", .orgs = acme, .expires_s = 500 },
    { .uid = 1001, .user = "bob", .orgs = other, .expires_s = 500 },
    { .uid = 1002, .user = "old", .orgs = acme, .expires_s = 100 },
  };
  const char *m = NULL;
  struct engine_gate *g;
  (void)state;

  assert_true (signin_member_p (acme, &pol));
  assert_false (signin_member_p (other, &pol));
  assert_false (signin_member_p (NULL, &pol));
  assert_true (signin_member_p (other, &none));

  g = signin_gate_build (v, 3, &pol, 200, NULL);
  assert_non_null (g);
  assert_int_equal (engine_gate_check (g, 1000, 200, &m), 0);
  assert_int_equal (engine_gate_check (g, 1001, 200, &m), -1);
  assert_non_null (strstr (m, "user \"bob\" is not a member"));
  assert_int_equal (engine_gate_check (g, 1002, 200, &m), -1);
  assert_string_equal (m, REQUIRED);
  engine_gate_free (g);

  g = signin_gate_build (v, 3, &none, 200, NULL);
  assert_false (engine_gate_enforced_p (g));
  assert_int_equal (engine_gate_check (g, 1234, 200, &m), 0);
  engine_gate_free (g);
}

/* The guard's hook: a head from a uid without a member's session is
 * answered 403 with the contract text and never reaches the engine;
 * /_ping and /version pass.  engine_guard_feed's caller is uid 0: root is
 * no exception. */
static void
test_guard_hook (void **state)
{
  struct engine_guard_config cfg;
  struct engine_guard *g;
  struct engine_gate *gate, *member;
  struct policy pol;
  char path[64];
  const char *reqs[] = {
    "GET /v1.41/info HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET /v1.41/version HTTP/1.1\r\nHost: x\r\n\r\n",
    "POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\n"
    "Content-Length: 19\r\n\r\n{\"Image\":\"busybox\"}",
  };
  const bool pass[] = { false, true, true, false };
  (void)state;
  snprintf (path, sizeof path, "/tmp/moat-gateut-%d.sock", (int)getpid ());
  memset (&cfg, 0, sizeof cfg);
  cfg.listen_fd = -1;
  cfg.listen_path = path;
  cfg.engine_path = "/nonexistent";
  g = engine_guard_new (&cfg, NULL);
  assert_non_null (g);
  unlink (path);
  memset (&pol, 0, sizeof pol);
  engine_guard_set_policy (g, &pol);
  gate = engine_gate_new (orgs2, 2, NULL);
  engine_gate_seal (gate);
  engine_guard_set_gate (g, gate);
  for (size_t r = 0; r < sizeof reqs / sizeof *reqs; r++)
    {
      struct engine_guard_feed_out o = { 0 };
      assert_int_equal (engine_guard_feed_ex (g, reqs[r], strlen (reqs[r]), "",
                                              0, 4096, 0, &o),
                        0);
      if (pass[r])
        assert_true (o.to_engine_len > 0);
      else
        {
          assert_int_equal (o.to_engine_len, 0);
          assert_non_null (strstr (o.to_client, "HTTP/1.1 403 "));
          /* the JSON body escapes the quotes around moat login */
          assert_non_null (strstr (
              o.to_client, "{\"message\":\"sign-in required: your "
                           "administrator requires you to sign in to an "
                           "account in one of these organizations: acme, "
                           "beta; run \\\"moat login\\\"\"}"));
        }
      free (o.to_engine);
      free (o.to_client);
    }
  /* root signed in as a member: served */
  member = engine_gate_new (orgs2, 2, NULL);
  engine_gate_add (member, 0, "root-user", true, INT64_MAX, NULL);
  engine_gate_seal (member);
  engine_guard_set_gate (g, member);
  engine_gate_free (gate);
  {
    struct engine_guard_feed_out o = { 0 };
    assert_int_equal (engine_guard_feed_ex (g, reqs[0], strlen (reqs[0]), "",
                                            0, 4096, 0, &o),
                      0);
    assert_true (o.to_engine_len > 0);
    free (o.to_engine);
    free (o.to_client);
  }
  engine_guard_free (g);
  engine_gate_free (member);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_gate_not_enforced),
    cmocka_unit_test (test_gate_messages),
    cmocka_unit_test (test_gate_last_add_wins),
    cmocka_unit_test (test_gate_exempt),
    cmocka_unit_test_setup_teardown (test_store_roundtrip, setup, teardown),
    cmocka_unit_test_setup_teardown (test_store_persists, setup, teardown),
    cmocka_unit_test (test_gate_build),
    cmocka_unit_test (test_guard_hook),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
