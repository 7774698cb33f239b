#include "pac/fetch.h"

#include "common/capbuf.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strutil.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* Progress callback: a non-zero return aborts the transfer. */
static int
on_progress (void *ud, curl_off_t dlt, curl_off_t dln, curl_off_t ult,
             curl_off_t uln)
{
  const atomic_bool *cancel = ud;
  return atomic_load (cancel) ? 1 : 0;
}

/* A file:// PAC is read through fs_read_trusted, never through curl: it
 * must be a file only root may change, like admin-settings.json (else a
 * non-root user could route every container's traffic). */
static int
fetch_file (const char *url, char **body, size_t *len, moat_error_t *err)
{
  const char *rest = url + strlen ("file://");
  cleanup_free char *path = pct_decode (rest, strlen (rest), true);

  if (path == NULL)
    return moat_error (err, EINVAL, "fetch PAC `%s`: malformed %%-escape",
                       url);
  if (fs_read_trusted (path, NULL, PAC_FETCH_MAX, body, len, err) == 0)
    return 0;
  if (moat_error_status (err) == EFBIG)
    {
      moat_error_release (err);
      return moat_error (err, EFBIG, "fetch PAC `%s`: larger than %u bytes",
                         url, PAC_FETCH_MAX);
    }
  return moat_error_wrap (err, "fetch PAC `%s`", url);
}

int
pac_fetch (const char *url, unsigned timeout_ms, char **body, size_t *len,
           moat_error_t *err)
{
  return pac_fetch_cancel (url, timeout_ms, NULL, body, len, err);
}

int
pac_fetch_cancel (const char *url, unsigned timeout_ms,
                  const atomic_bool *cancel, char **body, size_t *len,
                  moat_error_t *err)
{
  char errbuf[CURL_ERROR_SIZE] = "";
  struct capbuf b = CAPBUF_INIT (PAC_FETCH_MAX);
  long status = 0;
  char *scheme = NULL;
  int r = -1;

  if (strncasecmp (url, "file://", 7) == 0)
    return fetch_file (url, body, len, err);
  if (timeout_ms == 0)
    timeout_ms = 10000;
  CURL *c = curl_easy_init ();
  if (c == NULL)
    return moat_error (err, ENOMEM, "fetch PAC `%s`: curl init", url);
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (c, CURLOPT_MAXREDIRS, 3L);
  curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt (c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)PAC_FETCH_MAX);
  curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, capbuf_write);
  curl_easy_setopt (c, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt (c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt (c, CURLOPT_USERAGENT, "moat-pac-fetch");
  if (cancel != NULL)
    {
      curl_easy_setopt (c, CURLOPT_XFERINFOFUNCTION, on_progress);
      curl_easy_setopt (c, CURLOPT_XFERINFODATA, (void *)cancel);
      curl_easy_setopt (c, CURLOPT_NOPROGRESS, 0L);
    }

  CURLcode rc = curl_easy_perform (c);
  curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo (c, CURLINFO_SCHEME, &scheme);
  bool http = scheme && strncasecmp (scheme, "http", 4) == 0;

  if (rc == CURLE_ABORTED_BY_CALLBACK)
    moat_error (err, ECANCELED, "fetch PAC `%s`: cancelled", url);
  else if (b.over || rc == CURLE_FILESIZE_EXCEEDED)
    moat_error (err, EFBIG, "fetch PAC `%s`: larger than %u bytes", url,
                PAC_FETCH_MAX);
  else if (rc == CURLE_OPERATION_TIMEDOUT)
    moat_error (err, ETIMEDOUT,
                "fetch PAC `%s`: no complete answer within %u ms", url,
                timeout_ms);
  else if (rc == CURLE_UNSUPPORTED_PROTOCOL)
    moat_error (err, EPROTONOSUPPORT,
                "fetch PAC `%s`: only http, https and file URLs are allowed",
                url);
  else if (rc != CURLE_OK && http && status != 0 && status != 200)
    moat_error (err, EIO, "fetch PAC `%s`: HTTP status %ld (200 required)",
                url, status);
  else if (rc != CURLE_OK)
    moat_error (err, EIO, "fetch PAC `%s`: %s", url,
                errbuf[0] ? errbuf : curl_easy_strerror (rc));
  else if (http && status != 200)
    moat_error (err, EIO, "fetch PAC `%s`: HTTP status %ld (200 required)",
                url, status);
  else
    {
      if ((*body = capbuf_steal (&b, len)) == NULL)
        moat_error (err, ENOMEM, "fetch PAC `%s`", url);
      else
        r = 0;
    }
  capbuf_release (&b);
  curl_easy_cleanup (c);
  return r;
}
