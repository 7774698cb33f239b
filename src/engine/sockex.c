/* Docker socket exceptions: image allow list, registry digest check,
 * derived images.  See sockex.h. */
#include "sockex.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/refusal.h"
#include "common/strutil.h"
#include "regauth.h"

/* Bounds on what an inspect answer may hold (a hostile or broken engine
 * must not make us allocate without limit). */
#define MAX_LIST 4096

void
sockex_image_free (struct sockex_image *im)
{
  for (size_t i = 0; i < im->n_repo_digests; i++)
    free (im->repo_digests[i]);
  for (size_t i = 0; i < im->n_layers; i++)
    free (im->layers[i]);
  free (im->repo_digests);
  free (im->layers);
  free (im->id);
  memset (im, 0, sizeof *im);
}

static int
str_list (json_t *a, char ***out, size_t *n, moat_error_t *err)
{
  size_t i;
  json_t *x;
  *out = NULL;
  *n = 0;
  if (a == NULL || json_is_null (a))
    return 0;
  if (!json_is_array (a) || json_array_size (a) > MAX_LIST)
    return moat_error (err, EINVAL, "image inspect: bad list");
  *out = calloc (json_array_size (a) + 1, sizeof **out);
  if (*out == NULL)
    return moat_error (err, ENOMEM, "image inspect");
  json_array_foreach (a, i, x)
  {
    if (!json_is_string (x))
      return moat_error (err, EINVAL, "image inspect: bad list entry");
    (*out)[i] = strdup (json_string_value (x));
    if ((*out)[i] == NULL)
      return moat_error (err, ENOMEM, "image inspect");
    *n = i + 1;
  }
  return 0;
}

int
sockex_image_parse (const char *json, size_t len, struct sockex_image *im,
                    moat_error_t *err)
{
  json_t *root = json_loadb (json, len, JSON_REJECT_DUPLICATES, NULL);
  json_t *rootfs;
  int ret = -1;
  memset (im, 0, sizeof *im);
  if (root == NULL || !json_is_object (root))
    {
      moat_error (err, EINVAL, "image inspect: not a JSON object");
      goto done;
    }
  rootfs = json_object_get (root, "RootFS");
  if (json_is_string (json_object_get (root, "Id"))
      && (im->id = strdup (json_string_value (json_object_get (root, "Id"))))
             == NULL)
    {
      moat_error (err, ENOMEM, "image inspect");
      goto done;
    }
  if (str_list (json_object_get (root, "RepoDigests"), &im->repo_digests,
                &im->n_repo_digests, err)
          < 0
      || str_list (json_is_object (rootfs) ? json_object_get (rootfs, "Layers")
                                           : NULL,
                   &im->layers, &im->n_layers, err)
             < 0)
    goto done;
  ret = 0;
done:
  if (ret < 0)
    sockex_image_free (im);
  json_decref (root);
  return ret;
}

void
sockex_local_free (struct sockex_local *l, size_t n)
{
  for (size_t i = 0; l != NULL && i < n; i++)
    {
      for (size_t k = 0; k < l[i].n_tags; k++)
        free (l[i].tags[k]);
      free (l[i].tags);
      free (l[i].id);
    }
  free (l);
}

int
sockex_local_parse (const char *json, size_t len, struct sockex_local **out,
                    size_t *n, moat_error_t *err)
{
  json_t *root = json_loadb (json, len, 0, NULL);
  struct sockex_local *l = NULL;
  size_t i, cnt = 0;
  json_t *x;
  int ret = -1;

  *out = NULL;
  *n = 0;
  if (!json_is_array (root) || json_array_size (root) > SOCKEX_MAX_LOCAL)
    {
      moat_error (err, EINVAL, "image list: not a JSON array of at most %d",
                  SOCKEX_MAX_LOCAL);
      goto done;
    }
  l = calloc (json_array_size (root) + 1, sizeof *l);
  if (l == NULL)
    {
      moat_error (err, ENOMEM, "image list");
      goto done;
    }
  json_array_foreach (root, i, x)
  {
    const char *id = json_string_value (json_object_get (x, "Id"));
    json_t *tags = json_object_get (x, "RepoTags"), *t;
    size_t k;
    if (!sockex_image_id_p (id) || !json_is_array (tags)
        || json_array_size (tags) == 0)
      continue;
    if (json_array_size (tags) > MAX_LIST)
      {
        moat_error (err, EINVAL, "image list: bad RepoTags");
        goto done;
      }
    l[cnt].tags = calloc (json_array_size (tags), sizeof *l[cnt].tags);
    l[cnt].id = strdup (id);
    if (l[cnt].tags == NULL || l[cnt].id == NULL)
      {
        cnt++;
        moat_error (err, ENOMEM, "image list");
        goto done;
      }
    json_array_foreach (tags, k, t)
    {
      const char *tag = json_string_value (t);
      char *dup;
      if (tag == NULL || strcmp (tag, "<none>:<none>") == 0)
        continue;
      if ((dup = strdup (tag)) == NULL)
        {
          cnt++;
          moat_error (err, ENOMEM, "image list");
          goto done;
        }
      l[cnt].tags[l[cnt].n_tags++] = dup;
    }
    cnt++;
  }
  ret = 0;
done:
  json_decref (root);
  if (ret < 0)
    {
      sockex_local_free (l, cnt);
      return -1;
    }
  *out = l;
  *n = cnt;
  return 0;
}

