/* libFuzzer entry point: the registry answers and engine answers the
 * socket-exception code reads: a Docker-Content-Digest header line, an
 * image inspect body, an image list, a WWW-Authenticate challenge (and the
 * token URL made from it) and a token endpoint's answer.  The first byte picks
 * which. */
#include <stddef.h>
#include <stdint.h>

#include <stdlib.h>

#include "engine/regauth.h"
#include "engine/sockex.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1 || size > 1024 * 1024)
    return 0;
  if ((data[0] & 3) == 2)
    {
      struct reg_challenge c;
      moat_error_t err = NULL;
      char *url = NULL;
      if (regauth_parse_challenge ((const char *)data + 1, size - 1, &c, &err)
          == 0)
        {
          if (regauth_token_url (&c, "repository:x:pull", &url, &err) == 0)
            free (url);
          regauth_challenge_free (&c);
        }
      moat_error_release (&err);
    }
  else if ((data[0] & 3) == 3)
    {
      moat_error_t err = NULL;
      char *token = NULL;
      if (regauth_parse_token ((const char *)data + 1, size - 1, &token, &err)
          == 0)
        free (token);
      moat_error_release (&err);
    }
  else if (data[0] & 1)
    {
      char out[SOCKEX_DIGEST_MAX];
      (void)sockex_parse_digest_header ((const char *)data + 1, size - 1, out);
    }
  else if (data[0] & 4)
    {
      struct sockex_local *l = NULL;
      size_t n = 0;
      moat_error_t err = NULL;
      if (sockex_local_parse ((const char *)data + 1, size - 1, &l, &n, &err)
          == 0)
        sockex_local_free (l, n);
      moat_error_release (&err);
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
