#include "netaddr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int
netaddr_parse_ip (const char *s, struct netaddr_cidr *out)
{
  memset (out, 0, sizeof *out);
  if (strchr (s, ':') != NULL)
    {
      if (inet_pton (AF_INET6, s, out->addr) != 1)
        return -1;
      out->family = 6;
      out->prefix = 128;
      return 0;
    }
  /* glibc's inet_pton refuses leading zeros and short forms ("10.1"),
   * which inet_aton would read in octal or as a number. */
  if (inet_pton (AF_INET, s, out->addr) != 1)
    return -1;
  out->family = 4;
  out->prefix = 32;
  return 0;
}

static int
parse_prefix (const char *s, unsigned max, unsigned *out)
{
  unsigned v = 0;
  size_t n = strlen (s);

  if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      if (!isdigit ((unsigned char)s[i]))
        return -1;
      v = v * 10 + (unsigned)(s[i] - '0');
    }
  if (v > max)
    return -1;
  *out = v;
  return 0;
}

int
netaddr_parse_cidr (const char *s, struct netaddr_cidr *out, moat_error_t *err)
{
  char buf[INET6_ADDRSTRLEN + 8];
  const char *slash = strchr (s, '/');
  size_t alen = slash != NULL ? (size_t)(slash - s) : strlen (s);
  unsigned max;

  if (alen >= sizeof buf)
    return moat_error (err, 0, "address too long");
  memcpy (buf, s, alen);
  buf[alen] = '\0';
  if (netaddr_parse_ip (buf, out) < 0)
    return moat_error (err, 0, "`%s` is not an IPv4 or IPv6 address", buf);
  if (slash == NULL)
    return 0;
  max = out->family == 4 ? 32 : 128;
  if (parse_prefix (slash + 1, max, &out->prefix) < 0)
    {
      const char *pre = slash + 1;
      size_t pn = strlen (pre);
      if (pn > 0 && pn <= 4 && strspn (pre, "0123456789") == pn
          && pre[0] != '0')
        return moat_error (err, 0, "prefix %s is larger than %u", slash + 1,
                           max);
      return moat_error (err, 0, "prefix `%s` is not a number 0-%u", slash + 1,
                         max);
    }
  return 0;
}

