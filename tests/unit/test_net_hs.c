/* Unit tests of the proxy handshakes (src/net/hs*.c): pure functions of
 * the bytes a proxy answers, fed in pieces as a network would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "net/hs.h"

static struct net_addr
addr4 (uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
  struct net_addr x;
  memset (&x, 0, sizeof x);
  x.family = AF_INET;
  x.a[0] = a;
  x.a[1] = b;
  x.a[2] = c;
  x.a[3] = d;
  return x;
}

/* Feed reply byte by byte; every prefix is "more", the whole is r. */
static enum net_hs_result
feed_slowly (struct net_hs *hs, const char *reply, size_t n, size_t *used)
{
  for (size_t i = 1; i < n; i++)
    {
      enum net_hs_result r
          = net_hs_input (hs, (const uint8_t *)reply, i, used);
      if (r != NET_HS_MORE)
        return r;
      assert_int_equal (*used, 0);
    }
  return net_hs_input (hs, (const uint8_t *)reply, n, used);
}

static void
http_connect_half_reply_waits (void **state)
{
  struct net_addr a = addr4 (10, 78, 0, 2);
  struct net_hs_target t = { .name = "www.example.test",
                             .addr = &a,
                             .port = 443,
                             .user = "alice",
                             .pass = "s3cret" };
  struct net_hs hs;
  size_t used = 99;

  assert_int_equal (net_hs_start (&hs, NET_HS_HTTP_CONNECT, &t), NET_HS_SEND);
  assert_non_null (memmem (hs.out, hs.out_len,
                           "CONNECT www.example.test:443 HTTP/1.1\r\n", 39));
  assert_non_null (
      memmem (hs.out, hs.out_len, "Proxy-Authorization: Basic ", 27));
  /* The stalled proxy's bytes: need more, nothing consumed. */
  assert_int_equal (
      net_hs_input (&hs, (const uint8_t *)"HTTP/1.1 200", 12, &used),
      NET_HS_MORE);
  assert_int_equal (used, 0);
  const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\nSTREAM";
  assert_int_equal (feed_slowly (&hs, ok, sizeof ok - 1, &used), NET_HS_DONE);
  /* exactly the head: the rest is the stream's */
  assert_int_equal (used, sizeof ok - 1 - 6);
}

static void
http_connect_refused_and_malformed (void **state)
{
  struct net_addr a = addr4 (10, 78, 0, 2);
  struct net_hs_target t = { .addr = &a, .port = 7000 };
  struct net_hs hs;
  size_t used;
  const char no[] = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";

  assert_int_equal (net_hs_start (&hs, NET_HS_HTTP_CONNECT, &t), NET_HS_SEND);
  assert_non_null (memmem (hs.out, hs.out_len, "CONNECT 10.78.0.2:7000 ", 23));
  assert_int_equal (
      net_hs_input (&hs, (const uint8_t *)no, sizeof no - 1, &used),
      NET_HS_REFUSE);
  assert_string_equal (hs.why, "proxy answered CONNECT with 403");
  assert_int_equal (net_hs_start (&hs, NET_HS_HTTP_CONNECT, &t), NET_HS_SEND);
  assert_int_equal (
      net_hs_input (&hs, (const uint8_t *)"SSH-2.0-x\r\n\r\n", 13, &used),
      NET_HS_REFUSE);
  assert_string_equal (hs.why, "malformed CONNECT reply");
  /* A head that never ends is refused at the cap, not buffered forever. */
  static uint8_t big[NET_HS_REPLY_MAX];
  memset (big, 'a', sizeof big);
  memcpy (big, "HTTP/1.1 200 OK\r\nX: ", 20);
  assert_int_equal (net_hs_start (&hs, NET_HS_HTTP_CONNECT, &t), NET_HS_SEND);
  assert_int_equal (net_hs_input (&hs, big, sizeof big, &used), NET_HS_REFUSE);
  /* CR/LF in credentials cannot make a request */
  t.user = "a\r\nX: y";
  t.pass = "p";
  assert_int_equal (net_hs_start (&hs, NET_HS_HTTP_CONNECT, &t), NET_HS_FAIL);
}

