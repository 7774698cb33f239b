/* moatd's side of extension sandboxes (sandbox.h): one moat-sandbox per
 * extension, started at its first call, with host functions checked
 * against the extension's granted scopes.  The script is hostile: every
 * argument it passes to a host function is checked here, every answer it
 * gives is bounded, and whatever it does ends in its own process. */
#include "ext/sandbox.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <fnmatch.h>
#include <netdb.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "common/capbuf.h"
#include "common/cleanup.h"
#include "common/clock.h"
#include "common/fs.h"
#include "common/log.h"
#include "ext/metadata.h"
#include "ext/sandbox_int.h"
#include "sandbox/client.h"

#define RECORD "extension.json"
#define SCRIPT_FILE "sandbox.js"
#define SCRIPT_MAX (1u << 20)
#define KEY_MAX 256
#define LOG_MAX 1024
#define BACKOFF_FIRST_MS 1000
#define BACKOFF_MAX_MS 30000
#define HEADERS_MAX 32

struct sbx
{
  char name[EXT_NAME_MAX + 1];
  pthread_mutex_t mu;
  struct sandbox_client *client;
  json_t *grants; /* while client runs */
  sqlite3 *db;
  unsigned failures; /* in a row */
  unsigned long starts;
  bool quarantined;
  int64_t retry_at_ms;
  char last_error[256];
  int64_t call_start_ms; /* of the call in progress (host functions) */
  uid_t as_uid;          /* whom the call in progress serves */
  /* What ext_sandbox_status reports, copied under g_mu at the end of each
   * locked section: status never waits for a call in progress. */
  struct
  {
    bool running, quarantined;
    unsigned failures;
    unsigned long starts;
    int64_t retry_at_ms;
    char last_error[256];
  } pub;
  struct sbx *next;
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct sbx *g_list;
static struct
{
  char *exe, *ext_dir, *guard_sock, *netns;
  unsigned heap_mb, call_ms;
  ext_sandbox_egress_fn egress;
  void *egress_ud;
  bool set;
} g_conf;

/* The library the script sees as `moat`, loaded before it.  Routes live in
 * a closure; the script may clobber the globals, which only breaks itself:
 * every check is on moatd's side. */
static const char prelude[]
    = "var moat = (function (host) {\n"
      "  var routes = [];\n"
      "  function h () { return host.apply (null, arguments); }\n"
      "  var m = {\n"
      "    route: function (method, path, fn) {\n"
      "      if (typeof fn !== 'function')\n"
      "        throw new TypeError ('moat.route: the handler must be a "
      "function');\n"
      "      routes.push ({ method: String (method).toUpperCase (),\n"
      "                     path: String (path), fn: fn });\n"
      "    },\n"
      "    log: function () {\n"
      "      h ('log', Array.prototype.map.call (arguments, String).join "
      "(' '));\n"
      "    },\n"
      "    sleep: function (ms) { h ('sleep', Number (ms)); },\n"
      "    request: function (url, opts) {\n"
      "      return h ('request', String (url), opts || {});\n"
      "    },\n"
      "    docker: function (command, arg) {\n"
      "      return h ('docker', String (command),\n"
      "                arg === undefined ? null : String (arg));\n"
      "    },\n"
      "    storage: {\n"
      "      get: function (k) { return h ('storage.get', String (k)); },\n"
      "      set: function (k, v) {\n"
      "        h ('storage.set', String (k), v === undefined ? null : v);\n"
      "      },\n"
      "      remove: function (k) { h ('storage.delete', String (k)); },\n"
      "      keys: function () { return h ('storage.keys'); }\n"
      "    }\n"
      "  };\n"
      "  m.__dispatch = function (method, path, query, body) {\n"
      "    for (var i = 0; i < routes.length; i++) {\n"
      "      var r = routes[i];\n"
      "      if (r.method !== method || r.path !== path) continue;\n"
      "      var out = r.fn ({ method: method, path: path, query: query,\n"
      "                        body: body });\n"
      "      if (out === undefined || out === null)\n"
      "        return { status: 204, body: '' };\n"
      "      if (typeof out === 'string') return { status: 200, body: out };\n"
      "      if (typeof out === 'object' && typeof out.status === 'number')\n"
      "        return { status: out.status,\n"
      "                 body: typeof out.body === 'string' ? out.body\n"
      "                       : JSON.stringify (out.body === undefined\n"
      "                                         ? null : out.body) };\n"
      "      return { status: 200, body: JSON.stringify (out) };\n"
      "    }\n"
      "    return { status: 404, body: 'no route ' + method + ' ' + path };\n"
      "  };\n"
      "  return m;\n"
      "}) (__moat_host);\n"
      "function __moat_dispatch (method, path, query, body) {\n"
      "  return moat.__dispatch (method, path, query, body);\n"
      "}\n";

int
ext_sandbox_init (const struct ext_sandbox_conf *conf, moat_error_t *err)
{
  pthread_mutex_lock (&g_mu);
  free (g_conf.exe);
  free (g_conf.ext_dir);
  free (g_conf.guard_sock);
  free (g_conf.netns);
  g_conf.exe = strdup (conf->exe ? conf->exe : "moat-sandbox");
  g_conf.ext_dir = strdup (conf->ext_dir ? conf->ext_dir : "");
  g_conf.guard_sock = conf->guard_sock ? strdup (conf->guard_sock) : NULL;
  g_conf.netns = conf->netns ? strdup (conf->netns) : NULL;
  g_conf.heap_mb = conf->heap_mb ? conf->heap_mb : EXT_SANDBOX_DEFAULT_HEAP_MB;
  g_conf.call_ms = conf->call_ms ? conf->call_ms : EXT_SANDBOX_DEFAULT_CALL_MS;
  g_conf.egress = conf->egress;
  g_conf.egress_ud = conf->egress_ud;
  g_conf.set = g_conf.exe && g_conf.ext_dir
               && (conf->guard_sock == NULL || g_conf.guard_sock)
               && (conf->netns == NULL || g_conf.netns);
  pthread_mutex_unlock (&g_mu);
  if (!g_conf.set)
    return moat_error (err, ENOMEM, "extension sandboxes");
  return 0;
}

static struct sbx *
lookup (const char *name, bool create)
{
  struct sbx *e;
  pthread_mutex_lock (&g_mu);
  for (e = g_list; e != NULL; e = e->next)
    if (strcmp (e->name, name) == 0)
      break;
  if (e == NULL && create && strlen (name) <= EXT_NAME_MAX
      && (e = calloc (1, sizeof *e)) != NULL)
    {
      /* Entries live until shutdown: a caller never holds a freed one. */
      strcpy (e->name, name);
      e->as_uid = EXT_SANDBOX_NO_USER;
      pthread_mutex_init (&e->mu, NULL);
      e->next = g_list;
      g_list = e;
    }
  pthread_mutex_unlock (&g_mu);
  return e;
}

/* With e->mu held: publish e's state for ext_sandbox_status. */
static void
publish_locked (struct sbx *e)
{
  pthread_mutex_lock (&g_mu);
  e->pub.running = e->client != NULL;
  e->pub.quarantined = e->quarantined;
  e->pub.failures = e->failures;
  e->pub.starts = e->starts;
  e->pub.retry_at_ms = e->retry_at_ms;
  memcpy (e->pub.last_error, e->last_error, sizeof e->last_error);
  pthread_mutex_unlock (&g_mu);
}

/* With e->mu held. */
static void
stop_locked (struct sbx *e)
{
  sandbox_client_free (e->client);
  e->client = NULL;
  json_decref (e->grants);
  e->grants = NULL;
  if (e->db != NULL)
    sqlite3_close (e->db);
  e->db = NULL;
}

void
ext_sandbox_forget (const char *name)
{
  struct sbx *e = lookup (name, false);
  if (e == NULL)
    return;
  pthread_mutex_lock (&e->mu);
  stop_locked (e);
  e->failures = 0;
  e->quarantined = false;
  e->retry_at_ms = 0;
  e->last_error[0] = 0;
  publish_locked (e);
  pthread_mutex_unlock (&e->mu);
}

void
ext_sandbox_shutdown (void)
{
  pthread_mutex_lock (&g_mu);
  struct sbx *e = g_list;
  g_list = NULL;
  pthread_mutex_unlock (&g_mu);
  while (e != NULL)
    {
      struct sbx *n = e->next;
      pthread_mutex_lock (&e->mu);
      stop_locked (e);
      publish_locked (e);
      pthread_mutex_unlock (&e->mu);
      pthread_mutex_destroy (&e->mu);
      free (e);
      e = n;
    }
}

json_t *
ext_sandbox_status (const char *name)
{
  struct sbx *e;
  json_t *o = NULL;
  pthread_mutex_lock (&g_mu);
  for (e = g_list; e != NULL; e = e->next)
    if (strcmp (e->name, name) == 0)
      break;
  if (e != NULL)
    {
      const char *state = e->pub.quarantined ? "quarantined"
                          : e->pub.running   ? "running"
                          : e->pub.retry_at_ms > moat_mono_ms () ? "backoff"
                                                                 : "idle";
      o = json_pack ("{s:s, s:i, s:I, s:s}", "state", state, "failures",
                     (int)e->pub.failures, "starts", (json_int_t)e->pub.starts,
                     "last_error", e->pub.last_error);
    }
  pthread_mutex_unlock (&g_mu);
  return o;
}

/* ---- host functions (run on the caller's thread, e->mu held) ---- */

static int
no_permission (moat_error_t *err, const char *scope, const char *why)
{
  if (why == NULL)
    return moat_error (err, 0, EXT_SANDBOX_NO_PERMISSION, scope);
  return moat_error (err, 0, EXT_SANDBOX_NO_PERMISSION " (%s)", scope, why);
}

static const json_t *
granted (struct sbx *e, const char *scope)
{
  const json_t *g = json_object_get (e->grants, scope);
  return json_is_object (g) ? g : NULL;
}

static long
left_ms (struct sbx *e)
{
  long left
      = (long)g_conf.call_ms - (long)(moat_mono_ms () - e->call_start_ms);
  return left > 0 ? left : 0;
}

static int
open_db (struct sbx *e, moat_error_t *err)
{
  cleanup_free char *path = NULL;
  if (e->db != NULL)
    return 0;
  if (asprintf (&path, "%s/%s/data/sandbox.sqlite", g_conf.ext_dir, e->name)
      < 0)
    return moat_error (err, ENOMEM, "storage");
  if (sqlite3_open_v2 (path, &e->db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                           | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_NOMUTEX,
                       NULL)
          != SQLITE_OK
      || sqlite3_exec (e->db,
                       "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                       "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, "
                       "v TEXT NOT NULL)",
                       NULL, NULL, NULL)
             != SQLITE_OK)
    {
      moat_error (err, EIO, "storage: %s",
                  e->db ? sqlite3_errmsg (e->db) : "open");
      sqlite3_close (e->db);
      e->db = NULL;
      return -1;
    }
  sqlite3_busy_timeout (e->db, 200);
  return 0;
}

static int
storage (struct sbx *e, const char *op, json_t *args, char **result,
         moat_error_t *err)
{
  const char *key = json_string_value (json_array_get (args, 0));
  sqlite3_stmt *st = NULL;
  int rc;

  if (granted (e, "storage") == NULL)
    return no_permission (err, "storage", NULL);
  if (strcmp (op, "keys") != 0
      && (key == NULL || key[0] == 0 || strlen (key) > KEY_MAX))
    return moat_error (err, 0, "storage: a key is 1 to %d bytes", KEY_MAX);
  if (open_db (e, err) < 0)
    return -1;
  if (strcmp (op, "get") == 0)
    {
      sqlite3_prepare_v2 (e->db, "SELECT v FROM kv WHERE k = ?", -1, &st,
                          NULL);
      sqlite3_bind_text (st, 1, key, -1, SQLITE_TRANSIENT);
      rc = sqlite3_step (st);
      const char *v = rc == SQLITE_ROW
                          ? (const char *)sqlite3_column_text (st, 0)
                          : "null";
      *result = strdup (v ? v : "null");
      sqlite3_finalize (st);
      return *result ? 0 : moat_error (err, ENOMEM, "storage");
    }
  if (strcmp (op, "keys") == 0)
    {
      json_t *arr = json_array ();
      sqlite3_prepare_v2 (e->db, "SELECT k FROM kv ORDER BY k", -1, &st, NULL);
      while (sqlite3_step (st) == SQLITE_ROW)
        json_array_append_new (
            arr, json_string ((const char *)sqlite3_column_text (st, 0)));
      sqlite3_finalize (st);
      *result = json_dumps (arr, JSON_COMPACT);
      json_decref (arr);
      return *result ? 0 : moat_error (err, ENOMEM, "storage");
    }
  if (strcmp (op, "delete") == 0)
    {
      sqlite3_prepare_v2 (e->db, "DELETE FROM kv WHERE k = ?", -1, &st, NULL);
      sqlite3_bind_text (st, 1, key, -1, SQLITE_TRANSIENT);
      rc = sqlite3_step (st);
      sqlite3_finalize (st);
      return rc == SQLITE_DONE ? 0 : moat_error (err, EIO, "storage delete");
    }
  if (strcmp (op, "set") == 0)
    {
      /* The value arrives decoded (the script passed any JSON value);
       * it is stored as its JSON text, which get returns as is. */
      cleanup_free char *v = json_dumps (json_array_get (args, 1),
                                         JSON_COMPACT | JSON_ENCODE_ANY);
      sqlite3_int64 used = 0;
      if (v == NULL)
        return moat_error (err, 0, "storage: the value must be JSON");
      sqlite3_prepare_v2 (e->db,
                          "SELECT coalesce(sum(length(CAST(k AS BLOB)) + "
                          "length(CAST(v AS BLOB))), 0) FROM kv WHERE k != ?",
                          -1, &st, NULL);
      sqlite3_bind_text (st, 1, key, -1, SQLITE_TRANSIENT);
      if (sqlite3_step (st) == SQLITE_ROW)
        used = sqlite3_column_int64 (st, 0);
      sqlite3_finalize (st);
      if ((size_t)used + strlen (key) + strlen (v) > EXT_SANDBOX_STORAGE_MAX)
        return moat_error (err, 0,
                           "storage: over the cap of %u bytes per extension",
                           EXT_SANDBOX_STORAGE_MAX);
      sqlite3_prepare_v2 (e->db,
                          "INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT "
                          "(k) DO UPDATE SET v = excluded.v",
                          -1, &st, NULL);
      sqlite3_bind_text (st, 1, key, -1, SQLITE_TRANSIENT);
      sqlite3_bind_text (st, 2, v, -1, SQLITE_TRANSIENT);
      rc = sqlite3_step (st);
      sqlite3_finalize (st);
      return rc == SQLITE_DONE ? 0
                               : moat_error (err, EIO, "storage: %s",
                                             sqlite3_errmsg (e->db));
    }
  return moat_error (err, 0, "storage: no operation `%s`", op);
}

/* Loopback, unspecified, multicast and link-local: never, as for a
 * container (its network namespace has no way to the host's loopback). */
static bool
protected_addr_p (const struct sockaddr *sa)
{
  if (sa->sa_family == AF_INET)
    {
      const uint8_t *b
          = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
      return b[0] == 127 || b[0] == 0 || b[0] >= 224
             || (b[0] == 169 && b[1] == 254);
    }
  if (sa->sa_family == AF_INET6)
    {
      const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
      if (IN6_IS_ADDR_V4MAPPED (a))
        {
          struct sockaddr_in v4 = { .sin_family = AF_INET };
          memcpy (&v4.sin_addr, a->s6_addr + 12, 4);
          return protected_addr_p ((const struct sockaddr *)&v4);
        }
      return IN6_IS_ADDR_LOOPBACK (a) || IN6_IS_ADDR_UNSPECIFIED (a)
             || IN6_IS_ADDR_MULTICAST (a) || IN6_IS_ADDR_LINKLOCAL (a);
    }
  return true;
}

static bool
header_ok_p (const char *s)
{
  return s != NULL && strpbrk (s, "\r\n") == NULL && strlen (s) < 4096;
}

/* Resolve once, decide on that address and connect to it alone. */
static int
fetch (struct sbx *e, const char *url, const char *host, const char *port_s,
       const char *method, const char *body, json_t *hdrs, char **result,
       moat_error_t *err)
{
  char addr[INET6_ADDRSTRLEN], proxy[300] = "", pin[600];
  struct capbuf b = CAPBUF_INIT (EXT_SANDBOX_BODY_MAX);
  struct curl_slist *resolve = NULL, *headers = NULL;

  {
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
    char bare[256];
    snprintf (bare, sizeof bare, "%s", host);
    if (bare[0] == '[') /* curl gives IPv6 literals bracketed */
      {
        memmove (bare, bare + 1, strlen (bare));
        bare[strcspn (bare, "]")] = 0;
      }
    if (getaddrinfo (bare, NULL, &hints, &res) != 0 || res == NULL)
      return moat_error (err, 0, "request: cannot resolve `%s`", bare);
    if (res->ai_family == AF_INET)
      inet_ntop (AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr,
                 addr, sizeof addr);
    else
      inet_ntop (AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr,
                 addr, sizeof addr);
    bool prot = protected_addr_p (res->ai_addr);
    freeaddrinfo (res);
    if (prot)
      return moat_error (err, 0,
                         "enhanced container isolation: request to %s "
                         "refused: loopback, unspecified, multicast or "
                         "link-local destination",
                         addr);
    if (g_conf.egress != NULL
        && g_conf.egress (g_conf.egress_ud, bare, addr,
                          (unsigned)strtoul (port_s, NULL, 10), proxy,
                          sizeof proxy, err)
               < 0)
      return -1;
    snprintf (pin, sizeof pin, "%s:%s:%s%s%s", host, port_s,
              strchr (addr, ':') ? "[" : "", addr,
              strchr (addr, ':') ? "]" : "");
  }

  CURL *c = curl_easy_init ();
  if (c == NULL)
    return moat_error (err, ENOMEM, "request");
  resolve = curl_slist_append (NULL, pin);
  {
    const char *hk;
    json_t *hv;
    size_t n = 0;
    json_object_foreach (hdrs, hk, hv)
    {
      char line[8192];
      if (++n > HEADERS_MAX || !header_ok_p (hk)
          || !header_ok_p (json_string_value (hv)) || strchr (hk, ':'))
        {
          curl_slist_free_all (headers);
          curl_slist_free_all (resolve);
          curl_easy_cleanup (c);
          return moat_error (err, 0, "request: bad or too many headers");
        }
      snprintf (line, sizeof line, "%s: %s", hk, json_string_value (hv));
      headers = curl_slist_append (headers, line);
    }
  }
  long left = left_ms (e);
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt (c, CURLOPT_PROXY, proxy); /* "": none, not the env's */
  curl_easy_setopt (c, CURLOPT_RESOLVE, resolve);
  curl_easy_setopt (c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt (c, CURLOPT_CUSTOMREQUEST, method);
  if (strcmp (method, "HEAD") == 0)
    curl_easy_setopt (c, CURLOPT_NOBODY, 1L);
  if (body != NULL)
    {
      curl_easy_setopt (c, CURLOPT_POSTFIELDSIZE, (long)strlen (body));
      curl_easy_setopt (c, CURLOPT_POSTFIELDS, body);
    }
  curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, left > 0 ? left : 1L);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, capbuf_write);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, &b);
  CURLcode rc = curl_easy_perform (c);
  long status = 0;
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup (c);
  curl_slist_free_all (headers);
  curl_slist_free_all (resolve);
  if (rc != CURLE_OK)
    {
      capbuf_release (&b);
      return moat_error (err, 0, "request: %s",
                         b.over ? "response over 1 MiB"
                                : curl_easy_strerror (rc));
    }
  json_t *o = json_pack ("{s:i, s:s}", "status", (int)status, "body",
                         b.p ? b.p : "");
  capbuf_release (&b);
  if (o == NULL)
    return moat_error (err, 0, "request: the response is not UTF-8 text");
  *result = json_dumps (o, JSON_COMPACT);
  json_decref (o);
  return *result ? 0 : moat_error (err, ENOMEM, "request");
}

