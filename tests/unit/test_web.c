/* Unit tests of the dashboard's HTTP side (src/web): tickets and sessions,
 * the query/cookie/Host/Origin parsers, and the server itself on a real
 * loopback socket turned by the I/O core (Host rule, size limits, CSRF,
 * ticket sign-in bound to the peer's uid). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/loop.h"
#include "web/auth.h"
#include "web/parse.h"
#include "web/web.h"

/* ---- tickets and sessions ---- */

static void
ticket_single_use (void **state)
{
  struct web_auth a;
  char t[WEB_TOKEN_LEN + 1];
  uid_t uid = 99;
  (void)state;
  web_auth_init (&a, 60000000, 3600000000ull);
  assert_int_equal (web_auth_ticket_new (&a, 1000, 1000, t), 0);
  assert_int_equal (strlen (t), WEB_TOKEN_LEN);
  assert_int_equal (web_auth_ticket_take (&a, t, 2000, &uid), 0);
  assert_int_equal (uid, 1000);
  /* used twice */
  assert_int_equal (web_auth_ticket_take (&a, t, 3000, &uid), -1);
}

static void
ticket_expires (void **state)
{
  struct web_auth a;
  char t[WEB_TOKEN_LEN + 1];
  uid_t uid;
  (void)state;
  web_auth_init (&a, 60000000, 3600000000ull);
  assert_int_equal (web_auth_ticket_new (&a, 1000, 0, t), 0);
  assert_int_equal (web_auth_ticket_take (&a, t, 60000000, &uid), -1);
  assert_int_equal (web_auth_ticket_new (&a, 1000, 0, t), 0);
  assert_int_equal (web_auth_ticket_take (&a, t, 59999999, &uid), 0);
}

static void
ticket_wrong_and_short (void **state)
{
  struct web_auth a;
  char t[WEB_TOKEN_LEN + 1], other[WEB_TOKEN_LEN + 1];
  uid_t uid;
  (void)state;
  web_auth_init (&a, 60000000, 3600000000ull);
  assert_int_equal (web_auth_ticket_new (&a, 1000, 0, t), 0);
  memcpy (other, t, sizeof other);
  other[5] = other[5] == 'a' ? 'b' : 'a';
  assert_int_equal (web_auth_ticket_take (&a, other, 1, &uid), -1);
  assert_int_equal (web_auth_ticket_take (&a, "", 1, &uid), -1);
  other[WEB_TOKEN_LEN - 1] = '\0';
  memcpy (other, t, WEB_TOKEN_LEN - 1);
  assert_int_equal (web_auth_ticket_take (&a, other, 1, &uid), -1);
  /* the right one still works after the wrong tries */
  assert_int_equal (web_auth_ticket_take (&a, t, 1, &uid), 0);
}

static void
ticket_table_full (void **state)
{
  struct web_auth a;
  char t[WEB_TOKEN_LEN + 1], first[WEB_TOKEN_LEN + 1];
  uid_t uid;
  (void)state;
  web_auth_init (&a, 60000000, 3600000000ull);
  assert_int_equal (web_auth_ticket_new (&a, 1, 0, first), 0);
  for (int i = 1; i <= WEB_MAX_TICKETS; i++)
    assert_int_equal (web_auth_ticket_new (&a, 1, (uint64_t)i, t), 0);
  assert_int_equal (a.n_tickets, WEB_MAX_TICKETS);
  /* the oldest made room */
  assert_int_equal (web_auth_ticket_take (&a, first, 100, &uid), -1);
  assert_int_equal (web_auth_ticket_take (&a, t, 100, &uid), 0);
}

static void
session_expiry_and_drop (void **state)
{
  struct web_auth a;
  char s[WEB_TOKEN_LEN + 1];
  uid_t uid = 0;
  (void)state;
  web_auth_init (&a, 1000, 5000);
  assert_int_equal (web_auth_session_new (&a, 1001, 0, s), 0);
  assert_int_equal (web_auth_session_find (&a, s, 4999, &uid), 0);
  assert_int_equal (uid, 1001);
  assert_int_equal (web_auth_session_find (&a, s, 5000, &uid), -1);
  assert_int_equal (web_auth_session_new (&a, 1001, 0, s), 0);
  web_auth_session_drop (&a, s);
  assert_int_equal (web_auth_session_find (&a, s, 1, &uid), -1);
}

/* ---- parsers ---- */

