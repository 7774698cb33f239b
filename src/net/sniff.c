#include "sniff.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

int
net_hostname_normalize (const char *s, size_t len, char *out, size_t out_size)
{
  size_t colons = 0;

  if (len > 0 && s[len - 1] == '.')
    len--;
  if (len == 0 || len >= NET_HOSTNAME_MAX || len >= out_size)
    return -1;
  for (size_t i = 0; i < len; i++)
    {
      char c = s[i];
      if (c >= 'A' && c <= 'Z')
        c = (char)(c - 'A' + 'a');
      if (c == ':')
        colons++;
      else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
                 || c == '_' || c == '.'))
        return -1;
      out[i] = c;
    }
  /* A ':' only makes sense in an IPv6 literal: hex digits and dots. */
  if (colons > 0)
    for (size_t i = 0; i < len; i++)
      if (!(out[i] == ':' || out[i] == '.' || (out[i] >= '0' && out[i] <= '9')
            || (out[i] >= 'a' && out[i] <= 'f')))
        return -1;
  if (out[0] == '.' || out[0] == '-')
    return -1;
  out[len] = '\0';
  return 0;
}

static unsigned
get16 (const uint8_t *p)
{
  return ((unsigned)p[0] << 8) | p[1];
}

static unsigned
get24 (const uint8_t *p)
{
  return ((unsigned)p[0] << 16) | ((unsigned)p[1] << 8) | p[2];
}

/* Largest ClientHello we reassemble; bigger ones are decided on the IP. */
#define MAX_HANDSHAKE (64 * 1024)

/* Find server_name in a complete ClientHello body (after the 4-byte
 * handshake header). */
static int
parse_client_hello (const uint8_t *p, size_t len, char *name, size_t name_size)
{
  size_t off = 0, n;

  /* legacy_version(2) random(32) */
  if (len < 34)
    return NET_SNIFF_NONE;
  off = 34;
  /* session id */
  if (off + 1 > len)
    return NET_SNIFF_NONE;
  n = p[off];
  off += 1;
  if (n > 32 || off + n > len)
    return NET_SNIFF_NONE;
  off += n;
  /* cipher suites */
  if (off + 2 > len)
    return NET_SNIFF_NONE;
  n = get16 (p + off);
  off += 2;
  if (off + n > len)
    return NET_SNIFF_NONE;
  off += n;
  /* compression methods */
  if (off + 1 > len)
    return NET_SNIFF_NONE;
  n = p[off];
  off += 1;
  if (off + n > len)
    return NET_SNIFF_NONE;
  off += n;
  /* extensions (absent in very old clients: then no SNI) */
  if (off + 2 > len)
    return NET_SNIFF_NONE;
  n = get16 (p + off);
  off += 2;
  if (off + n > len)
    return NET_SNIFF_NONE;
  size_t end = off + n;
  int found = NET_SNIFF_NONE;
  while (off < end)
    {
      unsigned type, elen;
      if (off + 4 > end)
        return NET_SNIFF_NONE;
      type = get16 (p + off);
      elen = get16 (p + off + 2);
      off += 4;
      if (off + elen > end)
        return NET_SNIFF_NONE;
      if (type == 0)
        {
          const uint8_t *e = p + off;
          size_t list, i = 2;
          /* Two server_name extensions are a protocol error (and a way to
           * show the guard one name and the server another). */
          if (found == NET_SNIFF_FOUND || elen < 2)
            return NET_SNIFF_NONE;
          list = get16 (e);
          if (list + 2 != elen)
            return NET_SNIFF_NONE;
          while (i < elen)
            {
              unsigned nlen;
              if (i + 3 > elen)
                return NET_SNIFF_NONE;
              nlen = get16 (e + i + 1);
              if (i + 3 + nlen > elen)
                return NET_SNIFF_NONE;
              if (e[i] == 0)
                {
                  /* RFC 6066: at most one host_name entry. */
                  if (found == NET_SNIFF_FOUND)
                    return NET_SNIFF_NONE;
                  if (net_hostname_normalize ((const char *)e + i + 3, nlen,
                                              name, name_size)
                      < 0)
                    return NET_SNIFF_NONE;
                  found = NET_SNIFF_FOUND;
                }
              i += 3 + nlen;
            }
          if (found != NET_SNIFF_FOUND)
            return NET_SNIFF_NONE;
        }
      off += elen;
    }
  return found;
}

int
net_sniff_tls_sni (const uint8_t *buf, size_t len, char *name,
                   size_t name_size)
{
  uint8_t hs[MAX_HANDSHAKE];
  size_t hs_len = 0, off = 0;

  if (name_size == 0)
    return NET_SNIFF_NONE;
  name[0] = '\0';
  if (len == 0)
    return NET_SNIFF_MORE;
  if (buf[0] != 22)
    return NET_SNIFF_NONE;
  /* Gather the handshake bytes of consecutive handshake records. */
  while (off < len)
    {
      size_t rlen, avail;
      if (buf[off] != 22)
        return NET_SNIFF_NONE;
      if (off + 1 < len && buf[off + 1] != 3)
        return NET_SNIFF_NONE;
      if (off + 5 > len)
        break;
      rlen = get16 (buf + off + 3);
      if (rlen == 0 || rlen > 16384 + 2048)
        return NET_SNIFF_NONE;
      avail = len - off - 5 < rlen ? len - off - 5 : rlen;
      if (hs_len + avail > sizeof hs)
        return NET_SNIFF_NONE;
      memcpy (hs + hs_len, buf + off + 5, avail);
      hs_len += avail;
      off += 5 + avail;
      if (avail < rlen)
        break;
      /* Stop as soon as the ClientHello is complete: what follows may be
       * early data or anything else. */
      if (hs_len >= 4 && hs_len >= 4 + (size_t)get24 (hs + 1))
        break;
    }
  if (hs_len >= 1 && hs[0] != 1)
    return NET_SNIFF_NONE;
  if (hs_len < 4)
    return NET_SNIFF_MORE;
  size_t body = get24 (hs + 1);
  if (body + 4 > sizeof hs)
    return NET_SNIFF_NONE;
  if (hs_len < body + 4)
    return NET_SNIFF_MORE;
  return parse_client_hello (hs + 4, body, name, name_size);
}

