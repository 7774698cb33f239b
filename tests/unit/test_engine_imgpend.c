/* Image name bindings in flight (engine/imgpend.h): entered by request,
 * found by normalized name for anyone but their binder and root, dropped
 * by token only, bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/imgpend.h"

static void
add_find_drop (void **state)
{
  struct engine_image_pending p;
  uint64_t t1 = 0, t2 = 0, t3 = 7;
  uid_t o = 0;
  (void)state;
  engine_image_pending_init (&p);
  /* a build's several t=, as the request gave them: found normalized */
  assert_int_equal (engine_image_pending_add (
                        &p, "busybox\nregistry.x:5000/a/b:2", 1001, &t1),
                    0);
  assert_true (t1 != 0);
  assert_int_equal (engine_image_pending_find (
                        &p, "docker.io/library/busybox:latest", 1000, &o),
                    1);
  assert_int_equal (o, 1001);
  assert_int_equal (
      engine_image_pending_find (&p, "registry.x:5000/a/b:2", 0, &o), 1);
  /* not for its binder; not another tag or name */
  assert_int_equal (engine_image_pending_find (
                        &p, "docker.io/library/busybox:latest", 1001, &o),
                    0);
  assert_int_equal (
      engine_image_pending_find (&p, "docker.io/library/busybox:1", 1000, &o),
      0);
  /* the same name by a second user: both in flight, each dropped alone */
  assert_int_equal (
      engine_image_pending_add (&p, "library/busybox:latest", 1002, &t2), 0);
  assert_true (t2 != 0 && t2 != t1);
  assert_int_equal (engine_image_pending_find (
                        &p, "docker.io/library/busybox:latest", 1001, &o),
                    1);
  assert_int_equal (o, 1002);
  engine_image_pending_drop (&p, t1);
  assert_int_equal (
      engine_image_pending_find (&p, "registry.x:5000/a/b:2", 0, &o), 0);
  assert_int_equal (engine_image_pending_find (
                        &p, "docker.io/library/busybox:latest", 1000, &o),
                    1);
  assert_int_equal (o, 1002);
  engine_image_pending_drop (&p, t2);
  assert_int_equal (engine_image_pending_find (
                        &p, "docker.io/library/busybox:latest", 1000, &o),
                    0);
  /* no name (an id, a digest, junk): nothing entered, token 0; drop of
   * 0 is nothing */
  assert_int_equal (
      engine_image_pending_add (&p,
                                "sha256:"
                                "0123456789abcdef0123456789abcdef0123456789abc"
                                "def0123456789abcdef\nx@sha256:aa\n../x",
                                1001, &t3),
      0);
  assert_int_equal (t3, 0);
  assert_int_equal (p.n, 0);
  engine_image_pending_drop (&p, 0);
  /* root's is never blame */
  assert_int_equal (engine_image_pending_add (&p, "rootname", 0, &t3), 0);
  assert_int_equal (engine_image_pending_find (
                        &p, "docker.io/library/rootname:latest", 1000, &o),
                    0);
  engine_image_pending_free (&p);
}

static void
bounded (void **state)
{
  struct engine_image_pending p;
  uint64_t t = 0, last = 0;
  uid_t o = 0;
  char name[32];
  (void)state;
  engine_image_pending_init (&p);
  for (int i = 0; i < ENGINE_IMAGE_PENDING_UID_MAX; i++)
    {
      snprintf (name, sizeof name, "n%d", i);
      assert_int_equal (engine_image_pending_add (&p, name, 1001, &t), 0);
      last = t;
    }
  /* one uid full: refused whole (the request is not sent), nothing half
   * entered; another uid is not blocked by it */
  assert_int_equal (engine_image_pending_add (&p, "more", 1001, &t), -1);
  assert_int_equal (t, 0);
  assert_int_equal (p.n, ENGINE_IMAGE_PENDING_UID_MAX);
  assert_int_equal (engine_image_pending_add (&p, "other", 1002, &t), 0);
  assert_true (t != 0);
  engine_image_pending_drop (&p, last);
  assert_int_equal (engine_image_pending_add (&p, "more\nmore2", 1001, &t),
                    -1);
  assert_int_equal (engine_image_pending_add (&p, "more", 1001, &t), 0);
  assert_int_equal (engine_image_pending_find (
                        &p, "docker.io/library/more:latest", 1000, &o),
                    1);
  /* the whole table: many uids */
  for (uid_t u = 2000;
       p.n + ENGINE_IMAGE_PENDING_UID_MAX <= ENGINE_IMAGE_PENDING_MAX; u++)
    for (int i = 0; i < ENGINE_IMAGE_PENDING_UID_MAX; i++)
      {
        snprintf (name, sizeof name, "m%d", i);
        assert_int_equal (engine_image_pending_add (&p, name, u, &t), 0);
      }
  while (p.n < ENGINE_IMAGE_PENDING_MAX)
    assert_int_equal (engine_image_pending_add (&p, "fill", 9999, &t), 0);
  assert_int_equal (engine_image_pending_add (&p, "last", 9998, &t), -1);
  engine_image_pending_free (&p);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (add_find_drop),
    cmocka_unit_test (bounded),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
