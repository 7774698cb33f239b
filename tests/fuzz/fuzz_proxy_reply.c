/* libFuzzer target: replies of upstream proxies (src/net/proxyproto.c),
 * which come from the network. */
#include <stddef.h>
#include <stdint.h>

#include "net/proxyproto.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  size_t head = 0, len = 0;
  int status = 0, rep = 0;
  if (net_http_connect_response (data, size, 8192, &head, &status) == 1
      && (head > size || status < 0 || status > 999))
    __builtin_trap ();
  if (net_socks5_reply (data, size, &len, &rep) == 1 && len > size)
    __builtin_trap ();
  if (net_socks4_reply (data, size, &rep) == 1 && size < 8)
    __builtin_trap ();
  return 0;
}
