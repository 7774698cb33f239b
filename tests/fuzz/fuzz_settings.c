/* libFuzzer entry point: admin-settings.json bytes through the parser, the
 * validator, the effective-policy builder (also with the input as user
 * overrides), the report formatter, and `moat settings set` checks on
 * "KEY\nVALUE" inputs. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct policy_report rep = { 0 };
  struct policy_admin *admin = NULL;
  struct policy *p = NULL;
  moat_error_t err = NULL;
  json_t *overrides;
  char *text;

  if (size > POLICY_MAX_FILE_SIZE)
    return 0;
  if (policy_admin_parse ((const char *)data, size, &admin, &rep, &err) == 0)
    {
      if (policy_build (admin, NULL, &p, &err) == 0)
        policy_free (p);
      moat_error_release (&err);
    }
  moat_error_release (&err);
  text = policy_report_format (&rep);
  free (text);
  policy_report_free (&rep);

  /* The same bytes as a stored overrides object. */
  overrides = json_loadb ((const char *)data, size, 0, NULL);
  if (policy_build (admin, overrides, &p, &err) == 0)
    policy_free (p);
  moat_error_release (&err);
  json_decref (overrides);

  /* "KEY\nVALUE" as a user's `moat settings set`. */
  {
    const uint8_t *nl = memchr (data, '\n', size);
    if (nl != NULL)
      {
        size_t kn = (size_t)(nl - data);
        char *key = strndup ((const char *)data, kn);
        char *val = strndup ((const char *)nl + 1, size - kn - 1);
        json_t *v = NULL;
        if (key != NULL && val != NULL
            && policy_check_override (admin, key, val, &v, &err) == 0)
          json_decref (v);
        moat_error_release (&err);
        free (key);
        free (val);
      }
  }
  policy_admin_free (admin);
  return 0;
}
