/* Unit tests of src/common/capbuf: the capped body buffer every libcurl
 * download of moat (PAC, fleet policy, extension requests) writes into. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/capbuf.h"

/* Exactly the cap is kept, NUL-terminated. */
static void
cap_exactly_reached (void **state)
{
  struct capbuf b = CAPBUF_INIT (8);
  char d[] = "abcdefgh";

  assert_int_equal (capbuf_write (d, 1, 5, &b), 5);
  assert_int_equal (capbuf_write (d + 5, 3, 1, &b), 3);
  assert_false (b.over);
  assert_int_equal (b.len, 8);
  assert_string_equal (b.p, "abcdefgh");
  capbuf_release (&b);
  assert_null (b.p);
  assert_int_equal (b.len, 0);
}

/* One byte past the cap aborts the write and keeps what came before. */
static void
one_byte_over (void **state)
{
  struct capbuf b = CAPBUF_INIT (8);
  char d[] = "abcdefghi";

  assert_int_equal (capbuf_write (d, 1, 4, &b), 4);
  assert_int_equal (capbuf_write (d + 4, 1, 5, &b), 0);
  assert_true (b.over);
  assert_int_equal (b.len, 4);
  assert_string_equal (b.p, "abcd");
  capbuf_release (&b);

  /* In one write, too. */
  struct capbuf c = CAPBUF_INIT (8);
  assert_int_equal (capbuf_write (d, 9, 1, &c), 0);
  assert_true (c.over);
  assert_int_equal (c.len, 0);
  assert_null (c.p);
}

/* size*n wrapping around to a small number is over the cap, not a small
 * write: (2^63 + 1) * 2 is 2 modulo 2^64 on a 64-bit size_t. */
static void
size_times_n_overflow (void **state)
{
  struct capbuf b = CAPBUF_INIT (1024);
  char d[] = "xy";
  size_t big = SIZE_MAX / 2 + 2;

  assert_int_equal (capbuf_write (d, big, 2, &b), 0);
  assert_true (b.over);
  assert_int_equal (b.len, 0);
  assert_null (b.p);

  struct capbuf c = CAPBUF_INIT (1024);
  assert_int_equal (capbuf_write (d, 2, big, &c), 0);
  assert_true (c.over);

  /* A cap of SIZE_MAX cannot make the NUL's byte wrap either. */
  struct capbuf m = CAPBUF_INIT (SIZE_MAX);
  assert_int_equal (capbuf_write (d, 1, 2, &m), 2);
  assert_int_equal (capbuf_write (d, SIZE_MAX - 2, 1, &m), 0);
  assert_true (m.over);
  assert_string_equal (m.p, "xy");
  capbuf_release (&m);
}

/* Empty writes take nothing and are not an error; a body that never came
 * is handed over as "". */
static void
empty_writes (void **state)
{
  struct capbuf b = CAPBUF_INIT (4);
  size_t len = 99;
  char *s;

  assert_int_equal (capbuf_write (NULL, 0, 10, &b), 0);
  assert_int_equal (capbuf_write (NULL, 10, 0, &b), 0);
  assert_false (b.over);
  assert_null (b.p);
  s = capbuf_steal (&b, &len);
  assert_non_null (s);
  assert_string_equal (s, "");
  assert_int_equal (len, 0);
  free (s);

  /* A zero cap takes empty writes and refuses the first byte. */
  struct capbuf z = CAPBUF_INIT (0);
  assert_int_equal (capbuf_write ("", 0, 1, &z), 0);
  assert_false (z.over);
  assert_int_equal (capbuf_write ("a", 1, 1, &z), 0);
  assert_true (z.over);
}

/* Many small writes: every byte kept in order, the allocation never
 * larger than the cap needs, and steal hands over and empties. */
static void
many_small_writes (void **state)
{
  enum
  {
    CAP = 10000
  };
  struct capbuf b = CAPBUF_INIT (CAP);
  char c;
  size_t len = 0;
  char *s;

  for (size_t i = 0; i < CAP; i++)
    {
      c = (char)('a' + i % 26);
      assert_int_equal (capbuf_write (&c, 1, 1, &b), 1);
      assert_true (b.size <= (size_t)CAP + 1);
    }
  assert_false (b.over);
  assert_int_equal (capbuf_write (&c, 1, 1, &b), 0);
  assert_true (b.over);
  s = capbuf_steal (&b, &len);
  assert_int_equal (len, CAP);
  assert_int_equal (strlen (s), CAP);
  for (size_t i = 0; i < CAP; i++)
    assert_int_equal (s[i], 'a' + i % 26);
  assert_null (b.p);
  assert_int_equal (b.len, 0);
  free (s);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (cap_exactly_reached),   cmocka_unit_test (one_byte_over),
    cmocka_unit_test (size_times_n_overflow), cmocka_unit_test (empty_writes),
    cmocka_unit_test (many_small_writes),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
