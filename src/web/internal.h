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
  HDR_TOKEN, /* X-Moat-Token: an extension UI's SDK token (ext.c) */
  HDR_SW,    /* Service-Worker: a worker's script is being fetched (ext.c) */
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
  char token[80];
  char service_worker[16];
  int n_host;
  int error; /* a status to answer with (431, 413, 400), 0: none */
  bool complete;
  bool closing;     /* close once out is sent */
  bool lingering;   /* closing: answer sent, input drained until EOF */
  bool stream;      /* an audit stream follower */
  bool ext;         /* the request names an extension's origin (ext.c) */
  uint64_t pending; /* an answer owed by web_ext_reply (its tag), 0: none */
  uint64_t xstream; /* a streamed SDK call's frames (its tag), 0: none */
  char session[WEB_TOKEN_LEN + 1];
};

/* An extension UI's one-time ticket or SDK token (ext.c): bound to the
 * uid, the extension and its storage generation. */
struct web_ext_token
{
  char tok[WEB_TOKEN_LEN + 1];
  uid_t uid;
  char name[64];
  char gen[40];
  uint64_t expires_us;
};
#define WEB_EXT_TICKETS 64
#define WEB_EXT_TOKENS 256

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
  struct web_ext_token ext_tickets[WEB_EXT_TICKETS];
  struct web_ext_token ext_tokens[WEB_EXT_TOKENS];
  uint64_t next_tag;
};

/* Responses (web.c). */
int web_reply (struct web_conn *c, int status, const char *ctype,
               const char *extra, const void *body, size_t len);
int web_reply_json (struct web_conn *c, int status, json_t *o);
int web_reply_error (struct web_conn *c, int status, const char *msg);

/* The routes (routes.c): answer c's complete request. */
void web_route (struct web_conn *c);
/* An extension origin's request (ext.c): name is its label. */
void web_ext_route (struct web_conn *c, const char *name);
/* The dashboard's extension API (ext.c): GET /api/extensions, POST
 * /api/extensions/NAME/ticket.  false when path is not one of them. */
bool web_ext_dashboard (struct web_conn *c, const char *path, uid_t uid,
                        bool post);
/* Close c now (web.c). */
void web_conn_drop (struct web_conn *c);
/* Send what is queued on c (web.c); c may be closed by it. */
void web_conn_flush (struct web_conn *c);
/* Go on reading c's requests after an owed answer was queued (web.c). */
void web_conn_resume (struct web_conn *c);
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