/* True when the image's RepoDigests hold ref's repository at digest. */
static bool
has_repo_digest (const struct sockex_image *im, const struct imageref *ref,
                 const char *digest)
{
  for (size_t i = 0; i < im->n_repo_digests; i++)
    {
      struct imageref rd = { 0 };
      moat_error_t e = NULL;
      bool eq;
      if (imageref_parse (im->repo_digests[i], &rd, &e) < 0)
        {
          moat_error_release (&e);
          continue;
        }
      eq = rd.digest && strcmp (rd.domain, ref->domain) == 0
           && strcmp (rd.path, ref->path) == 0
           && strcmp (rd.digest, digest) == 0;
      imageref_free (&rd);
      if (eq)
        return true;
    }
  return false;
}

/* Is im what ref names?  1 yes, 0 no, -1 registry unreachable (*why
 * malloc'd). */
static int
validate (const struct sockex_ops *ops, const struct imageref *ref,
          const struct sockex_image *im, char **why)
{
  cleanup_free char *digest = NULL;
  moat_error_t e = NULL;
  /* A pinned reference names content: the engine found the image by it. */
  if (ref->digest)
    return has_repo_digest (im, ref, ref->digest) ? 1 : 0;
  if (ops->remote_digest (ops->ctx, ref, &digest, &e) < 0)
    {
      free (*why);
      *why = strdup (moat_error_msg (&e));
      moat_error_release (&e);
      return -1;
    }
  return has_repo_digest (im, ref, digest) ? 1 : 0;
}

static bool
layers_prefix (const struct sockex_image *base, const struct sockex_image *im)
{
  if (base->n_layers == 0 || base->n_layers > im->n_layers)
    return false;
  for (size_t i = 0; i < base->n_layers; i++)
    if (strcmp (base->layers[i], im->layers[i]) != 0)
      return false;
  return true;
}

static int
unreachable (char **message, const char *image, const struct imageref *ref,
             const char *why)
{
  cleanup_free char *name = imageref_format (ref);
  if (asprintf (message,
                REFUSAL_PREFIX
                "docker socket mount denied for container with "
                "image \"%s\"; the registry of \"%s\" cannot be "
                "reached to validate the image digest (%s); "
                "unpinned images are refused until it can be "
                "reached.",
                image, name ? name : "?", why ? why : "unknown error")
      < 0)
    *message = NULL;
  return -1;
}

static bool
wildcard_p (const struct imageref_pattern *p)
{
  return p->any || p->repo_prefix || p->any_tag;
}

/* Is `tag` a tag (not ref itself) that a wildcard pattern of the list
 * matches?  Then *out is it, parsed (free it). */
static bool
wildcard_tag (const struct policy *pol, const char *tag,
              const struct imageref *ref, struct imageref *out)
{
  moat_error_t e = NULL;
  memset (out, 0, sizeof *out);
  if (imageref_parse (tag, out, &e) < 0)
    {
      moat_error_release (&e);
      return false;
    }
  /* ref itself was checked against every pattern already */
  if (out->tag != NULL && out->digest == NULL
      && !(strcmp (out->domain, ref->domain) == 0
           && strcmp (out->path, ref->path) == 0 && ref->tag != NULL
           && strcmp (out->tag, ref->tag) == 0))
    for (size_t i = 0; i < pol->eci.n_images; i++)
      if (wildcard_p (&pol->eci.image_patterns[i])
          && imageref_pattern_match (&pol->eci.image_patterns[i], out))
        return true;
  imageref_free (out);
  return false;
}

