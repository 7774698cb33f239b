/* The extensions' origins (docs/extensions.md, "The UI"): each
 * installed extension's UI on http://<name>.ext.localhost:PORT/, its
 * ddClient script, the ticket-for-token trade and the SDK calls; and the
 * dashboard's side of it (the list, the tickets).
 *
 * Authentication of an SDK call, all of which must hold:
 *  - the token (X-Moat-Token, a custom header: a cross-origin page cannot
 *    send it without a CORS preflight, which is never granted) is known,
 *    unexpired, and bound to this origin's extension and its current
 *    storage generation;
 *  - the connection comes from a process of the token's uid (as the
 *    dashboard's session cookie, src/web/peer.c);
 *  - Origin is exactly this origin, and Sec-Fetch-Site, when sent, is
 *    same-origin.
 * No cookie is used on these origins: <a>.ext.localhost and
 * <b>.ext.localhost are one site (localhost has no public suffix), and in
 * the dashboard's frame a SameSite cookie would not be sent anyway. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "internal.h"
#include "parse.h"

#define PREFIX "enhanced container isolation: "
#define TOKEN_TTL_US (8ull * 3600 * 1000000) /* as a dashboard session */
#define API_PREFIX "/.moat/"

static bool
tok_equal (const char *stored, const char *given)
{
  unsigned char diff = 0;
  if (strnlen (given, WEB_TOKEN_LEN + 1) != WEB_TOKEN_LEN)
    return false;
  for (size_t i = 0; i < WEB_TOKEN_LEN; i++)
    diff |= (unsigned char)(stored[i] ^ given[i]);
  return diff == 0;
}

/* Index of tok in t (every entry compared, no early exit), or -1. */
static int
tok_find (struct web_ext_token *t, size_t n, const char *tok, uint64_t now)
{
  int found = -1;
  for (size_t i = 0; i < n; i++)
    if (t[i].tok[0] != '\0' && tok_equal (t[i].tok, tok)
        && t[i].expires_us > now)
      found = (int)i;
  return found;
}

/* A new entry in t: a free one, else the one closest to expiry. */
static struct web_ext_token *
tok_new (struct web_ext_token *t, size_t n, uid_t uid, const char *name,
         const char *gen, uint64_t expires)
{
  size_t pick = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (t[i].tok[0] == '\0' || t[i].expires_us < io_now_us ())
        {
          pick = i;
          break;
        }
      if (t[i].expires_us < t[pick].expires_us)
        pick = i;
    }
  if (web_token (t[pick].tok) < 0)
    return NULL;
  t[pick].uid = uid;
  snprintf (t[pick].name, sizeof t[pick].name, "%s", name);
  snprintf (t[pick].gen, sizeof t[pick].gen, "%s", gen);
  t[pick].expires_us = expires;
  return &t[pick];
}

static void
reply_json (struct web_conn *c, int status, json_t *o)
{
  web_reply_json (c, status, o);
}

/* A refused call: answered with the contract's prefix, and audited. */
static void
refuse (struct web_conn *c, int status, const char *name, const char *call,
        const char *why)
{
  const struct web_ops *ops = &c->w->ops;
  cleanup_free char *m = NULL;
  if (asprintf (&m, PREFIX "extension %s: %s", name, why) < 0)
    m = NULL;
  if (ops->ext_audit != NULL)
    ops->ext_audit (ops->ctx, c->peer_known ? c->peer_uid : (uid_t)-1, name,
                    call, why);
  web_reply_error (c, status, m ? m : why);
}

/* ---- the dashboard's side ---- */

