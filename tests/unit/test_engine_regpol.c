/* The registry a request on a container's socket makes the engine reach
 * (engine/regpol.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/regpol.h"

static void
expect_target (const char *method, const char *path, const char *query,
               const char *host, unsigned port)
{
  char *h = NULL;
  unsigned p = 0;
  moat_error_t err = NULL;
  int r = engine_registry_target (method, path, query, &h, &p, &err);
  if (r != 1)
    fail_msg ("%s %s?%s: %d %s", method, path, query ? query : "", r,
              err ? moat_error_msg (&err) : "");
  assert_string_equal (h, host);
  assert_int_equal (p, port);
  free (h);
}

static void
expect_none (const char *method, const char *path, const char *query)
{
  char *h = NULL;
  unsigned p = 0;
  moat_error_t err = NULL;
  assert_int_equal (engine_registry_target (method, path, query, &h, &p, &err),
                    0);
  assert_null (h);
}

static void
expect_bad (const char *method, const char *path, const char *query)
{
  char *h = NULL;
  unsigned p = 0;
  moat_error_t err = NULL;
  assert_int_equal (engine_registry_target (method, path, query, &h, &p, &err),
                    -1);
  assert_null (h);
  assert_non_null (err);
  moat_error_release (&err);
}

static void
pulls (void **state)
{
  (void)state;
  expect_target ("POST", "/images/create", "fromImage=busybox&tag=1",
                 "registry-1.docker.io", 443);
  expect_target ("POST", "/images/create", "fromImage=docker.io%2Fx%2Fy",
                 "registry-1.docker.io", 443);
  expect_target ("POST", "/images/create",
                 "tag=1&fromImage=127.0.0.1%3A5000%2Fvictim", "127.0.0.1",
                 5000);
  expect_target ("POST", "/images/create", "fromImage=reg.example%2Fa%2Fb",
                 "reg.example", 443);
  expect_target ("POST", "/images/create", "fromImage=localhost:1234/a",
                 "localhost", 1234);
  expect_target ("POST", "/images/create", "fromImage=%5B::1%5D:5000/a", "::1",
                 5000);
  /* the engine reads the first fromImage; so does the guard */
  expect_target ("POST", "/images/create",
                 "fromImage=evil.example/a&fromImage=busybox", "evil.example",
                 443);
  /* an import: no registry (its fromSrc is checked by ECI) */
  expect_none ("POST", "/images/create", "fromSrc=-");
  expect_none ("POST", "/images/create", "fromImage=");
  expect_target ("POST", "/images/create", "fromImage=UPPER/case", "UPPER",
                 443);
  expect_bad ("POST", "/images/create", "fromImage=a%20b");
  expect_bad ("POST", "/images/create", "fromImage=h:99999/x");
  expect_bad ("POST", "/images/create", "fromImage=h:/x");
}

static void
others (void **state)
{
  (void)state;
  expect_target ("POST", "/images/127.0.0.1:5000/app/push", "tag=1",
                 "127.0.0.1", 5000);
  expect_target ("POST", "/images/app/push", "", "registry-1.docker.io", 443);
  expect_target ("GET", "/distribution/reg.example:8443/a/json", "",
                 "reg.example", 8443);
  expect_target ("GET", "/images/search", "term=busybox", "index.docker.io",
                 443);
  expect_target ("GET", "/images/search", "term=reg.example%2Fbusybox",
                 "reg.example", 443);
  expect_target ("GET", "/images/search", "term=localhost:5000/x", "localhost",
                 5000);
  expect_target ("GET", "/images/search", "term=library/busybox",
                 "index.docker.io", 443);
  expect_target ("POST", "/auth", "", "", 443);
  expect_none ("GET", "/images/json", "");
  expect_none ("GET", "/images/app/json", "");
  expect_none ("POST", "/images/app/tag", "repo=evil.example/x");
  expect_none ("GET", "/distribution/json", "");
}

static void
split (void **state)
{
  (void)state;
  char *h;
  unsigned p;
  moat_error_t err = NULL;
  assert_int_equal (engine_registry_split ("docker.io", &h, &p, &err), 0);
  assert_string_equal (h, "registry-1.docker.io");
  free (h);
  assert_int_equal (engine_registry_split ("[::1]", &h, &p, &err), 0);
  assert_string_equal (h, "::1");
  assert_int_equal (p, 443);
  free (h);
  assert_int_equal (engine_registry_split ("[::1]x", &h, &p, &err), -1);
  moat_error_release (&err);
  assert_int_equal (engine_registry_split ("h:0", &h, &p, &err), -1);
  moat_error_release (&err);
  assert_int_equal (engine_registry_split (":80", &h, &p, &err), -1);
  moat_error_release (&err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (pulls),
    cmocka_unit_test (others),
    cmocka_unit_test (split),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
