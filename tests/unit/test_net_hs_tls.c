/* Unit tests of TLS to an https:// proxy (src/net/hs_tls.c): the module
 * against an in-process OpenSSL server over memory buffers, with a test
 * CA made here at test time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net/hs_tls.h"

struct pki
{
  EVP_PKEY *ca_key, *other_key, *srv_key;
  X509 *ca, *other_ca, *srv, *srv_other;
};

static struct pki P;

static void
ext (X509 *issuer, X509 *x, int nid, const char *value)
{
  X509V3_CTX v;
  X509V3_set_ctx_nodb (&v);
  X509V3_set_ctx (&v, issuer, x, NULL, NULL, 0);
  X509_EXTENSION *e = X509V3_EXT_conf_nid (NULL, &v, nid, value);
  assert_non_null (e);
  assert_int_equal (X509_add_ext (x, e, -1), 1);
  X509_EXTENSION_free (e);
}

/* A certificate for key, named cn, signed by issuer/ikey (self-signed
 * when issuer is NULL: a CA). */
static X509 *
cert (EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey,
      const char *san)
{
  static long serial = 1;
  X509 *x = X509_new ();
  assert_non_null (x);
  X509_set_version (x, 2);
  ASN1_INTEGER_set (X509_get_serialNumber (x), serial++);
  X509_gmtime_adj (X509_getm_notBefore (x), -3600);
  X509_gmtime_adj (X509_getm_notAfter (x), 3600);
  X509_set_pubkey (x, key);
  X509_NAME *n = X509_get_subject_name (x);
  X509_NAME_add_entry_by_txt (n, "CN", MBSTRING_ASC, (const uint8_t *)cn, -1,
                              -1, 0);
  X509_set_issuer_name (x, issuer ? X509_get_subject_name (issuer) : n);
  if (issuer == NULL)
    {
      ext (x, x, NID_basic_constraints, "critical,CA:TRUE");
      ext (x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
      ext (x, x, NID_subject_key_identifier, "hash");
    }
  else
    {
      ext (issuer, x, NID_basic_constraints, "critical,CA:FALSE");
      ext (issuer, x, NID_ext_key_usage, "serverAuth");
      ext (issuer, x, NID_subject_alt_name, san);
    }
  assert_true (X509_sign (x, issuer ? ikey : key, EVP_sha256 ()) > 0);
  return x;
}

static int
setup (void **state)
{
  P.ca_key = EVP_EC_gen ("P-256");
  P.other_key = EVP_EC_gen ("P-256");
  P.srv_key = EVP_EC_gen ("P-256");
  assert_non_null (P.ca_key);
  P.ca = cert (P.ca_key, "moat test CA", NULL, NULL, NULL);
  P.other_ca = cert (P.other_key, "moat test CA", NULL, NULL, NULL);
  P.srv = cert (P.srv_key, "proxy.test", P.ca, P.ca_key,
                "DNS:proxy.test,IP:127.0.0.1");
  P.srv_other = cert (P.srv_key, "proxy.test", P.other_ca, P.other_key,
                      "DNS:proxy.test,IP:127.0.0.1");
  return 0;
}

static int
teardown (void **state)
{
  X509_free (P.ca);
  X509_free (P.other_ca);
  X509_free (P.srv);
  X509_free (P.srv_other);
  EVP_PKEY_free (P.ca_key);
  EVP_PKEY_free (P.other_key);
  EVP_PKEY_free (P.srv_key);
  return 0;
}

/* The guard's client context, trusting the test CA only. */
static SSL_CTX *
client_ctx (void)
{
  SSL_CTX *c = SSL_CTX_new (TLS_client_method ());
  assert_non_null (c);
  SSL_CTX_set_min_proto_version (c, TLS1_2_VERSION);
  SSL_CTX_set_verify (c, SSL_VERIFY_PEER, NULL);
  assert_int_equal (X509_STORE_add_cert (SSL_CTX_get_cert_store (c), P.ca), 1);
  return c;
}

struct server
{
  SSL_CTX *ctx;
  SSL *ssl;
  BIO *in, *out;
};

static void
server_new (struct server *s, X509 *crt, int max_version)
{
  s->ctx = SSL_CTX_new (TLS_server_method ());
  assert_non_null (s->ctx);
  if (max_version)
    SSL_CTX_set_max_proto_version (s->ctx, max_version);
  assert_int_equal (SSL_CTX_use_certificate (s->ctx, crt), 1);
  assert_int_equal (SSL_CTX_use_PrivateKey (s->ctx, P.srv_key), 1);
  s->ssl = SSL_new (s->ctx);
  s->in = BIO_new (BIO_s_mem ());
  s->out = BIO_new (BIO_s_mem ());
  BIO_set_mem_eof_return (s->in, -1);
  BIO_set_mem_eof_return (s->out, -1);
  SSL_set_bio (s->ssl, s->in, s->out);
  SSL_set_accept_state (s->ssl);
}

static void
server_free (struct server *s)
{
  SSL_free (s->ssl);
  SSL_CTX_free (s->ctx);
}

/* Client output -> server input. */
static void
to_server (struct net_hs_tls *t, struct server *s)
{
  const uint8_t *p;
  size_t n = net_hs_tls_out (t, &p);
  if (n > 0)
    {
      assert_int_equal (BIO_write (s->in, p, (int)n), (int)n);
      net_hs_tls_out_consume (t, n);
    }
  assert_int_equal (net_hs_tls_out (t, &p), 0);
}

/* Everything the server has for the client. */
static size_t
from_server (struct server *s, uint8_t *buf, size_t size)
{
  int n = BIO_read (s->out, buf, (int)size);
  return n > 0 ? (size_t)n : 0;
}

/* Run the handshake, feeding the server's bytes one at a time when
 * slowly; returns the client's last result. */
static enum net_hs_result
handshake (struct net_hs_tls *t, struct server *s, bool slowly)
{
  static uint8_t buf[65536];
  enum net_hs_result r = NET_HS_MORE;
  for (int round = 0; round < 10 && r == NET_HS_MORE; round++)
    {
      to_server (t, s);
      SSL_do_handshake (s->ssl);
      size_t n = from_server (s, buf, sizeof buf);
      if (n == 0)
        break;
      if (!slowly)
        r = net_hs_tls_handshake (t, buf, n);
      else
        for (size_t i = 0; i < n && r == NET_HS_MORE; i++)
          r = net_hs_tls_handshake (t, buf + i, 1);
    }
  to_server (t, s);
  return r;
}

static void
round_trip (struct net_hs_tls *t, struct server *s)
{
  static const char req[] = "CONNECT example.test:443 HTTP/1.1\r\n\r\n";
  static const char rep[] = "HTTP/1.1 200 OK\r\n\r\n";
  uint8_t buf[65536];
  char got[256];

  assert_int_equal (net_hs_tls_write (t, req, strlen (req)),
                    (ssize_t)strlen (req));
  to_server (t, s);
  int n = SSL_read (s->ssl, got, sizeof got);
  assert_int_equal (n, (int)strlen (req));
  assert_memory_equal (got, req, strlen (req));

  /* nothing yet: wait */
  assert_int_equal (net_hs_tls_read (t, got, sizeof got), -1);
  assert_int_equal (errno, EAGAIN);
  assert_int_equal (SSL_write (s->ssl, rep, (int)strlen (rep)),
                    (int)strlen (rep));
  size_t k = from_server (s, buf, sizeof buf);
  assert_true (k > 0);
  assert_int_equal (net_hs_tls_feed (t, buf, k), 0);
  assert_int_equal (net_hs_tls_read (t, got, sizeof got),
                    (ssize_t)strlen (rep));
  assert_memory_equal (got, rep, strlen (rep));

  /* close_notify both ways */
  SSL_shutdown (s->ssl);
  k = from_server (s, buf, sizeof buf);
  assert_int_equal (net_hs_tls_feed (t, buf, k), 0);
  assert_int_equal (net_hs_tls_read (t, got, sizeof got), 0);
  net_hs_tls_close (t);
  const uint8_t *p;
  assert_true (net_hs_tls_out (t, &p) > 0);
}

static void
handshake_ok_by_name_and_address (void **state)
{
  static const int versions[] = { 0, TLS1_2_VERSION };
  SSL_CTX *c = client_ctx ();
  for (size_t v = 0; v < 2; v++)
    for (int slowly = 0; slowly < 2; slowly++)
      for (int by_ip = 0; by_ip < 2; by_ip++)
        {
          struct net_hs_tls t;
          struct server s;
          server_new (&s, P.srv, versions[v]);
          assert_int_equal (
              net_hs_tls_start (&t, c, by_ip ? "127.0.0.1" : "proxy.test"),
              NET_HS_SEND);
          assert_int_equal (handshake (&t, &s, slowly), NET_HS_DONE);
          assert_int_equal (SSL_do_handshake (s.ssl), 1);
          round_trip (&t, &s);
          net_hs_tls_free (&t);
          server_free (&s);
        }
  SSL_CTX_free (c);
}

static void
wrong_ca_refused (void **state)
{
  SSL_CTX *c = client_ctx ();
  struct net_hs_tls t;
  struct server s;
  server_new (&s, P.srv_other, 0);
  assert_int_equal (net_hs_tls_start (&t, c, "proxy.test"), NET_HS_SEND);
  assert_int_equal (handshake (&t, &s, false), NET_HS_REFUSE);
  assert_non_null (strstr (t.why, "certificate not trusted"));
  assert_true (t.untrusted);
  /* refused for good: more bytes do not revive it */
  assert_int_equal (net_hs_tls_handshake (&t, (const uint8_t *)"\x16", 1),
                    NET_HS_REFUSE);
  net_hs_tls_free (&t);
  server_free (&s);
  SSL_CTX_free (c);
}

static void
wrong_name_refused (void **state)
{
  SSL_CTX *c = client_ctx ();
  static const char *const names[]
      = { "other.test", "127.0.0.2", "sub.proxy.test" };
  for (size_t i = 0; i < 3; i++)
    {
      struct net_hs_tls t;
      struct server s;
      server_new (&s, P.srv, 0);
      assert_int_equal (net_hs_tls_start (&t, c, names[i]), NET_HS_SEND);
      assert_int_equal (handshake (&t, &s, false), NET_HS_REFUSE);
      assert_non_null (strstr (t.why, "certificate not trusted"));
      assert_true (t.untrusted);
      net_hs_tls_free (&t);
      server_free (&s);
    }
  SSL_CTX_free (c);
}

static void
garbage_and_truncated_hello (void **state)
{
  SSL_CTX *c = client_ctx ();
  struct net_hs_tls t;
  static const char http[] = "HTTP/1.1 400 Bad Request\r\n\r\n";

  /* an HTTP proxy answering a ClientHello */
  assert_int_equal (net_hs_tls_start (&t, c, "proxy.test"), NET_HS_SEND);
  assert_int_equal (
      net_hs_tls_handshake (&t, (const uint8_t *)http, strlen (http)),
      NET_HS_REFUSE);
  assert_non_null (strstr (t.why, "TLS handshake: "));
  assert_false (t.untrusted);
  net_hs_tls_free (&t);

  /* a real server hello, truncated: wait; corrupted: refused */
  struct server s;
  static uint8_t buf[65536];
  server_new (&s, P.srv, 0);
  assert_int_equal (net_hs_tls_start (&t, c, "proxy.test"), NET_HS_SEND);
  to_server (&t, &s);
  SSL_do_handshake (s.ssl);
  size_t n = from_server (&s, buf, sizeof buf);
  assert_true (n > 100);
  assert_int_equal (net_hs_tls_handshake (&t, buf, n / 2), NET_HS_MORE);
  net_hs_tls_free (&t);
  server_free (&s);

  for (size_t at = 0; at < 60; at += 7)
    {
      server_new (&s, P.srv, 0);
      assert_int_equal (net_hs_tls_start (&t, c, "proxy.test"), NET_HS_SEND);
      to_server (&t, &s);
      SSL_do_handshake (s.ssl);
      n = from_server (&s, buf, sizeof buf);
      buf[at] ^= 0x5a;
      enum net_hs_result r = net_hs_tls_handshake (&t, buf, n);
      /* a corrupted length may leave it waiting; never done */
      assert_true (r == NET_HS_REFUSE || r == NET_HS_MORE);
      if (at < 20)
        assert_false (t.untrusted);
      net_hs_tls_free (&t);
      server_free (&s);
    }
  SSL_CTX_free (c);
}

static void
bad_host_fails (void **state)
{
  SSL_CTX *c = client_ctx ();
  struct net_hs_tls t;
  assert_int_equal (net_hs_tls_start (&t, c, ""), NET_HS_FAIL);
  assert_true (t.why[0] != '\0');
  assert_null (t.ssl);
  net_hs_tls_free (&t);
  SSL_CTX_free (c);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (handshake_ok_by_name_and_address),
    cmocka_unit_test (wrong_ca_refused),
    cmocka_unit_test (wrong_name_refused),
    cmocka_unit_test (garbage_and_truncated_hello),
    cmocka_unit_test (bad_host_fails),
  };
  return cmocka_run_group_tests (tests, setup, teardown);
}
