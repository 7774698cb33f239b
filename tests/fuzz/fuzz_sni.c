/* libFuzzer target: TLS ClientHello SNI recovery (src/net/sniff.c). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net/sniff.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char name[NET_HOSTNAME_MAX];
  int r = net_sniff_tls_sni (data, size, name, sizeof name);
  if (r == NET_SNIFF_FOUND && (strlen (name) == 0 || strlen (name) >= 254))
    __builtin_trap ();
  /* A found name never contains bytes a hostname cannot. */
  if (r == NET_SNIFF_FOUND && strpbrk (name, "/\\ \r\n@") != NULL)
    __builtin_trap ();
  return 0;
}
