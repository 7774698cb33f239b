/* Unit tests of src/net/proxyproto.c: HTTP CONNECT and SOCKS5 bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/socket.h>

#include "net/proxyproto.h"

static void
connect_request (void **state)
{
  char buf[1024];
  int n = net_http_connect_request (buf, sizeof buf, "example.com", 443, NULL,
                                    NULL);
  assert_int_equal (n, (int)strlen (buf));
  assert_string_equal (buf, "CONNECT example.com:443 HTTP/1.1\r\n"
                            "Host: example.com:443\r\n\r\n");
  /* RFC 7617's example: Aladdin:open sesame */
  net_http_connect_request (buf, sizeof buf, "2001:db8::1", 80, "Aladdin",
                            "open sesame");
  assert_string_equal (buf, "CONNECT [2001:db8::1]:80 HTTP/1.1\r\n"
                            "Host: [2001:db8::1]:80\r\n"
                            "Proxy-Authorization: Basic "
                            "QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n");
  /* header injection through the host or a user with ':' */
  assert_int_equal (
      net_http_connect_request (buf, sizeof buf, "a\r\nX: y", 80, NULL, NULL),
      -1);
  assert_int_equal (
      net_http_connect_request (buf, sizeof buf, "a", 80, "u:x", "p"), -1);
  assert_int_equal (net_http_connect_request (buf, 10, "a", 80, NULL, NULL),
                    -1);
}

static int
resp (const char *s, size_t *head, int *status)
{
  return net_http_connect_response ((const uint8_t *)s, strlen (s), 8192, head,
                                    status);
}

static void
connect_response (void **state)
{
  size_t head = 0;
  int status = 0;
  const char *ok = "HTTP/1.1 200 Connection established\r\n\r\nSSH-2.0";
  assert_int_equal (resp (ok, &head, &status), 1);
  assert_int_equal (status, 200);
  /* exactly the head: the server's first bytes stay for the relay */
  assert_int_equal (head, strlen (ok) - strlen ("SSH-2.0"));
  assert_int_equal (resp ("HTTP/1.0 407 Auth\r\nX: y\r\n\r\n", &head, &status),
                    1);
  assert_int_equal (status, 407);
  assert_int_equal (resp ("HTTP/1.1 200 OK\r\n", &head, &status), 0);
  assert_int_equal (resp ("HTTP/1.", &head, &status), 0);
  assert_int_equal (resp ("SSH-2.0-x\r\n\r\n", &head, &status), -1);
  assert_int_equal (resp ("HTTP/1.1 2x0 OK\r\n\r\n", &head, &status), -1);
  assert_int_equal (resp ("HTTP/1.1 200\r\n\r\n", &head, &status), 1);
  char big[9000];
  memcpy (big, "HTTP/1.1 200 OK\r\n", 17);
  memset (big + 17, 'a', sizeof big - 18);
  big[sizeof big - 1] = '\0';
  assert_int_equal (resp (big, &head, &status), -1);
}

static void
socks5 (void **state)
{
  uint8_t b[600];
  struct net_addr a;
  size_t len;
  int rep;

  assert_int_equal (net_socks5_greeting (b, 0), 3);
  assert_memory_equal (b, "\x05\x01\x00", 3);
  assert_int_equal (net_socks5_greeting (b, 1), 4);
  assert_memory_equal (b, "\x05\x02\x00\x02", 4);
  assert_int_equal (net_socks5_auth (b, sizeof b, "u", "pw"), 6);
  assert_memory_equal (b, "\x01\x01u\x02pw", 6);
  assert_int_equal (net_socks5_request (b, sizeof b, "a.io", NULL, 443), 11);
  assert_memory_equal (b,
                       "\x05\x01\x00\x03\x04"
                       "a.io\x01\xbb",
                       11);
  net_addr_parse ("10.0.0.1", &a);
  assert_int_equal (net_socks5_request (b, sizeof b, NULL, &a, 80), 10);
  assert_memory_equal (b, "\x05\x01\x00\x01\x0a\x00\x00\x01\x00\x50", 10);
  net_addr_parse ("2001:db8::1", &a);
  assert_int_equal (net_socks5_request (b, sizeof b, NULL, &a, 80), 22);
  assert_int_equal (b[3], 4);

  assert_int_equal (
      net_socks5_reply ((const uint8_t *)"\x05\x00\x00\x01\x0a\x00\x00\x01"
                                         "\x00\x50"
                                         "extra",
                        15, &len, &rep),
      1);
  assert_int_equal (len, 10);
  assert_int_equal (rep, 0);
  assert_int_equal (net_socks5_reply ((const uint8_t *)"\x05\x05\x00\x03\x03"
                                                       "abc\x00\x01",
                                      10, &len, &rep),
                    1);
  assert_int_equal (len, 10);
  assert_int_equal (rep, 5);
  assert_int_equal (
      net_socks5_reply ((const uint8_t *)"\x05\x00\x00\x04", 4, &len, &rep),
      0);
  assert_int_equal (net_socks5_reply ((const uint8_t *)"\x05\x00\x00\x09\x00",
                                      5, &len, &rep),
                    -1);
  assert_int_equal (
      net_socks5_reply ((const uint8_t *)"\x04\x5a", 2, &len, &rep), -1);
}

static void
socks4 (void **state)
{
  uint8_t b[600];
  struct net_addr a;
  int granted = -1;

  net_addr_parse ("10.0.0.1", &a);
  assert_int_equal (net_socks4_request (b, sizeof b, NULL, &a, 80, "u"), 10);
  assert_memory_equal (b, "\x04\x01\x00\x50\x0a\x00\x00\x01u\x00", 10);
  /* SOCKS4a with the name */
  assert_int_equal (net_socks4_request (b, sizeof b, "a.io", &a, 443, NULL),
                    14);
  assert_memory_equal (b,
                       "\x04\x01\x01\xbb\x00\x00\x00\x01\x00"
                       "a.io\x00",
                       14);
  net_addr_parse ("2001:db8::1", &a);
  assert_int_equal (net_socks4_request (b, sizeof b, NULL, &a, 80, NULL), -1);
  assert_int_equal (
      net_socks4_reply ((const uint8_t *)"\x00\x5a\0\0\0\0\0\0", 8, &granted),
      1);
  assert_int_equal (granted, 1);
  assert_int_equal (
      net_socks4_reply ((const uint8_t *)"\x00\x5b\0\0\0\0\0\0", 8, &granted),
      1);
  assert_int_equal (granted, 0);
  assert_int_equal (
      net_socks4_reply ((const uint8_t *)"\x00\x5a", 2, &granted), 0);
  assert_int_equal (
      net_socks4_reply ((const uint8_t *)"\x05\x00", 2, &granted), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (connect_request),
    cmocka_unit_test (connect_response),
    cmocka_unit_test (socks5),
    cmocka_unit_test (socks4),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
