#include "httpfwd.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "net/proxyproto.h"
#include "common/strutil.h"

static ssize_t
fail (struct net_httpfwd *f, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (f->error, sizeof f->error, fmt, ap);
  va_end (ap);
  f->state = HF_FAILED;
  return -1;
}

static bool
tchar_p (uint8_t c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
         || (c >= 'A' && c <= 'Z')
         || (c != 0 && strchr ("!#$%&'*+-.^_`|~", c));
}

/* Field-value bytes: visible ASCII, SP, HTAB, obs-text. */
static bool
vchar_p (uint8_t c)
{
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool
ieq (const uint8_t *p, size_t n, const char *s)
{
  return strlen (s) == n && strncasecmp ((const char *)p, s, n) == 0;
}

static void
trim (const uint8_t **p, size_t *n)
{
  while (*n > 0 && (**p == ' ' || **p == '\t'))
    (*p)++, (*n)--;
  while (*n > 0 && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
    (*n)--;
}

static size_t
find_crlf (const uint8_t *p, size_t from, size_t n)
{
  for (size_t i = from; i + 1 < n; i++)
    if (p[i] == '\r' && p[i + 1] == '\n')
      return i;
  return n;
}

int
net_httpfwd_init (struct net_httpfwd *f, const char *host, uint16_t port,
                  const char *user, const char *pass)
{
  const char *lb = strchr (host, ':') ? "[" : "", *rb = *lb ? "]" : "";
  int n;

  memset (f, 0, offsetof (struct net_httpfwd, head));
  f->state = HF_HEAD;
  if (host[0] == '\0')
    return -1;
  /* A host name or an address: nothing that could end the authority or
   * the request line early. */
  for (const char *p = host; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
          || (*p >= '0' && *p <= '9') || strchr ("-._:", *p) != NULL))
      return -1;
  if (port == 80)
    n = snprintf (f->authority, sizeof f->authority, "%s%s%s", lb, host, rb);
  else
    n = snprintf (f->authority, sizeof f->authority, "%s%s%s:%u", lb, host, rb,
                  port);
  if (n < 0 || (size_t)n >= sizeof f->authority)
    return -1;
  if (user != NULL
      && net_http_proxy_auth (f->auth, sizeof f->auth, user, pass) < 0)
    return -1;
  return 0;
}

static bool
put (struct net_httpfwd *f, const void *p, size_t n)
{
  if (n > sizeof f->outq - f->outq_len)
    return false;
  memcpy (f->outq + f->outq_len, p, n);
  f->outq_len += n;
  return true;
}

static ssize_t
check_connection (struct net_httpfwd *f, const uint8_t *v, size_t n)
{
  size_t s = 0;
  for (size_t i = 0; i <= n; i++)
    if (i == n || v[i] == ',')
      {
        const uint8_t *t = v + s;
        size_t tl = i - s;
        trim (&t, &tl);
        /* A proxy may drop the headers Connection names before it frames
         * the request: the framing headers must stay where we saw them. */
        if (ieq (t, tl, "content-length") || ieq (t, tl, "transfer-encoding"))
          return fail (f, "Connection header names a framing header");
        s = i + 1;
      }
  return 0;
}

/* The complete head in f->head: check it and queue its absolute-form
 * rewrite. */
static ssize_t
rewrite (struct net_httpfwd *f)
{
  const uint8_t *h = f->head;
  size_t n = f->head_len, eol = find_crlf (h, 0, n), j = 0, t, k, pos;
  long long cl = -1;
  bool chunked = false, http10;

  while (j < eol && tchar_p (h[j]))
    j++;
  if (j == 0 || j > 32 || j >= eol || h[j] != ' ')
    return fail (f, "not an HTTP/1.x request line");
  t = j + 1;
  if (t >= eol || h[t] != '/')
    return fail (f, "request target is not in origin form");
  for (k = t; k < eol && h[k] > 0x20 && h[k] < 0x7f; k++)
    ;
  if (k >= eol || h[k] != ' ' || eol - (k + 1) != 8)
    return fail (f, "not an HTTP/1.x request line");
  if (memcmp (h + k + 1, "HTTP/1.1", 8) == 0)
    http10 = false;
  else if (memcmp (h + k + 1, "HTTP/1.0", 8) == 0)
    http10 = true;
  else
    return fail (f, "not an HTTP/1.0 or HTTP/1.1 request");

  f->outq_len = f->outq_off = 0;
  if (!put (f, h, j + 1) || !put (f, "http://", 7)
      || !put (f, f->authority, strlen (f->authority))
      || !put (f, h + t, eol + 2 - t) || !put (f, f->auth, strlen (f->auth)))
    return fail (f, "request head too large");

  for (pos = eol + 2; pos + 2 < n; pos = eol + 2)
    {
      const uint8_t *line = h + pos, *v;
      size_t ll, nl = 0, vl;
      eol = find_crlf (h, pos, n);
      ll = eol - pos;
      if (line[0] == ' ' || line[0] == '\t')
        return fail (f, "obsolete line folding");
      while (nl < ll && tchar_p (line[nl]))
        nl++;
      if (nl == 0 || nl == ll || line[nl] != ':')
        return fail (f, "malformed header field");
      for (size_t i = nl + 1; i < ll; i++)
        if (!vchar_p (line[i]))
          return fail (f, "control character in a header field");
      v = line + nl + 1;
      vl = ll - nl - 1;
      trim (&v, &vl);
      if (ieq (line, nl, "content-length"))
        {
          if (cl >= 0)
            return fail (f, "several Content-Length fields");
          if (vl == 0 || vl > 18)
            return fail (f, "bad Content-Length");
          cl = 0;
          for (size_t i = 0; i < vl; i++)
            {
              if (v[i] < '0' || v[i] > '9')
                return fail (f, "bad Content-Length");
              cl = cl * 10 + (v[i] - '0');
            }
        }
      else if (ieq (line, nl, "transfer-encoding"))
        {
          if (chunked || !ieq (v, vl, "chunked"))
            return fail (f, "Transfer-Encoding other than one \"chunked\"");
          chunked = true;
        }
      else if (ieq (line, nl, "upgrade"))
        return fail (f, "HTTP Upgrade is not relayed through a forward "
                        "proxy");
      else if (ieq (line, nl, "connection") && check_connection (f, v, vl) < 0)
        return -1;
      /* Only the configured credentials reach the proxy. */
      if (ieq (line, nl, "proxy-authorization"))
        continue;
      if (!put (f, line, ll + 2))
        return fail (f, "request head too large");
    }
  if (chunked && (cl >= 0 || http10))
    return fail (f, chunked && cl >= 0
                        ? "both Content-Length and Transfer-Encoding"
                        : "chunked HTTP/1.0 request");
  if (!put (f, "\r\n", 2))
    return fail (f, "request head too large");
  f->requests++;
  if (chunked)
    f->state = HF_CHUNK_SIZE;
  else if (cl > 0)
    {
      f->state = HF_BODY;
      f->remain = (uint64_t)cl;
    }
  else
    f->state = HF_HEAD;
  return 0;
}

/* A complete line (ending in CRLF) in f->line for the chunk states. */
static ssize_t
chunk_line (struct net_httpfwd *f)
{
  const uint8_t *l = f->line;
  size_t n = f->line_len - 2, i = 0;
  uint64_t size = 0;

  switch (f->state)
    {
    case HF_CHUNK_CRLF:
      if (n != 0)
        return fail (f, "chunk data not followed by CRLF");
      f->state = HF_CHUNK_SIZE;
      break;
    case HF_CHUNK_SIZE:
      for (; i < n && hex_digit_value ((char)l[i]) >= 0; i++)
        {
          if (i == 15)
            return fail (f, "chunk size too large");
          size = size * 16 + (uint64_t)hex_digit_value ((char)l[i]);
        }
      if (i == 0)
        return fail (f, "bad chunk size");
      while (i < n && (l[i] == ' ' || l[i] == '\t'))
        i++;
      if (i < n && l[i] != ';')
        return fail (f, "bad chunk size");
      for (; i < n; i++)
        if (!(l[i] == '\t' || (l[i] >= 0x20 && l[i] < 0x7f)))
          return fail (f, "bad chunk extension");
      if (size == 0)
        f->state = HF_TRAILER;
      else
        {
          f->state = HF_CHUNK_DATA;
          f->remain = size;
        }
      break;
    case HF_TRAILER:
      if (n == 0)
        {
          f->state = HF_HEAD;
          break;
        }
      while (i < n && tchar_p (l[i]))
        i++;
      if (i == 0 || i == n || l[i] != ':')
        return fail (f, "malformed trailer field");
      for (i++; i < n; i++)
        if (!vchar_p (l[i]))
          return fail (f, "control character in a trailer field");
      break;
    default:
      return fail (f, "internal state");
    }
  if (!put (f, l, f->line_len))
    return fail (f, "internal: output queue full");
  f->line_len = 0;
  return 0;
}

ssize_t
net_httpfwd_feed (struct net_httpfwd *f, const uint8_t *in, size_t len,
                  uint8_t *out, size_t out_cap, size_t *out_len)
{
  size_t i = 0;

  *out_len = 0;
  if (f->state == HF_FAILED)
    return -1;
  for (;;)
    {
      if (f->outq_off < f->outq_len)
        {
          size_t n = f->outq_len - f->outq_off;
          if (n > out_cap - *out_len)
            n = out_cap - *out_len;
          memcpy (out + *out_len, f->outq + f->outq_off, n);
          f->outq_off += n;
          *out_len += n;
          if (f->outq_off < f->outq_len)
            return (ssize_t)i;
        }
      f->outq_off = f->outq_len = 0;
      if (i == len)
        return (ssize_t)i;
      switch (f->state)
        {
        case HF_HEAD:
          {
            uint8_t b = in[i++];
            size_t hl = f->head_len;
            if (b == '\n' && (hl == 0 || f->head[hl - 1] != '\r'))
              return fail (f, "bare LF in a request head");
            if (hl > 0 && f->head[hl - 1] == '\r' && b != '\n')
              return fail (f, "bare CR in a request head");
            if (hl == sizeof f->head)
              return fail (f, "request head larger than %u bytes",
                           (unsigned)sizeof f->head);
            f->head[f->head_len++] = b;
            /* An empty line before a request is ignored (RFC 9112
             * §2.2): some clients send CRLF after a body. */
            if (f->head_len == 2 && f->head[0] == '\r')
              f->head_len = 0;
            else if (f->head_len >= 4
                     && memcmp (f->head + f->head_len - 4, "\r\n\r\n", 4) == 0)
              {
                if (rewrite (f) < 0)
                  return -1;
                f->head_len = 0;
              }
            break;
          }
        case HF_BODY:
        case HF_CHUNK_DATA:
          {
            size_t n = len - i;
            if (n > f->remain)
              n = (size_t)f->remain;
            if (n > out_cap - *out_len)
              n = out_cap - *out_len;
            if (n == 0)
              return (ssize_t)i; /* out is full */
            memcpy (out + *out_len, in + i, n);
            *out_len += n;
            i += n;
            f->remain -= n;
            if (f->remain == 0)
              f->state = f->state == HF_BODY ? HF_HEAD : HF_CHUNK_CRLF;
            break;
          }
        case HF_CHUNK_SIZE:
        case HF_CHUNK_CRLF:
        case HF_TRAILER:
          {
            uint8_t b = in[i++];
            size_t ll = f->line_len;
            if (b == '\n' && (ll == 0 || f->line[ll - 1] != '\r'))
              return fail (f, "bare LF in chunked framing");
            if (ll > 0 && f->line[ll - 1] == '\r' && b != '\n')
              return fail (f, "bare CR in chunked framing");
            if (ll == sizeof f->line)
              return fail (f, "chunked framing line too long");
            f->line[f->line_len++] = b;
            if (b == '\n' && chunk_line (f) < 0)
              return -1;
            break;
          }
        case HF_FAILED:
          return -1;
        }
    }
}
