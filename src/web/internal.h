/* Private to src/web: the server and its connections. */
#ifndef MOAT_WEB_INTERNAL_H
#define MOAT_WEB_INTERNAL_H

#include <llhttp.h>

#include "auth.h"
#include "io/buf.h"
#include "web.h"

enum web_hdr
{
  HDR_NONE,
  HDR_HOST,
  HDR_ORIGIN,
  HDR_COOKIE,
  HDR_CTYPE,
  HDR_FETCH_SITE,
};

struct web_conn
{
  struct io_handle h;
  struct io_timer t;
  struct io_grave g;
  struct web *w;
  struct web_conn *next, *prev;
  llhttp_t p;
  struct io_buf in, out, body;
  uid_t peer_uid;
  bool peer_known;
  /* the request being read */
  size_t head_bytes;
  char url[2048];
  size_t url_len;
  char hname[32];
  size_t hname_len;
  bool hname_long;
  enum web_hdr cur;
  bool in_value;
  char host[256], origin[256], cookie[4096], ctype[128], fetch_site[32];
  int n_host;
  int error; /* a status to answer with (431, 413, 400), 0: none */
  bool complete;
  bool closing;   /* close once out is sent */
  bool lingering; /* closing: answer sent, input drained until EOF */
  bool stream;  /* an audit stream follower */
  char session[WEB_TOKEN_LEN + 1];
};

struct web
{
  struct io_loop *l;
  struct io_handle lh;
  unsigned port;
  struct web_ops ops;
  struct web_auth auth;
  struct web_conn *conns;
  size_t n_conns, n_followers;
  llhttp_settings_t settings;
};

/* Responses (web.c). */
int web_reply (struct web_conn *c, int status, const char *ctype,
               const char *extra, const void *body, size_t len);
int web_reply_json (struct web_conn *c, int status, json_t *o);
int web_reply_error (struct web_conn *c, int status, const char *msg);

/* The routes (routes.c): answer c's complete request. */
void web_route (struct web_conn *c);
/* Start an audit stream on c (routes.c calls, web.c keeps it). */
int web_stream_start (struct web_conn *c, int64_t since_id);

/* The embedded assets (generated from src/web/assets at build time). */
struct web_asset
{
  const char *name;
  const char *ctype;
  const unsigned char *data;
  size_t len;
};
const struct web_asset *web_asset_find (const char *name);

#endif