static void
socks5_with_auth (void **state)
{
  struct net_addr a = addr4 (10, 78, 0, 5);
  struct net_hs_target t = { .name = "www.example.test",
                             .addr = &a,
                             .port = 80,
                             .user = "bob",
                             .pass = "pw" };
  struct net_hs hs;
  size_t used;

  assert_int_equal (net_hs_start (&hs, NET_HS_SOCKS5, &t), NET_HS_SEND);
  assert_int_equal (hs.out[0], 5);
  /* one byte of the method reply: wait (the stalled proxy) */
  assert_int_equal (net_hs_input (&hs, (const uint8_t *)"\x05", 1, &used),
                    NET_HS_MORE);
  assert_int_equal (net_hs_input (&hs, (const uint8_t *)"\x05\x02", 2, &used),
                    NET_HS_SEND);
  assert_int_equal (used, 2);
  assert_int_equal (hs.out[0], 1); /* RFC 1929 version */
  assert_int_equal (net_hs_input (&hs, (const uint8_t *)"\x01\x00", 2, &used),
                    NET_HS_SEND);
  /* CONNECT by name (verified) */
  assert_int_equal (hs.out[3], 3);
  const char rep[] = "\x05\x00\x00\x01\x0a\x4e\x00\x04\x00\x50"
                     "DATA";
  assert_int_equal (feed_slowly (&hs, rep, sizeof rep - 1, &used),
                    NET_HS_DONE);
  assert_int_equal (used, 10);
}

static void
socks5_refusals (void **state)
{
  struct net_addr a = addr4 (10, 78, 0, 5);
  struct net_hs_target t = { .addr = &a, .port = 80 };
  struct net_hs hs;
  size_t used;

  assert_int_equal (net_hs_start (&hs, NET_HS_SOCKS5, &t), NET_HS_SEND);
  /* auth asked but we have no credentials */
  assert_int_equal (net_hs_input (&hs, (const uint8_t *)"\x05\x02", 2, &used),
                    NET_HS_REFUSE);
  assert_int_equal (net_hs_start (&hs, NET_HS_SOCKS5, &t), NET_HS_SEND);
  assert_int_equal (net_hs_input (&hs, (const uint8_t *)"\x05\x00", 2, &used),
                    NET_HS_SEND);
  assert_int_equal (hs.out[3], 1); /* by address: no verified name */
  assert_int_equal (net_hs_input (&hs,
                                  (const uint8_t *)"\x05\x05\x00\x01\0\0\0\0"
                                                   "\0\0",
                                  10, &used),
                    NET_HS_REFUSE);
  assert_string_equal (hs.why, "SOCKS5 CONNECT failed (reply 5)");
}

static void
socks4 (void **state)
{
  struct net_addr a = addr4 (10, 78, 0, 5);
  struct net_hs_target t = { .name = "ignored.test", .addr = &a, .port = 80 };
  struct net_hs hs;
  size_t used;

  assert_int_equal (net_hs_start (&hs, NET_HS_SOCKS4, &t), NET_HS_SEND);
  assert_int_equal (hs.out[0], 4);
  const char ok[] = "\x00\x5a\x00\x50\x0a\x4e\x00\x05";
  assert_int_equal (feed_slowly (&hs, ok, 8, &used), NET_HS_DONE);
  assert_int_equal (used, 8);
  assert_int_equal (net_hs_start (&hs, NET_HS_SOCKS4, &t), NET_HS_SEND);
  assert_int_equal (
      net_hs_input (&hs, (const uint8_t *)"\x00\x5b\0\0\0\0\0\0", 8, &used),
      NET_HS_REFUSE);
  /* no IPv6 in SOCKS4 */
  struct net_addr six;
  memset (&six, 0, sizeof six);
  six.family = AF_INET6;
  t.addr = &six;
  assert_int_equal (net_hs_start (&hs, NET_HS_SOCKS4, &t), NET_HS_FAIL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (http_connect_half_reply_waits),
    cmocka_unit_test (http_connect_refused_and_malformed),
    cmocka_unit_test (socks5_with_auth),
    cmocka_unit_test (socks5_refusals),
    cmocka_unit_test (socks4),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
