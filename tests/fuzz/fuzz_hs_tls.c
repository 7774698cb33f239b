/* libFuzzer target: TLS to an https:// proxy (src/net/hs_tls.c) fed
 * what a network (or an interceptor) answers the ClientHello with, split
 * where the first byte says; then, if ever done, as relayed ciphertext. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net/hs_tls.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static SSL_CTX *ctx;

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct net_hs_tls t;
  const uint8_t *p;
  uint8_t buf[4096];

  if (ctx == NULL)
    {
      ctx = SSL_CTX_new (TLS_client_method ());
      if (ctx == NULL)
        return 0;
      SSL_CTX_set_min_proto_version (ctx, TLS1_2_VERSION);
      SSL_CTX_set_verify (ctx, SSL_VERIFY_PEER, NULL);
    }
  if (size < 1)
    return 0;
  size_t step = (size_t)data[0] + 1, off = 1;
  if (net_hs_tls_start (&t, ctx, data[0] & 1 ? "proxy.test" : "127.0.0.1")
      != NET_HS_SEND)
    return 0;
  enum net_hs_result r = NET_HS_MORE;
  while (off < size && r == NET_HS_MORE)
    {
      size_t n = size - off < step ? size - off : step;
      r = net_hs_tls_handshake (&t, data + off, n);
      off += n;
      net_hs_tls_out_consume (&t, net_hs_tls_out (&t, &p));
    }
  if (r == NET_HS_DONE)
    {
      /* no CA is trusted: a handshake never completes */
      __builtin_trap ();
    }
  if (r == NET_HS_REFUSE && t.why[0] == '\0')
    __builtin_trap ();
  (void)net_hs_tls_read (&t, buf, sizeof buf);
  net_hs_tls_free (&t);
  return 0;
}
