/* pac_result_parse: the string FindProxyForURL returns, from an untrusted
 * PAC.  Strict: an entry we do not understand fails the whole result, which
 * the net guard turns into a refusal (fail closed), instead of silently
 * skipping to a later, possibly weaker, entry. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "pac/proxy.h"

#define REJECT_HOST "reject.docker.internal"
#define ENTRY_MAX 512

static const struct
{
  const char *word;
  enum proxy_kind kind;
  uint16_t default_port;
} keywords[] = {
  { "DIRECT", PROXY_DIRECT, 0 },    { "PROXY", PROXY_HTTP, 80 },
  { "HTTP", PROXY_HTTP, 80 },       { "HTTPS", PROXY_HTTPS, 443 },
  { "SOCKS", PROXY_SOCKS4, 1080 },  { "SOCKS4", PROXY_SOCKS4, 1080 },
  { "SOCKS5", PROXY_SOCKS5, 1080 },
};

static int
host_char_p (int c)
{
  return isalnum (c) || c == '.' || c == '-' || c == '_';
}

/* Parse "host[:port]" or "[v6]:port" of len bytes into hop. */
static int
parse_hostport (const char *s, size_t len, uint16_t default_port,
                struct proxy_hop *hop, moat_error_t *err)
{
  const char *host = s, *colon = NULL;
  size_t hlen;
  if (len > 0 && s[0] == '[')
    {
      const char *close = memchr (s, ']', len);
      if (close == NULL)
        return moat_error (err, EINVAL, "unterminated `[` in `%.*s`", (int)len,
                           s);
      for (const char *p = s + 1; p < close; p++)
        if (!isxdigit ((unsigned char)*p) && *p != ':' && *p != '.')
          return moat_error (err, EINVAL, "bad IPv6 address in `%.*s`",
                             (int)len, s);
      host = s + 1;
      hlen = (size_t)(close - host);
      if (close + 1 < s + len)
        {
          if (close[1] != ':')
            return moat_error (err, EINVAL, "junk after `]` in `%.*s`",
                               (int)len, s);
          colon = close + 1;
        }
    }
  else
    {
      colon = memchr (s, ':', len);
      hlen = colon ? (size_t)(colon - s) : len;
      for (size_t i = 0; i < hlen; i++)
        if (!host_char_p ((unsigned char)s[i]))
          return moat_error (err, EINVAL, "bad character in proxy host `%.*s`",
                             (int)len, s);
    }
  if (hlen == 0 || hlen >= sizeof hop->host)
    return moat_error (err, EINVAL, "bad proxy host length in `%.*s`",
                       (int)len, s);
  memcpy (hop->host, host, hlen);
  hop->host[hlen] = 0;
  hop->port = default_port;
  if (colon)
    {
      const char *p = colon + 1, *end = s + len;
      unsigned long port = 0;
      if (p == end || end - p > 5)
        return moat_error (err, EINVAL, "bad port in `%.*s`", (int)len, s);
      for (; p < end; p++)
        {
          if (!isdigit ((unsigned char)*p))
            return moat_error (err, EINVAL, "bad port in `%.*s`", (int)len, s);
          port = port * 10 + (unsigned long)(*p - '0');
        }
      if (port == 0 || port > 65535)
        return moat_error (err, EINVAL, "port out of range in `%.*s`",
                           (int)len, s);
      hop->port = (uint16_t)port;
    }
  return 0;
}

static int
parse_entry (const char *s, size_t len, struct proxy_hop *hop,
             moat_error_t *err)
{
  size_t wl = 0;
  while (wl < len && !isspace ((unsigned char)s[wl]))
    wl++;
  size_t rest = wl;
  while (rest < len && isspace ((unsigned char)s[rest]))
    rest++;
  for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
    {
      if (strlen (keywords[i].word) != wl
          || strncasecmp (s, keywords[i].word, wl) != 0)
        continue;
      memset (hop, 0, sizeof *hop);
      hop->kind = keywords[i].kind;
      if (hop->kind == PROXY_DIRECT)
        {
          if (rest != len)
            return moat_error (err, EINVAL, "DIRECT takes no address: `%.*s`",
                               (int)len, s);
          return 0;
        }
      if (rest == len)
        return moat_error (err, EINVAL, "%s needs host:port",
                           keywords[i].word);
      if (parse_hostport (s + rest, len - rest, keywords[i].default_port, hop,
                          err)
          < 0)
        return -1;
      /* The Docker Desktop convention for "refuse": nothing is ever sent to
       * this name, whatever the proxy type or port. */
      if (strcasecmp (hop->host, REJECT_HOST) == 0)
        hop->kind = PROXY_REJECT;
      return 0;
    }
  return moat_error (err, EINVAL, "unknown proxy type in `%.*s`",
                     (int)(len > 64 ? 64 : len), s);
}

int
pac_result_parse (const char *s, struct proxy_list *out, moat_error_t *err)
{
  memset (out, 0, sizeof *out);
  if (s == NULL)
    return moat_error (err, EINVAL, "no PAC result");
  const char *p = s;
  while (*p)
    {
      const char *semi = strchr (p, ';');
      const char *end = semi ? semi : p + strlen (p);
      const char *a = p, *b = end;
      while (a < b && isspace ((unsigned char)*a))
        a++;
      while (b > a && isspace ((unsigned char)b[-1]))
        b--;
      if (b > a)
        {
          if ((size_t)(b - a) > ENTRY_MAX)
            return moat_error (err, EINVAL, "PAC result entry too long");
          if (out->n == PROXY_LIST_MAX)
            return moat_error (err, E2BIG,
                               "more than %d proxies in PAC result",
                               PROXY_LIST_MAX);
          if (parse_entry (a, (size_t)(b - a), &out->hops[out->n], err) < 0)
            return moat_error_wrap (err, "PAC result");
          out->n++;
        }
      if (!semi)
        break;
      p = semi + 1;
    }
  if (out->n == 0)
    return moat_error (err, EINVAL, "empty PAC result");
  return 0;
}
