/* Unit tests of src/net/sniff.c: SNI and Host recovery from untrusted
 * bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "net/sniff.h"

/* A ClientHello builder: extensions in the order given, optional padding
 * to reach a target size (post-quantum key shares make real ones ~1.6 KB),
 * split into TLS records of at most rec_max bytes. */
struct hello
{
  uint8_t b[70000];
  size_t n;
};

static void
put (struct hello *h, const void *p, size_t n)
{
  memcpy (h->b + h->n, p, n);
  h->n += n;
}

static void
put16 (struct hello *h, unsigned v)
{
  uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
  put (h, x, 2);
}

static size_t
build_body (uint8_t *out, const char *sni, size_t key_share, int two_sni)
{
  struct hello *e = calloc (1, sizeof *e);
  struct hello *b = calloc (1, sizeof *b);
  size_t n;
  uint8_t rnd[32] = { 0 };

  /* key_share first, as Chrome may order them. */
  if (key_share > 0)
    {
      put16 (e, 51);
      put16 (e, key_share + 2);
      put16 (e, key_share);
      memset (e->b + e->n, 0xab, key_share);
      e->n += key_share;
    }
  for (int k = 0; k < (two_sni ? 2 : 1) && sni != NULL; k++)
    {
      size_t l = strlen (sni);
      put16 (e, 0);
      put16 (e, l + 5);
      put16 (e, l + 3);
      uint8_t t = 0;
      put (e, &t, 1);
      put16 (e, l);
      put (e, sni, l);
    }
  put16 (e, 43); /* supported_versions */
  put16 (e, 3);
  uint8_t sv[3] = { 2, 3, 4 };
  put (e, sv, 3);

  put16 (b, 0x0303);
  put (b, rnd, 32);
  uint8_t sid = 32;
  put (b, &sid, 1);
  memset (b->b + b->n, 7, 32);
  b->n += 32;
  put16 (b, 4);
  put16 (b, 0x1301);
  put16 (b, 0x1302);
  uint8_t comp[2] = { 1, 0 };
  put (b, comp, 2);
  put16 (b, e->n);
  put (b, e->b, e->n);
  memcpy (out, b->b, b->n);
  n = b->n;
  free (e);
  free (b);
  return n;
}

static size_t
build_hello (uint8_t *out, const char *sni, size_t key_share, size_t rec_max,
             int two_sni)
{
  uint8_t *body = malloc (70000), *hs = malloc (70000);
  size_t blen = build_body (body, sni, key_share, two_sni), hlen, o = 0, n = 0;

  hs[0] = 1;
  hs[1] = (uint8_t)(blen >> 16);
  hs[2] = (uint8_t)(blen >> 8);
  hs[3] = (uint8_t)blen;
  memcpy (hs + 4, body, blen);
  hlen = blen + 4;
  while (o < hlen)
    {
      size_t r = hlen - o < rec_max ? hlen - o : rec_max;
      out[n++] = 22;
      out[n++] = 3;
      out[n++] = 1;
      out[n++] = (uint8_t)(r >> 8);
      out[n++] = (uint8_t)r;
      memcpy (out + n, hs + o, r);
      n += r;
      o += r;
    }
  free (body);
  free (hs);
  return n;
}

static void
sni_simple (void **state)
{
  uint8_t buf[4096];
  char name[NET_HOSTNAME_MAX];
  size_t n = build_hello (buf, "Example.COM.", 32, 16384, 0);
  assert_int_equal (net_sniff_tls_sni (buf, n, name, sizeof name),
                    NET_SNIFF_FOUND);
  assert_string_equal (name, "example.com");
}

/* Every strict prefix of a valid ClientHello asks for more bytes; the
 * whole one gives the name.  ~1.6 KB, as with an X25519MLKEM768 share. */
static void
sni_pq_every_prefix (void **state)
{
  uint8_t *buf = malloc (8192);
  char name[NET_HOSTNAME_MAX];
  size_t n = build_hello (buf, "pq.example.org", 1216 + 32 + 300, 16384, 0);
  assert_true (n > 1500);
  for (size_t i = 0; i < n; i++)
    assert_int_equal (net_sniff_tls_sni (buf, i, name, sizeof name),
                      NET_SNIFF_MORE);
  assert_int_equal (net_sniff_tls_sni (buf, n, name, sizeof name),
                    NET_SNIFF_FOUND);
  assert_string_equal (name, "pq.example.org");
  free (buf);
}

/* A ClientHello fragmented over several TLS records. */
static void
sni_multi_record (void **state)
{
  uint8_t *buf = malloc (8192);
  char name[NET_HOSTNAME_MAX];
  size_t n = build_hello (buf, "frag.example", 1500, 100, 0);
  for (size_t i = 0; i < n; i++)
    assert_int_equal (net_sniff_tls_sni (buf, i, name, sizeof name),
                      NET_SNIFF_MORE);
  assert_int_equal (net_sniff_tls_sni (buf, n, name, sizeof name),
                    NET_SNIFF_FOUND);
  assert_string_equal (name, "frag.example");
  free (buf);
}