/* allowDerivedImages for wildcard patterns (as Docker Desktop 4.36): the
 * base may be any local image with a tag a wildcard pattern matches whose
 * layers start im's and that passes the digest check under that tag (a
 * re-tagged image does not: its RepoDigests are not what the registry
 * calls the tag).  The local images are listed once and the candidates
 * inspected by id, at most SOCKEX_MAX_BASES of them.  Returns 1 when a
 * base passed, else 0; the first registry that could not be reached goes
 * to *unreach_own / *unreach_ref, as for a named base. */
static int
wildcard_bases (const struct policy *pol, const struct sockex_ops *ops,
                const struct imageref *ref, const struct sockex_image *im,
                struct imageref *unreach_ref, struct imageref *unreach_own,
                bool *have_unreach, char **why)
{
  struct sockex_local *l = NULL;
  size_t n = 0, inspected = 0;
  moat_error_t e = NULL;
  bool any = false;
  int found = 0;

  for (size_t i = 0; i < pol->eci.n_images; i++)
    any = any || wildcard_p (&pol->eci.image_patterns[i]);
  if (!any || ops->list_images == NULL || im->n_layers == 0)
    return 0;
  if (ops->list_images (ops->ctx, &l, &n, &e) < 0)
    {
      /* no list, no base: refused (fail closed) */
      moat_error_release (&e);
      return 0;
    }
  for (size_t i = 0; i < n && !found; i++)
    {
      struct sockex_image base = { 0 };
      struct imageref tr;
      bool cand = false;
      for (size_t k = 0; k < l[i].n_tags && !cand; k++)
        if (wildcard_tag (pol, l[i].tags[k], ref, &tr))
          {
            cand = true;
            imageref_free (&tr);
          }
      if (!cand)
        continue;
      if (inspected++ >= SOCKEX_MAX_BASES)
        break;
      if (ops->inspect (ops->ctx, l[i].id, &base, &e) != 0)
        {
          moat_error_release (&e);
          continue;
        }
      /* The content inspected is what is compared and validated, whatever
       * its tags name by now. */
      for (size_t k = 0;
           k < l[i].n_tags && !found && layers_prefix (&base, im); k++)
        {
          int r;
          if (!wildcard_tag (pol, l[i].tags[k], ref, &tr))
            continue;
          r = validate (ops, &tr, &base, why);
          if (r > 0)
            found = 1;
          else if (r < 0 && !*have_unreach)
            {
              *have_unreach = true;
              *unreach_own = tr;
              *unreach_ref = *unreach_own;
              continue;
            }
          imageref_free (&tr);
        }
      sockex_image_free (&base);
    }
  sockex_local_free (l, n);
  return found;
}