bool
web_ext_dashboard (struct web_conn *c, const char *path, uid_t uid, bool post)
{
  const struct web_ops *ops = &c->w->ops;
  static const char pre[] = "/api/extensions/";
  char name[64];
  const char *rest;
  size_t n;
  json_t *info;
  struct web_ext_token *t;

  if (strcmp (path, "/api/extensions") == 0 && !post)
    {
      json_t *list = ops->ext_list ? ops->ext_list (ops->ctx) : json_array ();
      size_t i;
      json_t *e;
      json_array_foreach (list, i, e)
      {
        char origin[128];
        snprintf (origin, sizeof origin, "http://%s.ext.localhost:%u",
                  json_string_value (json_object_get (e, "name")), c->w->port);
        json_object_set_new (e, "origin", json_string (origin));
        json_object_del (e, "generation");
      }
      reply_json (c, 200, list);
      return true;
    }
  if (strncmp (path, pre, sizeof pre - 1) != 0)
    return false;
  rest = path + sizeof pre - 1;
  n = strcspn (rest, "/");
  if (!post || n == 0 || n >= sizeof name || strcmp (rest + n, "/ticket") != 0)
    return false;
  memcpy (name, rest, n);
  name[n] = '\0';
  info = ops->ext_info ? ops->ext_info (ops->ctx, name) : NULL;
  if (info == NULL)
    {
      web_reply_error (c, 404, "no such extension");
      return true;
    }
  /* one minute to be traded, by the frame the dashboard just made */
  t = tok_new (c->w->ext_tickets, WEB_EXT_TICKETS, uid, name,
               json_string_value (json_object_get (info, "generation")),
               io_now_us () + 60ull * 1000000);
  json_decref (info);
  if (t == NULL)
    web_reply_error (c, 500, "no randomness for a ticket");
  else
    reply_json (c, 200, json_pack ("{s:s}", "ticket", t->tok));
  return true;
}

/* ---- the extension's origin ---- */

/* Percent-decode a path; -1 on a bad escape or a NUL. */
static int
path_decode (const char *in, char *out, size_t len)
{
  size_t o = 0;
  for (size_t i = 0; in[i] != '\0'; i++)
    {
      char ch = in[i];
      if (ch == '%')
        {
          int hi = hex_digit_value (in[i + 1]), lo;
          if (hi < 0 || (lo = hex_digit_value (in[i + 2])) < 0)
            return -1;
          ch = (char)(hi * 16 + lo);
          i += 2;
          if (ch == '\0')
            return -1;
        }
      if (o + 1 >= len)
        return -1;
      out[o++] = ch;
    }
  out[o] = '\0';
  return 0;
}

/* The ddClient script tag goes before anything else of an HTML page:
 * after a leading doctype, or first. */
static size_t
inject_at (const char *b, size_t len)
{
  size_t i = 0;
  if (len >= 3 && (unsigned char)b[0] == 0xef && (unsigned char)b[1] == 0xbb
      && (unsigned char)b[2] == 0xbf)
    i = 3;
  while (i < len
         && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
    i++;
  if (len - i >= 9 && strncasecmp (b + i, "<!doctype", 9) == 0)
    {
      const char *gt = memchr (b + i, '>', len - i);
      if (gt != NULL)
        return (size_t)(gt - b) + 1;
    }
  return 0;
}

static const char *
ctype_of (const char *rel)
{
  static const struct
  {
    const char *suffix, *ctype;
  } types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".htm", "text/html; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".mjs", "text/javascript; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".json", "application/json" },
    { ".map", "application/json" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".jpg", "image/jpeg" },
    { ".jpeg", "image/jpeg" },
    { ".gif", "image/gif" },
    { ".webp", "image/webp" },
    { ".ico", "image/x-icon" },
    { ".woff", "font/woff" },
    { ".woff2", "font/woff2" },
    { ".ttf", "font/ttf" },
    { ".txt", "text/plain; charset=utf-8" },
    { ".wasm", "application/wasm" },
  };
  size_t n = strlen (rel);
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    {
      size_t s = strlen (types[i].suffix);
      if (n > s && strcasecmp (rel + n - s, types[i].suffix) == 0)
        return types[i].ctype;
    }
  return "application/octet-stream";
}

