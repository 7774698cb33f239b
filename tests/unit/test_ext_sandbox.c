/* src/ext/sandbox.c against the real moat-sandbox, without moatd or an
 * engine: an installed extension is a directory with its record and
 * script.  Routes, the scope checks and their exact message, grants cut
 * down by the administrator's pins, requestedScopes validation, and
 * hostile scripts (each ends its sandbox only, which backs off, restarts
 * and is quarantined after repeated failures). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "ext/metadata.h"
#include "ext/sandbox.h"
#include "sandbox_helpers.h"

static char dir[64];

static const char script[]
    = "moat.route ('GET', '/hello', function (req) { return 'hi ' + "
      "req.query; });\n"
      "moat.route ('POST', '/echo', function (req) { return { status: 201, "
      "body: req.body }; });\n"
      "moat.route ('GET', '/json', function () { return { a: [1, 2] }; });\n"
      "moat.route ('GET', '/log', function () { try { moat.log ('x'); "
      "return 'ok'; } catch (e) { return { status: 403, body: e.message }; "
      "} });\n"
      "moat.route ('GET', '/put', function () { moat.storage.set ('k', "
      "{ n: 1 }); return moat.storage.get ('k'); });\n"
      "moat.route ('GET', '/fill', function (req) { var s = 'x'; "
      "for (var i = 0; i < 18; i++) s = s + s; try { "
      "moat.storage.set ('big' + req.query, s); return 'ok'; } catch (e) { "
      "return { status: 403, body: e.message }; } });\n"
      "moat.route ('GET', '/loop', function () { while (true) {} });\n"
      "moat.route ('GET', '/membomb', function () { "
      "return new Uint8Array (1024 * 1024 * 1024).length; });\n"
      "moat.route ('GET', '/bad', function () { return { status: 99, "
      "body: 'x' }; });\n"
      "moat.route ('GET', '/throw', function () { throw new Error ('boom'); "
      "});\n";

static void
write_file (const char *path, const char *text)
{
  FILE *f = fopen (path, "w");
  assert_non_null (f);
  fputs (text, f);
  fclose (f);
}

static int
setup (void **state)
{
  char p[256];
  moat_error_t err = NULL;
  snprintf (dir, sizeof dir, "/tmp/moat-extsbx-XXXXXX");
  assert_non_null (mkdtemp (dir));
  snprintf (p, sizeof p, "%s/sbx", dir);
  mkdir (p, 0700);
  snprintf (p, sizeof p, "%s/sbx/data", dir);
  mkdir (p, 0700);
  snprintf (p, sizeof p, "%s/sbx/sandbox.js", dir);
  write_file (p, script);
  /* Granted: storage only (log was requested, not granted). */
  snprintf (p, sizeof p, "%s/sbx/extension.json", dir);
  write_file (p, "{\"name\": \"sbx\", \"sandbox\": {\"script\": \"x.js\", "
                 "\"grants\": {\"storage\": {}}}}");
  snprintf (p, sizeof p, "%s/plain", dir);
  mkdir (p, 0700);
  snprintf (p, sizeof p, "%s/plain/extension.json", dir);
  write_file (p, "{\"name\": \"plain\"}");
  struct ext_sandbox_conf c
      = { .exe = test_sandbox_exe (), .ext_dir = dir, .call_ms = 1000 };
  if (ext_sandbox_init (&c, &err) < 0)
    fail_msg ("%s", moat_error_msg (&err));
  (void)state;
  return 0;
}

static int
teardown (void **state)
{
  char cmd[128];
  ext_sandbox_shutdown ();
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system (cmd) != 0)
    return -1;
  (void)state;
  return 0;
}

/* One call; returns the status, *body (malloc'd) the reply. */
static int
call (const char *name, const char *method, const char *path, const char *body,
      char **reply)
{
  moat_error_t err = NULL;
  int status = 0;
  size_t len;
  if (ext_sandbox_call (name, method, path, body, body ? strlen (body) : 0,
                        EXT_SANDBOX_NO_USER, &status, reply, &len, &err)
      < 0)
    {
      *reply = strdup (moat_error_msg (&err));
      moat_error_release (&err);
      return -1;
    }
  return status;
}