static void
sni_refusals (void **state)
{
  uint8_t buf[4096];
  char name[NET_HOSTNAME_MAX];
  size_t n;

  /* no SNI */
  n = build_hello (buf, NULL, 32, 16384, 0);
  assert_int_equal (net_sniff_tls_sni (buf, n, name, sizeof name),
                    NET_SNIFF_NONE);
  /* two server_name extensions */
  n = build_hello (buf, "a.example", 32, 16384, 1);
  assert_int_equal (net_sniff_tls_sni (buf, n, name, sizeof name),
                    NET_SNIFF_NONE);
  /* a name with a NUL or a slash */
  n = build_hello (buf, "a/b.example", 32, 16384, 0);
  assert_int_equal (net_sniff_tls_sni (buf, n, name, sizeof name),
                    NET_SNIFF_NONE);
  /* not TLS */
  assert_int_equal (net_sniff_tls_sni ((const uint8_t *)"GET / HTTP/1.1\r\n",
                                       16, name, sizeof name),
                    NET_SNIFF_NONE);
  /* a truncated length field that lies: extensions longer than body */
  n = build_hello (buf, "x.example", 0, 16384, 0);
  buf[5 + 4 + 2 + 32 + 1 + 32 + 2 + 4 + 2] ^= 0x40;
  assert_int_equal (net_sniff_tls_sni (buf, n, name, sizeof name),
                    NET_SNIFF_NONE);
  /* an alert record */
  uint8_t alert[7] = { 21, 3, 3, 0, 2, 2, 40 };
  assert_int_equal (net_sniff_tls_sni (alert, 7, name, sizeof name),
                    NET_SNIFF_NONE);
}

static int
host (const char *req, char *name)
{
  return net_sniff_http_host ((const uint8_t *)req, strlen (req), name,
                              NET_HOSTNAME_MAX);
}

static void
http_host_cases (void **state)
{
  char name[NET_HOSTNAME_MAX];

  assert_int_equal (host ("GET / HTTP/1.1\r\nHost: Example.com\r\n\r\n", name),
                    NET_SNIFF_FOUND);
  assert_string_equal (name, "example.com");
  assert_int_equal (
      host ("POST /x?y HTTP/1.0\r\nA: b\r\nhOsT:\tex.org:8080 \r\n\r\nbody",
            name),
      NET_SNIFF_FOUND);
  assert_string_equal (name, "ex.org");
  assert_int_equal (
      host ("GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n", name),
      NET_SNIFF_FOUND);
  assert_string_equal (name, "2001:db8::1");
  assert_int_equal (host ("GET / HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n", name),
                    NET_SNIFF_FOUND);
  assert_string_equal (name, "10.0.0.1");
}

static void
http_host_more (void **state)
{
  const char *req = "GET /index.html HTTP/1.1\r\nUser-Agent: x\r\n"
                    "Host: a.example\r\nAccept: */*\r\n\r\n";
  char name[NET_HOSTNAME_MAX];
  size_t n = strlen (req);
  for (size_t i = 0; i < n; i++)
    assert_int_equal (
        net_sniff_http_host ((const uint8_t *)req, i, name, sizeof name),
        NET_SNIFF_MORE);
  assert_int_equal (
      net_sniff_http_host ((const uint8_t *)req, n, name, sizeof name),
      NET_SNIFF_FOUND);
  assert_string_equal (name, "a.example");
}

static void
http_host_refusals (void **state)
{
  char name[NET_HOSTNAME_MAX];
  const char *bad[] = {
    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", /* two Hosts */
    "GET / HTTP/1.1\r\n\r\n",                       /* none */
    "GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n",    /* absolute-form */
    "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n",    /* authority-form */
    "GET / HTTP/1.1\nHost: a\n\n",                  /* bare LF */
    "GET / HTTP/1.1\r\nX: y\r\n Host: a\r\n\r\n",   /* obs-fold */
    "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",          /* space */
    "GET / HTTP/1.1\r\nHost: a:80:90\r\n\r\n",      /* bad port */
    "GET / HTTP/1.1\r\nHost: a@b\r\n\r\n",          /* userinfo */
    "GET / HTTP/1.1\r\nHost :a\r\n\r\n",            /* space in name */
    "GET / HTTP/2.0\r\nHost: a\r\n\r\n",            /* not 1.x */
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",             /* h2c preface */
    "\x16\x03\x01\x02\x00",                         /* TLS */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (host (bad[i], name) != NET_SNIFF_NONE)
      fail_msg ("accepted case %zu", i);
}

static void
normalize_cases (void **state)
{
  char out[NET_HOSTNAME_MAX];
  assert_int_equal (net_hostname_normalize ("A.B.", 4, out, sizeof out), 0);
  assert_string_equal (out, "a.b");
  assert_int_equal (net_hostname_normalize (".", 1, out, sizeof out), -1);
  assert_int_equal (net_hostname_normalize ("-a", 2, out, sizeof out), -1);
  assert_int_equal (net_hostname_normalize ("a:g", 3, out, sizeof out), -1);
  char big[300];
  memset (big, 'a', sizeof big);
  assert_int_equal (net_hostname_normalize (big, 254, out, sizeof out), -1);
  assert_int_equal (net_hostname_normalize (big, 253, out, sizeof out), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (sni_simple),
    cmocka_unit_test (sni_pq_every_prefix),
    cmocka_unit_test (sni_multi_record),
    cmocka_unit_test (sni_refusals),
    cmocka_unit_test (http_host_cases),
    cmocka_unit_test (http_host_more),
    cmocka_unit_test (http_host_refusals),
    cmocka_unit_test (normalize_cases),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
