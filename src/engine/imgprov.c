/* Image name provenance (engine/imgprov.h). */
#include "engine/imgprov.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/refusal.h"
#include "common/strutil.h"
#include "engine/eci_internal.h"
#include "engine/route.h"

/* the bytes a reference may hold, and nothing that could change a URL */
static bool
ref_char_p (int ch)
{
  return isalnum (ch) || ch == '.' || ch == '_' || ch == '-' || ch == ':'
         || ch == '/' || ch == '@';
}

static bool
ref_p (const char *s)
{
  if (s == NULL || s[0] == '\0' || strlen (s) > 512 || strstr (s, "..")
      || s[0] == '/')
    return false;
  for (const char *p = s; *p; p++)
    if (!ref_char_p ((unsigned char)*p))
      return false;
  return true;
}

static bool
hex64_p (const char *s)
{
  size_t i;
  for (i = 0; s[i]; i++)
    if (!isxdigit ((unsigned char)s[i]) || isupper ((unsigned char)s[i]))
      return false;
  return i == 64;
}

char *
engine_image_norm (const char *ref)
{
  cleanup_free char *name = NULL;
  const char *tag = "latest", *slash, *colon, *rest;
  char *out = NULL;
  size_t dl;
  const char *dom;

  if (!ref_p (ref) || strchr (ref, '@') != NULL || hex64_p (ref)
      || (strncmp (ref, "sha256:", 7) == 0 && hex64_p (ref + 7))
      || ref[strlen (ref) - 1] == ':')
    return NULL;
  name = strdup (ref);
  if (name == NULL)
    return NULL;
  slash = strrchr (name, '/');
  colon = strrchr (name, ':');
  if (colon != NULL && (slash == NULL || colon > slash))
    {
      tag = colon + 1;
      name[colon - name] = '\0';
    }
  /* the domain: a first component with '.' or ':', "localhost", or not
   * lower case (distribution/reference's splitDockerDomain) */
  slash = strchr (name, '/');
  dom = "docker.io";
  dl = 9;
  rest = name;
  if (slash != NULL)
    {
      size_t fl = (size_t)(slash - name);
      bool lower = true;
      for (size_t i = 0; i < fl; i++)
        if (isupper ((unsigned char)name[i]))
          lower = false;
      if (memchr (name, '.', fl) || memchr (name, ':', fl)
          || (fl == 9 && strncmp (name, "localhost", 9) == 0) || !lower)
        {
          dom = name;
          dl = fl;
          rest = slash + 1;
          if (dl == 15 && strncmp (dom, "index.docker.io", 15) == 0)
            dom = "docker.io", dl = 9;
        }
    }
  if (rest[0] == '\0')
    return NULL;
  if (asprintf (&out, "%.*s/%s%s:%s", (int)dl, dom,
                dl == 9 && strncmp (dom, "docker.io", 9) == 0
                        && strchr (rest, '/') == NULL
                    ? "library/"
                    : "",
                rest, tag)
      < 0)
    return NULL;
  return out;
}

/* GET /images/{ref}/json: 0 with *id malloc'd, 1 none, -1 cannot ask */
static int
image_id (engine_get_fn get, void *gctx, const char *ref, char **id)
{
  cleanup_free char *path = NULL;
  cleanup_free char *ans = NULL;
  size_t alen = 0;
  json_t *a;
  const char *s;
  int r;
  *id = NULL;
  if (get == NULL || !ref_p (ref))
    return -1;
  if (asprintf (&path, "/images/%s/json", ref) < 0)
    {
      path = NULL;
      return -1;
    }
  r = get (gctx, path, &ans, &alen);
  if (r != 0)
    return r;
  a = json_loadb (ans, alen, 0, NULL);
  s = json_string_value (json_object_get (a, "Id"));
  if (s != NULL && strncmp (s, "sha256:", 7) == 0 && hex64_p (s + 7))
    *id = strdup (s);
  json_decref (a);
  return *id != NULL ? 0 : -1;
}

