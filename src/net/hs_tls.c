/* TLS to an https:// proxy through memory BIOs (hs_tls.h): OpenSSL sees
 * only the bytes the guard hands it and leaves what it wants sent in a
 * buffer, so the handshake is a function of the bytes in, like
 * hs_http.c and hs_socks.c, and is tested without sockets. */
#include "net/hs_tls.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "net/rules.h"

/* Largest plaintext taken per write: one TLS record. */
#define TLS_RECORD 16384

/* The last OpenSSL error as text after prefix, into t->why. */
static void
set_why (struct net_hs_tls *t, const char *prefix)
{
  char e[160];
  unsigned long code = ERR_peek_last_error ();
  if (code == 0)
    snprintf (e, sizeof e, "protocol error");
  else
    ERR_error_string_n (code, e, sizeof e);
  snprintf (t->why, sizeof t->why, "%s%s", prefix, e);
  ERR_clear_error ();
}

void
net_hs_tls_free (struct net_hs_tls *t)
{
  SSL_free (t->ssl); /* frees both BIOs */
  t->ssl = NULL;
  t->in = t->out = NULL;
}

enum net_hs_result
net_hs_tls_start (struct net_hs_tls *t, SSL_CTX *ctx, const char *host)
{
  struct net_addr a;

  memset (t, 0, sizeof *t);
  ERR_clear_error ();
  t->ssl = SSL_new (ctx);
  t->in = BIO_new (BIO_s_mem ());
  t->out = BIO_new (BIO_s_mem ());
  if (t->ssl == NULL || t->in == NULL || t->out == NULL)
    {
      BIO_free (t->in);
      BIO_free (t->out);
      SSL_free (t->ssl);
      memset (t, 0, sizeof *t);
      snprintf (t->why, sizeof t->why, "TLS: out of memory");
      return NET_HS_FAIL;
    }
  /* an empty input is "wait for more", never EOF */
  BIO_set_mem_eof_return (t->in, -1);
  BIO_set_mem_eof_return (t->out, -1);
  SSL_set_bio (t->ssl, t->in, t->out);
  SSL_set_connect_state (t->ssl);
  SSL_set_mode (t->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE
                            | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  /* The proxy must prove the name (or address) the route names. */
  if (net_addr_parse (host, &a) == 0)
    {
      if (X509_VERIFY_PARAM_set1_ip_asc (SSL_get0_param (t->ssl), host) != 1)
        {
          net_hs_tls_free (t);
          snprintf (t->why, sizeof t->why, "TLS: bad proxy address");
          return NET_HS_FAIL;
        }
    }
  else if (SSL_set_tlsext_host_name (t->ssl, host) != 1
           || SSL_set1_host (t->ssl, host) != 1)
    {
      net_hs_tls_free (t);
      snprintf (t->why, sizeof t->why, "TLS: bad proxy name");
      return NET_HS_FAIL;
    }
  enum net_hs_result r = net_hs_tls_handshake (t, NULL, 0);
  if (r != NET_HS_MORE || BIO_ctrl_pending (t->out) == 0)
    {
      char why[sizeof t->why];
      snprintf (why, sizeof why, "%s", t->why[0] ? t->why : "TLS: no hello");
      net_hs_tls_free (t);
      snprintf (t->why, sizeof t->why, "%s", why);
      return NET_HS_FAIL;
    }
  return NET_HS_SEND;
}

int
net_hs_tls_feed (struct net_hs_tls *t, const uint8_t *in, size_t len)
{
  while (len > 0)
    {
      int k = len > INT_MAX ? INT_MAX : (int)len;
      int w = BIO_write (t->in, in, k);
      if (w <= 0)
        {
          snprintf (t->why, sizeof t->why, "TLS: out of memory");
          return -1;
        }
      in += w;
      len -= (size_t)w;
    }
  return 0;
}

enum net_hs_result
net_hs_tls_handshake (struct net_hs_tls *t, const uint8_t *in, size_t len)
{
  if (net_hs_tls_feed (t, in, len) < 0)
    return NET_HS_REFUSE;
  ERR_clear_error ();
  int r = SSL_connect (t->ssl);
  if (r == 1)
    return NET_HS_DONE;
  if (SSL_get_error (t->ssl, r) == SSL_ERROR_WANT_READ)
    return NET_HS_MORE;
  long v = SSL_get_verify_result (t->ssl);
  if (v != X509_V_OK)
    {
      t->untrusted = true;
      snprintf (t->why, sizeof t->why,
                "TLS: proxy certificate not trusted: %s",
                X509_verify_cert_error_string (v));
      ERR_clear_error ();
    }
  else
    set_why (t, "TLS handshake: ");
  return NET_HS_REFUSE;
}

size_t
net_hs_tls_out (struct net_hs_tls *t, const uint8_t **p)
{
  char *data = NULL;
  long n = BIO_get_mem_data (t->out, &data);
  *p = (const uint8_t *)data;
  return n > 0 ? (size_t)n : 0;
}

void
net_hs_tls_out_consume (struct net_hs_tls *t, size_t n)
{
  uint8_t sink[4096];
  if (n > 0 && n >= BIO_ctrl_pending (t->out))
    {
      /* all of it sent (the usual case): empty it without a copy */
      (void)BIO_reset (t->out);
      return;
    }
  while (n > 0)
    {
      int k = BIO_read (t->out, sink,
                        n > sizeof sink ? (int)sizeof sink : (int)n);
      if (k <= 0)
        return;
      n -= (size_t)k;
    }
}

ssize_t
net_hs_tls_write (struct net_hs_tls *t, const void *buf, size_t n)
{
  if (n == 0)
    return 0;
  ERR_clear_error ();
  int r = SSL_write (t->ssl, buf, n > TLS_RECORD ? TLS_RECORD : (int)n);
  if (r > 0)
    return r;
  set_why (t, "TLS: ");
  errno = EPROTO;
  return -1;
}

ssize_t
net_hs_tls_read (struct net_hs_tls *t, void *buf, size_t n)
{
  ERR_clear_error ();
  int r = SSL_read (t->ssl, buf, n > INT_MAX ? INT_MAX : (int)n);
  if (r > 0)
    return r;
  switch (SSL_get_error (t->ssl, r))
    {
    case SSL_ERROR_WANT_READ:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;
    default:
      set_why (t, "TLS: ");
      errno = EPROTO;
      return -1;
    }
}

void
net_hs_tls_close (struct net_hs_tls *t)
{
  ERR_clear_error ();
  SSL_shutdown (t->ssl);
  ERR_clear_error ();
}
