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
      if (!isalnum ((unsigned char)c) && c != '-' && c != '_')
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

int
netaddr_hostname_normalize (const char *s, size_t n, char *out, size_t size)
{
  if (n > 0 && s[n - 1] == '.')
    n--;
  if (n == 0 || n >= size)
    return -1;
  for (size_t i = 0; i < n; i++)
    out[i] = (char)tolower ((unsigned char)s[i]);
  out[n] = '\0';
  return netaddr_hostname_valid_p (out) ? 0 : -1;
}

static int parse_port (const char *s, size_t n, unsigned *out);

#define EXCLUDE_BAD "\"%s\" is not a valid IP address, CIDR or host name"

/* Split "host:port", "[v6]:port" or "[v6]" into the host part (in buf) and
 * the port; an IPv6 address or CIDR without brackets has no port. */
static int
split_port (const char *s, char *buf, size_t size, uint16_t *port,
            moat_error_t *err)
{
  const char *colon = strchr (s, ':'), *hp = s, *pp = NULL;
  size_t hn = strlen (s);
  unsigned v;

  *port = 0;
  if (s[0] == '[')
    {
      const char *close = strchr (s, ']');
      if (close == NULL)
        return moat_error (err, 0, EXCLUDE_BAD ": missing `]`", s);
      if (close[1] != '\0' && close[1] != ':')
        return moat_error (err, 0, EXCLUDE_BAD ": unexpected text after `]`",
                           s);
      hp = s + 1;
      hn = (size_t)(close - hp);
      if (close[1] == ':')
        pp = close + 2;
      if (memchr (hp, ':', hn) == NULL)
        return moat_error (
            err, 0, EXCLUDE_BAD ": only an IPv6 address goes in `[]`", s);
    }
  else if (colon != NULL && strchr (colon + 1, ':') == NULL)
    {
      hn = (size_t)(colon - s);
      pp = colon + 1;
    }
  if (hn >= size)
    return moat_error (err, 0, EXCLUDE_BAD ": too long", s);
  memcpy (buf, hp, hn);
  buf[hn] = '\0';
  if (pp != NULL)
    {
      if (parse_port (pp, strlen (pp), &v) < 0)
        return moat_error (
            err, 0, EXCLUDE_BAD ": `%s` is not a port number 1-65535", s, pp);
      *port = (uint16_t)v;
    }
  if (s[0] == '[')
    {
      struct netaddr_cidr ip;
      if (netaddr_parse_ip (buf, &ip) < 0)
        return moat_error (err, 0, EXCLUDE_BAD ": `%s` is not an IPv6 address",
                           s, buf);
    }
  return 0;
}

int
netaddr_exclude_parse (const char *s, struct netaddr_exclude *out,
                       moat_error_t *err)
{
  cleanup_error moat_error_t why = NULL;
  char body[NETADDR_HOST_MAX + 4];
  const char *suffix = NULL;

  memset (out, 0, sizeof *out);
  if (strcmp (s, "*") == 0)
    {
      out->kind = NETADDR_EXCLUDE_ALL;
      return 0;
    }
  if (s[0] == '\0')
    return moat_error (err, 0, "an exclude entry may not be empty");
  if (split_port (s, body, sizeof body, &out->port, err) < 0)
    return -1;
  if (strncmp (body, "*.", 2) == 0)
    suffix = body + 2;
  else if (body[0] == '.')
    suffix = body + 1;
  if (suffix != NULL)
    {
      if (netaddr_hostname_normalize (suffix, strlen (suffix), out->host,
                                      sizeof out->host)
          < 0)
        return moat_error (err, 0, EXCLUDE_BAD ": `%s` is not a host name", s,
                           suffix);
      out->kind = NETADDR_EXCLUDE_SUBDOMAINS;
      return 0;
    }
  if (netaddr_hostname_normalize (body, strlen (body), out->host,
                                  sizeof out->host)
      == 0)
    {
      out->kind = NETADDR_EXCLUDE_DOMAIN;
      return 0;
    }
  if (strchr (body, '/') != NULL || strchr (body, ':') != NULL
      || (body[0] != '\0' && strspn (body, "0123456789.") == strlen (body)))
    {
      if (netaddr_parse_cidr (body, &out->cidr, &why) < 0)
        return moat_error (err, 0, EXCLUDE_BAD ": %s", s,
                           moat_error_msg (&why));
      if (out->port != 0 && strchr (body, '/') != NULL)
        return moat_error (err, 0,
                           EXCLUDE_BAD ": a port goes with an address or a "
                                       "host name, not a CIDR",
                           s);
      out->kind = NETADDR_EXCLUDE_CIDR;
      return 0;
    }
  return moat_error (err, 0, EXCLUDE_BAD, s);
}

bool
netaddr_exclude_matches (const struct netaddr_exclude *e,
                         const struct netaddr_cidr *ip, const char *name,
                         uint16_t port)
{
  size_t hl, sl;

  if (e->port != 0 && e->port != port)
    return false;
  switch (e->kind)
    {
    case NETADDR_EXCLUDE_ALL:
      return true;
    case NETADDR_EXCLUDE_CIDR:
      return ip != NULL && netaddr_cidr_contains (&e->cidr, ip);
    case NETADDR_EXCLUDE_DOMAIN:
    case NETADDR_EXCLUDE_SUBDOMAINS:
      if (name == NULL)
        return false;
      if (e->kind == NETADDR_EXCLUDE_DOMAIN && strcasecmp (name, e->host) == 0)
        return true;
      /* "corp.example" matches "a.corp.example", never "xcorp.example". */
      hl = strlen (name);
      sl = strlen (e->host);
      return hl > sl + 1 && name[hl - sl - 1] == '.'
             && strcasecmp (name + hl - sl, e->host) == 0;
    }
  return false;
}

bool
netaddr_exclude_match (const struct netaddr_exclude *e, const char *dest,
                       uint16_t port)
{
  struct netaddr_cidr ip;
  char buf[NETADDR_HOST_MAX + 1];
  size_t n = strlen (dest);

  /* Accept "[v6]" as a Host header carries it. */
  if (n >= 2 && dest[0] == '[' && dest[n - 1] == ']' && n - 2 < sizeof buf)
    {
      memcpy (buf, dest + 1, n - 2);
      buf[n - 2] = '\0';
      dest = buf;
    }
  if (netaddr_parse_ip (dest, &ip) == 0)
    return netaddr_exclude_matches (e, &ip, NULL, port);
  if (netaddr_hostname_normalize (dest, strlen (dest), buf, sizeof buf) < 0)
    return false;
  return netaddr_exclude_matches (e, NULL, buf, port);
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
