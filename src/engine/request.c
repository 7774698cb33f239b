/* The engine guard's request side (request.h). */
#include "request.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *
status_text (int status)
{
  switch (status)
    {
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Error";
    }
}

/* JSON-escape s (bytes that are not valid UTF-8 are %-escaped so the
 * message stays a faithful, printable rendering of what was received). */
static int
json_escape (struct io_buf *b, const char *s)
{
  const unsigned char *p = (const unsigned char *)s;
  while (*p)
    {
      unsigned char c = *p;
      if (c == '"' || c == '\\')
        {
          char e[2] = { '\\', (char)c };
          if (io_buf_append (b, e, 2) < 0)
            return -1;
          p++;
        }
      else if (c < 0x20 || c == 0x7f)
        {
          if (io_buf_printf (b, "\\u%04x", c) < 0)
            return -1;
          p++;
        }
      else if (c < 0x80)
        {
          if (io_buf_append (b, p, 1) < 0)
            return -1;
          p++;
        }
      else
        {
          /* validate one UTF-8 sequence */
          int n = (c & 0xe0) == 0xc0   ? 2
                  : (c & 0xf0) == 0xe0 ? 3
                  : (c & 0xf8) == 0xf0 ? 4
                                       : 0;
          bool ok = n > 0 && c >= 0xc2;
          for (int i = 1; ok && i < n; i++)
            ok = (p[i] & 0xc0) == 0x80;
          if (ok)
            {
              if (io_buf_append (b, p, (size_t)n) < 0)
                return -1;
              p += n;
            }
          else
            {
              if (io_buf_printf (b, "%%%02X", c) < 0)
                return -1;
              p++;
            }
        }
    }
  return 0;
}

/* The complete HTTP answer for an error, the way the engine writes its
 * own: JSON body {"message": "..."}; to a HEAD request, the head alone
 * (a body there would be read as an answer nobody asked for). */
int
engine_error_answer (struct io_buf *out, int status, const char *message,
                     bool close, bool head)
{
  struct io_buf body = { 0 };
  int ret = -1;
  if (io_buf_append (&body, "{\"message\":\"", 12) < 0
      || json_escape (&body, message) < 0
      || io_buf_append (&body, "\"}\n", 3) < 0)
    goto done;
  if (io_buf_printf (out,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n%s\r\n",
                     status, status_text (status), body.len,
                     close ? "Connection: close\r\n" : "")
          < 0
      || (!head && io_buf_append (out, body.d + body.off, body.len) < 0))
    goto done;
  ret = 0;
done:
  io_buf_free (&body);
  return ret;
}

char *
engine_req_url (const struct engine_req *c)
{
  return strndup (c->hbuf.d ? c->hbuf.d + c->url_off : "", c->url_len);
}

static int
hbuf_add (struct engine_req *c, const char *at, size_t len)
{
  if (c->hbuf.len + len > c->max_head)
    {
      c->head_error = true;
      return -1;
    }
  return io_buf_append (&c->hbuf, at, len);
}

static int
on_req_begin (llhttp_t *p)
{
  struct engine_req *c = p->data;
  c->hbuf.len = 0;
  c->hbuf.off = 0;
  c->url_len = 0;
  c->n_headers = 0;
  c->in_value = false;
  c->in_head = true;
  c->method = -1;
  if (!c->head_started)
    {
      clock_gettime (CLOCK_MONOTONIC, &c->head_start);
      c->head_started = true;
    }
  return 0;
}

static int
on_req_url (llhttp_t *p, const char *at, size_t len)
{
  struct engine_req *c = p->data;
  /* known once the URL starts: a malformed head's answer to HEAD has no
   * body */
  c->method = p->method;
  if (c->url_len == 0)
    c->url_off = c->hbuf.len;
  c->url_len += len;
  return hbuf_add (c, at, len);
}

static int
on_req_hfield (llhttp_t *p, const char *at, size_t len)
{
  struct engine_req *c = p->data;
  if (c->in_value || c->n_headers == 0)
    {
      if (c->n_headers == ENGINE_REQ_MAX_HEADERS)
        {
          c->head_error = true;
          return -1;
        }
      c->hname_off[c->n_headers] = c->hbuf.len;
      c->hname_len[c->n_headers] = 0;
      c->hval_off[c->n_headers] = 0;
      c->hval_len[c->n_headers] = 0;
      c->n_headers++;
      c->in_value = false;
    }
  c->hname_len[c->n_headers - 1] += len;
  return hbuf_add (c, at, len);
}