static void
serve_file (struct web_conn *c, const char *name, const char *rel)
{
  const struct web_ops *ops = &c->w->ops;
  static const char tag[] = "<script src=\"/.moat/ddclient.js\"></script>";
  cleanup_close int fd = -1;
  cleanup_free char *buf = NULL;
  size_t size = 0, got = 0;
  const char *ctype;

  if (ops->ext_open (ops->ctx, name, rel, &fd, &size) < 0)
    {
      web_reply_error (c, errno == EFBIG ? 413 : 404,
                       errno == EFBIG ? "file too large" : "no such file");
      return;
    }
  ctype = ctype_of (rel);
  if ((buf = malloc (size + sizeof tag)) == NULL)
    {
      web_reply_error (c, 500, "out of memory");
      return;
    }
  while (got < size)
    {
      ssize_t n = read (fd, buf + got, size - got);
      if (n <= 0)
        break;
      got += (size_t)n;
    }
  if (strncmp (ctype, "text/html", 9) == 0)
    {
      size_t at = inject_at (buf, got);
      memmove (buf + at + sizeof tag - 1, buf + at, got - at);
      memcpy (buf + at, tag, sizeof tag - 1);
      got += sizeof tag - 1;
    }
  web_reply (c, 200, ctype, NULL, buf, got);
}

/* /.moat/ddclient.js: the SDK (assets/ddclient.js) with this origin's
 * settings. */
static void
serve_ddclient (struct web_conn *c, const char *name, json_t *info)
{
  const struct web_asset *a = web_asset_find ("ddclient.js");
  cleanup_free char *js = NULL;
  int n;
  if (a == NULL)
    {
      web_reply_error (c, 404, "no such file");
      return;
    }
  n = asprintf (&js,
                "\"use strict\";\n(function (MOAT) {\n%.*s\n})({name: \"%s\", "
                "generation: \"%s\", dashboard: \"http://127.0.0.1:%u\"});\n",
                (int)a->len, (const char *)a->data, name,
                json_string_value (json_object_get (info, "generation")),
                c->w->port);
  if (n < 0)
    {
      js = NULL;
      web_reply_error (c, 500, "out of memory");
      return;
    }
  web_reply (c, 200, "text/javascript; charset=utf-8", NULL, js, (size_t)n);
}

/* The origin rules of an SDK request; answers and returns false when
 * they fail. */
static bool
sdk_origin (struct web_conn *c, const char *name, const char *call)
{
  if (c->origin[0] == '\0' || !web_origin_ok (c->origin, c->host))
    {
      refuse (c, 403, name, call,
              "an SDK call needs an Origin header of the extension's own "
              "origin");
      return false;
    }
  if (c->fetch_site[0] != '\0' && strcmp (c->fetch_site, "same-origin") != 0)
    {
      refuse (c, 403, name, call, "cross-site request");
      return false;
    }
  if (strncasecmp (c->ctype, "application/json", 16) != 0)
    {
      refuse (c, 415, name, call, "an SDK call has a JSON body");
      return false;
    }
  return true;
}

static void
sdk_session (struct web_conn *c, const char *name, json_t *info)
{
  json_t *body;
  const char *ticket;
  int i;
  struct web_ext_token tk, *t;
  uint64_t now = io_now_us ();

  if (!sdk_origin (c, name, "session"))
    return;
  body = json_loadb (io_buf_data (&c->body), io_buf_len (&c->body), 0, NULL);
  ticket = json_string_value (json_object_get (body, "ticket"));
  i = ticket != NULL
          ? tok_find (c->w->ext_tickets, WEB_EXT_TICKETS, ticket, now)
          : -1;
  if (i < 0)
    {
      json_decref (body);
      refuse (c, 403, name, "session", "unknown, expired or used ticket");
      return;
    }
  tk = c->w->ext_tickets[i];
  memset (&c->w->ext_tickets[i], 0, sizeof c->w->ext_tickets[i]); /* once */
  json_decref (body);
  if (strcmp (tk.name, name) != 0)
    {
      refuse (c, 403, name, "session",
              "the ticket was issued for another extension");
      return;
    }
  if (strcmp (tk.gen, json_string_value (json_object_get (info, "generation")))
      != 0)
    {
      refuse (c, 403, name, "session",
              "the ticket was issued for an earlier install");
      return;
    }
  if (!c->peer_known || c->peer_uid != tk.uid)
    {
      refuse (c, 403, name, "session", "the ticket belongs to another user");
      return;
    }
  t = tok_new (c->w->ext_tokens, WEB_EXT_TOKENS, tk.uid, name, tk.gen,
               now + TOKEN_TTL_US);
  if (t == NULL)
    {
      web_reply_error (c, 500, "no randomness for a token");
      return;
    }
  reply_json (
      c, 200,
      json_pack ("{s:s, s:I}", "token", t->tok, "uid", (json_int_t)tk.uid));
}

