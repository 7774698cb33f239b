/* libFuzzer target: HTTP/1.x Host recovery (src/net/sniff.c). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net/sniff.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char name[NET_HOSTNAME_MAX];
  int r = net_sniff_http_host (data, size, name, sizeof name);
  if (r == NET_SNIFF_FOUND && (strlen (name) == 0 || strlen (name) >= 254))
    __builtin_trap ();
  if (r == NET_SNIFF_FOUND && strpbrk (name, "/\\ \r\n@[]") != NULL)
    __builtin_trap ();
  /* Monotonic: a prefix of an accepted request is never NONE. */
  if (r == NET_SNIFF_FOUND && size > 0
      && net_sniff_http_host (data, size - 1, name, sizeof name)
             == NET_SNIFF_NONE)
    __builtin_trap ();
  return 0;
}