static int
on_req_hvalue (llhttp_t *p, const char *at, size_t len)
{
  struct engine_req *c = p->data;
  size_t i = c->n_headers - 1;
  if (c->n_headers == 0)
    return -1;
  if (!c->in_value)
    {
      c->in_value = true;
      c->hval_off[i] = c->hbuf.len;
    }
  c->hval_len[i] += len;
  return hbuf_add (c, at, len);
}

static int
on_req_hvalue_complete (llhttp_t *p)
{
  struct engine_req *c = p->data;
  /* an empty value never calls on_header_value */
  if (!c->in_value && c->n_headers > 0)
    {
      c->in_value = true;
      c->hval_off[c->n_headers - 1] = c->hbuf.len;
    }
  return 0;
}

static int
on_req_headers_complete (llhttp_t *p)
{
  struct engine_req *c = p->data;
  c->method = p->method;
  c->http_major = p->http_major;
  c->http_minor = p->http_minor;
  c->chunked_in = (p->flags & F_CHUNKED) != 0;
  c->has_length = (p->flags & F_CONTENT_LENGTH) != 0;
  c->content_length = c->has_length ? p->content_length : 0;
  return HPE_PAUSED;
}

static int
on_req_message_complete (llhttp_t *p)
{
  (void)p;
  return HPE_PAUSED;
}

static bool
hdr_is (const struct engine_req *c, size_t i, const char *name)
{
  size_t n = strlen (name);
  return c->hname_len[i] == n
         && strncasecmp (c->hbuf.d + c->hname_off[i], name, n) == 0;
}

/* Re-serialise the head into out, without framing headers; the caller
 * adds them. */
int
engine_req_write_head (const struct engine_req *c, struct io_buf *out,
                       const char *uri)
{
  const char *m = llhttp_method_name ((llhttp_method_t)c->method);
  if (io_buf_printf (out, "%s ", m) < 0
      || (uri ? io_buf_append (out, uri, strlen (uri))
              : io_buf_append (out, c->hbuf.d + c->url_off, c->url_len))
             < 0
      || io_buf_printf (out, " HTTP/%d.%d\r\n", c->http_major, c->http_minor)
             < 0)
    return -1;
  for (size_t i = 0; i < c->n_headers; i++)
    {
      /* framing is re-done by the guard; Expect would have the engine
       * send 100-continue answers the guard does not relay. */
      if (hdr_is (c, i, "content-length") || hdr_is (c, i, "transfer-encoding")
          || hdr_is (c, i, "expect"))
        continue;
      if (io_buf_append (out, c->hbuf.d + c->hname_off[i], c->hname_len[i]) < 0
          || io_buf_append (out, ": ", 2) < 0
          || io_buf_append (out, c->hbuf.d + c->hval_off[i], c->hval_len[i])
                 < 0
          || io_buf_append (out, "\r\n", 2) < 0)
        return -1;
    }
  return 0;
}

