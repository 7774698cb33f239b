/* Unit tests of src/net/httpfwd.c: origin-form requests rewritten to
 * absolute form for an HTTP proxy, framing kept, ambiguity refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "net/httpfwd.h"

/* Feed s in pieces of `step` bytes through an output buffer of out_cap;
 * returns the output (static) or NULL on refusal. */
static const char *
run (struct net_httpfwd *f, const char *s, size_t step, size_t out_cap)
{
  static char res[65536];
  uint8_t out[65536];
  size_t len = strlen (s), off = 0, rl = 0;
  while (off < len)
    {
      size_t n = len - off < step ? len - off : step, ol;
      size_t taken = 0;
      while (taken < n)
        {
          ssize_t r = net_httpfwd_feed (f, (const uint8_t *)s + off + taken,
                                        n - taken, out, out_cap, &ol);
          if (r < 0)
            return NULL;
          memcpy (res + rl, out, ol);
          rl += ol;
          taken += (size_t)r;
          if (r == 0 && ol == 0)
            fail_msg ("no progress");
        }
      off += n;
    }
  /* drain */
  for (;;)
    {
      size_t ol;
      if (net_httpfwd_feed (f, NULL, 0, out, out_cap, &ol) < 0)
        return NULL;
      if (ol == 0)
        break;
      memcpy (res + rl, out, ol);
      rl += ol;
    }
  res[rl] = 0;
  return res;
}

static struct net_httpfwd *
fwd (const char *host, const char *user, const char *pass)
{
  struct net_httpfwd *f = malloc (sizeof *f);
  assert_non_null (f);
  assert_int_equal (net_httpfwd_init (f, host, 80, user, pass), 0);
  return f;
}

static void
keepalive_pipelined_bodies (void **state)
{
  const char *in
      = "GET /a?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"
        "POST /form HTTP/1.1\r\nHost: example.com\r\nContent-Length: 27\r\n"
        "\r\nGET /smuggled HTTP/1.1\r\n\r\n"
        "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nGET /\r\n0\r\nX-Trailer: 1\r\n\r\n"
        "\r\nHEAD / HTTP/1.0\r\nProxy-Authorization: Basic eA==\r\n\r\n";
  const char *want
      = "GET http://example.com/a?x=1 HTTP/1.1\r\n"
        "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"
        "Host: example.com\r\n\r\n"
        "POST http://example.com/form HTTP/1.1\r\n"
        "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"
        "Host: example.com\r\nContent-Length: 27\r\n"
        "\r\nGET /smuggled HTTP/1.1\r\n\r\n"
        "PUT http://example.com/c HTTP/1.1\r\n"
        "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nGET /\r\n0\r\nX-Trailer: 1\r\n\r\n"
        "HEAD http://example.com/ HTTP/1.0\r\n"
        "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n";
  size_t steps[] = { 1, 2, 3, 7, 64, 100000 };
  size_t caps[] = { 1, 5, 4096, 65536 };
  for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
    for (size_t j = 0; j < sizeof caps / sizeof *caps; j++)
      {
        struct net_httpfwd *f = fwd ("example.com", "Aladdin", "open sesame");
        const char *got = run (f, in, steps[i], caps[j]);
        assert_non_null (got);
        assert_string_equal (got, want);
        assert_int_equal (f->requests, 4);
        free (f);
      }
}

static void
authority_is_fixed (void **state)
{
  struct net_httpfwd *f = malloc (sizeof *f);
  /* The Host header never chooses where the proxy goes. */
  assert_int_equal (net_httpfwd_init (f, "2001:db8::1", 80, NULL, NULL), 0);
  assert_string_equal (
      run (f, "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n", 1000, 4096),
      "GET http://[2001:db8::1]/ HTTP/1.1\r\nHost: evil.example\r\n\r\n");
  assert_int_equal (net_httpfwd_init (f, "10.0.0.1", 8080, NULL, NULL), 0);
  assert_string_equal (run (f, "GET /x HTTP/1.1\r\n\r\n", 1000, 4096),
                       "GET http://10.0.0.1:8080/x HTTP/1.1\r\n\r\n");
  /* injection through the host */
  assert_int_equal (net_httpfwd_init (f, "a\r\nX: y", 80, NULL, NULL), -1);
  assert_int_equal (net_httpfwd_init (f, "a/b", 80, NULL, NULL), -1);
  free (f);
}

static void
refusals (void **state)
{
  static const char *bad[] = {
    "GET http://evil/ HTTP/1.1\r\n\r\n",       /* absolute form */
    "CONNECT evil:443 HTTP/1.1\r\n\r\n",       /* authority form */
    "OPTIONS * HTTP/1.1\r\n\r\n",              /* asterisk form */
    "GET / HTTP/1.1\nHost: a\n\n",             /* bare LF */
    "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", /* bare CR */
    "GET / HTTP/2.0\r\n\r\n",                  /* version */
    "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n", /* obs-fold */
    "GET / HTTP/1.1\r\nHost : a\r\n\r\n",      /* space before colon */
    "GET / HTTP/1.1\r\nX: a\x01\r\n\r\n",      /* control char */
    "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
    "POST / HTTP/1.1\r\nContent-Length: 1,1\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: "
    "3\r\n\r\n",
    "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1 x\r\n",
    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    "10000000000000000\r\n",
    "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    "GET / HTTP/1.1\r\nConnection: close, Content-Length\r\n\r\n",
    "GET / HTTP/1.1\r\n\r\nGET http://evil/ HTTP/1.1\r\n\r\n",
    "\x16\x03\x01\x02\x01\x01\x01\x01\xfc\x03\x03\r\n\r\n", /* TLS */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      struct net_httpfwd *f = fwd ("example.com", NULL, NULL);
      if (run (f, bad[i], 3, 4096) != NULL)
        fail_msg ("accepted: %s", bad[i]);
      assert_true (f->error[0] != '\0');
      /* stays refused */
      size_t ol;
      uint8_t out[16];
      assert_int_equal (
          net_httpfwd_feed (f, (const uint8_t *)"x", 1, out, sizeof out, &ol),
          -1);
      free (f);
    }
  /* a head past the cap */
  struct net_httpfwd *f = fwd ("example.com", NULL, NULL);
  char *big = malloc (NET_HTTPFWD_HEAD_MAX + 100);
  strcpy (big, "GET / HTTP/1.1\r\nX: ");
  memset (big + 19, 'a', NET_HTTPFWD_HEAD_MAX + 50);
  big[NET_HTTPFWD_HEAD_MAX + 69] = 0;
  assert_null (run (f, big, 4096, 65536));
  free (big);
  free (f);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (keepalive_pipelined_bodies),
    cmocka_unit_test (authority_is_fixed),
    cmocka_unit_test (refusals),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
