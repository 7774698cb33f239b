#include "url.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "common/strutil.h"

static int
parse_scheme (const char *s, const char **rest, struct policy_url *out,
              bool pac, moat_error_t *err)
{
  static const struct
  {
    const char *prefix;
    enum policy_url_scheme scheme;
    uint16_t port;
    bool proxy, pac;
  } schemes[] = {
    { "http://", POLICY_URL_HTTP, 80, true, true },
    { "https://", POLICY_URL_HTTPS, 443, true, true },
    { "socks5://", POLICY_URL_SOCKS5, 1080, true, false },
    { "socks5h://", POLICY_URL_SOCKS5H, 1080, true, false },
    { "socks4://", POLICY_URL_SOCKS4, 1080, true, false },
    { "file://", POLICY_URL_FILE, 0, false, true },
  };
  for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
    {
      size_t n = strlen (schemes[i].prefix);
      if (strncasecmp (s, schemes[i].prefix, n) != 0)
        continue;
      if (pac ? !schemes[i].pac : !schemes[i].proxy)
        break;
      out->scheme = schemes[i].scheme;
      out->port = schemes[i].port;
      *rest = s + n;
      return 0;
    }
  return moat_error (err, 0, "the scheme must be %s",
                     pac ? "http://, https:// or file://"
                         : "http://, https://, socks5://, socks5h:// or "
                           "socks4://");
}

static bool
printable_p (const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
      return false;
  return true;
}

/* [user[:pass]@]host[:port] */
static int
parse_authority (const char *a, size_t n, struct policy_url *out,
                 moat_error_t *err)
{
  const char *at = NULL, *host, *port = NULL;
  size_t hn;
  struct netaddr_cidr ip;

  for (size_t i = 0; i < n; i++)
    if (a[i] == '@')
      at = a + i;
  if (!printable_p (a, n))
    return moat_error (err, 0,
                       "spaces and control characters are not "
                       "allowed");
  if (at != NULL)
    {
      const char *colon = memchr (a, ':', (size_t)(at - a));
      size_t un = colon != NULL ? (size_t)(colon - a) : (size_t)(at - a);
      cleanup_free char *user = NULL, *pass = NULL;
      if (un == 0)
        return moat_error (err, 0, "empty user name before `@`");
      if (out->scheme == POLICY_URL_SOCKS4 && colon != NULL)
        return moat_error (err, 0, "SOCKS4 has no password");
      user = pct_decode (a, un, true);
      pass = colon != NULL
                 ? pct_decode (colon + 1, (size_t)(at - colon - 1), true)
                 : strdup ("");
      if (user == NULL || pass == NULL)
        return moat_error (err, 0,
                           "user name or password: a `%%` escape is not "
                           "two hex digits, or decodes to NUL");
      if (strlen (user) >= sizeof out->user
          || strlen (pass) >= sizeof out->pass)
        return moat_error (err, 0, "user name or password too long");
      strcpy (out->user, user);
      strcpy (out->pass, pass);
      out->has_user = true;
      n -= (size_t)(at + 1 - a);
      a = at + 1;
    }
  host = a;
  if (n > 0 && a[0] == '[')
    {
      const char *close = memchr (a, ']', n);
      if (close == NULL)
        return moat_error (err, 0, "missing `]` after the IPv6 address");
      host = a + 1;
      hn = (size_t)(close - host);
      if (close + 1 < a + n)
        {
          if (close[1] != ':')
            return moat_error (err, 0, "unexpected text after `]`");
          port = close + 2;
        }
    }
  else
    {
      const char *colon = memchr (a, ':', n);
      hn = colon != NULL ? (size_t)(colon - a) : n;
      if (colon != NULL)
        port = colon + 1;
    }
  if (hn == 0)
    return moat_error (err, 0, "missing host");
  if (hn >= sizeof out->host)
    return moat_error (err, 0, "host name too long");
  memcpy (out->host, host, hn);
  out->host[hn] = '\0';
  if (host != a)
    {
      if (netaddr_parse_ip (out->host, &ip) < 0 || ip.family != 6)
        return moat_error (err, 0, "`%s` is not an IPv6 address", out->host);
    }
  else if (netaddr_parse_ip (out->host, &ip) < 0
           && netaddr_hostname_normalize (host, hn, out->host,
                                          sizeof out->host)
                  < 0)
    return moat_error (err, 0, "`%.*s` is not a host name or IP address",
                       (int)hn, host);
  if (port != NULL)
    {
      size_t pn = (size_t)(a + n - port);
      unsigned v = 0;
      if (pn == 0 || pn > 5 || port[0] == '0')
        return moat_error (err, 0, "invalid port `%.*s`", (int)pn, port);
      for (size_t i = 0; i < pn; i++)
        {
          if (!isdigit ((unsigned char)port[i]))
            return moat_error (err, 0, "invalid port `%.*s`", (int)pn, port);
          v = v * 10 + (unsigned)(port[i] - '0');
        }
      if (v > 65535)
        return moat_error (err, 0, "port %u is out of range 1-65535", v);
      out->port = (uint16_t)v;
    }
  return 0;
}

