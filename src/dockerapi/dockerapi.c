#include "dockerapi.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

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

  if (b->len + n > DOCKERAPI_MAX_BODY)
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

void
dockerapi_response_free (struct dockerapi_response *r)
{
  free (r->body);
  r->body = NULL;
}

int
dockerapi_call (const char *sock, const char *method, const char *path,
                const void *body, size_t body_len, bool tar, long timeout_ms,
                struct dockerapi_response *out, moat_error_t *err)
{
  struct body b = { 0 };
  cleanup_free char *url = NULL;
  struct curl_slist *hdrs = NULL;
  CURL *c;
  CURLcode rc;
  long code = 0;

  memset (out, 0, sizeof *out);
  if (asprintf (&url, "http://localhost%s", path) < 0)
    return moat_error (err, ENOMEM, "engine request");
  c = curl_easy_init ();
  if (c == NULL)
    return moat_error (err, ENOMEM, "curl_easy_init");
  curl_easy_setopt (c, CURLOPT_UNIX_SOCKET_PATH, sock);
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, &b);
  if (strcmp (method, "HEAD") == 0)
    curl_easy_setopt (c, CURLOPT_NOBODY, 1L);
  if (body != NULL)
    {
      hdrs = curl_slist_append (hdrs, tar ? "Content-Type: application/x-tar"
                                          : "Content-Type: application/json");
      curl_easy_setopt (c, CURLOPT_HTTPHEADER, hdrs);
      curl_easy_setopt (c, CURLOPT_POSTFIELDS, body);
      curl_easy_setopt (c, CURLOPT_POSTFIELDSIZE_LARGE,
                        (curl_off_t) body_len);
    }
  rc = curl_easy_perform (c);
  if (rc == CURLE_OK)
    curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup (c);
  curl_slist_free_all (hdrs);
  if (rc != CURLE_OK)
    {
      free (b.buf);
      return moat_error (err, rc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : 0,
                         "engine at `%s` %s %s: %s", sock, method, path,
                         b.too_big ? "response too large"
                                   : curl_easy_strerror (rc));
    }
  out->status = code;
  out->body = b.buf != NULL ? b.buf : strdup ("");
  out->len = b.len;
  if (out->body == NULL)
    return moat_error (err, ENOMEM, "engine response");
  return 0;
}

const char *
dockerapi_error_message (const struct dockerapi_response *r, char *buf,
                         size_t bufsz)
{
  json_t *j = json_loads (r->body != NULL ? r->body : "", 0, NULL);
  const char *m = json_string_value (json_object_get (j, "message"));
  snprintf (buf, bufsz, "%s", m != NULL ? m : (r->body ? r->body : ""));
  json_decref (j);
  return buf;
}
