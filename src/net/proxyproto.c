#include "proxyproto.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static size_t
base64 (const uint8_t *in, size_t n, char *out)
{
  static const char tbl[]
      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3)
    {
      uint32_t v = (uint32_t)in[i] << 16;
      if (i + 1 < n)
        v |= (uint32_t)in[i + 1] << 8;
      if (i + 2 < n)
        v |= in[i + 2];
      out[o++] = tbl[(v >> 18) & 63];
      out[o++] = tbl[(v >> 12) & 63];
      out[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
      out[o++] = i + 2 < n ? tbl[v & 63] : '=';
    }
  out[o] = '\0';
  return o;
}

int
net_http_proxy_auth (char *buf, size_t size, const char *user,
                     const char *pass)
{
  uint8_t cred[512];
  size_t ul = strlen (user), pl = pass ? strlen (pass) : 0;
  /* base64 of cred, the header name and CRLF, NUL */
  if (ul + pl + 1 > sizeof cred || strchr (user, ':') != NULL
      || size < 27 + (ul + pl + 3) / 3 * 4 + 3)
    return -1;
  memcpy (cred, user, ul);
  cred[ul] = ':';
  if (pl)
    memcpy (cred + ul + 1, pass, pl);
  memcpy (buf, "Proxy-Authorization: Basic ", 27);
  size_t o = 27 + base64 (cred, ul + pl + 1, buf + 27);
  memcpy (buf + o, "\r\n", 3);
  return (int)o + 2;
}

int
net_http_connect_request (char *buf, size_t size, const char *host,
                          uint16_t port, const char *user, const char *pass)
{
  char auth[700] = "";
  const char *lb = strchr (host, ':') ? "[" : "", *rb = *lb ? "]" : "";
  int n;

  if (strpbrk (host, "\r\n ") != NULL)
    return -1;
  if (user != NULL && net_http_proxy_auth (auth, sizeof auth, user, pass) < 0)
    return -1;
  n = snprintf (buf, size,
                "CONNECT %s%s%s:%u HTTP/1.1\r\nHost: %s%s%s:%u\r\n%s\r\n", lb,
                host, rb, port, lb, host, rb, port, auth);
  if (n < 0 || (size_t)n >= size)
    return -1;
  return n;
}

int
net_http_connect_response (const uint8_t *buf, size_t len, size_t max_head,
                           size_t *head_len, int *status)
{
  const char *s = (const char *)buf;
  size_t i;

  /* "HTTP/1.x NNN" */
  for (i = 0; i < len && i < 12; i++)
    {
      static const char pre[] = "HTTP/1.";
      char c = s[i];
      if (i < 7 && c != pre[i])
        return -1;
      if (i == 7 && (c < '0' || c > '9'))
        return -1;
      if (i == 8 && c != ' ')
        return -1;
      if (i > 8 && (c < '0' || c > '9'))
        return -1;
    }
  for (i = 3; i < len; i++)
    if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n'
        && buf[i - 3] == '\r')
      {
        if (i < 12)
          return -1;
        *head_len = i + 1;
        *status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
        return 1;
      }
  return len >= max_head ? -1 : 0;
}

size_t
net_socks5_greeting (uint8_t *buf, int with_auth)
{
  buf[0] = 5;
  if (with_auth)
    {
      buf[1] = 2;
      buf[2] = 0;
      buf[3] = 2;
      return 4;
    }
  buf[1] = 1;
  buf[2] = 0;
  return 3;
}

int
net_socks5_auth (uint8_t *buf, size_t size, const char *user, const char *pass)
{
  size_t ul = strlen (user), pl = pass ? strlen (pass) : 0;
  if (ul == 0 || ul > 255 || pl > 255 || 3 + ul + pl > size)
    return -1;
  buf[0] = 1;
  buf[1] = (uint8_t)ul;
  memcpy (buf + 2, user, ul);
  buf[2 + ul] = (uint8_t)pl;
  if (pl)
    memcpy (buf + 3 + ul, pass, pl);
  return (int)(3 + ul + pl);
}

int
net_socks5_request (uint8_t *buf, size_t size, const char *host,
                    const struct net_addr *addr, uint16_t port)
{
  size_t o = 4;
  if (size < 4 + 1 + 255 + 2)
    return -1;
  buf[0] = 5;
  buf[1] = 1; /* CONNECT */
  buf[2] = 0;
  if (host != NULL)
    {
      size_t l = strlen (host);
      if (l == 0 || l > 255)
        return -1;
      buf[3] = 3;
      buf[o++] = (uint8_t)l;
      memcpy (buf + o, host, l);
      o += l;
    }
  else if (addr->family == AF_INET)
    {
      buf[3] = 1;
      memcpy (buf + o, addr->a, 4);
      o += 4;
    }
  else
    {
      buf[3] = 4;
      memcpy (buf + o, addr->a, 16);
      o += 16;
    }
  buf[o++] = (uint8_t)(port >> 8);
  buf[o++] = (uint8_t)port;
  return (int)o;
}

int
net_socks5_reply (const uint8_t *buf, size_t len, size_t *reply_len, int *rep)
{
  size_t need;
  if (len < 5)
    return len >= 1 && buf[0] != 5 ? -1 : 0;
  if (buf[0] != 5 || buf[2] != 0)
    return -1;
  switch (buf[3])
    {
    case 1:
      need = 4 + 4 + 2;
      break;
    case 4:
      need = 4 + 16 + 2;
      break;
    case 3:
      need = 4 + 1 + (size_t)buf[4] + 2;
      break;
    default:
      return -1;
    }
  if (len < need)
    return 0;
  *reply_len = need;
  *rep = buf[1];
  return 1;
}

int
net_socks4_request (uint8_t *buf, size_t size, const char *host,
                    const struct net_addr *addr, uint16_t port,
                    const char *user)
{
  size_t ul = user ? strlen (user) : 0, hl = host ? strlen (host) : 0;
  size_t o = 8;

  if (host == NULL && addr->family != AF_INET)
    return -1;
  if (ul > 255 || hl > 255 || 8 + ul + 1 + (host ? hl + 1 : 0) > size)
    return -1;
  buf[0] = 4;
  buf[1] = 1; /* CONNECT */
  buf[2] = (uint8_t)(port >> 8);
  buf[3] = (uint8_t)port;
  if (host != NULL)
    {
      /* SOCKS4a: 0.0.0.x says "the name follows" */
      buf[4] = buf[5] = buf[6] = 0;
      buf[7] = 1;
    }
  else
    memcpy (buf + 4, addr->a, 4);
  if (ul)
    memcpy (buf + o, user, ul);
  o += ul;
  buf[o++] = 0;
  if (host != NULL)
    {
      memcpy (buf + o, host, hl);
      o += hl;
      buf[o++] = 0;
    }
  return (int)o;
}

int
net_socks4_reply (const uint8_t *buf, size_t len, int *granted)
{
  if (len >= 1 && buf[0] != 0)
    return -1;
  if (len < 8)
    return 0;
  *granted = buf[1] == 90;
  return 1;
}
