/* libFuzzer target: the forward-mode request rewriter (src/net/httpfwd.c),
 * which parses every byte a container sends to port 80 through an HTTP
 * proxy.  Differential: the input fed at once into a large buffer and fed
 * in pieces (sizes from the first byte) into a tiny one must give the same
 * bytes and the same verdict; every output is bounded. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/httpfwd.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static struct net_httpfwd a, b;
static uint8_t out_a[1 << 20], out_b[1 << 20];

static int
feed_all (struct net_httpfwd *f, const uint8_t *in, size_t len, size_t step,
          size_t cap, uint8_t *res, size_t *res_len)
{
  uint8_t out[70000];
  size_t off = 0;
  *res_len = 0;
  if (cap > sizeof out)
    cap = sizeof out;
  for (;;)
    {
      size_t n = len - off < step ? len - off : step, ol;
      ssize_t r = net_httpfwd_feed (f, in + off, n, out, cap, &ol);
      if (r < 0)
        return -1;
      if ((size_t)r > n || ol > cap)
        __builtin_trap ();
      if (*res_len + ol > sizeof out_a)
        __builtin_trap ();
      memcpy (res + *res_len, out, ol);
      *res_len += ol;
      off += (size_t)r;
      if (off == len && ol == 0)
        return 0;
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  size_t la, lb;
  if (size < 1 || size > 200000)
    return 0;
  size_t step = (size_t)(data[0] % 17) + 1, cap = (size_t)(data[0] % 13) + 1;
  data++, size--;
  if (net_httpfwd_init (&a, "example.com", 80, "user", "pass") < 0
      || net_httpfwd_init (&b, "example.com", 80, "user", "pass") < 0)
    __builtin_trap ();
  int ra
      = feed_all (&a, data, size, size ? size : 1, sizeof out_a, out_a, &la);
  int rb = feed_all (&b, data, size, step, cap, out_b, &lb);
  /* Piecewise feeding stops at the first refusal, possibly before the
   * bytes the whole feed emitted in the same call: compare verdicts, and
   * bytes only when both accepted. */
  if (ra != rb)
    __builtin_trap ();
  if (ra == 0 && (la != lb || memcmp (out_a, out_b, la) != 0))
    __builtin_trap ();
  return 0;
}
