/* pac_result_parse: what FindProxyForURL returns, from an untrusted PAC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "pac/proxy.h"

static void
parses_lists (void **state)
{
  struct proxy_list l;
  moat_error_t err = NULL;
  assert_int_equal (pac_result_parse ("PROXY a.example:3128; SOCKS5 b:1080;"
                                      " DIRECT",
                                      &l, &err),
                    0);
  assert_int_equal (l.n, 3);
  assert_int_equal (l.hops[0].kind, PROXY_HTTP);
  assert_string_equal (l.hops[0].host, "a.example");
  assert_int_equal (l.hops[0].port, 3128);
  assert_int_equal (l.hops[1].kind, PROXY_SOCKS5);
  assert_int_equal (l.hops[1].port, 1080);
  assert_int_equal (l.hops[2].kind, PROXY_DIRECT);

  assert_int_equal (pac_result_parse ("  direct  ", &l, &err), 0);
  assert_int_equal (l.hops[0].kind, PROXY_DIRECT);
  assert_int_equal (pac_result_parse ("HTTP h:1;HTTPS h:2;SOCKS h:3;SOCKS4 "
                                      "h:4;;",
                                      &l, &err),
                    0);
  assert_int_equal (l.n, 4);
  assert_int_equal (l.hops[0].kind, PROXY_HTTP);
  assert_int_equal (l.hops[1].kind, PROXY_HTTPS);
  assert_int_equal (l.hops[2].kind, PROXY_SOCKS4);
  assert_int_equal (l.hops[3].kind, PROXY_SOCKS4);
  assert_int_equal (pac_result_parse ("PROXY [2001:db8::1]:8080", &l, &err),
                    0);
  assert_string_equal (l.hops[0].host, "2001:db8::1");
  assert_int_equal (l.hops[0].port, 8080);
  /* default ports when omitted, as browsers */
  assert_int_equal (pac_result_parse ("PROXY p; SOCKS5 s; HTTPS t", &l, &err),
                    0);
  assert_int_equal (l.hops[0].port, 80);
  assert_int_equal (l.hops[1].port, 1080);
  assert_int_equal (l.hops[2].port, 443);
}

static void
reject_convention (void **state)
{
  struct proxy_list l;
  moat_error_t err = NULL;
  const char *forms[] = { "PROXY reject.docker.internal:1",
                          "PROXY reject.docker.internal:65535",
                          "proxy REJECT.docker.internal:8080",
                          "SOCKS5 reject.docker.internal:1080" };
  for (size_t i = 0; i < 4; i++)
    {
      assert_int_equal (pac_result_parse (forms[i], &l, &err), 0);
      assert_int_equal (l.hops[0].kind, PROXY_REJECT);
    }
  assert_int_equal (
      pac_result_parse ("PROXY reject.docker.internal.evil:1", &l, &err), 0);
  assert_int_equal (l.hops[0].kind, PROXY_HTTP);
}

static void
refuses_malformed (void **state)
{
  const char *bad[] = {
    "",
    " ; ;",
    "PROXY",
    "PROXY a:0",
    "PROXY a:65536",
    "PROXY a:123456",
    "PROXY a:-1",
    "PROXY a:80x",
    "PROXY :80",
    "PROXY a b:80",
    "DIRECT x",
    "BOGUS a:1",
    "PROXY a:1; BOGUS",
    "PROXY a\"b:1",
    "PROXY [::1:80",
    "PROXY [::1]x",
    "PROXY [zz]:1",
    "PROXY a/b:1",
    "DIRECT;DIRECT;DIRECT;DIRECT;DIRECT;DIRECT;DIRECT;DIRECT;DIRECT",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      struct proxy_list l;
      cleanup_error moat_error_t err = NULL;
      if (pac_result_parse (bad[i], &l, &err) == 0)
        fail_msg ("accepted `%s`", bad[i]);
      assert_non_null (err);
    }
  char longhost[400];
  memset (longhost, 'a', sizeof longhost);
  memcpy (longhost, "PROXY ", 6);
  longhost[sizeof longhost - 1] = 0;
  struct proxy_list l;
  cleanup_error moat_error_t err = NULL;
  assert_int_equal (pac_result_parse (longhost, &l, &err), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (parses_lists),
    cmocka_unit_test (reject_convention),
    cmocka_unit_test (refuses_malformed),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