int
policy_proxy_url_parse (const char *s, struct policy_url *out,
                        moat_error_t *err)
{
  const char *rest, *slash;
  size_t n;

  memset (out, 0, sizeof *out);
  if (parse_scheme (s, &rest, out, false, err) < 0)
    return -1;
  slash = strpbrk (rest, "/?#");
  n = slash != NULL ? (size_t)(slash - rest) : strlen (rest);
  if (slash != NULL && strcmp (slash, "/") != 0)
    return moat_error (
        err, 0, "a proxy URL has no path, query or fragment (`%s`)", slash);
  return parse_authority (rest, n, out, err);
}

int
policy_pac_url_parse (const char *s, struct policy_url *out, moat_error_t *err)
{
  const char *rest, *slash;
  size_t n;

  memset (out, 0, sizeof *out);
  if (parse_scheme (s, &rest, out, true, err) < 0)
    return -1;
  if (!printable_p (rest, strlen (rest)))
    return moat_error (err, 0,
                       "spaces and control characters are not allowed");
  if (out->scheme == POLICY_URL_FILE)
    {
      if (rest[0] != '/')
        return moat_error (err, 0, "a file URL must be file:///absolute/path");
      if (strlen (rest) >= sizeof out->path)
        return moat_error (err, 0, "path too long");
      strcpy (out->path, rest);
      return 0;
    }
  slash = strpbrk (rest, "/?#");
  n = slash != NULL ? (size_t)(slash - rest) : strlen (rest);
  if (slash != NULL)
    {
      if (strlen (slash) >= sizeof out->path)
        return moat_error (err, 0, "path too long");
      strcpy (out->path, slash);
    }
  if (memchr (rest, '@', n) != NULL)
    return moat_error (err, 0,
                       "credentials are not allowed in a PAC "
                       "URL");
  return parse_authority (rest, n, out, err);
}

int
policy_dest_url_parse (const char *s, struct policy_url *out,
                       moat_error_t *err)
{
  const char *sep = strstr (s, "://"), *rest, *end;
  size_t sn;

  memset (out, 0, sizeof *out);
  sn = sep != NULL ? (size_t)(sep - s) : 0;
  if (sn == 0 || !isalpha ((unsigned char)s[0])
      || strspn (s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    "0123456789+.-")
             != sn)
    return moat_error (err, 0, "`%s` is not a URL (scheme://host...)", s);
  out->scheme = POLICY_URL_OTHER;
  if (sn == 4 && strncasecmp (s, "http", 4) == 0)
    {
      out->scheme = POLICY_URL_HTTP;
      out->port = 80;
    }
  else if (sn == 5 && strncasecmp (s, "https", 5) == 0)
    {
      out->scheme = POLICY_URL_HTTPS;
      out->port = 443;
    }
  rest = sep + 3;
  end = rest + strcspn (rest, "/?#");
  if (parse_authority (rest, (size_t)(end - rest), out, err) < 0)
    return -1;
  if (out->port == 0)
    return moat_error (err, 0, "give a port for scheme `%.*s`", (int)sn, s);
  return 0;
}
