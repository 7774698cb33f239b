#include "strutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
              c = (char)(hi * 16 + lo);
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

const char *
header_line_value (const char *line, size_t len, const char *name,
                   size_t *vlen)
{
  size_t nl = strlen (name);
  if (len < nl || strncasecmp (line, name, nl) != 0)
    return NULL;
  line += nl;
  len -= nl;
  while (len > 0 && (*line == ' ' || *line == '\t'))
    line++, len--;
  while (len > 0
         && (line[len - 1] == '\r' || line[len - 1] == '\n'
             || line[len - 1] == ' ' || line[len - 1] == '\t'))
    len--;
  *vlen = len;
  return line;
}

void
mountinfo_unescape (char *s)
{
  char *w = s;
  for (char *r = s; *r;)
    {
      if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0'
          && r[2] <= '7' && r[3] >= '0' && r[3] <= '7')
        {
          *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
          r += 4;
        }
      else
        *w++ = *r++;
    }
  *w = '\0';
}

bool
engine_name_p (const char *s, size_t n, size_t max)
{
  if (n == 0 || n > max)
    return false;
  for (size_t i = 0; i < n; i++)
    {
      char c = s[i];
      bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                   || (c >= '0' && c <= '9');
      if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
        return false;
    }
  return true;
}

bool
full_id_p (const char *s)
{
  if (s == NULL || strlen (s) != 64)
    return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

int
http_answer_split (char *raw, size_t len, int *status, char **body,
                   size_t *blen)
{
  char *end = raw + len, *hend = memmem (raw, len, "\r\n\r\n", 4), *p, *q;
  bool chunked = false;

  if (hend == NULL || sscanf (raw, "HTTP/1.%*d %3d", status) != 1)
    return -1;
  *hend = '\0';
  for (p = strstr (raw, "\r\n"); p != NULL; p = strstr (p + 2, "\r\n"))
    if (strncasecmp (p + 2, "transfer-encoding:", 18) == 0
        && strcasestr (p + 2, "chunked") != NULL)
      chunked = true;
  *body = q = p = hend + 4;
  if (!chunked)
    {
      *blen = (size_t)(end - p);
      return 0;
    }
  while (p < end)
    {
      char *nl = memmem (p, (size_t)(end - p), "\r\n", 2);
      unsigned long sz = strtoul (p, NULL, 16);
      if (nl == NULL)
        return -1;
      p = nl + 2;
      if (sz == 0)
        break;
      if (sz > (size_t)(end - p))
        return -1;
      memmove (q, p, sz);
      q += sz;
      p += sz + 2;
    }
  *blen = (size_t)(q - *body);
  return 0;
}