bool
sockex_image_id_p (const char *id)
{
  if (id == NULL || strncmp (id, "sha256:", 7) != 0 || strlen (id) != 71)
    return false;
  for (const char *p = id + 7; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}

int
sockex_decide (const struct policy *pol, const struct sockex_ops *ops,
               const char *image, char **image_id, char **message)
{
  struct imageref ref = { 0 };
  struct sockex_image im = { 0 };
  struct imageref unreach_ref = { 0 };
  struct imageref unreach_own = { 0 }; /* a base tag's, when it is that */
  cleanup_free char *why = NULL;
  moat_error_t e = NULL;
  bool have_unreach = false;
  int ret = -1;

  *message = NULL;
  if (image_id != NULL)
    *image_id = NULL;
  if (pol == NULL || pol->eci.n_images == 0)
    return -1;
  /* The reference as the user wrote it is what the allow list speaks of;
   * an image given by id alone is not in it. */
  if (imageref_parse (image, &ref, &e) < 0)
    {
      moat_error_release (&e);
      return -1;
    }
  if (ops->inspect (ops->ctx, image, &im, &e) != 0)
    {
      moat_error_release (&e);
      goto done;
    }
  for (size_t i = 0; i < pol->eci.n_images; i++)
    {
      int r;
      if (!imageref_pattern_match (&pol->eci.image_patterns[i], &ref))
        continue;
      r = validate (ops, &ref, &im, &why);
      if (r > 0)
        {
          ret = 0;
          goto done;
        }
      if (r < 0 && !have_unreach)
        {
          have_unreach = true;
          unreach_ref = ref;
        }
    }
  if (pol->eci.allow_derived_images)
    for (size_t i = 0; i < pol->eci.n_images; i++)
      {
        const struct imageref_pattern *p = &pol->eci.image_patterns[i];
        struct sockex_image base = { 0 };
        cleanup_free char *bname = NULL;
        int r;
        /* a wildcard pattern names no one base: see wildcard_bases */
        if (p->any || p->repo_prefix || p->any_tag)
          continue;
        bname = imageref_format (&p->ref);
        if (bname == NULL || ops->inspect (ops->ctx, bname, &base, &e) != 0)
          {
            moat_error_release (&e);
            continue;
          }
        r = layers_prefix (&base, &im) ? validate (ops, &p->ref, &base, &why)
                                       : 0;
        sockex_image_free (&base);
        if (r > 0)
          {
            ret = 0;
            goto done;
          }
        if (r < 0 && !have_unreach)
          {
            have_unreach = true;
            unreach_ref = p->ref;
          }
      }
  if (pol->eci.allow_derived_images)
    {
      int r = wildcard_bases (pol, ops, &ref, &im, &unreach_ref, &unreach_own,
                              &have_unreach, &why);
      if (r > 0)
        {
          ret = 0;
          goto done;
        }
    }
  if (have_unreach)
    unreachable (message, image, &unreach_ref, why);
done:
  /* Without the id of what was checked the create could not be pinned to
   * it: refuse rather than let the engine resolve the name again. */
  if (ret == 0 && !sockex_image_id_p (im.id))
    {
      ret = -1;
      if (asprintf (message,
                    REFUSAL_PREFIX
                    "docker socket mount denied for container "
                    "with image \"%s\"; the engine gave no image "
                    "id to pin the container to.",
                    image)
          < 0)
        *message = NULL;
    }
  else if (ret == 0 && image_id != NULL)
    {
      *image_id = strdup (im.id);
      if (*image_id == NULL)
        ret = -1;
    }
  sockex_image_free (&im);
  imageref_free (&ref);
  imageref_free (&unreach_own);
  return ret;
}

/* ---- registry ---- */

struct cache_entry
{
  char *key; /* "domain/path:tag" */
  char *digest;
  time_t fetched;
};

struct sockex_registry
{
  pthread_mutex_t mu; /* the cache; lookups may run on several threads */
  unsigned ttl_s;
  long timeout_ms;
  struct cache_entry *c;
  size_t n;
};

#define CACHE_MAX 256

struct sockex_registry *
sockex_registry_new (unsigned ttl_s, long timeout_ms)
{
  struct sockex_registry *r = calloc (1, sizeof *r);
  if (r == NULL)
    return NULL;
  r->ttl_s = ttl_s;
  r->timeout_ms = timeout_ms;
  pthread_mutex_init (&r->mu, NULL);
  return r;
}

void
sockex_registry_free (struct sockex_registry *r)
{
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n; i++)
    {
      free (r->c[i].key);
      free (r->c[i].digest);
    }
  free (r->c);
  pthread_mutex_destroy (&r->mu);
  free (r);
}

static bool
digest_well_formed (const char *d, size_t n)
{
  size_t hex;
  if (n > 7 && strncmp (d, "sha256:", 7) == 0)
    hex = 64, d += 7, n -= 7;
  else if (n > 7 && strncmp (d, "sha512:", 7) == 0)
    hex = 128, d += 7, n -= 7;
  else
    return false;
  if (n != hex)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
      return false;
  return true;
}

int
sockex_parse_digest_header (const char *line, size_t len,
                            char out[SOCKEX_DIGEST_MAX])
{
  size_t n;
  const char *v = header_line_value (line, len, "docker-content-digest:", &n);
  if (v == NULL || n >= SOCKEX_DIGEST_MAX || !digest_well_formed (v, n))
    return 0;
  memcpy (out, v, n);
  out[n] = '\0';
  return 1;
}

struct fetch
{
  char digest[SOCKEX_DIGEST_MAX];
  bool found;
  char *challenge; /* the 401's WWW-Authenticate value */
};