static void
wait_ready (void)
{
  for (int i = 0; i < 400; i++)
    {
      json_t *st = ext_sandbox_status ("sbx");
      bool backoff
          = st != NULL
            && strcmp (json_string_value (json_object_get (st, "state")),
                       "backoff")
                   == 0;
      json_decref (st);
      if (!backoff)
        return;
      usleep (100000);
    }
}

static int64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
routes (void **state)
{
  char *r;
  assert_int_equal (call ("sbx", "get", "/hello?there", NULL, &r), 200);
  assert_string_equal (r, "hi there");
  free (r);
  assert_int_equal (call ("sbx", "POST", "/echo", "{\"a\":1}", &r), 201);
  assert_string_equal (r, "{\"a\":1}");
  free (r);
  assert_int_equal (call ("sbx", "GET", "/json", NULL, &r), 200);
  assert_string_equal (r, "{\"a\":[1,2]}");
  free (r);
  assert_int_equal (call ("sbx", "GET", "/none", NULL, &r), 404);
  free (r);
  assert_int_equal (call ("sbx", "GET", "/throw", NULL, &r), 500);
  assert_non_null (strstr (r, "boom"));
  free (r);
  /* The script's answer is checked too. */
  assert_int_equal (call ("sbx", "GET", "/bad", NULL, &r), 502);
  free (r);
  assert_int_equal (call ("sbx", "GET", "relative", NULL, &r), 400);
  free (r);
  assert_int_equal (call ("plain", "GET", "/hello", NULL, &r), -1);
  assert_non_null (strstr (r, "has no sandbox"));
  free (r);
  assert_int_equal (call ("nosuch", "GET", "/hello", NULL, &r), -1);
  free (r);
  (void)state;
}

static void
scopes (void **state)
{
  char *r;
  assert_int_equal (call ("sbx", "GET", "/log", NULL, &r), 403);
  assert_string_equal (r, "no permission to access \"log\"");
  free (r);
  assert_int_equal (call ("sbx", "GET", "/put", NULL, &r), 200);
  assert_string_equal (r, "{\"n\":1}");
  free (r);
  /* 256 KiB a call (one call stays inside its time limit under ASan):
   * the fourth value takes the extension past 1 MiB. */
  for (int i = 1; i <= 3; i++)
    {
      char path[32];
      snprintf (path, sizeof path, "/fill?%d", i);
      assert_int_equal (call ("sbx", "GET", path, NULL, &r), 200);
      free (r);
    }
  int64_t t0 = now_ms ();
  assert_int_equal (call ("sbx", "GET", "/fill?4", NULL, &r), 403);
  print_message ("# fill: %lld ms: %s\n", (long long)(now_ms () - t0), r);
  assert_non_null (strstr (r, "over the cap"));
  free (r);
  assert_int_equal (call ("sbx", "GET", "/put", NULL, &r), 200);
  free (r);
  (void)state;
}

static void
hostile (void **state)
{
  char *r;
  int64_t t0 = now_ms ();
  assert_int_equal (call ("sbx", "GET", "/loop", NULL, &r), 504);
  assert_true (now_ms () - t0 < 3000);
  free (r);
  /* Backing off: not started again at once. */
  assert_int_equal (call ("sbx", "GET", "/hello", NULL, &r), 503);
  assert_non_null (strstr (r, "restarting"));
  free (r);
  wait_ready ();
  assert_int_equal (call ("sbx", "GET", "/hello?x", NULL, &r), 200);
  free (r);

  t0 = now_ms ();
  assert_int_equal (call ("sbx", "GET", "/membomb", NULL, &r), 502);
  print_message ("# membomb: %lld ms: %s\n", (long long)(now_ms () - t0), r);
  assert_non_null (strstr (r, "out of memory"));
  free (r);
  wait_ready ();
  /* Storage outlives its sandbox. */
  assert_int_equal (call ("sbx", "GET", "/put", NULL, &r), 200);
  free (r);

  for (int i = 0; i < EXT_SANDBOX_QUARANTINE_AFTER; i++)
    {
      wait_ready ();
      assert_int_equal (call ("sbx", "GET", "/loop", NULL, &r), 504);
      free (r);
    }
  assert_int_equal (call ("sbx", "GET", "/hello", NULL, &r), 503);
  assert_non_null (strstr (r, "quarantined"));
  free (r);
  json_t *st = ext_sandbox_status ("sbx");
  assert_string_equal (json_string_value (json_object_get (st, "state")),
                       "quarantined");
  json_decref (st);
  ext_sandbox_forget ("sbx");
  assert_int_equal (call ("sbx", "GET", "/hello", NULL, &r), 200);
  free (r);
  (void)state;
}

