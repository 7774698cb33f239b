/* The dashboard's routes: the sign-in rules, then pages and data
 * (docs/dashboard.md lists them). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "internal.h"
#include "parse.h"

#define COOKIE "moat_session"
#define PREFIX "enhanced container isolation: "

static const char signin_page[]
    = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>moat dashboard: sign in</title>"
      "<link rel=\"stylesheet\" href=\"/app.css\"></head><body>"
      "<main class=\"signin\"><h1>moat dashboard</h1>"
      "<p id=\"signin-needed\">You are not signed in to the dashboard. "
      "To open it, run</p><pre>moat dashboard</pre>"
      "<p>in a terminal, as the user who wants to see it. It opens a "
      "one-time link that signs this browser in (the link works once, "
      "for 60 seconds).</p></main></body></html>\n";

static void
reply_signin (struct web_conn *c, const char *path, const char *why)
{
  if (strncmp (path, "/api/", 5) == 0)
    {
      cleanup_free char *m = NULL;
      if (asprintf (&m, "%s; run `moat dashboard` to sign in", why) < 0)
        m = NULL;
      web_reply_error (c, 401, m ? m : why);
      return;
    }
  web_reply (c, 401, "text/html; charset=utf-8", NULL, signin_page,
             sizeof signin_page - 1);
}

/* The session of this request: its uid, or -1 (why says).  Every
 * moat_session cookie the browser sent is tried: one planted for
 * 127.0.0.1 by a page on another port (Path=/api, sent first) must not
 * sign the user out.  Only a session of the connection's own uid counts,
 * so a planted one (unknown, or another user's) never does. */
static int
session_uid (struct web_conn *c, char tok[WEB_TOKEN_LEN + 1], uid_t *uid,
             const char **why)
{
  size_t pos = 0;
  int r, seen = 0;
  *why = "no session";
  while (seen < 16
         && (r = web_cookie_next (c->cookie, COOKIE, &pos, tok,
                                  WEB_TOKEN_LEN + 1))
                != 0)
    {
      seen++;
      if (r < 0)
        {
          *why = "malformed session cookie";
          continue;
        }
      if (web_auth_session_find (&c->w->auth, tok, io_now_us (), uid) < 0)
        {
          if (strcmp (*why, "session belongs to another user") != 0)
            *why = "session unknown or expired";
          continue;
        }
      /* The cookie travels to every port of 127.0.0.1: it counts only on
       * a connection from a process of the session's own uid. */
      if (!c->peer_known || c->peer_uid != *uid)
        {
          *why = "session belongs to another user";
          continue;
        }
      return 0;
    }
  return -1;
}

static void
login (struct web_conn *c)
{
  char tok[WEB_TOKEN_LEN + 2], sess[WEB_TOKEN_LEN + 1], hdr[200];
  uid_t uid;
  int r = web_query_get (c->url, "ticket", tok, sizeof tok);
  static const char bad[]
      = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>moat dashboard: ticket refused</title>"
        "<link rel=\"stylesheet\" href=\"/app.css\"></head><body>"
        "<main class=\"signin\"><h1>moat dashboard</h1>"
        "<p id=\"ticket-refused\">This sign-in link is unknown, expired or "
        "already used. Run</p><pre>moat dashboard</pre><p>again for a new "
        "one.</p></main></body></html>\n";

  if (r <= 0
      || web_auth_ticket_take (&c->w->auth, tok, io_now_us (), &uid) < 0)
    {
      web_reply (c, 403, "text/html; charset=utf-8", NULL, bad,
                 sizeof bad - 1);
      return;
    }
  /* Single use even when refused below: the ticket is gone. */
  if (!c->peer_known || c->peer_uid != uid)
    {
      web_reply (c, 403, "text/html; charset=utf-8", NULL, bad,
                 sizeof bad - 1);
      return;
    }
  if (web_auth_session_new (&c->w->auth, uid, io_now_us (), sess) < 0)
    {
      web_reply_error (c, 500, "no randomness for a session");
      return;
    }
  snprintf (hdr, sizeof hdr,
            "Set-Cookie: " COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/\r\n"
            "Location: /\r\n",
            sess);
  web_reply (c, 303, "text/plain", hdr, "", 0);
}

static void
serve_asset (struct web_conn *c, const char *name)
{
  const struct web_asset *a = web_asset_find (name);
  if (a == NULL)
    {
      web_reply_error (c, 404, "no such page");
      return;
    }
  web_reply (c, 200, a->ctype, NULL, a->data, a->len);
}

/* A state-changing request: the session is checked by the caller; here
 * the same-origin rule and a JSON body. */
static bool
same_origin (struct web_conn *c)
{
  if (c->origin[0] == '\0' || !web_origin_ok (c->origin, c->host))
    {
      web_reply_error (c, 403,
                       PREFIX "dashboard: a state-changing request needs an "
                              "Origin header of this dashboard (CSRF)");
      return false;
    }
  if (c->fetch_site[0] != '\0' && strcmp (c->fetch_site, "same-origin") != 0)
    {
      web_reply_error (c, 403, PREFIX "dashboard: cross-site request");
      return false;
    }
  return true;
}

