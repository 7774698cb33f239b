/* libFuzzer entry point: the registry answers and engine answers the
 * socket-exception code reads: a Docker-Content-Digest header line and an
 * image inspect body.  The first byte picks which. */
#include <stddef.h>
#include <stdint.h>

#include "engine/sockex.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1 || size > 1024 * 1024)
    return 0;
  if (data[0] & 1)
    {
      char out[SOCKEX_DIGEST_MAX];
      (void)sockex_parse_digest_header ((const char *)data + 1, size - 1, out);
    }
  else
    {
      struct sockex_image im;
      moat_error_t err = NULL;
      if (sockex_image_parse ((const char *)data + 1, size - 1, &im, &err)
          == 0)
        sockex_image_free (&im);
      moat_error_release (&err);
    }
  return 0;
}
