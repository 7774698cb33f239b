/* libFuzzer entry point: any bytes through `moat signin lint`'s reader
 * (.reg exports, property lists through libplist, registry.json).  The
 * first byte picks the file name, which decides the .mobileconfig/.plist
 * ambiguity. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "directory/lint.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct signin_lint_file f;
  moat_error_t err = NULL;
  const char *name;

  if (size < 1 || size > SIGNIN_LINT_MAX)
    return 0;
  name = (data[0] & 1) != 0 ? "x.mobileconfig" : "x.plist";
  if (signin_lint_parse (name, (const char *)data + 1, size - 1, &f, &err)
      == 0)
    signin_lint_file_free (&f);
  moat_error_release (&err);
  return 0;
}
