/* The few Docker Engine API calls moat makes itself (/_ping, /version),
 * over the engine's unix socket with libcurl.  Responses are bounded. */
#include "stack.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"

#define ENGINE_MAX_BODY (256 * 1024)

struct body
{
  char *buf;
  size_t len;
  bool too_big;
};

static size_t
on_data (char *data, size_t size, size_t nmemb, void *userdata)
{
  struct body *b = userdata;
  size_t n = size * nmemb;
  char *nb;

  if (b->len + n > ENGINE_MAX_BODY)
    {
      b->too_big = true;
      return 0;
    }
  nb = realloc (b->buf, b->len + n + 1);
  if (nb == NULL)
    return 0;
  b->buf = nb;
  memcpy (b->buf + b->len, data, n);
  b->len += n;
  b->buf[b->len] = '\0';
  return n;
}

/* GET path on the engine socket; *out is the NUL-terminated body of a 200
 * response. */
static int
engine_get (const char *sock, const char *path, long timeout_ms, char **out,
            moat_error_t *err)
{
  struct body b = { 0 };
  cleanup_free char *url = NULL;
  CURL *c;
  CURLcode rc;
  long code = 0;

  if (asprintf (&url, "http://localhost%s", path) < 0)
    return moat_error (err, ENOMEM, "engine request");
  c = curl_easy_init ();
  if (c == NULL)
    return moat_error (err, ENOMEM, "curl_easy_init");
  curl_easy_setopt (c, CURLOPT_UNIX_SOCKET_PATH, sock);
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, &b);
  rc = curl_easy_perform (c);
  if (rc == CURLE_OK)
    curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup (c);
  if (rc != CURLE_OK)
    {
      free (b.buf);
      return moat_error (err, rc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : 0,
                         "engine at `%s` GET %s: %s", sock, path,
                         b.too_big ? "response too large"
                                   : curl_easy_strerror (rc));
    }
  if (code != 200)
    {
      free (b.buf);
      return moat_error (err, 0, "engine at `%s` GET %s: HTTP status %ld",
                         sock, path, code);
    }
  *out = b.buf != NULL ? b.buf : strdup ("");
  return *out == NULL ? moat_error (err, ENOMEM, "engine response") : 0;
}

int
stack_engine_ping (const char *sock, long timeout_ms, moat_error_t *err)
{
  cleanup_free char *body = NULL;

  if (engine_get (sock, "/_ping", timeout_ms, &body, err) < 0)
    return -1;
  if (strcmp (body, "OK") != 0)
    return moat_error (err, 0, "engine at `%s` answered /_ping with `%.40s`",
                       sock, body);
  return 0;
}

int
stack_engine_version (const char *sock, long timeout_ms, json_t **out,
                      moat_error_t *err)
{
  cleanup_free char *body = NULL;
  json_error_t jerr;

  if (engine_get (sock, "/version", timeout_ms, &body, err) < 0)
    return -1;
  *out = json_loads (body, 0, &jerr);
  if (*out == NULL || !json_is_object (*out))
    {
      json_decref (*out);
      *out = NULL;
      return moat_error (err, EPROTO, "engine /version is not a JSON object");
    }
  return 0;
}

bool
stack_socket_in_use (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  cleanup_close int fd = -1;

  if (strlen (path) >= sizeof addr.sun_path)
    return false;
  strcpy (addr.sun_path, path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  return connect (fd, (struct sockaddr *)&addr, sizeof addr) == 0;
}
