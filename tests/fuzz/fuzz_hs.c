/* libFuzzer target: the proxy handshakes (src/net/hs*.c) driven with
 * replies from the network, split where the first byte says. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net/hs.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct net_addr a;
  struct net_hs hs;
  struct net_hs_target t = { .addr = &a, .port = 443 };
  size_t off = 1, used;

  if (size < 1)
    return 0;
  memset (&a, 0, sizeof a);
  a.family = AF_INET;
  t.name = data[0] & 8 ? "proxy.test" : NULL;
  if (data[0] & 16)
    {
      t.user = "u";
      t.pass = "p";
    }
  if (net_hs_start (&hs, (enum net_hs_proto) (data[0] % 3), &t) != NET_HS_SEND)
    return 0;
  /* feed in growing windows, consuming as told */
  for (size_t end = off; end <= size; end++)
    {
      enum net_hs_result r = net_hs_input (&hs, data + off, end - off, &used);
      if (used > end - off)
        __builtin_trap ();
      if (r == NET_HS_MORE)
        continue;
      if (r != NET_HS_SEND)
        break;
      if (hs.out_len == 0 || hs.out_len > sizeof hs.out)
        __builtin_trap ();
      off += used;
    }
  return 0;
}
