/* Unit tests of src/runtime/supervise: which containers get a mount
 * supervisor, which mount types get the inert tmpfs (the rest of it runs
 * against real containers in tests/integration/test_dind.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>

#include "runtime/procfs.h"
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

/* Only debugfs and tracefs get the inert tmpfs; every other type keeps
 * its own answer (proc, sysfs: masked; the rest: the kernel's). */
static void
inert_only_for_debugfs_and_tracefs (void **state)
{
  (void)state;
  assert_true (procfs_inert_p ("debugfs"));
  assert_true (procfs_inert_p ("tracefs"));
  assert_false (procfs_inert_p ("proc"));
  assert_false (procfs_inert_p ("sysfs"));
  assert_false (procfs_inert_p ("tmpfs"));
  assert_false (procfs_inert_p ("debugfs2"));
  assert_false (procfs_inert_p ("Debugfs"));
  assert_false (procfs_inert_p ("trace"));
  assert_false (procfs_inert_p (""));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (only_with_sys_admin_in_the_bounding_set),
    cmocka_unit_test (inert_only_for_debugfs_and_tracefs),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
