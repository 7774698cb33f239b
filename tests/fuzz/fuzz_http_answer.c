/* libFuzzer entry point: http_answer_split (common/strutil.h), which moatd
 * uses on the guarded engine's answers to the dashboard's extension calls
 * and to sandboxed scripts' docker scope. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/strutil.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *raw, *body;
  size_t blen;
  int status;
  if (size > 1024 * 1024 || (raw = malloc (size + 1)) == NULL)
    return 0;
  memcpy (raw, data, size);
  raw[size] = '\0';
  if (http_answer_split (raw, size, &status, &body, &blen) == 0
      && (body < raw || body + blen > raw + size))
    abort ();
  free (raw);
  return 0;
}