static bool
tchar_p (uint8_t c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || strchr ("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Host value "name", "name:port", "[v6]" or "[v6]:port" -> name. */
static int
host_value (const char *v, size_t len, char *name, size_t name_size)
{
  size_t hlen = len;
  const char *h = v;

  if (len > 0 && v[0] == '[')
    {
      const char *close = memchr (v, ']', len);
      if (close == NULL)
        return NET_SNIFF_NONE;
      h = v + 1;
      hlen = (size_t)(close - h);
      if (hlen == 0 || memchr (h, ':', hlen) == NULL)
        return NET_SNIFF_NONE;
      v = close + 1;
      len -= (size_t)(v - (h - 1));
    }
  else
    {
      const char *colon = memchr (v, ':', len);
      if (colon != NULL)
        hlen = (size_t)(colon - v);
      v += hlen;
      len -= hlen;
    }
  /* Whatever follows the name is an optional ":digits". */
  if (len > 0)
    {
      if (v[0] != ':' || len > 6)
        return NET_SNIFF_NONE;
      for (size_t i = 1; i < len; i++)
        if (v[i] < '0' || v[i] > '9')
          return NET_SNIFF_NONE;
    }
  if (net_hostname_normalize (h, hlen, name, name_size) < 0)
    return NET_SNIFF_NONE;
  return NET_SNIFF_FOUND;
}

int
net_sniff_http_host (const uint8_t *buf, size_t len, char *name,
                     size_t name_size)
{
  const char *s = (const char *)buf;
  size_t i = 0, line_end;
  const char *host = NULL;
  size_t host_len = 0;
  int hosts = 0;

  if (name_size == 0)
    return NET_SNIFF_NONE;
  name[0] = '\0';
  /* Method: a token followed by one space. */
  while (i < len && tchar_p (buf[i]))
    i++;
  if (i == len)
    return i > 32 ? NET_SNIFF_NONE : NET_SNIFF_MORE;
  if (i == 0 || buf[i] != ' ')
    return NET_SNIFF_NONE;
  i++;
  /* origin-form only: absolute-form carries its own authority, which takes
   * precedence over Host; "*" and authority-form are not for origins. */
  if (i < len && buf[i] != '/')
    return NET_SNIFF_NONE;
  /* Rest of the request line. */
  for (;; i++)
    {
      if (i >= len)
        return len > 8192 ? NET_SNIFF_NONE : NET_SNIFF_MORE;
      if (buf[i] == '\n' || buf[i] == '\0')
        return NET_SNIFF_NONE;
      if (buf[i] == '\r')
        break;
    }
  if (i + 1 >= len)
    return NET_SNIFF_MORE;
  if (buf[i + 1] != '\n')
    return NET_SNIFF_NONE;
  line_end = i;
  /* The version: the line must end in " HTTP/1.x". */
  if (line_end < 9 || memcmp (s + line_end - 9, " HTTP/1.", 8) != 0)
    return NET_SNIFF_NONE;
  i += 2;
  /* Header fields up to the empty line. */
  for (;;)
    {
      size_t start = i, colon = 0, end;
      if (i >= len)
        return NET_SNIFF_MORE;
      if (buf[i] == '\r')
        {
          if (i + 1 >= len)
            return NET_SNIFF_MORE;
          if (buf[i + 1] != '\n')
            return NET_SNIFF_NONE;
          break;
        }
      if (buf[i] == ' ' || buf[i] == '\t')
        return NET_SNIFF_NONE; /* obs-fold */
      for (; i < len && buf[i] != '\r'; i++)
        {
          if (buf[i] == '\n' || buf[i] == '\0')
            return NET_SNIFF_NONE;
          if (colon == 0 && buf[i] == ':')
            colon = i;
          else if (colon == 0 && !tchar_p (buf[i]))
            return NET_SNIFF_NONE;
        }
      if (i + 1 >= len)
        return NET_SNIFF_MORE;
      if (buf[i + 1] != '\n' || colon == 0 || colon == start)
        return NET_SNIFF_NONE;
      end = i;
      i += 2;
      if (colon - start == 4 && strncasecmp (s + start, "host", 4) == 0)
        {
          size_t v = colon + 1;
          while (v < end && (buf[v] == ' ' || buf[v] == '\t'))
            v++;
          while (end > v && (buf[end - 1] == ' ' || buf[end - 1] == '\t'))
            end--;
          host = s + v;
          host_len = end - v;
          hosts++;
        }
    }
  if (hosts != 1)
    return NET_SNIFF_NONE;
  return host_value (host, host_len, name, name_size);
}
