#include "strutil.h"

#include <stdlib.h>

int
hex_digit_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

char *
pct_decode (const char *s, size_t len, bool strict)
{
  char *out = malloc (len + 1);
  size_t o = 0;

  if (out == NULL)
    return NULL;
  for (size_t i = 0; i < len; i++)
    {
      char c = s[i];
      if (c == '%')
        {
          int hi = i + 2 < len ? hex_digit_value (s[i + 1]) : -1;
          int lo = i + 2 < len ? hex_digit_value (s[i + 2]) : -1;
          if (hi >= 0 && lo >= 0)
            {
              c = (char) (hi * 16 + lo);
              i += 2;
            }
          else if (strict)
            goto bad;
        }
      if (c == '\0' && strict)
        goto bad;
      out[o++] = c;
    }
  out[o] = '\0';
  return out;
bad:
  free (out);
  return NULL;
}
