/* libFuzzer entry point: metadata.json bytes through the extension
 * metadata checker, and the same bytes as a private marketplace list. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ext/market.h"
#include "ext/metadata.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct ext_meta m;
  struct ext_market mk;
  struct ext_problems p = { 0 };
  char *s;

  (void)ext_meta_parse ((const char *)data, size, "acme/x:1", &m, &p);
  s = ext_problems_join (&p);
  free (s);
  ext_meta_free (&m);
  ext_problems_free (&p);
  (void)ext_market_parse ((const char *)data, size, &mk, &p);
  (void)ext_market_allows_p (&mk, "acme/x:1");
  ext_market_free (&mk);
  ext_problems_free (&p);
  return 0;
}