static void
parse_query (void **state)
{
  char v[32];
  (void)state;
  assert_int_equal (
      web_query_get ("/login?ticket=ab%20c&x=1", "ticket", v, sizeof v), 1);
  assert_string_equal (v, "ab c");
  assert_int_equal (web_query_get ("/a?x=1&y=a+b", "y", v, sizeof v), 1);
  assert_string_equal (v, "a b");
  assert_int_equal (web_query_get ("/a?xy=1", "x", v, sizeof v), 0);
  assert_int_equal (web_query_get ("/a", "x", v, sizeof v), 0);
  assert_int_equal (web_query_get ("/a?x=%4", "x", v, sizeof v), -1);
  assert_int_equal (web_query_get ("/a?x=%00", "x", v, sizeof v), -1);
  assert_int_equal (web_query_get ("/a?x=%zz", "x", v, sizeof v), -1);
  assert_int_equal (web_query_get ("/a?x=0123456789", "x", v, 5), -1);
  assert_int_equal (web_target_path ("/api/x?y", v, sizeof v), 0);
  assert_string_equal (v, "/api/x");
  assert_int_equal (web_target_path ("http://evil/", v, sizeof v), -1);
  assert_int_equal (web_target_path ("*", v, sizeof v), -1);
}

static void
parse_cookie (void **state)
{
  char v[80];
  (void)state;
  assert_int_equal (web_cookie_get ("a=1; moat_session=abc; b=2",
                                    "moat_session", v, sizeof v),
                    1);
  assert_string_equal (v, "abc");
  assert_int_equal (
      web_cookie_get ("xmoat_session=abc", "moat_session", v, sizeof v), 0);
  assert_int_equal (web_cookie_get ("moat_session=a; moat_session=b",
                                    "moat_session", v, sizeof v),
                    -1);
  assert_int_equal (web_cookie_get ("", "moat_session", v, sizeof v), 0);
}

static void
parse_cookie_next (void **state)
{
  char v[8];
  size_t pos = 0;
  const char *h = "moat_session=a; x=1; moat_session=toolongvalue; "
                  "xmoat_session=c; moat_session=d";
  (void)state;
  assert_int_equal (web_cookie_next (h, "moat_session", &pos, v, sizeof v), 1);
  assert_string_equal (v, "a");
  assert_int_equal (web_cookie_next (h, "moat_session", &pos, v, sizeof v),
                    -1);
  assert_int_equal (web_cookie_next (h, "moat_session", &pos, v, sizeof v), 1);
  assert_string_equal (v, "d");
  assert_int_equal (web_cookie_next (h, "moat_session", &pos, v, sizeof v), 0);
  assert_int_equal (web_cookie_next (h, "moat_session", &pos, v, sizeof v), 0);
  pos = 0;
  assert_int_equal (web_cookie_next ("", "moat_session", &pos, v, sizeof v),
                    0);
}

static void
parse_host_origin (void **state)
{
  (void)state;
  assert_true (web_host_ok ("127.0.0.1:7979", 7979));
  assert_true (web_host_ok ("localhost:7979", 7979));
  assert_true (web_host_ok ("LocalHost:7979", 7979));
  assert_true (web_host_ok ("disk-usage.ext.localhost:7979", 7979));
  assert_false (web_host_ok ("127.0.0.1", 7979));
  assert_false (web_host_ok ("127.0.0.1:79790", 7979));
  assert_false (web_host_ok ("127.0.0.1:7978", 7979));
  assert_false (web_host_ok ("evil.example:7979", 7979));
  assert_false (web_host_ok ("localhost.evil.example:7979", 7979));
  assert_false (web_host_ok ("a.b.ext.localhost:7979", 7979));
  assert_false (web_host_ok ("-x.ext.localhost:7979", 7979));
  assert_false (web_host_ok (".ext.localhost:7979", 7979));
  assert_false (web_host_ok ("[::1]:7979", 7979));
  assert_false (web_host_ok ("", 7979));
  assert_true (web_origin_ok ("http://127.0.0.1:7979", "127.0.0.1:7979"));
  assert_false (web_origin_ok ("http://127.0.0.1:7979/", "127.0.0.1:7979"));
  assert_false (web_origin_ok ("https://127.0.0.1:7979", "127.0.0.1:7979"));
  assert_false (web_origin_ok ("http://localhost:7979", "127.0.0.1:7979"));
  assert_false (web_origin_ok ("null", "127.0.0.1:7979"));
}

/* ---- the server over a real socket ---- */

static int n_set;
static char set_key[64];

