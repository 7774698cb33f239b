/* moat's fleet client (docs/fleet.md): written for moat, not taken from
 * curl or another project; it only calls libcurl's easy API.
 *
 * One polite, bounded GET of the fleet's settings or signature.  The
 * server is not trusted: the body is capped, the transfer has a deadline
 * (a server that drips bytes is cut off), redirects are refused (a
 * redirect to another host is reported, never followed), and only http
 * and https are spoken.  What the body says is judged by the signature. */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/capbuf.h"
#include "common/cleanup.h"
#include "fleet.h"

struct sink
{
  struct capbuf body;
  char *etag;
  char *last_modified;
};

/* The value of header `name` (with its colon) in line p, trimmed, or
 * NULL.  Only printable ASCII is kept: the value is sent back to the
 * server as a request header, so a CR, LF or NUL in it is refused. */
static char *
header_value (const char *p, size_t len, const char *name)
{
  size_t nl = strlen (name), vl;
  const char *v;

  if (len <= nl || len >= 512 || strncasecmp (p, name, nl) != 0)
    return NULL;
  v = p + nl;
  vl = len - nl;
  while (vl > 0 && (*v == ' ' || *v == '\t'))
    v++, vl--;
  while (vl > 0
         && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
    vl--;
  for (size_t i = 0; i < vl; i++)
    if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
      return NULL;
  return vl > 0 ? strndup (v, vl) : NULL;
}

static size_t
on_header (char *p, size_t size, size_t n, void *ud)
{
  struct sink *s = ud;
  size_t len = size * n;
  char *v;

  if ((v = header_value (p, len, "ETag:")) != NULL)
    {
      free (s->etag);
      s->etag = v;
    }
  else if ((v = header_value (p, len, "Last-Modified:")) != NULL)
    {
      free (s->last_modified);
      s->last_modified = v;
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
                const char *last_modified, const volatile bool *cancel,
                char **body, size_t *len, char **etag_out,
                char **last_modified_out, moat_error_t *err)
{
  struct sink s = { .body = CAPBUF_INIT (max) };
  char errbuf[CURL_ERROR_SIZE] = "";
  struct curl_slist *hdrs = NULL;
  cleanup_free char *inm = NULL;
  cleanup_free char *ims = NULL;
  bool conditional = false;
  long status = 0;
  char *redirect = NULL;
  CURLcode rc;
  CURL *c;
  int ret = -1;

  *body = NULL;
  *len = 0;
  if (etag_out != NULL)
    *etag_out = NULL;
  if (last_modified_out != NULL)
    *last_modified_out = NULL;
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
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, capbuf_write);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, &s.body);
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
  /* Both validators of the last good copy: a server that keeps no ETag
   * may still answer 304 to If-Modified-Since (RFC 9110 13.1.3). */
  if (etag != NULL && strpbrk (etag, "\r\n") == NULL
      && asprintf (&inm, "If-None-Match: %s", etag) >= 0)
    {
      hdrs = curl_slist_append (hdrs, inm);
      conditional = true;
    }
  else
    inm = NULL;
  if (last_modified != NULL && strpbrk (last_modified, "\r\n") == NULL
      && asprintf (&ims, "If-Modified-Since: %s", last_modified) >= 0)
    {
      hdrs = curl_slist_append (hdrs, ims);
      conditional = true;
    }
  else
    ims = NULL;
  if (hdrs != NULL)
    curl_easy_setopt (c, CURLOPT_HTTPHEADER, hdrs);

  rc = curl_easy_perform (c);
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &status);
  if (s.body.over || rc == CURLE_FILESIZE_EXCEEDED)
    moat_error (err, EFBIG, "GET %s: the answer is larger than %zu bytes", url,
                max);
  else if (rc == CURLE_OPERATION_TIMEDOUT)
    moat_error (err, ETIMEDOUT, "GET %s: no complete answer within %d s", url,
                FLEET_FETCH_TIMEOUT_S);
  else if (rc != CURLE_OK)
    moat_error (err, EIO, "GET %s: %s", url,
                errbuf[0] ? errbuf : curl_easy_strerror (rc));
  else if (status == 304 && conditional)
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
      if ((*body = capbuf_steal (&s.body, len)) == NULL)
        moat_error (err, ENOMEM, "GET %s", url);
      else
        {
          if (etag_out != NULL)
            *etag_out = steal_pointer (&s.etag);
          if (last_modified_out != NULL)
            *last_modified_out = steal_pointer (&s.last_modified);
          ret = 200;
        }
    }
  curl_slist_free_all (hdrs);
  curl_easy_cleanup (c);
  capbuf_release (&s.body);
  free (s.etag);
  free (s.last_modified);
  return ret;
}