bool
netaddr_cidr_contains (const struct netaddr_cidr *c,
                       const struct netaddr_cidr *ip)
{
  const uint8_t *a = ip->addr;
  static const uint8_t mapped[12]
      = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  unsigned full, rest;

  if (c->family == 4 && ip->family == 6)
    {
      if (memcmp (ip->addr, mapped, sizeof mapped) != 0)
        return false;
      a = ip->addr + 12;
    }
  else if (c->family != ip->family)
    return false;
  full = c->prefix / 8;
  rest = c->prefix % 8;
  if (memcmp (c->addr, a, full) != 0)
    return false;
  if (rest == 0)
    return true;
  return ((c->addr[full] ^ a[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool
netaddr_hostname_valid_p (const char *s)
{
  size_t n = strlen (s), label = 0;
  bool all_digits = true;

  if (n == 0 || n > NETADDR_HOST_MAX)
    return false;
  for (size_t i = 0; i <= n; i++)
    {
      char c = s[i];
      if (c == '.' || c == '\0')
        {
          if (label == 0 || label > 63 || s[i - 1] == '-')
            return false;
          if (c == '\0')
            break;
          label = 0;
          all_digits = true;
          continue;
        }
      if (!isalnum ((unsigned char)c) && c != '-')
        return false;
      if (c == '-' && label == 0)
        return false;
      if (!isdigit ((unsigned char)c))
        all_digits = false;
      label++;
    }
  /* A last label of digits only is a mistyped IP address, not a name. */
  return !all_digits;
}

static void
lower_copy (char *dst, const char *src)
{
  while (*src != '\0')
    *dst++ = (char)tolower ((unsigned char)*src++);
  *dst = '\0';
}

int
netaddr_exclude_parse (const char *s, struct netaddr_exclude *out,
                       moat_error_t *err)
{
  cleanup_error moat_error_t why = NULL;
  const char *suffix = NULL;

  memset (out, 0, sizeof *out);
  if (strncmp (s, "*.", 2) == 0)
    suffix = s + 2;
  else if (s[0] == '.')
    suffix = s + 1;
  if (suffix != NULL)
    {
      if (!netaddr_hostname_valid_p (suffix))
        return moat_error (err, 0,
                           "\"%s\" is not a valid IP address, CIDR or host "
                           "name: `%s` is not a host name",
                           s, suffix);
      out->kind = NETADDR_EXCLUDE_SUFFIX;
      out->host[0] = '.';
      lower_copy (out->host + 1, suffix);
      return 0;
    }
  if (netaddr_hostname_valid_p (s))
    {
      out->kind = NETADDR_EXCLUDE_HOST;
      lower_copy (out->host, s);
      return 0;
    }
  if (strchr (s, '/') != NULL || strchr (s, ':') != NULL
      || (s[0] != '\0' && strspn (s, "0123456789.") == strlen (s)))
    {
      if (netaddr_parse_cidr (s, &out->cidr, &why) == 0)
        {
          out->kind = NETADDR_EXCLUDE_CIDR;
          return 0;
        }
      return moat_error (err, 0,
                         "\"%s\" is not a valid IP address, CIDR or host "
                         "name: %s",
                         s, moat_error_msg (&why));
    }
  return moat_error (err, 0,
                     "\"%s\" is not a valid IP address, CIDR or host name", s);
}

bool
netaddr_host_match (const char *pattern, const char *host)
{
  size_t hl = strlen (host), sl;

  if (strncmp (pattern, "*.", 2) == 0)
    pattern++;
  if (pattern[0] != '.')
    return strcasecmp (pattern, host) == 0;
  /* ".example.com" matches "a.example.com", not "example.com" nor
   * "badexample.com". */
  sl = strlen (pattern);
  return hl > sl && strcasecmp (host + hl - sl, pattern) == 0;
}

bool
netaddr_exclude_match (const struct netaddr_exclude *e, const char *dest)
{
  struct netaddr_cidr ip;
  char buf[INET6_ADDRSTRLEN + 2];
  size_t n = strlen (dest);

  /* Accept "[v6]" as a Host header carries it. */
  if (n >= 2 && dest[0] == '[' && dest[n - 1] == ']' && n - 2 < sizeof buf)
    {
      memcpy (buf, dest + 1, n - 2);
      buf[n - 2] = '\0';
      dest = buf;
    }
  switch (e->kind)
    {
    case NETADDR_EXCLUDE_CIDR:
      return netaddr_parse_ip (dest, &ip) == 0
             && netaddr_cidr_contains (&e->cidr, &ip);
    case NETADDR_EXCLUDE_HOST:
    case NETADDR_EXCLUDE_SUFFIX:
      return netaddr_host_match (e->host, dest);
    }
  return false;
}

static int
parse_port (const char *s, size_t n, unsigned *out)
{
  unsigned v = 0;

  if (n == 0 || n > 5 || s[0] == '0')
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      if (!isdigit ((unsigned char)s[i]))
        return -1;
      v = v * 10 + (unsigned)(s[i] - '0');
    }
  if (v < 1 || v > 65535)
    return -1;
  *out = v;
  return 0;
}

/* Set bits lo..hi; whole bytes at once, so that a list of many wide ranges
 * (a user's `settings set` is bounded only by the control line size) stays
 * cheap. */
static void
set_range (uint8_t *bitmap, unsigned lo, unsigned hi)
{
  while (lo <= hi && lo % 8 != 0)
    {
      bitmap[lo / 8] |= (uint8_t)(1u << (lo % 8));
      lo++;
    }
  if (lo <= hi && hi - lo + 1 >= 8)
    {
      unsigned bytes = (hi - lo + 1) / 8;
      memset (bitmap + lo / 8, 0xff, bytes);
      lo += bytes * 8;
    }
  while (lo <= hi)
    {
      bitmap[lo / 8] |= (uint8_t)(1u << (lo % 8));
      lo++;
    }
}

/* One item of a port list: "p" or "a-b". */
static int
parse_port_item (const char *b, size_t bn, unsigned *lo, unsigned *hi,
                 moat_error_t *err)
{
  const char *dash = memchr (b, '-', bn);

  if (bn == 0)
    return moat_error (err, 0, "empty item");
  if (dash == NULL)
    {
      if (parse_port (b, bn, lo) < 0)
        return moat_error (err, 0, "`%.*s` is not a port number 1-65535",
                           (int)bn, b);
      *hi = *lo;
      return 0;
    }
  if (parse_port (b, (size_t)(dash - b), lo) < 0
      || parse_port (dash + 1, bn - (size_t)(dash - b) - 1, hi) < 0)
    return moat_error (
        err, 0, "`%.*s` is not a port range a-b of ports 1-65535", (int)bn, b);
  if (*lo > *hi)
    return moat_error (err, 0, "port range `%.*s` is empty (%u > %u)", (int)bn,
                       b, *lo, *hi);
  return 0;
}

int
netaddr_parse_ports (const char *s, bool *all, uint8_t bitmap[65536 / 8],
                     moat_error_t *err)
{
  const char *p = s;
  char *msgs = NULL;
  size_t msgs_len = 0;
  FILE *f;

  memset (bitmap, 0, 65536 / 8);
  *all = false;
  if (strcmp (s, "*") == 0)
    {
      *all = true;
      memset (bitmap, 0xff, 65536 / 8);
      bitmap[0] &= (uint8_t)~1u; /* port 0 is never a destination */
      return 0;
    }
  if (s[strspn (s, " ")] == '\0')
    return 0;
  /* Every bad item is named, not just the first. */
  f = open_memstream (&msgs, &msgs_len);
  if (f == NULL)
    return moat_error (err, ENOMEM, "parse port list");
  for (;;)
    {
      cleanup_error moat_error_t why = NULL;
      const char *end = strchr (p, ',');
      size_t bn = end != NULL ? (size_t)(end - p) : strlen (p);
      const char *b = p;
      unsigned lo, hi;

      while (bn > 0 && *b == ' ')
        b++, bn--;
      while (bn > 0 && b[bn - 1] == ' ')
        bn--;
      if (parse_port_item (b, bn, &lo, &hi, &why) < 0)
        fprintf (f, "%s%s", ftell (f) > 0 ? "; " : "", moat_error_msg (&why));
      else
        set_range (bitmap, lo, hi);
      if (end == NULL)
        break;
      p = end + 1;
    }
  if (fclose (f) != 0)
    {
      free (msgs);
      return moat_error (err, ENOMEM, "parse port list");
    }
  if (msgs_len > 0)
    {
      moat_error (err, 0, "%s", msgs);
      free (msgs);
      memset (bitmap, 0, 65536 / 8);
      return -1;
    }
  free (msgs);
  return 0;
}
