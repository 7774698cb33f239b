/* TLS to an https:// proxy as a pure module: OpenSSL driven through
 * memory BIOs, never a socket.  The guard feeds every byte the proxy
 * sends (ciphertext) in, sends every byte net_hs_tls_out() holds, and
 * learns "need more", "done" or "refused" for the handshake; after it,
 * the same object encrypts what goes to the proxy (the CONNECT request,
 * then the relay) and decrypts what comes back.
 *
 * Certificate checks: the SSL_CTX's store (the system's plus
 * $MOAT_ROOT/etc/moat/proxy-ca.pem, see guard.c) and the proxy's host
 * name (or IP address) as the route names it.  Every failure is
 * REFUSE for the module, with `untrusted` set when the certificate did
 * not verify: the guard ends the connection on that (the next hop may be
 * DIRECT, so an interception of the proxy must not widen egress) and
 * falls over on other failures, like a connect error (net-guard.md). */
#ifndef MOAT_NET_HS_TLS_H
#define MOAT_NET_HS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "net/hs.h"

struct net_hs_tls
{
  SSL *ssl;
  BIO *in;        /* ciphertext from the proxy (owned by ssl) */
  BIO *out;       /* ciphertext for the proxy (owned by ssl) */
  size_t unacked; /* plaintext taken by the last write, not yet reported */
  bool untrusted; /* REFUSE: the certificate (or its name) did not verify */
  char why[200];  /* set on REFUSE / FAIL / -1 */
};

/* Start a client handshake with the proxy `host` (a DNS name: SNI and
 * name verification; an IP literal: address verification).  Fills the
 * output with the ClientHello.  Returns NET_HS_SEND, or NET_HS_FAIL (out
 * of memory, a bad host: try the next hop, t->why). */
enum net_hs_result net_hs_tls_start (struct net_hs_tls *t, SSL_CTX *ctx,
                                     const char *host);

/* Bytes from the proxy during the handshake: all of them are taken.
 * Returns MORE (send what net_hs_tls_out() holds, wait for more), DONE
 * (send what it holds; then use net_hs_tls_write / _read) or REFUSE
 * (t->why; t->untrusted: the certificate did not verify, else the
 * proxy spoke nonsense).  The caller stops at REFUSE. */
enum net_hs_result net_hs_tls_handshake (struct net_hs_tls *t,
                                         const uint8_t *in, size_t len);

/* Ciphertext waiting for the proxy: its length, *p at the first byte;
 * consume what was sent. */
size_t net_hs_tls_out (struct net_hs_tls *t, const uint8_t **p);
void net_hs_tls_out_consume (struct net_hs_tls *t, size_t n);

/* Encrypt up to n bytes of plaintext (one record at most) into the
 * output.  Returns the count taken (> 0 when n > 0) or -1 (t->why). */
ssize_t net_hs_tls_write (struct net_hs_tls *t, const void *buf, size_t n);

/* Ciphertext from the proxy after the handshake (all taken); 0, or -1
 * out of memory. */
int net_hs_tls_feed (struct net_hs_tls *t, const uint8_t *in, size_t len);

/* Decrypted bytes: the count (> 0), 0 for the proxy's close_notify, or
 * -1 with errno EAGAIN (feed more ciphertext) or EPROTO (t->why). */
ssize_t net_hs_tls_read (struct net_hs_tls *t, void *buf, size_t n);

/* Queue close_notify in the output. */
void net_hs_tls_close (struct net_hs_tls *t);

void net_hs_tls_free (struct net_hs_tls *t);

#endif