static json_t *
op_obj (void *ctx)
{
  (void)ctx;
  return json_pack ("{s:b}", "ok", 1);
}
static json_t *
op_arr (void *ctx)
{
  (void)ctx;
  return json_array ();
}
static json_t *
op_set (void *ctx, uid_t uid, const char *key, const char *value)
{
  (void)ctx;
  (void)uid;
  (void)value;
  n_set++;
  snprintf (set_key, sizeof set_key, "%s", key);
  return json_pack ("{s:b}", "ok", 1);
}
static json_t *
op_audit (void *ctx, int64_t before, int limit, const char *c, const char *o)
{
  (void)ctx;
  (void)before;
  (void)limit;
  (void)c;
  (void)o;
  return json_array ();
}
static json_t *
op_since (void *ctx, int64_t since)
{
  (void)ctx;
  (void)since;
  return json_array ();
}

struct srv
{
  struct io_loop *l;
  struct web *w;
  unsigned port;
  char host[32];
};

static void
srv_start (struct srv *s)
{
  moat_error_t err = NULL;
  struct web_config cfg = { .port = 0 };
  struct web_ops ops = {
    .status = op_obj,
    .settings = op_arr,
    .settings_set = op_set,
    .containers = op_arr,
    .audit = op_audit,
    .audit_since = op_since,
    .charts = op_obj,
  };
  assert_int_equal (io_loop_new (NULL, &s->l, &err), 0);
  assert_int_equal (web_new (s->l, &cfg, &ops, &s->w, &err), 0);
  s->port = web_port (s->w);
  snprintf (s->host, sizeof s->host, "127.0.0.1:%u", s->port);
}

static void
srv_stop (struct srv *s)
{
  moat_error_t err = NULL;
  web_free (s->w);
  assert_true (io_loop_once (s->l, 0, &err) >= 0);
  io_loop_free (s->l);
}

/* Send req, turn the loop until the server closes (every request says
 * Connection: close, or is refused); the reply (up to len) in out. */
static size_t
exchange (struct srv *s, const char *req, size_t req_len, char *out,
          size_t len)
{
  struct sockaddr_in a
      = { .sin_family = AF_INET, .sin_port = htons ((uint16_t)s->port) };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  size_t got = 0, sent = 0;
  moat_error_t err = NULL;
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  assert_true (fd >= 0);
  connect (fd, (struct sockaddr *)&a, sizeof a);
  for (int i = 0; i < 400; i++)
    {
      assert_true (io_loop_once (s->l, 5, &err) >= 0);
      if (sent < req_len)
        {
          ssize_t n = send (fd, req + sent, req_len - sent, MSG_NOSIGNAL);
          if (n > 0)
            sent += (size_t)n;
        }
      ssize_t n = recv (fd, out + got, len - 1 - got, 0);
      if (n > 0)
        got += (size_t)n;
      else if (n == 0)
        break;
      else if (errno != EAGAIN && errno != EWOULDBLOCK)
        break;
    }
  out[got] = '\0';
  close (fd);
  assert_true (io_loop_once (s->l, 0, &err) >= 0);
  return got;
}

static int
status_of (const char *reply)
{
  int st = 0;
  sscanf (reply, "HTTP/1.1 %d", &st);
  return st;
}

static int
get (struct srv *s, const char *path, const char *host, const char *extra,
     char *out, size_t len)
{
  char *req = NULL;
  int n = asprintf (
      &req, "GET %s HTTP/1.1\r\nHost: %s\r\n%sConnection: close\r\n\r\n", path,
      host, extra ? extra : "");
  assert_true (n > 0);
  exchange (s, req, (size_t)n, out, len);
  free (req);
  return status_of (out);
}

static void
server_host_rule (void **state)
{
  struct srv s;
  char out[8192];
  (void)state;
  srv_start (&s);
  assert_int_equal (get (&s, "/", s.host, NULL, out, sizeof out), 401);
  assert_non_null (strstr (out, "moat dashboard"));
  assert_int_equal (get (&s, "/", "evil.example", NULL, out, sizeof out), 421);
  assert_int_equal (
      get (&s, "/api/status", "attacker.test:80", NULL, out, sizeof out), 421);
  /* two Host headers */
  {
    char h2[128];
    snprintf (h2, sizeof h2, "Host: %s\r\n", s.host);
    assert_int_equal (get (&s, "/", s.host, h2, out, sizeof out), 400);
  }
  /* HTTP/1.0 without Host */
  {
    static const char r[] = "GET / HTTP/1.0\r\n\r\n";
    exchange (&s, r, sizeof r - 1, out, sizeof out);
    assert_int_equal (status_of (out), 421);
  }
  srv_stop (&s);
}