static bool
tchar_p (unsigned char ch)
{
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
         || (ch >= '0' && ch <= '9') || strchr ("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* Header names must be RFC 9110 tokens and values free of control bytes:
 * what the guard re-serialises must parse the same way in the engine. */
bool
engine_req_headers_valid (const struct engine_req *c)
{
  for (size_t i = 0; i < c->n_headers; i++)
    {
      const unsigned char *n
          = (const unsigned char *)c->hbuf.d + c->hname_off[i];
      const unsigned char *v
          = (const unsigned char *)c->hbuf.d + c->hval_off[i];
      if (c->hname_len[i] == 0)
        return false;
      for (size_t j = 0; j < c->hname_len[i]; j++)
        if (n[j] == 0 || !tchar_p (n[j]))
          return false;
      for (size_t j = 0; j < c->hval_len[i]; j++)
        if ((v[j] < 0x20 && v[j] != '\t') || v[j] == 0x7f)
          return false;
    }
  return true;
}

/* Go's unicode.IsSpace beyond ASCII, as UTF-8 (strings.TrimSpace). */
static size_t
go_space_len (const unsigned char *s, size_t n)
{
  static const char *const sp[]
      = { "\xc2\x85",     "\xc2\xa0",     "\xe1\x9a\x80", "\xe2\x80\x80",
          "\xe2\x80\x81", "\xe2\x80\x82", "\xe2\x80\x83", "\xe2\x80\x84",
          "\xe2\x80\x85", "\xe2\x80\x86", "\xe2\x80\x87", "\xe2\x80\x88",
          "\xe2\x80\x89", "\xe2\x80\x8a", "\xe2\x80\xa8", "\xe2\x80\xa9",
          "\xe2\x80\xaf", "\xe2\x81\x9f", "\xe3\x80\x80" };
  if (n > 0 && s[0] != '\0' && strchr (" \t\n\v\f\r", s[0]) != NULL)
    return 1;
  for (size_t i = 0; i < sizeof sp / sizeof sp[0]; i++)
    {
      size_t l = strlen (sp[i]);
      if (n >= l && memcmp (s, sp[i], l) == 0)
        return l;
    }
  return 0;
}

/* Whether a Content-Type value's media type, as Go's mime.ParseMediaType
 * reads it (up to ';', strings.TrimSpace, strings.ToLower: U+0130 folds
 * to 'i', U+212A to 'k'), is one whose body net/http parses as form
 * fields. */
static bool
form_media_type_p (const char *v, size_t n)
{
  static const char *const forms[]
      = { "application/x-www-form-urlencoded", "multipart/form-data" };
  const unsigned char *s = (const unsigned char *)v;
  char t[64];
  size_t a = 0, b, k = 0, l;
  const char *semi = memchr (v, ';', n);
  b = semi ? (size_t)(semi - v) : n;
  while (a < b && (l = go_space_len (s + a, b - a)) > 0)
    a += l;
  for (bool more = true; more;)
    {
      more = false;
      for (l = 1; l <= 3 && l <= b - a; l++)
        if (go_space_len (s + b - l, l) == l)
          {
            b -= l;
            more = true;
            break;
          }
    }
  for (size_t i = a; i < b && k < sizeof t - 1;)
    {
      if (b - i >= 2 && s[i] == 0xc4 && s[i + 1] == 0xb0)
        t[k++] = 'i', i += 2;
      else if (b - i >= 3 && memcmp (s + i, "\xe2\x84\xaa", 3) == 0)
        t[k++] = 'k', i += 3;
      else
        t[k++] = (char)tolower (s[i++]);
    }
  t[k] = '\0';
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
    if (strcmp (t, forms[i]) == 0)
      return true;
  return false;
}

char *
engine_req_form_type (const struct engine_req *c)
{
  for (size_t i = 0; i < c->n_headers; i++)
    if (hdr_is (c, i, "content-type")
        && form_media_type_p (c->hbuf.d + c->hval_off[i], c->hval_len[i]))
      return strndup (c->hbuf.d + c->hval_off[i], c->hval_len[i]);
  return NULL;
}

bool
engine_req_has_body (const struct engine_req *r)
{
  return r->chunked_in || r->content_length > 0;
}

static llhttp_settings_t settings;
static pthread_once_t settings_once = PTHREAD_ONCE_INIT;

static int
on_req_body (llhttp_t *p, const char *at, size_t len)
{
  struct engine_req *r = p->data;
  return r->on_body ? r->on_body (r->owner, at, len) : 0;
}

static void
settings_init (void)
{
  llhttp_settings_init (&settings);
  settings.on_message_begin = on_req_begin;
  settings.on_url = on_req_url;
  settings.on_header_field = on_req_hfield;
  settings.on_header_value = on_req_hvalue;
  settings.on_header_value_complete = on_req_hvalue_complete;
  settings.on_headers_complete = on_req_headers_complete;
  settings.on_body = on_req_body;
  settings.on_message_complete = on_req_message_complete;
}

void
engine_req_init (struct engine_req *r, size_t max_head,
                 engine_req_body_fn on_body, void *owner)
{
  pthread_once (&settings_once, settings_init);
  memset (r, 0, sizeof *r);
  r->max_head = max_head;
  r->on_body = on_body;
  r->owner = owner;
  r->method = -1;
  llhttp_init (&r->p, HTTP_REQUEST, &settings);
  r->p.data = r;
}

void
engine_req_next (struct engine_req *r)
{
  llhttp_init (&r->p, HTTP_REQUEST, &settings);
  r->p.data = r;
  r->in_head = false;
}

void
engine_req_free (struct engine_req *r)
{
  io_buf_free (&r->hbuf);
}
