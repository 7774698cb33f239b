/* libFuzzer entry point for pac_result_parse (the string an untrusted PAC
 * returns).  Checks invariants of every accepted result. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pac/proxy.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s = malloc (size + 1);
  if (s == NULL)
    return 0;
  memcpy (s, data, size);
  s[size] = 0;
  struct proxy_list l;
  moat_error_t err = NULL;
  if (pac_result_parse (s, &l, &err) == 0)
    {
      if (l.n == 0 || l.n > PROXY_LIST_MAX)
        abort ();
      for (size_t i = 0; i < l.n; i++)
        if (l.hops[i].kind != PROXY_DIRECT
            && (l.hops[i].port == 0 || l.hops[i].host[0] == 0
                || strlen (l.hops[i].host) >= sizeof l.hops[i].host))
          abort ();
    }
  moat_error_release (&err);
  free (s);
  return 0;
}