static int
request (struct sbx *e, json_t *args, char **result, moat_error_t *err)
{
  const json_t *g = granted (e, "request");
  const char *url = json_string_value (json_array_get (args, 0));
  json_t *opts = json_array_get (args, 1);
  const char *method = json_string_value (json_object_get (opts, "method"));
  const char *body = json_string_value (json_object_get (opts, "body"));
  json_t *hdrs = json_object_get (opts, "headers");
  cleanup_free char *scheme = NULL;
  cleanup_free char *host = NULL;
  cleanup_free char *port_s = NULL;
  bool ok = false;
  size_t i;
  json_t *v;

  if (g == NULL)
    return no_permission (err, "request", NULL);
  if (method == NULL)
    method = "GET";
  if (url == NULL || strlen (url) > 4096)
    return moat_error (err, 0, "request: a URL of at most 4096 bytes");
  json_array_foreach (json_object_get (g, "methods"), i, v)
  {
    if (json_string_value (v) && strcmp (json_string_value (v), method) == 0)
      ok = true;
  }
  if (!ok)
    return no_permission (err, "request", "method not granted");
  /* The globs are matched against the URL as curl will send it: parsed
   * and normalised (dot segments removed), with no user part (which makes
   * "http://allowed@other/" look allowed) and no percent-encoded dot or
   * slash (which a server decodes into a path the glob never saw). */
  cleanup_free char *norm = NULL;
  cleanup_free char *user = NULL;
  cleanup_free char *path = NULL;
  CURLU *u = curl_url ();
  if (u == NULL)
    return moat_error (err, ENOMEM, "request");
  CURLUcode uc = curl_url_set (u, CURLUPART_URL, url, 0);
  if (uc == CURLUE_OK)
    uc = curl_url_get (u, CURLUPART_USER, &user, 0);
  bool bad = uc != CURLUE_NO_USER
             || curl_url_get (u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK
             || curl_url_get (u, CURLUPART_HOST, &host, 0) != CURLUE_OK
             || curl_url_get (u, CURLUPART_PORT, &port_s, CURLU_DEFAULT_PORT)
                    != CURLUE_OK
             || curl_url_get (u, CURLUPART_PATH, &path, 0) != CURLUE_OK
             || curl_url_get (u, CURLUPART_URL, &norm, 0) != CURLUE_OK
             || (strcmp (scheme, "http") != 0 && strcmp (scheme, "https") != 0)
             || strcasestr (path, "%2e") || strcasestr (path, "%2f")
             || strcasestr (path, "%5c");
  curl_url_cleanup (u);
  if (bad)
    return moat_error (err, 0,
                       "request: `%s` is not an http(s) URL without a user "
                       "part and encoded dots or slashes",
                       url);
  ok = false;
  json_array_foreach (json_object_get (g, "urls"), i, v)
  {
    if (json_string_value (v) && fnmatch (json_string_value (v), norm, 0) == 0)
      ok = true;
  }
  if (!ok)
    return no_permission (err, "request", "URL not in the granted urls");
  url = norm;

  if (g_conf.netns == NULL)
    return fetch (e, url, host, port_s, method, body, hdrs, result, err);
  /* From the engine's network namespace, as a container's request;
   * setns affects this thread only, and it goes back before returning. */
  cleanup_close int self
      = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  cleanup_close int ns = open (g_conf.netns, O_RDONLY | O_CLOEXEC);
  if (self < 0 || ns < 0 || setns (ns, CLONE_NEWNET) < 0)
    return moat_error (err, errno, "request: enter `%s`", g_conf.netns);
  int r = fetch (e, url, host, port_s, method, body, hdrs, result, err);
  if (setns (self, CLONE_NEWNET) < 0)
    log_error ("extension %s: cannot leave `%s`: %s", e->name, g_conf.netns,
               strerror (errno));
  return r;
}

static int
docker (struct sbx *e, json_t *args, char **result, moat_error_t *err)
{
  const json_t *g = granted (e, "docker");
  const char *cmd = json_string_value (json_array_get (args, 0));
  const char *arg = json_string_value (json_array_get (args, 1));
  char path[200];
  bool ok = false;
  size_t i;
  json_t *v;

  if (g == NULL || cmd == NULL)
    return no_permission (err, "docker", NULL);
  json_array_foreach (json_object_get (g, "commands"), i, v)
  {
    if (json_string_value (v) && strcmp (json_string_value (v), cmd) == 0)
      ok = true;
  }
  if (!ok || !ext_sandbox_docker_read_only_p (cmd))
    return no_permission (err, "docker", "command not granted");
  if (g_conf.guard_sock == NULL)
    return moat_error (err, 0, "docker: no guarded engine");
  if (strcmp (cmd, "ps") == 0)
    snprintf (path, sizeof path, "/containers/json");
  else if (strcmp (cmd, "images") == 0)
    snprintf (path, sizeof path, "/images/json");
  else if (strcmp (cmd, "version") == 0)
    snprintf (path, sizeof path, "/version");
  else if (strcmp (cmd, "info") == 0)
    snprintf (path, sizeof path, "/info");
  else
    {
      if (arg == NULL || arg[0] == 0 || strlen (arg) > 128
          || strspn (arg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWX"
                          "YZ0123456789_.-")
                 != strlen (arg))
        return moat_error (err, 0, "docker inspect: a container name or id");
      snprintf (path, sizeof path, "/containers/%s/json", arg);
    }
  /* As the user the call serves, never as moatd (root): another user's
   * container is then refused by ECI's owner rule, as for that user. */
  cleanup_free char *body = NULL;
  size_t blen = 0;
  int status = 0;
  moat_error_t derr = NULL;
  if (ext_sandbox_docker_get (g_conf.guard_sock, e->as_uid, path, left_ms (e),
                              EXT_SANDBOX_BODY_MAX, &status, &body, &blen,
                              &derr)
      < 0)
    {
      int r
          = moat_error (err, 0, "docker %s: %s", cmd, moat_error_msg (&derr));
      moat_error_release (&derr);
      return r;
    }
  json_t *o = json_loadb (body, blen, 0, NULL);
  if (status != 200 || o == NULL)
    {
      /* the engine's (or the guard's) {"message": ...} when there is one */
      const char *m = json_string_value (json_object_get (o, "message"));
      int r = moat_error (err, 0, "docker %s: %s", cmd,
                          m      ? m
                          : blen ? body
                                 : "no answer");
      json_decref (o);
      return r;
    }
  *result = json_dumps (o, JSON_COMPACT);
  json_decref (o);
  return *result ? 0 : moat_error (err, ENOMEM, "docker");
}

static int
host_fn (void *ud, const char *name, const char *args_json, char **result,
         moat_error_t *err)
{
  struct sbx *e = ud;
  json_t *args = json_loads (args_json, 0, NULL);
  int r;

  if (!json_is_array (args))
    {
      json_decref (args);
      return moat_error (err, 0, "bad host call");
    }
  if (strcmp (name, "log") == 0)
    {
      const char *msg = json_string_value (json_array_get (args, 0));
      if (granted (e, "log") == NULL)
        r = no_permission (err, "log", NULL);
      else
        {
          log_info ("extension %s: %.*s", e->name, LOG_MAX, msg ? msg : "");
          r = 0;
        }
    }
  else if (strcmp (name, "sleep") == 0)
    {
      double ms = json_number_value (json_array_get (args, 0));
      if (granted (e, "sleep") == NULL)
        r = no_permission (err, "sleep", NULL);
      else
        {
          /* Never past the call's own time limit: the script is then
           * stopped by its deadline, as for any other slow call. */
          long left = left_ms (e);
          long t = ms > 0 ? (ms < (double)left ? (long)ms : left) : 0;
          struct timespec ts = { t / 1000, (t % 1000) * 1000000L };
          while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
            ;
          r = ms > (double)left
                  ? moat_error (err, 0,
                                "RangeError: execution timeout (sleep past "
                                "the call's time limit)")
                  : 0;
        }
    }
  else if (strncmp (name, "storage.", 8) == 0)
    r = storage (e, name + 8, args, result, err);
  else if (strcmp (name, "request") == 0)
    r = request (e, args, result, err);
  else if (strcmp (name, "docker") == 0)
    r = docker (e, args, result, err);
  else
    r = moat_error (err, 0, "no host function `%.64s`", name);
  json_decref (args);
  return r;
}

/* ---- start and call ---- */

static json_t *
read_json (const char *path, moat_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t len;
  json_t *j;
  if (fs_read_file (path, 1 << 20, &buf, &len, err) < 0)
    return NULL;
  j = json_loadb (buf, len, 0, NULL);
  if (j == NULL)
    moat_error (err, EINVAL, "`%s` is not JSON", path);
  return j;
}

/* Start e's sandbox: its grants from the install record, the prelude,
 * then its script.  status: 0 fine, ENOENT no sandbox, else a failure of
 * the sandbox (counted). */
static int
start_locked (struct sbx *e, moat_error_t *err)
{
  cleanup_free char *rpath = NULL;
  cleanup_free char *spath = NULL;
  cleanup_free char *src = NULL;
  size_t len;
  json_t *rec, *sb;

  if (asprintf (&rpath, "%s/%s/" RECORD, g_conf.ext_dir, e->name) < 0
      || asprintf (&spath, "%s/%s/" SCRIPT_FILE, g_conf.ext_dir, e->name) < 0)
    return moat_error (err, ENOMEM, "sandbox");
  rec = read_json (rpath, err);
  if (rec == NULL)
    {
      moat_error_release (err);
      return moat_error (err, ENOENT, "no extension `%s` installed", e->name);
    }
  sb = json_object_get (rec, "sandbox");
  if (!json_is_object (sb))
    {
      json_decref (rec);
      return moat_error (err, ENOENT, "extension `%s` has no sandbox",
                         e->name);
    }
  json_decref (e->grants);
  e->grants = json_incref (json_object_get (sb, "grants"));
  json_decref (rec);
  if (fs_read_file (spath, SCRIPT_MAX, &src, &len, err) < 0)
    return moat_error_wrap (err, "sandbox script");

  struct sandbox_client_opts o = {
    .exe = g_conf.exe,
    .host = host_fn,
    .host_ud = e,
    .heap_mb = g_conf.heap_mb,
    .cpu_seconds = 300,
  };
  if (sandbox_client_new (&o, &e->client, err) < 0)
    {
      (*err)->status = EIO;
      return -1;
    }
  e->starts++;
  e->call_start_ms = moat_mono_ms ();
  if (sandbox_client_load (e->client, "moat", prelude, sizeof prelude - 1,
                           g_conf.call_ms, err)
          < 0
      || sandbox_client_load (e->client, SCRIPT_FILE, src, len, g_conf.call_ms,
                              err)
             < 0)
    {
      if (*err && (*err)->status == 0)
        (*err)->status = EINVAL; /* a script that does not load: a failure */
      return moat_error_wrap (err, "load the script");
    }
  return 0;
}

static void
failed_locked (struct sbx *e, const char *what)
{
  stop_locked (e);
  e->failures++;
  snprintf (e->last_error, sizeof e->last_error, "%s", what);
  if (e->failures >= EXT_SANDBOX_QUARANTINE_AFTER)
    {
      e->quarantined = true;
      log_error ("extension %s: sandbox quarantined after %u failures in a "
                 "row (last: %s)",
                 e->name, e->failures, what);
      return;
    }
  long back = BACKOFF_FIRST_MS;
  for (unsigned i = 1; i < e->failures && back < BACKOFF_MAX_MS; i++)
    back *= 2;
  if (back > BACKOFF_MAX_MS)
    back = BACKOFF_MAX_MS;
  e->retry_at_ms = moat_mono_ms () + back;
  log_warn ("extension %s: sandbox failed (%s); restart in %ld ms", e->name,
            what, back);
}

static int
reply_str (int st, const char *msg, int *status, char **reply,
           size_t *reply_len, moat_error_t *err)
{
  *status = st;
  *reply = strdup (msg);
  if (*reply == NULL)
    return moat_error (err, ENOMEM, "sandbox reply");
  *reply_len = strlen (*reply);
  return 0;
}

static bool
oom_p (const char *msg)
{
  return strstr (msg, "alloc failed") != NULL
         || strstr (msg, "out of memory") != NULL;
}

int
ext_sandbox_call (const char *name, const char *method, const char *path,
                  const char *body, size_t len, uid_t as_uid, int *status,
                  char **reply, size_t *reply_len, moat_error_t *err)
{
  char m[16], p[1024], q[1024] = "";
  cleanup_free char *args = NULL;
  cleanup_free char *res = NULL;
  char msg[512];
  struct sbx *e;
  int r;

  *reply = NULL;
  *reply_len = 0;
  if (!g_conf.set)
    return moat_error (err, EINVAL, "extension sandboxes are not set up");
  if (method == NULL || strlen (method) >= sizeof m || path == NULL
      || path[0] != '/' || strlen (path) >= sizeof p)
    return reply_str (400, "bad method or path", status, reply, reply_len,
                      err);
  if (body != NULL && (len > EXT_SANDBOX_BODY_MAX || memchr (body, 0, len)))
    return reply_str (413, "body over 1 MiB or not text", status, reply,
                      reply_len, err);
  for (size_t i = 0; method[i]; i++)
    m[i] = (char)(method[i] >= 'a' && method[i] <= 'z' ? method[i] - 32
                                                       : method[i]);
  m[strlen (method)] = 0;
  snprintf (p, sizeof p, "%s", path);
  char *qm = strchr (p, '?');
  if (qm != NULL)
    {
      snprintf (q, sizeof q, "%s", qm + 1);
      *qm = 0;
    }
  {
    json_t *a = json_pack ("[s, s, s, s%]", m, p, q, body ? body : "",
                           body ? len : 0);
    if (a == NULL)
      return reply_str (400, "method, path or body is not UTF-8", status,
                        reply, reply_len, err);
    args = json_dumps (a, JSON_COMPACT);
    json_decref (a);
    if (args == NULL)
      return moat_error (err, ENOMEM, "sandbox call");
  }

  e = lookup (name, true);
  if (e == NULL)
    return moat_error (err, ENOMEM, "sandbox");
  pthread_mutex_lock (&e->mu);
  /* for the script's host functions, the loading of the script included */
  e->as_uid = as_uid;
  if (e->quarantined)
    {
      snprintf (msg, sizeof msg,
                "sandbox quarantined after %u failures in a row (last: %s); "
                "update or reinstall the extension, or restart moat",
                e->failures, e->last_error);
      publish_locked (e);
      pthread_mutex_unlock (&e->mu);
      return reply_str (503, msg, status, reply, reply_len, err);
    }
  if (e->client == NULL)
    {
      int64_t wait = e->retry_at_ms - moat_mono_ms ();
      if (wait > 0)
        {
          snprintf (msg, sizeof msg,
                    "sandbox restarting after a failure (%s); retry in "
                    "%lld ms",
                    e->last_error, (long long)wait);
          publish_locked (e);
          pthread_mutex_unlock (&e->mu);
          return reply_str (503, msg, status, reply, reply_len, err);
        }
      cleanup_error moat_error_t serr = NULL;
      if (start_locked (e, &serr) < 0)
        {
          if (moat_error_status (&serr) == ENOENT)
            {
              stop_locked (e);
              publish_locked (e);
              pthread_mutex_unlock (&e->mu);
              *err = serr;
              serr = NULL;
              return -1;
            }
          snprintf (msg, sizeof msg, "%s", moat_error_msg (&serr));
          failed_locked (e, msg);
          publish_locked (e);
          pthread_mutex_unlock (&e->mu);
          return reply_str (502, msg, status, reply, reply_len, err);
        }
    }
  {
    cleanup_error moat_error_t cerr = NULL;
    e->call_start_ms = moat_mono_ms ();
    r = sandbox_client_call (e->client, "__moat_dispatch", args,
                             g_conf.call_ms, &res, &cerr);
    if (r < 0)
      {
        int st = moat_error_status (&cerr);
        const char *em = moat_error_msg (&cerr);
        snprintf (msg, sizeof msg, "%s", em);
        if (st == 0 && !oom_p (em))
          {
            /* The script threw: its own error, the sandbox is fine. */
            e->failures = 0;
            publish_locked (e);
            pthread_mutex_unlock (&e->mu);
            return reply_str (500, msg, status, reply, reply_len, err);
          }
        if (st == 0)
          snprintf (msg, sizeof msg, "out of memory (heap cap %u MiB): %s",
                    g_conf.heap_mb, em);
        else if (st == ETIMEDOUT)
          snprintf (msg, sizeof msg, "timed out (%u ms per call): %s",
                    g_conf.call_ms, em);
        failed_locked (e, msg);
        publish_locked (e);
        pthread_mutex_unlock (&e->mu);
        return reply_str (st == ETIMEDOUT ? 504 : 502, msg, status, reply,
                          reply_len, err);
      }
    e->failures = 0;
  }
  publish_locked (e);
  pthread_mutex_unlock (&e->mu);

  /* The sandbox's answer is as hostile as the rest of it. */
  json_t *o = json_loads (res, 0, NULL);
  json_t *js = json_object_get (o, "status");
  const char *b = json_string_value (json_object_get (o, "body"));
  if (!json_is_integer (js) || json_integer_value (js) < 100
      || json_integer_value (js) > 599 || b == NULL)
    {
      json_decref (o);
      return reply_str (502, "the route returned no valid {status, body}",
                        status, reply, reply_len, err);
    }
  *status = (int)json_integer_value (js);
  *reply_len = json_string_length (json_object_get (o, "body"));
  *reply = malloc (*reply_len + 1);
  if (*reply == NULL)
    {
      json_decref (o);
      return moat_error (err, ENOMEM, "sandbox reply");
    }
  memcpy (*reply, b, *reply_len);
  (*reply)[*reply_len] = 0;
  json_decref (o);
  return 0;
}
