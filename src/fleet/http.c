/* One polite, bounded GET of the fleet's settings or signature.  The
 * server is not trusted: the body is capped, the transfer has a deadline
 * (a server that drips bytes is cut off), redirects are refused (a
 * redirect to another host is reported, never followed), and only http
 * and https are spoken.  What the body says is judged by the signature. */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "fleet.h"

struct sink
{
  char *buf;
  size_t len, max;
  bool too_big;
  char *etag;
};

static size_t
on_data (char *p, size_t size, size_t n, void *ud)
{
  struct sink *s = ud;
  size_t add = size * n;
  char *nb;

  if (add > s->max - s->len)
    {
      s->too_big = true;
      return 0; /* aborts the transfer */
    }
  nb = realloc (s->buf, s->len + add + 1);
  if (nb == NULL)
    return 0;
  memcpy (nb + s->len, p, add);
  s->buf = nb;
  s->len += add;
  s->buf[s->len] = '\0';
  return add;
}

static size_t
on_header (char *p, size_t size, size_t n, void *ud)
{
  struct sink *s = ud;
  size_t len = size * n;

  if (len > 5 && strncasecmp (p, "ETag:", 5) == 0 && len < 512)
    {
      const char *v = p + 5;
      size_t vl = len - 5;
      while (vl > 0 && (*v == ' ' || *v == '\t'))
        v++, vl--;
      while (vl > 0
             && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
        vl--;
      free (s->etag);
      s->etag = vl > 0 ? strndup (v, vl) : NULL;
    }
  return len;
}

static int
on_progress (void *ud, curl_off_t dlt, curl_off_t dln, curl_off_t ult,
             curl_off_t uln)
{
  const volatile bool *cancel = ud;
  return *cancel ? 1 : 0;
}

int
fleet_http_get (const char *url, size_t max, const char *etag,
                const volatile bool *cancel, char **body, size_t *len,
                char **etag_out, moat_error_t *err)
{
  struct sink s = { .max = max };
  char errbuf[CURL_ERROR_SIZE] = "";
  struct curl_slist *hdrs = NULL;
  cleanup_free char *inm = NULL;
  long status = 0;
  char *redirect = NULL;
  CURLcode rc;
  CURL *c;
  int ret = -1;

  *body = NULL;
  *len = 0;
  if (etag_out != NULL)
    *etag_out = NULL;
  c = curl_easy_init ();
  if (c == NULL)
    return moat_error (err, ENOMEM, "curl");
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT, (long)FLEET_CONNECT_TIMEOUT_S);
  curl_easy_setopt (c, CURLOPT_TIMEOUT, (long)FLEET_FETCH_TIMEOUT_S);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  /* The host's proxy variables are for its users' traffic, not for what
   * decides moat's policy. */
  curl_easy_setopt (c, CURLOPT_PROXY, "");
  curl_easy_setopt (c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt (c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (c, CURLOPT_HEADERDATA, &s);
  curl_easy_setopt (c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (c, CURLOPT_USERAGENT, "moat-fleet");
  if (cancel != NULL)
    {
      curl_easy_setopt (c, CURLOPT_XFERINFOFUNCTION, on_progress);
      curl_easy_setopt (c, CURLOPT_XFERINFODATA, (void *)cancel);
      curl_easy_setopt (c, CURLOPT_NOPROGRESS, 0L);
    }
  if (etag != NULL && strpbrk (etag, "\r\n") == NULL
      && asprintf (&inm, "If-None-Match: %s", etag) >= 0)
    {
      hdrs = curl_slist_append (NULL, inm);
      curl_easy_setopt (c, CURLOPT_HTTPHEADER, hdrs);
    }
  else
    inm = NULL;

  rc = curl_easy_perform (c);
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &status);
  if (s.too_big || rc == CURLE_FILESIZE_EXCEEDED)
    moat_error (err, EFBIG, "GET %s: the answer is larger than %zu bytes", url,
                max);
  else if (rc == CURLE_OPERATION_TIMEDOUT)
    moat_error (err, ETIMEDOUT, "GET %s: no complete answer within %d s", url,
                FLEET_FETCH_TIMEOUT_S);
  else if (rc != CURLE_OK)
    moat_error (err, EIO, "GET %s: %s", url,
                errbuf[0] ? errbuf : curl_easy_strerror (rc));
  else if (status == 304 && etag != NULL)
    ret = 304;
  else if (status >= 300 && status < 400)
    {
      curl_easy_getinfo (c, CURLINFO_REDIRECT_URL, &redirect);
      moat_error (err, EPROTO,
                  "GET %s: the server redirects (HTTP %ld to %s); moat does "
                  "not follow redirects for fleet policy",
                  url, status, redirect != NULL ? redirect : "?");
    }
  else if (status != 200)
    moat_error (err, EPROTO, "GET %s: HTTP %ld", url, status);
  else
    {
      if (s.buf == NULL)
        s.buf = calloc (1, 1);
      if (s.buf == NULL)
        moat_error (err, ENOMEM, "GET %s", url);
      else
        {
          *body = steal_pointer (&s.buf);
          *len = s.len;
          if (etag_out != NULL)
            *etag_out = steal_pointer (&s.etag);
          ret = 200;
        }
    }
  curl_slist_free_all (hdrs);
  curl_easy_cleanup (c);
  free (s.buf);
  free (s.etag);
  return ret;
}