int
engine_image_ref_check (engine_get_fn get, void *gctx,
                        engine_image_namer_fn namer, void *nctx,
                        const char *ref, uid_t caller, struct eci_verdict *v)
{
  cleanup_free char *norm = NULL;
  cleanup_free char *id = NULL;
  uid_t other = 0;
  int r;

  /* a content address, or no reference (the engine refuses it) */
  if (namer == NULL || ref == NULL || (norm = engine_image_norm (ref)) == NULL)
    return 0;
  r = image_id (get, gctx, ref, &id);
  if (r > 0) /* no such image: the engine refuses, the client may pull */
    return 0;
  if (r < 0)
    return eci_refuse (v, 502, "eci.image-owner", REFUSAL_ERR_INSPECT_IMAGE,
                       ref);
  r = namer (nctx, norm, id, caller, &other);
  if (r < 0)
    return eci_refuse (v, 502, "eci.image-owner", REFUSAL_ERR_IMAGE_NAMER,
                       ref);
  if (r == 2)
    return eci_refuse (v, 403, "eci.image-owner", REFUSAL_IMAGE_UNCONFIRMED,
                       ref, (unsigned)other, id);
  if (r > 0)
    return eci_refuse (v, 403, "eci.image-owner", REFUSAL_IMAGE_OTHER, ref,
                       (unsigned)other, id);
  return 0;
}

int
engine_image_name_check (engine_get_fn get, void *gctx,
                         engine_image_namer_fn namer, void *nctx,
                         const char *body, size_t len, uid_t caller,
                         struct eci_verdict *v)
{
  json_t *root = NULL, *img = NULL;
  cleanup_free char *ref = NULL;

  if (namer == NULL)
    return 0;
  if (eci_parse_object (body, len, &root, v) < 0)
    return -1;
  if (eci_obj_get (root, "Image", &img, v) < 0)
    {
      json_decref (root);
      return -1;
    }
  ref = json_is_string (img) ? strdup (json_string_value (img)) : NULL;
  json_decref (root);
  return engine_image_ref_check (get, gctx, namer, nctx, ref, caller, v);
}

/* the creator of an inspected container: its com.moat.caller.uid as a
 * uid, 0 (root's) when absent or not a uid - only root writes the label
 * (the guard replaces a request's) */
static uid_t
creator_of (json_t *root)
{
  const char *s = json_string_value (json_object_get (
      json_object_get (json_object_get (root, "Config"), "Labels"),
      ECI_CALLER_UID_LABEL));
  char *end = NULL;
  unsigned long u;
  if (s == NULL || s[0] < '0' || s[0] > '9')
    return 0;
  errno = 0;
  u = strtoul (s, &end, 10);
  if (errno != 0 || *end != '\0' || u > (uid_t)-1 - 1)
    return 0;
  return (uid_t)u;
}

/* the pair the engine keeps: Config.Image as the create named it, and
 * the image id it resolved then */
static int
start_decide (engine_image_namer_fn namer, void *nctx, json_t *root,
              const char *name, struct eci_verdict *v)
{
  const char *cname = json_string_value (json_object_get (root, "Name"));
  const char *cfg = json_string_value (
      json_object_get (json_object_get (root, "Config"), "Image"));
  const char *img = json_string_value (json_object_get (root, "Image"));
  cleanup_free char *norm = NULL;
  uid_t owner = creator_of (root), other = 0;
  int r;

  if (owner == 0 || namer == NULL || cfg == NULL
      || (norm = engine_image_norm (cfg)) == NULL)
    return 0;
  if (img == NULL || strncmp (img, "sha256:", 7) != 0 || !hex64_p (img + 7))
    return eci_refuse (v, 502, "eci.image-owner", REFUSAL_ERR_INSPECT_ANSWER,
                       name);
  r = namer (nctx, norm, img, owner, &other);
  if (r < 0)
    return eci_refuse (v, 502, "eci.image-owner", REFUSAL_ERR_IMAGE_NAMER,
                       cfg);
  if (r == 0)
    return 0;
  if (cname != NULL && cname[0] == '/')
    cname++;
  if (r == 2)
    return eci_refuse (v, 403, "eci.image-owner",
                       REFUSAL_IMAGE_START_UNCONFIRMED,
                       cname && cname[0] ? cname : name, cfg, img,
                       (unsigned)other, (unsigned)owner);
  return eci_refuse (v, 403, "eci.image-owner", REFUSAL_IMAGE_START,
                     cname && cname[0] ? cname : name, cfg, img,
                     (unsigned)other, (unsigned)owner);
}

