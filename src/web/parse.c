/* Query, cookie, Host and Origin parsing of the dashboard (parse.h). */
#include "parse.h"

#include "common/strutil.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int
web_target_path (const char *target, char *out, size_t len)
{
  size_t n = strcspn (target, "?#");
  if (target[0] != '/' || n >= len)
    return -1;
  memcpy (out, target, n);
  out[n] = '\0';
  return 0;
}

/* Percent-decode s[0..n) into out ('+' is a space). */
static int
decode (const char *s, size_t n, char *out, size_t len)
{
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    {
      char c = s[i];
      if (c == '%')
        {
          int hi, lo;
          if (i + 2 >= n)
            return -1;
          hi = hex_digit_value (s[i + 1]);
          lo = hex_digit_value (s[i + 2]);
          if (hi < 0 || lo < 0)
            return -1;
          c = (char)(hi * 16 + lo);
          if (c == '\0')
            return -1;
          i += 2;
        }
      else if (c == '+')
        c = ' ';
      if (k + 1 >= len)
        return -1;
      out[k++] = c;
    }
  out[k] = '\0';
  return 0;
}

int
web_query_get (const char *target, const char *name, char *out, size_t len)
{
  const char *q = strchr (target, '?');
  size_t nl = strlen (name);
  if (q == NULL || len == 0)
    return 0;
  q++;
  while (*q != '\0' && *q != '#')
    {
      size_t seg = strcspn (q, "&#");
      const char *eq = memchr (q, '=', seg);
      size_t kl = eq != NULL ? (size_t)(eq - q) : seg;
      if (kl == nl && memcmp (q, name, nl) == 0)
        {
          if (eq == NULL)
            {
              out[0] = '\0';
              return 1;
            }
          return decode (eq + 1, seg - kl - 1, out, len) < 0 ? -1 : 1;
        }
      q += seg;
      if (*q == '&')
        q++;
    }
  return 0;
}

int
web_cookie_get (const char *header, const char *name, char *out, size_t len)
{
  size_t nl = strlen (name);
  int found = 0;
  const char *p = header;
  if (len == 0)
    return -1;
  while (*p != '\0')
    {
      while (*p == ' ' || *p == '\t' || *p == ';')
        p++;
      size_t seg = strcspn (p, ";");
      const char *eq = memchr (p, '=', seg);
      if (eq != NULL && (size_t)(eq - p) == nl && memcmp (p, name, nl) == 0)
        {
          size_t vl = seg - nl - 1;
          const char *v = eq + 1;
          while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
          if (found || vl >= len)
            return -1;
          memcpy (out, v, vl);
          out[vl] = '\0';
          found = 1;
        }
      p += seg;
    }
  return found;
}

int
web_cookie_next (const char *header, const char *name, size_t *pos, char *out,
                 size_t len)
{
  size_t nl = strlen (name);
  const char *p = header + *pos;
  if (len == 0)
    return -1;
  while (*p != '\0')
    {
      while (*p == ' ' || *p == '\t' || *p == ';')
        p++;
      size_t seg = strcspn (p, ";");
      const char *eq = memchr (p, '=', seg);
      const char *start = p;
      p += seg;
      if (eq != NULL && (size_t)(eq - start) == nl
          && memcmp (start, name, nl) == 0)
        {
          size_t vl = seg - nl - 1;
          const char *v = eq + 1;
          while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
          *pos = (size_t)(p - header);
          if (vl >= len)
            return -1;
          memcpy (out, v, vl);
          out[vl] = '\0';
          return 1;
        }
    }
  *pos = (size_t)(p - header);
  return 0;
}

static bool
label_ok (const char *s, size_t n)
{
  if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
    return false;
  for (size_t i = 0; i < n; i++)
    {
      char c = s[i];
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '-'))
        return false;
    }
  return true;
}

bool
web_host_ok (const char *host, unsigned port)
{
  char want[16];
  const char *colon = strrchr (host, ':');
  size_t hl;
  static const char ext[] = ".ext.localhost";
  if (colon == NULL)
    return false;
  snprintf (want, sizeof want, "%u", port);
  if (strcmp (colon + 1, want) != 0)
    return false;
  hl = (size_t)(colon - host);
  if ((hl == 9 && strncmp (host, "127.0.0.1", 9) == 0)
      || (hl == 9 && strncasecmp (host, "localhost", 9) == 0))
    return true;
  if (hl > sizeof ext - 1
      && strncasecmp (host + hl - (sizeof ext - 1), ext, sizeof ext - 1) == 0)
    return label_ok (host, hl - (sizeof ext - 1));
  return false;
}

bool
web_origin_ok (const char *origin, const char *host)
{
  size_t hl = strlen (host);
  return strncmp (origin, "http://", 7) == 0
         && strncasecmp (origin + 7, host, hl) == 0 && origin[7 + hl] == '\0';
}
