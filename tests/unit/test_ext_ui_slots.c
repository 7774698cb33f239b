/* Unit tests of the streamed exec calls' slots (daemon/ext_ui_slots.c): a
 * limit per signed-in user under a moatd-wide ceiling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "daemon/ext_ui_slots.h"

static void
test_per_user (void **state)
{
  struct ext_ui_slots sl = { 0 };
  (void)state;
  for (int i = 0; i < EXT_STREAMS_PER_USER; i++)
    assert_int_equal (ext_ui_slot_take (&sl, 0), 0);
  /* root holds all of its own: refused, another user is not */
  assert_int_equal (ext_ui_slot_take (&sl, 0), -1);
  assert_int_equal (ext_ui_slot_take (&sl, 1000), 0);
  assert_int_equal (sl.n, EXT_STREAMS_PER_USER + 1);
  /* one given back: one more for root, no more */
  ext_ui_slot_give (&sl, 0);
  assert_int_equal (ext_ui_slot_take (&sl, 0), 0);
  assert_int_equal (ext_ui_slot_take (&sl, 0), -1);
}

static void
test_ceiling (void **state)
{
  struct ext_ui_slots sl = { 0 };
  uid_t u = 1000;
  (void)state;
  /* users each holding all of theirs, up to moatd's ceiling */
  for (int i = 0; i < EXT_STREAMS_MAX; i++)
    {
      if (ext_ui_slot_take (&sl, u) < 0)
        {
          u++;
          assert_int_equal (ext_ui_slot_take (&sl, u), 0);
        }
    }
  assert_int_equal (sl.n, EXT_STREAMS_MAX);
  assert_int_equal (ext_ui_slot_take (&sl, 4242), -1);
  assert_int_equal (ext_ui_slot_take (&sl, 1000), -1);
  assert_int_equal (sl.nuser, (size_t)(u - 1000 + 1));
  ext_ui_slot_give (&sl, 1000);
  assert_int_equal (ext_ui_slot_take (&sl, 4242), 0);
}

static void
test_many_users (void **state)
{
  struct ext_ui_slots sl = { 0 };
  (void)state;
  /* one each: as many users as slots, the table never overflows */
  for (uid_t u = 0; u < EXT_STREAMS_MAX; u++)
    assert_int_equal (ext_ui_slot_take (&sl, 2000 + u), 0);
  assert_int_equal (sl.nuser, EXT_STREAMS_MAX);
  assert_int_equal (ext_ui_slot_take (&sl, 9999), -1);
  /* all given back (in another order): empty again */
  for (uid_t u = EXT_STREAMS_MAX; u-- > 0;)
    ext_ui_slot_give (&sl, 2000 + (u * 7) % EXT_STREAMS_MAX);
  assert_int_equal (sl.n, 0);
  assert_int_equal (sl.nuser, 0);
}

static void
test_give_unknown (void **state)
{
  struct ext_ui_slots sl = { 0 };
  (void)state;
  /* a slot never taken: nothing changes, no underflow */
  ext_ui_slot_give (&sl, 5);
  assert_int_equal (sl.n, 0);
  assert_int_equal (ext_ui_slot_take (&sl, 5), 0);
  ext_ui_slot_give (&sl, 6);
  assert_int_equal (sl.n, 1);
  ext_ui_slot_give (&sl, 5);
  ext_ui_slot_give (&sl, 5);
  assert_int_equal (sl.n, 0);
  assert_int_equal (sl.nuser, 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_per_user),
    cmocka_unit_test (test_ceiling),
    cmocka_unit_test (test_many_users),
    cmocka_unit_test (test_give_unknown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