static void
server_limits (void **state)
{
  struct srv s;
  char out[8192];
  static char big[WEB_MAX_HEAD + 100];
  (void)state;
  srv_start (&s);
  memset (big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  {
    char *h = malloc (sizeof big + 32);
    snprintf (h, sizeof big + 32, "X-Big: %s\r\n", big);
    assert_int_equal (get (&s, "/", s.host, h, out, sizeof out), 431);
    free (h);
  }
  /* a declared body too large */
  {
    char r[256];
    int n = snprintf (r, sizeof r,
                      "POST /api/settings HTTP/1.1\r\nHost: %s\r\n"
                      "Content-Length: 100000\r\n\r\n",
                      s.host);
    exchange (&s, r, (size_t)n, out, sizeof out);
    assert_int_equal (status_of (out), 413);
  }
  /* garbage */
  {
    static const char r[] = "\x01\x02 nonsense\r\n\r\n";
    exchange (&s, r, sizeof r - 1, out, sizeof out);
    assert_int_equal (status_of (out), 400);
  }
  srv_stop (&s);
}

static void
server_ticket_session_csrf (void **state)
{
  struct srv s;
  char out[8192], url[256], path[200], cookie[160], req[1024];
  moat_error_t err = NULL;
  const char *sc;
  int n;
  (void)state;
  srv_start (&s);
  /* a ticket for another uid is refused: the browser's socket is ours */
  assert_int_equal (web_ticket (s.w, getuid () + 1, url, sizeof url, &err), 0);
  snprintf (path, sizeof path, "%s", strstr (url, "/login"));
  assert_int_equal (get (&s, path, s.host, NULL, out, sizeof out), 403);

  assert_int_equal (web_ticket (s.w, getuid (), url, sizeof url, &err), 0);
  snprintf (path, sizeof path, "%s", strstr (url, "/login"));
  assert_int_equal (get (&s, path, s.host, NULL, out, sizeof out), 303);
  sc = strstr (out, "Set-Cookie: ");
  assert_non_null (sc);
  assert_non_null (strstr (sc, "HttpOnly"));
  assert_non_null (strstr (sc, "SameSite=Strict"));
  assert_non_null (strstr (sc, "Path=/"));
  snprintf (cookie, sizeof cookie, "Cookie: %.77s\r\n", sc + 12);
  /* used twice */
  assert_int_equal (get (&s, path, s.host, NULL, out, sizeof out), 403);
  /* the session works, with a good Host only */
  assert_int_equal (get (&s, "/api/status", s.host, cookie, out, sizeof out),
                    200);
  assert_int_equal (
      get (&s, "/api/status", "rebound.example:1", cookie, out, sizeof out),
      421);
  /* POST without Origin, with a foreign one, then right */
  n_set = 0;
  const char *body = "{\"key\":\"k\",\"value\":\"v\"}";
  n = snprintf (req, sizeof req,
                "POST /api/settings HTTP/1.1\r\nHost: %s\r\n%s"
                "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                "Connection: close\r\n\r\n%s",
                s.host, cookie, strlen (body), body);
  exchange (&s, req, (size_t)n, out, sizeof out);
  assert_int_equal (status_of (out), 403);
  assert_non_null (strstr (out, "Origin"));
  n = snprintf (req, sizeof req,
                "POST /api/settings HTTP/1.1\r\nHost: %s\r\n%s"
                "Origin: http://evil.example\r\n"
                "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                "Connection: close\r\n\r\n%s",
                s.host, cookie, strlen (body), body);
  exchange (&s, req, (size_t)n, out, sizeof out);
  assert_int_equal (status_of (out), 403);
  assert_int_equal (n_set, 0);
  n = snprintf (req, sizeof req,
                "POST /api/settings HTTP/1.1\r\nHost: %s\r\n%s"
                "Origin: http://%s\r\n"
                "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                "Connection: close\r\n\r\n%s",
                s.host, cookie, s.host, strlen (body), body);
  exchange (&s, req, (size_t)n, out, sizeof out);
  assert_int_equal (status_of (out), 200);
  assert_int_equal (n_set, 1);
  assert_string_equal (set_key, "k");
  /* a made-up cookie */
  assert_int_equal (get (&s, "/api/status", s.host,
                         "Cookie: moat_session=0000000000000000000000000000"
                         "000000000000000000000000000000000000\r\n",
                         out, sizeof out),
                    401);
  srv_stop (&s);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (ticket_single_use),
    cmocka_unit_test (ticket_expires),
    cmocka_unit_test (ticket_wrong_and_short),
    cmocka_unit_test (ticket_table_full),
    cmocka_unit_test (session_expiry_and_drop),
    cmocka_unit_test (parse_query),
    cmocka_unit_test (parse_cookie),
    cmocka_unit_test (parse_cookie_next),
    cmocka_unit_test (parse_host_origin),
    cmocka_unit_test (server_host_rule),
    cmocka_unit_test (server_limits),
    cmocka_unit_test (server_ticket_session_csrf),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
