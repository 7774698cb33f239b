/* libFuzzer entry point: registry.json bytes through the sign-in policy
 * parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "policy/signin.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct policy_report rep = { 0 };
  struct signin_policy sp = { 0 };
  moat_error_t err = NULL;
  char *text;

  if (size > POLICY_MAX_FILE_SIZE)
    return 0;
  (void)signin_parse ((const char *)data, size, &sp, &rep, &err);
  moat_error_release (&err);
  text = policy_report_format (&rep);
  free (text);
  signin_policy_free (&sp);
  policy_report_free (&rep);
  return 0;
}