static const char *const known_calls[] = {
  "vm.service",      "vm.cli.exec",           "host.cli.exec",
  "docker.cli.exec", "docker.listContainers", "docker.listImages",
};

/* A streamed exec call: 200 at once, then newline-delimited JSON frames
 * ({"stdout"}, {"stderr"}, and last {"exit"} or {"error"}) until the run
 * ends; the connection closes after the last (the body is delimited by
 * the close).  Closing it first cancels the run. */
static void
sdk_stream (struct web_conn *c, const char *name, uid_t uid, json_t *body,
            const char *call)
{
  const struct web_ops *ops = &c->w->ops;
  uint64_t tag;

  if (strcmp (call, "host.cli.exec") != 0
      && strcmp (call, "docker.cli.exec") != 0
      && strcmp (call, "vm.cli.exec") != 0)
    {
      refuse (c, 400, name, call,
              "only host.cli.exec, docker.cli.exec and vm.cli.exec are "
              "streamed");
      return;
    }
  tag = ++c->w->next_tag;
  if (ops->ext_stream == NULL
      || ops->ext_stream (ops->ctx, uid, name, body, tag) < 0)
    {
      web_reply_error (c, 429,
                       PREFIX "extensions: too many streamed calls; close "
                              "one and try again");
      return;
    }
  if (io_buf_printf (&c->out,
                     "HTTP/1.1 200 OK\r\n"
                     "Content-Type: application/x-ndjson\r\n"
                     "Cache-Control: no-store\r\n"
                     "X-Content-Type-Options: nosniff\r\n"
                     "Referrer-Policy: no-referrer\r\n"
                     "Content-Security-Policy: default-src 'self'; "
                     "frame-ancestors http://127.0.0.1:%u\r\n"
                     "Cross-Origin-Resource-Policy: same-origin\r\n"
                     "Connection: close\r\n\r\n",
                     c->w->port)
      < 0)
    {
      if (ops->ext_stream_closed != NULL)
        ops->ext_stream_closed (ops->ctx, tag);
      c->closing = true;
      return;
    }
  c->xstream = tag;
  io_timer_cancel (c->w->l, &c->t); /* its life is the run's */
}

int
web_ext_stream_push (struct web *w, uint64_t tag, const char *data, size_t len,
                     bool end)
{
  for (struct web_conn *c = w->conns; c != NULL; c = c->next)
    if (c->xstream == tag && c->h.fd >= 0)
      {
        if (len > 0 && io_buf_append (&c->out, data, len) < 0)
          {
            /* it does not read (WEB_MAX_REPLY queued): dropped, and the
             * caller cancels the run */
            c->xstream = 0;
            web_conn_drop (c);
            return -1;
          }
        if (end)
          {
            c->xstream = 0;
            c->closing = true;
          }
        web_conn_flush (c);
        return 0;
      }
  return -1;
}

static void
sdk_call (struct web_conn *c, const char *name, json_t *info)
{
  const struct web_ops *ops = &c->w->ops;
  json_t *body;
  const char *call,
      *gen = json_string_value (json_object_get (info, "generation"));
  bool known = false;
  int i;
  struct web_ext_token *t;

  if (c->token[0] == '\0')
    {
      refuse (c, 401, name, "call",
              "no token (the page was not opened by "
              "the moat dashboard)");
      return;
    }
  i = tok_find (c->w->ext_tokens, WEB_EXT_TOKENS, c->token, io_now_us ());
  if (i < 0)
    {
      refuse (c, 401, name, "call", "unknown or expired token");
      return;
    }
  t = &c->w->ext_tokens[i];
  if (strcmp (t->name, name) != 0)
    {
      refuse (c, 403, name, "call", "the token belongs to another extension");
      return;
    }
  if (strcmp (t->gen, gen) != 0)
    {
      refuse (c, 403, name, "call",
              "the token belongs to an earlier install of this extension");
      return;
    }
  if (!c->peer_known || c->peer_uid != t->uid)
    {
      refuse (c, 403, name, "call", "the token belongs to another user");
      return;
    }
  if (!sdk_origin (c, name, "call"))
    return;
  body = json_loadb (io_buf_data (&c->body), io_buf_len (&c->body), 0, NULL);
  call = json_string_value (json_object_get (body, "call"));
  for (size_t k = 0;
       call != NULL && k < sizeof known_calls / sizeof known_calls[0]; k++)
    known = known || strcmp (call, known_calls[k]) == 0;
  if (!json_is_object (body) || !known)
    {
      /* call points into body: refuse before letting it go */
      refuse (c, 400, name, "call", "unknown SDK call");
      json_decref (body);
      return;
    }
  if (json_is_true (json_object_get (body, "stream")))
    {
      sdk_stream (c, name, t->uid, body, call);
      json_decref (body);
      return;
    }
  c->pending = ++c->w->next_tag;
  if (ops->ext_call == NULL
      || ops->ext_call (ops->ctx, t->uid, name, body, c->pending) < 0)
    {
      c->pending = 0;
      web_reply_error (c, 429,
                       PREFIX "extensions: too many SDK calls in "
                              "flight; try again");
    }
  json_decref (body);
}