int
engine_image_start_check (engine_get_fn get, void *gctx,
                          engine_image_namer_fn namer, void *nctx,
                          const char *name, char **id, struct eci_verdict *v)
{
  cleanup_free char *path = NULL;
  cleanup_free char *ans = NULL;
  size_t alen = 0;
  const char *cid;
  json_t *root;
  int r;

  *id = NULL;
  if (name != NULL && name[0] == '/')
    name++;
  if (name == NULL || !engine_name_p (name, strlen (name), 256))
    return eci_refuse (v, 404, "eci.image-owner", REFUSAL_NO_SUCH_CONTAINER,
                       name ? name : "");
  if (get == NULL)
    return eci_refuse (v, 502, "eci.image-owner", REFUSAL_ERR_INSPECT_OWNER,
                       name);
  if (asprintf (&path, "/containers/%s/json", name) < 0)
    {
      path = NULL;
      return eci_oom (v);
    }
  r = get (gctx, path, &ans, &alen);
  /* by name, the start could reach a container created after the check:
   * only what was inspected is started */
  if (r > 0)
    return eci_refuse (v, 404, "eci.image-owner", REFUSAL_NO_SUCH_CONTAINER,
                       name);
  if (r < 0)
    return eci_refuse (v, 502, "eci.image-owner", REFUSAL_ERR_INSPECT_OWNER,
                       name);
  root = json_loadb (ans, alen, 0, NULL);
  cid = json_string_value (json_object_get (root, "Id"));
  if (!json_is_object (root) || cid == NULL || !hex64_p (cid))
    {
      json_decref (root);
      return eci_refuse (v, 502, "eci.image-owner", REFUSAL_ERR_INSPECT_ANSWER,
                         name);
    }
  r = start_decide (namer, nctx, root, name, v);
  if (r == 0 && (*id = strdup (cid)) == NULL)
    r = eci_oom (v);
  json_decref (root);
  return r;
}

/* "a:t" of repo and tag parameters; NULL without a repo */
static char *
repo_tag (const char *query)
{
  cleanup_free char *repo = engine_query_get (query, "repo");
  cleanup_free char *tag = engine_query_get (query, "tag");
  char *out = NULL;
  if (repo == NULL || repo[0] == '\0')
    return NULL;
  if (asprintf (&out, "%s%s%s", repo, tag && tag[0] ? ":" : "",
                tag && tag[0] ? tag : "")
      < 0)
    return NULL;
  return out;
}

struct collect
{
  const char *key;
  char *names;
};

static bool
collect_cb (const char *k, const char *val, void *ctx)
{
  struct collect *c = ctx;
  char *n = NULL;
  if (strcmp (k, c->key) != 0 || val[0] == '\0' || strchr (val, '\n'))
    return false;
  if (asprintf (&n, "%s%s%s", c->names ? c->names : "", c->names ? "\n" : "",
                val)
      < 0)
    return false;
  free (c->names);
  c->names = n;
  return false;
}

enum engine_image_prov
engine_image_prov_of (const char *method, const char *path, const char *query,
                      uid_t uid, char **names)
{
  size_t pl = strlen (path);
  *names = NULL;
  if (strcmp (method, "POST") != 0)
    return IMGPROV_NONE;
  if (query == NULL)
    query = "";
  if (strcmp (path, "/images/create") == 0
      && !engine_query_any_set (query, "fromSrc"))
    {
      /* a pull: recorded for every caller, as the registry's */
      cleanup_free char *from = engine_query_get (query, "fromImage");
      cleanup_free char *tag = engine_query_get (query, "tag");
      if (from == NULL || from[0] == '\0' || strchr (from, '@')
          || (tag && strchr (tag, ':')))
        return IMGPROV_NONE;
      if (asprintf (names, "%s%s%s", from, tag && tag[0] ? ":" : "",
                    tag && tag[0] ? tag : "")
          < 0)
        {
          *names = NULL;
          return IMGPROV_NONE;
        }
      return IMGPROV_PULL;
    }
  if (uid == 0)
    return IMGPROV_NONE;
  if (strcmp (path, "/images/load") == 0)
    return IMGPROV_LOAD;
  if (strcmp (path, "/images/create") == 0 || strcmp (path, "/commit") == 0
      || (pl > 12 && strncmp (path, "/images/", 8) == 0
          && strcmp (path + pl - 4, "/tag") == 0))
    *names = repo_tag (query);
  else if (strcmp (path, "/build") == 0)
    {
      struct collect c = { "t", NULL };
      engine_query_each (query, collect_cb, &c);
      *names = c.names;
    }
  return *names != NULL ? IMGPROV_NAMES : IMGPROV_NONE;
}

