/* Unit tests of src/runtime/supervise: which containers get a mount
 * supervisor (the rest of it runs against real containers in
 * tests/integration/test_dind.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>

#include "runtime/supervise.h"

static int
wanted (const char *json)
{
  json_error_t e;
  json_t *spec = json_loads (json, 0, &e);
  int r;
  assert_non_null (spec);
  r = supervise_wanted_p (spec);
  json_decref (spec);
  return r;
}

static void
only_with_sys_admin_in_the_bounding_set (void **state)
{
  (void)state;
  assert_true (wanted ("{\"process\":{\"capabilities\":{\"bounding\":"
                       "[\"CAP_CHOWN\",\"CAP_SYS_ADMIN\"]}}}"));
  /* Docker's default set: no supervisor, no filter */
  assert_false (wanted ("{\"process\":{\"capabilities\":{\"bounding\":"
                        "[\"CAP_CHOWN\",\"CAP_NET_RAW\"]}}}"));
  /* effective alone does not count: moat-lock looks at the bounding set */
  assert_false (wanted ("{\"process\":{\"capabilities\":{\"effective\":"
                        "[\"CAP_SYS_ADMIN\"],\"bounding\":[]}}}"));
  assert_false (wanted ("{\"process\":{}}"));
  assert_false (wanted ("{}"));
  assert_false (wanted ("{\"process\":{\"capabilities\":{\"bounding\":"
                        "[1, null, \"SYS_ADMIN\"]}}}"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (only_with_sys_admin_in_the_bounding_set),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
