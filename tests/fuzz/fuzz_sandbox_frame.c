/* libFuzzer entry point for the sandbox frame parser, which the parent runs
 * on bytes from a possibly compromised sandbox. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/proto.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  uint32_t len;
  uint8_t type;
  if (size < SB_FRAME_HDR || sb_header_parse (data, &len, &type) < 0)
    return 0;
  size_t avail = size - SB_FRAME_HDR;
  if (len > avail)
    len = (uint32_t)avail;
  uint8_t *p = malloc ((size_t)len + 1);
  if (p == NULL)
    return 0;
  memcpy (p, data + SB_FRAME_HDR, len);
  struct sb_field f[SB_FIELDS_MAX];
  int n = sb_payload_fields (p, len, f, SB_FIELDS_MAX);
  for (int i = 0; i < n; i++)
    if (f[i].p[f[i].len] != 0 || strlen (f[i].p) > f[i].len)
      abort ();
  free (p);
  return 0;
}