static void
grants (void **state)
{
  json_t *req = json_loads (
      "{\"log\": {}, \"docker\": {\"commands\": [\"ps\", \"images\"]},"
      " \"request\": {\"urls\": [\"https://a/*\", \"https://b/*\"]}}",
      0, NULL);
  json_t *pins = json_loads (
      "{\"log\": {}, \"docker\": {\"commands\": [\"ps\"]},"
      " \"request\": {\"urls\": [\"https://b/*\", \"https://c/*\"],"
      " \"methods\": [\"GET\", \"POST\"]}}",
      0, NULL);
  json_t *g = ext_sandbox_grants (req, NULL);
  char *s = json_dumps (g, JSON_COMPACT | JSON_SORT_KEYS);
  assert_string_equal (s, "{\"docker\":{\"commands\":[\"ps\",\"images\"]},"
                          "\"log\":{},\"request\":{\"methods\":[\"GET\"],"
                          "\"urls\":[\"https://a/*\",\"https://b/*\"]}}");
  free (s);
  json_decref (g);
  g = ext_sandbox_grants (req, pins);
  s = json_dumps (g, JSON_COMPACT | JSON_SORT_KEYS);
  assert_string_equal (s, "{\"docker\":{\"commands\":[\"ps\"]},\"log\":{},"
                          "\"request\":{\"methods\":[\"GET\"],\"urls\":["
                          "\"https://b/*\"]}}");
  free (s);
  json_decref (g);
  /* Pinned to nothing: nothing granted. */
  json_t *none = json_object ();
  g = ext_sandbox_grants (req, none);
  assert_int_equal (json_object_size (g), 0);
  json_decref (g);
  json_decref (none);
  json_decref (req);
  json_decref (pins);
  (void)state;
}

static void
scopes_check (void **state)
{
  static const char *const bad[] = {
    "{\"exec\": {}}",
    "{\"log\": {\"x\": 1}}",
    "{\"request\": {\"methods\": [\"GET\"]}}",
    "{\"request\": {\"urls\": [\"file:///etc/passwd\"]}}",
    "{\"request\": {\"urls\": [\"https://x/*\"], \"methods\": [\"TRACE\"]}}",
    "{\"docker\": {\"commands\": [\"rm\"]}}",
    "{\"storage\": []}",
    /* a key of another scope */
    "{\"docker\": {\"urls\": [\"https://x/*\"]}}",
    "{\"request\": {\"urls\": [\"https://x/*\"], \"commands\": [\"ps\"]}}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      struct ext_problems p = { 0 };
      json_t *j = json_loads (bad[i], 0, NULL);
      assert_non_null (j);
      assert_int_equal (ext_sandbox_scopes_check (j, &p), -1);
      assert_true (p.n > 0);
      ext_problems_free (&p);
      json_decref (j);
    }
  struct ext_problems p = { 0 };
  json_t *j = json_loads (
      "{\"log\": {}, \"sleep\": {}, \"storage\": {}, \"request\": "
      "{\"urls\": [\"https://api.example.com/*\"], \"methods\": [\"GET\"]}, "
      "\"docker\": {\"commands\": [\"ps\"]}}",
      0, NULL);
  assert_int_equal (ext_sandbox_scopes_check (j, &p), 0);
  json_decref (j);
  ext_problems_free (&p);
  (void)state;
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (routes),       cmocka_unit_test (scopes),
    cmocka_unit_test (hostile),      cmocka_unit_test (grants),
    cmocka_unit_test (scopes_check),
  };
  return cmocka_run_group_tests (tests, setup, teardown);
}