static void
settings_set (struct web_conn *c, uid_t uid)
{
  json_error_t je;
  json_t *body, *reply;
  const char *key, *value;
  if (strncasecmp (c->ctype, "application/json", 16) != 0)
    {
      web_reply_error (c, 415, "a JSON body is needed");
      return;
    }
  body = json_loadb (io_buf_data (&c->body), io_buf_len (&c->body), 0, &je);
  key = json_string_value (json_object_get (body, "key"));
  value = json_string_value (json_object_get (body, "value"));
  if (key == NULL || value == NULL)
    {
      json_decref (body);
      web_reply_error (c, 400, "the body needs \"key\" and \"value\" strings");
      return;
    }
  reply = c->w->ops.settings_set (c->w->ops.ctx, uid, key, value);
  json_decref (body);
  if (reply == NULL)
    {
      web_reply_error (c, 500, "out of memory");
      return;
    }
  web_reply_json (c, json_is_true (json_object_get (reply, "ok")) ? 200 : 403,
                  reply);
}

static int64_t
query_int (const char *url, const char *name, int64_t dflt)
{
  char v[24], *end;
  long long n;
  if (web_query_get (url, name, v, sizeof v) <= 0 || v[0] == '\0')
    return dflt;
  errno = 0;
  n = strtoll (v, &end, 10);
  return errno != 0 || *end != '\0' || n < 0 ? dflt : (int64_t)n;
}

static void
audit (struct web_conn *c, const char *component)
{
  char comp[32], outc[32];
  int rc = web_query_get (c->url, "component", comp, sizeof comp);
  int ro = web_query_get (c->url, "outcome", outc, sizeof outc);
  int64_t limit = query_int (c->url, "limit", 200);
  if (component != NULL)
    {
      snprintf (comp, sizeof comp, "%s", component);
      rc = 1;
    }
  if (limit < 1 || limit > 1000)
    limit = 200;
  web_reply_json (c, 200,
                  c->w->ops.audit (c->w->ops.ctx,
                                   query_int (c->url, "before", 0), (int)limit,
                                   rc > 0 && comp[0] ? comp : NULL,
                                   ro > 0 && outc[0] ? outc : NULL));
}

void
web_route (struct web_conn *c)
{
  char path[256], tok[WEB_TOKEN_LEN + 1];
  const struct web_ops *ops = &c->w->ops;
  const char *why = NULL;
  bool get = c->p.method == HTTP_GET || c->p.method == HTTP_HEAD;
  bool post = c->p.method == HTTP_POST;
  uid_t uid;

  if (c->n_host != 1 || !web_host_ok (c->host, c->w->port))
    {
      web_reply_error (c, 421,
                       PREFIX "dashboard: the Host header does not name "
                              "this dashboard (DNS rebinding defence)");
      c->closing = true;
      return;
    }
  /* An extension's origin never serves the dashboard (ext.c). */
  if (strncasecmp (c->host, "127.0.0.1:", 10) != 0
      && strncasecmp (c->host, "localhost:", 10) != 0)
    {
      web_ext_route (c, c->host);
      return;
    }
  if (web_target_path (c->url, path, sizeof path) < 0)
    {
      web_reply_error (c, 400, "malformed request target");
      c->closing = true;
      return;
    }
  if (!get && !post)
    {
      web_reply_error (c, 405, "method not allowed");
      return;
    }
  if (strcmp (path, "/login") == 0 && get)
    {
      login (c);
      return;
    }
  /* the sign-in page's own style sheet */
  if (strcmp (path, "/app.css") == 0 && get)
    {
      serve_asset (c, "app.css");
      return;
    }
  if (session_uid (c, tok, &uid, &why) < 0)
    {
      reply_signin (c, path, why);
      return;
    }
  if (post)
    {
      if (!same_origin (c))
        return;
      if (web_ext_dashboard (c, path, uid, true))
        ;
      else if (strcmp (path, "/api/settings") == 0)
        settings_set (c, uid);
      else if (strcmp (path, "/logout") == 0)
        {
          web_auth_session_drop (&c->w->auth, tok);
          web_reply (c, 200, "application/json",
                     "Set-Cookie: " COOKIE "=; HttpOnly; SameSite=Strict; "
                     "Path=/; Max-Age=0\r\n",
                     "{}", 2);
        }
      else
        web_reply_error (c, 404, "no such endpoint");
      return;
    }
  if (c->fetch_site[0] != '\0' && strcmp (c->fetch_site, "cross-site") == 0
      && strncmp (path, "/api/", 5) == 0)
    {
      web_reply_error (c, 403, PREFIX "dashboard: cross-site request");
      return;
    }
  if (strcmp (path, "/") == 0)
    serve_asset (c, "index.html");
  else if (strcmp (path, "/app.js") == 0)
    serve_asset (c, "app.js");
  else if (strcmp (path, "/api/session") == 0)
    web_reply_json (c, 200, json_pack ("{s:I}", "uid", (json_int_t)uid));
  else if (strcmp (path, "/api/status") == 0)
    web_reply_json (c, 200, ops->status (ops->ctx));
  else if (strcmp (path, "/api/settings") == 0)
    web_reply_json (c, 200, ops->settings (ops->ctx));
  else if (strcmp (path, "/api/containers") == 0)
    web_reply_json (c, 200, ops->containers (ops->ctx));
  else if (strcmp (path, "/api/charts") == 0)
    web_reply_json (c, 200, ops->charts (ops->ctx));
  else if (strcmp (path, "/api/audit") == 0)
    audit (c, NULL);
  else if (strcmp (path, "/api/net") == 0)
    audit (c, "net");
  else if (web_ext_dashboard (c, path, uid, false))
    ;
  else if (strcmp (path, "/api/audit/stream") == 0)
    {
      memcpy (c->session, tok, sizeof c->session);
      if (web_stream_start (c, query_int (c->url, "since", 0)) < 0)
        c->closing = true;
    }
  else
    web_reply_error (c, 404, "no such page");
}