/* "Loaded image: <ref>" of a load's answer, '\n'-separated (malloc'd) */
static char *
load_names (const char *body, size_t len)
{
  static const char mark[] = "Loaded image: ";
  char *names = NULL;
  size_t nl = 0;
  const char *p = body, *end = body + len;
  while (p < end)
    {
      const char *m = memmem (p, (size_t)(end - p), mark, sizeof mark - 1);
      const char *e;
      char *n;
      if (m == NULL)
        break;
      m += sizeof mark - 1;
      for (e = m; e < end && ref_char_p ((unsigned char)*e); e++)
        ;
      n = realloc (names, nl + (size_t)(e - m) + 2);
      if (n == NULL)
        break;
      names = n;
      memcpy (names + nl, m, (size_t)(e - m));
      nl += (size_t)(e - m);
      names[nl++] = '\n';
      names[nl] = '\0';
      p = e;
    }
  return names;
}

/* the answer's "Digest: sha256:<hex>" (a pull's manifest) */
static bool
pull_digest (const char *body, size_t len, char out[72])
{
  static const char mark[] = "Digest: sha256:";
  const char *m = body ? memmem (body, len, mark, sizeof mark - 1) : NULL;
  if (m == NULL || (size_t)(body + len - m) < sizeof mark - 1 + 64)
    return false;
  snprintf (out, 72, "sha256:%.64s", m + sizeof mark - 1);
  return hex64_p (out + 7);
}

#define SCAN_TAIL 600 /* a mark and the longest reference fit */
#define KEEP_MAX (8 * 1024 * 1024)

int
engine_image_prov_scan (enum engine_image_prov kind, struct io_buf *win,
                        struct io_buf *keep, const char *at, size_t len)
{
  const char *mark = kind == IMGPROV_LOAD ? "Loaded image: " : "Digest: ";
  size_t ml = strlen (mark), done = 0, n;
  const char *d;
  if (kind != IMGPROV_LOAD && kind != IMGPROV_PULL)
    return 0;
  if (io_buf_append (win, at, len) < 0)
    return -1;
  d = io_buf_data (win);
  n = io_buf_len (win);
  for (;;)
    {
      const char *m = memmem (d + done, n - done, mark, ml);
      const char *e;
      if (m == NULL)
        break;
      for (e = m + ml; e < d + n && ref_char_p ((unsigned char)*e); e++)
        ;
      if (e == d + n) /* the reference may go on in the next bytes */
        {
          done = (size_t)(m - d);
          goto keep_tail;
        }
      if (io_buf_len (keep) + (size_t)(e - m) + 1 <= KEEP_MAX
          && (io_buf_append (keep, m, (size_t)(e - m)) < 0
              || io_buf_append (keep, "\n", 1) < 0))
        return -1;
      done = (size_t)(e - d);
    }
  /* nothing from done on holds a whole mark: keep what could start one */
  if (n - done > SCAN_TAIL)
    done = n - SCAN_TAIL;
keep_tail:
  /* a match longer than any reference is no reference */
  if (n - done > SCAN_TAIL + 512)
    done = n - SCAN_TAIL;
  io_buf_consume (win, done);
  return 0;
}

int
engine_image_prov_record (engine_get_fn get, void *gctx,
                          engine_image_note_fn note, void *nctx,
                          enum engine_image_prov kind, const char *names,
                          const char *body, size_t len, uid_t uid)
{
  cleanup_free char *loaded = NULL;
  const char *p;
  int ret = 0, r;
  if (note == NULL || kind == IMGPROV_NONE)
    return 0;
  if (kind == IMGPROV_LOAD)
    names = loaded = load_names (body ? body : "", len);
  for (p = names; p != NULL && *p;)
    {
      size_t n = strcspn (p, "\n");
      cleanup_free char *ref = strndup (p, n);
      cleanup_free char *norm = ref ? engine_image_norm (ref) : NULL;
      cleanup_free char *id = NULL;
      p += n + (p[n] == '\n');
      if (norm == NULL)
        continue;
      if (kind == IMGPROV_PULL)
        {
          /* by the digest the pull answered: what the name points at
           * now may already be someone else's tag */
          char dg[72];
          cleanup_free char *byd = NULL;
          if (!pull_digest (body, len, dg)
              || asprintf (&byd, "%.*s@%s", (int)(strrchr (norm, ':') - norm),
                           norm, dg)
                     < 0)
            continue;
          if (image_id (get, gctx, byd, &id) == 0
              && note (nctx, norm, id, ENGINE_IMAGE_PULLED) < 0)
            log_warn ("engine guard: cannot record the pull of %s", norm);
          continue;
        }
      if ((r = image_id (get, gctx, ref, &id)) < 0)
        ret = -1;
      if (r == 0 && note (nctx, norm, id, (int64_t)uid) < 0)
        {
          log_warn ("engine guard: cannot record who named %s", norm);
          ret = -1;
        }
    }
  return ret;
}