static size_t
on_header (char *buf, size_t size, size_t n, void *arg)
{
  struct fetch *f = arg;
  const char *v;
  size_t vlen;
  /* a new response (after 100-continue or a redirect) starts afresh */
  if (n * size > 5 && strncmp (buf, "HTTP/", 5) == 0)
    {
      f->found = false;
      free (f->challenge);
      f->challenge = NULL;
    }
  if (sockex_parse_digest_header (buf, size * n, f->digest))
    f->found = true;
  v = regauth_header_value (buf, size * n, &vlen);
  if (v != NULL && f->challenge == NULL && vlen <= REGAUTH_CHALLENGE_MAX)
    f->challenge = strndup (v, vlen);
  return size * n;
}

/* HEAD the manifest URL, with a bearer token when given. */
static int
head_manifest (struct sockex_registry *r, const char *url, const char *token,
               struct fetch *f, long *status, moat_error_t *err)
{
  struct curl_slist *hdrs = NULL;
  cleanup_free char *auth = NULL;
  CURL *c;
  CURLcode rc;
  c = curl_easy_init ();
  if (c == NULL)
    return moat_error (err, ENOMEM, "curl");
  hdrs = curl_slist_append (
      hdrs, "Accept: application/vnd.docker.distribution.manifest.v2+json, "
            "application/vnd.docker.distribution.manifest.list.v2+json, "
            "application/vnd.oci.image.manifest.v1+json, "
            "application/vnd.oci.image.index.v1+json");
  if (token != NULL)
    {
      if (asprintf (&auth, "Authorization: Bearer %s", token) < 0)
        {
          auth = NULL;
          curl_slist_free_all (hdrs);
          curl_easy_cleanup (c);
          return moat_error (err, ENOMEM, "authorization");
        }
      hdrs = curl_slist_append (hdrs, auth);
    }
  curl_easy_setopt (c, CURLOPT_URL, url);
  curl_easy_setopt (c, CURLOPT_NOBODY, 1L);
  curl_easy_setopt (c, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt (c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt (c, CURLOPT_HEADERDATA, f);
  curl_easy_setopt (c, CURLOPT_TIMEOUT_MS, r->timeout_ms);
  curl_easy_setopt (c, CURLOPT_CONNECTTIMEOUT_MS, r->timeout_ms);
  curl_easy_setopt (c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt (c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt (c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt (c, CURLOPT_NOPROXY, "*");
  rc = curl_easy_perform (c);
  if (rc == CURLE_OK)
    curl_easy_getinfo (c, CURLINFO_RESPONSE_CODE, status);
  curl_easy_cleanup (c);
  curl_slist_free_all (hdrs);
  if (rc != CURLE_OK)
    return moat_error (err, EHOSTUNREACH, "%s: %s", url,
                       curl_easy_strerror (rc));
  return 0;
}

/* A 401: follow the registry's Bearer challenge to an anonymous token. */
static int
get_token (struct sockex_registry *r, const struct imageref *ref,
           const char *url, const char *challenge, char **token,
           moat_error_t *err)
{
  struct reg_challenge ch;
  cleanup_free char *scope = NULL, *turl = NULL;
  int rc;
  if (challenge == NULL)
    return moat_error (err, EACCES, "%s: HTTP 401 without a challenge", url);
  if (regauth_parse_challenge (challenge, strlen (challenge), &ch, err) < 0)
    return moat_error_wrap (err, "%s: HTTP 401", url);
  if (strcasecmp (ch.scheme, "Bearer") != 0)
    {
      rc = moat_error (err, EACCES,
                       "%s: the registry wants %s credentials; moat looks "
                       "digests up anonymously",
                       url, ch.scheme);
      regauth_challenge_free (&ch);
      return rc;
    }
  if (asprintf (&scope, "repository:%s:pull", ref->path) < 0)
    scope = NULL;
  rc = regauth_token_url (&ch, scope, &turl, err);
  regauth_challenge_free (&ch);
  if (rc < 0)
    return moat_error_wrap (err, "%s: HTTP 401", url);
  return regauth_fetch_token (turl, r->timeout_ms, token, err);
}

static int
fetch_digest (struct sockex_registry *r, const struct imageref *ref,
              char **digest, moat_error_t *err)
{
  cleanup_free char *url = NULL, *token = NULL;
  struct fetch f = { .found = false };
  long status = 0;
  int rc;
  const char *host = strcmp (ref->domain, "docker.io") == 0
                         ? "registry-1.docker.io"
                         : ref->domain;
  /* Docker talks plain HTTP to loopback registries; so do we. */
  if (asprintf (&url, "%s://%s/v2/%s/manifests/%s",
                regauth_loopback_host (host) ? "http" : "https", host,
                ref->path, ref->tag ? ref->tag : "latest")
      < 0)
    {
      url = NULL;
      return moat_error (err, ENOMEM, "registry url");
    }
  rc = head_manifest (r, url, NULL, &f, &status, err);
  if (rc == 0 && status == 401)
    {
      rc = get_token (r, ref, url, f.challenge, &token, err);
      free (f.challenge);
      f = (struct fetch){ .found = false };
      if (rc == 0)
        rc = head_manifest (r, url, token, &f, &status, err);
      if (rc == 0 && status == 401)
        rc = moat_error (err, EACCES,
                         "%s: HTTP 401 with the registry's own "
                         "token",
                         url);
    }
  free (f.challenge);
  if (rc < 0)
    return -1;
  if (status != 200)
    return moat_error (err, EPROTO, "%s: HTTP %ld", url, status);
  if (!f.found)
    return moat_error (err, EPROTO, "%s: no Docker-Content-Digest", url);
  *digest = strdup (f.digest);
  if (*digest == NULL)
    return moat_error (err, ENOMEM, "digest");
  return 0;
}

int
sockex_registry_digest (struct sockex_registry *r, const struct imageref *ref,
                        char **digest, moat_error_t *err)
{
  cleanup_free char *key = NULL;
  time_t now = time (NULL);
  char *d = NULL;
  size_t i;
  if (asprintf (&key, "%s/%s:%s", ref->domain, ref->path,
                ref->tag ? ref->tag : "latest")
      < 0)
    {
      key = NULL;
      return moat_error (err, ENOMEM, "registry cache");
    }
  pthread_mutex_lock (&r->mu);
  for (i = 0; i < r->n; i++)
    if (strcmp (r->c[i].key, key) == 0)
      break;
  if (i < r->n && now - r->c[i].fetched < (time_t)r->ttl_s)
    {
      *digest = strdup (r->c[i].digest);
      pthread_mutex_unlock (&r->mu);
      return *digest ? 0 : moat_error (err, ENOMEM, "digest");
    }
  pthread_mutex_unlock (&r->mu);
  /* fetched without the lock: a slow registry holds up only the lookups
   * that need it.  Failures are not cached: a registry back up is seen at
   * once. */
  if (fetch_digest (r, ref, &d, err) < 0)
    return -1;
  pthread_mutex_lock (&r->mu);
  for (i = 0; i < r->n; i++)
    if (strcmp (r->c[i].key, key) == 0)
      break;
  if (i == r->n)
    {
      struct cache_entry *nc;
      if (r->n == CACHE_MAX)
        {
          /* drop the oldest slot (0): a small, bounded cache */
          free (r->c[0].key);
          free (r->c[0].digest);
          memmove (r->c, r->c + 1, (r->n - 1) * sizeof *r->c);
          r->n--;
          i = r->n;
        }
      nc = realloc (r->c, (r->n + 1) * sizeof *nc);
      if (nc == NULL)
        {
          pthread_mutex_unlock (&r->mu);
          *digest = d;
          return 0;
        }
      r->c = nc;
      r->c[i].key = key;
      key = NULL;
      r->c[i].digest = NULL;
      r->n++;
    }
  free (r->c[i].digest);
  r->c[i].digest = strdup (d);
  r->c[i].fetched = now;
  pthread_mutex_unlock (&r->mu);
  *digest = d;
  return 0;
}

/* The container id a cgroup path names: its first component that is 64
 * hex digits, bare (cgroupfs driver: /docker/<id>) or as docker-<id>.scope
 * (systemd driver).  The first, because a container with a delegated
 * cgroup may name its own sub-cgroups as it likes. */
bool
sockex_cgroup_names_p (const char *cgpath, const char *id)
{
  const char *c = cgpath;
  while (*c != '\0')
    {
      size_t n = strcspn (c, "/\n"), i;
      const char *h = c;
      if (n == 64 + 13 && strncmp (c, "docker-", 7) == 0
          && strncmp (c + 7 + 64, ".scope", 6) == 0)
        h = c + 7, n = 64;
      for (i = 0; n == 64 && i < 64; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
          break;
      if (n == 64 && i == 64)
        return strncmp (h, id, 64) == 0 && strlen (id) == 64;
      c += n;
      if (*c == '\n')
        break;
      if (*c == '/')
        c++;
    }
  return false;
}
