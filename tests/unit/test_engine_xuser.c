/* Unit tests of other users' volumes, networks and prunes
 * (src/engine/xuser.c): the prune filters a non-root caller's prune is
 * sent with, and the owner checks against a fake engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/refusal.h"
#include "common/strutil.h"
#include "engine/xuser.h"

/* the filters= of a rewritten prune URI, decoded */
static json_t *
filters_of (const char *uri)
{
  const char *q = strstr (uri, "?filters=");
  char *dec;
  json_t *j;
  assert_non_null (q);
  assert_null (strchr (q + 9, '&'));
  dec = pct_decode (q + 9, strlen (q + 9), true);
  assert_non_null (dec);
  j = json_loads (dec, 0, NULL);
  free (dec);
  assert_non_null (j);
  return j;
}

static void
prune_adds_owner_label (void **state)
{
  struct eci_verdict v = { 0 };
  char *uri = NULL;
  json_t *f;
  (void)state;

  assert_int_equal (
      engine_prune_uri ("1.41", "/containers/prune", "", 1000, &uri, &v), 0);
  assert_true (strncmp (uri, "/v1.41/containers/prune?filters=", 32) == 0);
  f = filters_of (uri);
  assert_true (json_is_true (json_object_get (json_object_get (f, "label"),
                                              "com.moat.caller.uid=1000")));
  assert_int_equal (json_object_size (f), 1);
  json_decref (f);
  free (uri);

  /* the caller's own filters kept; another uid's label ANDed, not
   * replacing; the legacy list form folded; other parameters dropped */
  assert_int_equal (
      engine_prune_uri ("", "/volumes/prune",
                        "filters=%7B%22label%22%3A%5B%22com.moat.caller.uid%"
                        "3D0%22%5D%2C%22until%22%3A%7B%2224h%22%3Atrue%7D%"
                        "7D&filters=%7B%7D&x=1",
                        1000, &uri, &v),
      0);
  assert_true (strncmp (uri, "/volumes/prune?filters=", 23) == 0);
  f = filters_of (uri);
  assert_true (json_is_true (json_object_get (json_object_get (f, "label"),
                                              "com.moat.caller.uid=1000")));
  assert_true (json_is_true (json_object_get (json_object_get (f, "label"),
                                              "com.moat.caller.uid=0")));
  assert_true (
      json_is_true (json_object_get (json_object_get (f, "until"), "24h")));
  json_decref (f);
  free (uri);
}

static void
prune_bad_filters (void **state)
{
  static const char *const bad[] = {
    "filters=notjson", "filters=%5B%5D",      /* [] */
    "filters=%7B%22label%22%3A1%7D",          /* {"label":1} */
    "filters=%7B%22label%22%3A%5B1%5D%7D",    /* {"label":[1]} */
    "filters=%7B%22a%22%3A1%2C%22a%22%3A2%7D" /* duplicate keys */
  };
  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      struct eci_verdict v = { 0 };
      char *uri = NULL;
      assert_int_equal (
          engine_prune_uri ("", "/networks/prune", bad[i], 1000, &uri, &v),
          -1);
      assert_null (uri);
      assert_int_equal (v.status, 400);
      eci_verdict_clear (&v);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (prune_adds_owner_label),
    cmocka_unit_test (prune_bad_filters),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