void
web_ext_reply (struct web *w, uint64_t tag, int status, json_t *body)
{
  for (struct web_conn *c = w->conns; c != NULL; c = c->next)
    if (c->pending == tag && c->h.fd >= 0)
      {
        c->pending = 0;
        web_reply_json (c, status, body);
        web_conn_resume (c);
        return;
      }
  json_decref (body);
}

void
web_ext_route (struct web_conn *c, const char *host_name)
{
  const struct web_ops *ops = &c->w->ops;
  char name[64], path[1100], rel[1100];
  bool get = c->p.method == HTTP_GET || c->p.method == HTTP_HEAD;
  bool post = c->p.method == HTTP_POST;
  json_t *info;
  size_t i;

  c->ext = true;
  for (i = 0;
       host_name[i] != '\0' && host_name[i] != '.' && i + 1 < sizeof name; i++)
    name[i]
        = (char)(host_name[i] >= 'A' && host_name[i] <= 'Z' ? host_name[i] + 32
                                                            : host_name[i]);
  name[i] = '\0';
  info = ops->ext_info != NULL ? ops->ext_info (ops->ctx, name) : NULL;
  if (info == NULL)
    {
      web_reply_error (c, 404, "no such extension");
      return;
    }
  if (web_target_path (c->url, path, sizeof path) < 0
      || path_decode (path, rel, sizeof rel) < 0)
    {
      json_decref (info);
      web_reply_error (c, 400, "malformed request target");
      c->closing = true;
      return;
    }
  if (c->service_worker[0] != '\0')
    /* A service worker would outlive the extension: after rm it would
     * still answer for this origin, for the next extension installed
     * under the name (its pages, token and calls).  Its script is never
     * served, so none is registered. */
    refuse (c, 404, name, "service-worker",
            "service workers are not allowed on an extension's origin "
            "(one would outlive the extension)");
  else if (post && strcmp (path, API_PREFIX "session") == 0)
    sdk_session (c, name, info);
  else if (post && strcmp (path, API_PREFIX "call") == 0)
    sdk_call (c, name, info);
  else if (!get)
    /* no CORS preflight (OPTIONS) is ever granted */
    web_reply_error (c, 405, "method not allowed");
  else if (strcmp (path, API_PREFIX "ddclient.js") == 0)
    serve_ddclient (c, name, info);
  else if (strncmp (path, API_PREFIX, sizeof API_PREFIX - 1) == 0)
    web_reply_error (c, 404, "no such file");
  else if (strcmp (rel, "/") == 0)
    {
      const char *src = json_string_value (json_object_get (info, "src"));
      char loc[1100];
      bool ok = strlen (src) < 1024;
      for (const char *p = src; ok && *p != '\0'; p++)
        ok = (unsigned char)*p > 0x20 && *p != 0x7f;
      snprintf (loc, sizeof loc, "Location: /%s\r\n", src);
      if (ok)
        web_reply (c, 303, "text/plain", loc, "", 0);
      else
        web_reply_error (c, 404, "no such file");
    }
  else
    serve_file (c, name, rel + 1);
  json_decref (info);
}
