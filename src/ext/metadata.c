/* metadata.json and the labels of an extension image (metadata.h).  The
 * schema is Docker Desktop's (docs/extensions.md) plus moat's own "moat"
 * key; an unknown key is an error, so a typo is never silently ignored. */
#include "metadata.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "ext/sandbox.h"
#include "policy/policy.h"

#define PLUGIN_IMAGE "${DESKTOP_PLUGIN_IMAGE}"

void
ext_problems_add (struct ext_problems *p, const char *path, const char *fmt,
                  ...)
{
  cleanup_free char *what = NULL;
  char *item = NULL;
  va_list ap;

  if (p->n >= EXT_MAX_PROBLEMS)
    {
      p->truncated = true;
      return;
    }
  va_start (ap, fmt);
  if (vasprintf (&what, fmt, ap) < 0)
    what = NULL;
  va_end (ap);
  if (asprintf (&item, "%s: %s", path[0] != '\0' ? path : "metadata.json",
                what != NULL ? what : "(out of memory)")
      < 0)
    item = NULL;
  if (item == NULL)
    {
      p->truncated = true;
      return;
    }
  p->items[p->n++] = item;
}

void
ext_problems_free (struct ext_problems *p)
{
  for (size_t i = 0; i < p->n; i++)
    free (p->items[i]);
  p->n = 0;
  p->truncated = false;
}

char *
ext_problems_join (const struct ext_problems *p)
{
  size_t len = 1;
  char *s;

  for (size_t i = 0; i < p->n; i++)
    len += strlen (p->items[i]) + 2;
  len += 32;
  s = malloc (len);
  if (s == NULL)
    return NULL;
  s[0] = '\0';
  for (size_t i = 0; i < p->n; i++)
    {
      if (i > 0)
        strcat (s, "; ");
      strcat (s, p->items[i]);
    }
  if (p->truncated)
    strcat (s, "; (more problems left out)");
  return s;
}

void
ext_meta_free (struct ext_meta *m)
{
  free (m->icon);
  free (m->ui_title);
  free (m->ui_root);
  free (m->ui_src);
  free (m->ui_socket);
  free (m->vm_image);
  free (m->vm_compose);
  free (m->vm_socket);
  for (size_t i = 0; i < m->n_binaries; i++)
    free (m->binaries[i]);
  free (m->sandbox_script);
  json_decref (m->sandbox_scopes);
  memset (m, 0, sizeof *m);
}

char *
ext_image_path (const char *p)
{
  size_t n = strlen (p), o = 0;
  const char *s = p;
  char *out;

  if (n == 0 || n > 255 || strchr (p, '\\') != NULL)
    {
      errno = EINVAL;
      return NULL;
    }
  out = malloc (n + 1);
  if (out == NULL)
    return NULL;
  while (*s != '\0')
    {
      const char *e = strchr (s, '/');
      size_t len = e != NULL ? (size_t)(e - s) : strlen (s);

      /* ".." is how a path leaves the image; refused, never resolved. */
      if (len == 2 && s[0] == '.' && s[1] == '.')
        {
          free (out);
          errno = EINVAL;
          return NULL;
        }
      if (len > 0 && !(len == 1 && s[0] == '.'))
        {
          if (o > 0)
            out[o++] = '/';
          memcpy (out + o, s, len);
          o += len;
        }
      s += len;
      if (*s == '/')
        s++;
    }
  out[o] = '\0';
  if (o == 0)
    {
      free (out);
      errno = EINVAL;
      return NULL;
    }
  return out;
}

/* A socket file name: [A-Za-z0-9._-], 1 to 64 bytes, not "." or "..". */
static bool
socket_name_p (const char *s)
{
  size_t n = strlen (s);
  if (n == 0 || n > 64 || strcmp (s, ".") == 0 || strcmp (s, "..") == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
          || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_'
          || s[i] == '-'))
      return false;
  return true;
}

static char *
jpath (const char *base, const char *key)
{
  char *s = NULL;
  if (asprintf (&s, base[0] != '\0' ? "%s.%s" : "%s%s", base, key) < 0)
    return NULL;
  return s;
}

/* Every key of obj not in allowed[] (NULL-terminated) is a problem. */
static void
unknown_keys (const json_t *obj, const char *path, const char *const *allowed,
              struct ext_problems *probs)
{
  const char *k;
  json_t *v;
  json_object_foreach ((json_t *)obj, k, v)
  {
    bool known = false;
    for (size_t i = 0; allowed[i] != NULL; i++)
      if (strcmp (k, allowed[i]) == 0)
        known = true;
    if (!known)
      {
        cleanup_free char *p = jpath (path, k);
        ext_problems_add (probs, p ? p : path, "unknown key");
      }
  }
}

/* obj[key] must be of type t (or absent when !required). */
static json_t *
member (const json_t *obj, const char *path, const char *key, json_type t,
        bool required, struct ext_problems *probs)
{
  json_t *v = json_object_get (obj, key);
  cleanup_free char *p = NULL;

  if (v == NULL)
    {
      if (required)
        {
          p = jpath (path, key);
          ext_problems_add (probs, p ? p : path, "missing");
        }
      return NULL;
    }
  if (json_typeof (v) != t && !(t == JSON_TRUE && json_is_boolean (v)))
    {
      p = jpath (path, key);
      ext_problems_add (probs, p ? p : path, "must be %s, not %s",
                        t == JSON_OBJECT   ? "an object"
                        : t == JSON_ARRAY  ? "an array"
                        : t == JSON_STRING ? "a string"
                                           : "a boolean",
                        json_type_desc (v));
      return NULL;
    }
  return v;
}

/* A string member that is a path inside the image. */
static char *
image_path_member (const json_t *obj, const char *path, const char *key,
                   bool required, struct ext_problems *probs)
{
  json_t *v = member (obj, path, key, JSON_STRING, required, probs);
  cleanup_free char *p = NULL;
  char *r;

  if (v == NULL)
    return NULL;
  r = ext_image_path (json_string_value (v));
  if (r == NULL)
    {
      p = jpath (path, key);
      ext_problems_add (probs, p ? p : path,
                        "\"%s\" is not a path inside the image (no \"..\", "
                        "not the image root itself, at most 255 bytes)",
                        json_string_value (v));
    }
  return r;
}

static char *
socket_member (const json_t *obj, const char *path, const char *key,
               struct ext_problems *probs)
{
  json_t *v = member (obj, path, key, JSON_STRING, false, probs);
  cleanup_free char *p = NULL;

  if (v == NULL)
    return NULL;
  if (!socket_name_p (json_string_value (v)))
    {
      p = jpath (path, key);
      ext_problems_add (probs, p ? p : path,
                        "\"%s\" is not a socket file name ([A-Za-z0-9._-], "
                        "at most 64 bytes)",
                        json_string_value (v));
      return NULL;
    }
  return strdup (json_string_value (v));
}

/* ${DESKTOP_PLUGIN_IMAGE} -> image, everywhere in s. */
static char *
substitute (const char *s, const char *image)
{
  size_t pl = strlen (PLUGIN_IMAGE), il, n = 0;
  const char *p;
  char *out, *o;

  if (image == NULL)
    return strdup (s);
  il = strlen (image);
  for (p = strstr (s, PLUGIN_IMAGE); p != NULL;
       p = strstr (p + pl, PLUGIN_IMAGE))
    n++;
  out = malloc (strlen (s) + n * il + 1);
  if (out == NULL)
    return NULL;
  o = out;
  while ((p = strstr (s, PLUGIN_IMAGE)) != NULL)
    {
      memcpy (o, s, (size_t)(p - s));
      o += p - s;
      memcpy (o, image, il);
      o += il;
      s = p + pl;
    }
  strcpy (o, s);
  return out;
}

static void
parse_ui (const json_t *ui, struct ext_meta *m, struct ext_problems *probs)
{
  static const char *const ui_keys[] = { "dashboard-tab", NULL };
  static const char *const tab_keys[]
      = { "title", "root", "src", "backend", NULL };
  static const char *const backend_keys[] = { "socket", NULL };
  const char *path = "ui.dashboard-tab";
  json_t *tab, *title, *backend;

  unknown_keys (ui, "ui", ui_keys, probs);
  tab = member (ui, "ui", "dashboard-tab", JSON_OBJECT, true, probs);
  if (tab == NULL)
    return;
  m->has_ui = true;
  unknown_keys (tab, path, tab_keys, probs);
  title = member (tab, path, "title", JSON_STRING, true, probs);
  if (title != NULL)
    {
      if (json_string_length (title) == 0 || json_string_length (title) > 128)
        ext_problems_add (probs, "ui.dashboard-tab.title",
                          "must be 1 to 128 bytes");
      else
        m->ui_title = strdup (json_string_value (title));
    }
  m->ui_root = image_path_member (tab, path, "root", true, probs);
  m->ui_src = image_path_member (tab, path, "src", true, probs);
  backend = member (tab, path, "backend", JSON_OBJECT, false, probs);
  if (backend != NULL)
    {
      unknown_keys (backend, "ui.dashboard-tab.backend", backend_keys, probs);
      m->ui_socket = socket_member (backend, "ui.dashboard-tab.backend",
                                    "socket", probs);
    }
}

static void
parse_vm (const json_t *vm, const char *image, struct ext_meta *m,
          struct ext_problems *probs)
{
  static const char *const vm_keys[]
      = { "image", "composefile", "exposes", NULL };
  static const char *const exposes_keys[] = { "socket", NULL };
  json_t *img, *compose, *exposes;

  unknown_keys (vm, "vm", vm_keys, probs);
  img = member (vm, "vm", "image", JSON_STRING, false, probs);
  compose = member (vm, "vm", "composefile", JSON_STRING, false, probs);
  if (json_object_get (vm, "image") != NULL
      && json_object_get (vm, "composefile") != NULL)
    ext_problems_add (probs, "vm",
                      "has both \"image\" and \"composefile\"; give one");
  else if (json_object_get (vm, "image") == NULL
           && json_object_get (vm, "composefile") == NULL)
    ext_problems_add (probs, "vm", "needs \"image\" or \"composefile\"");
  if (img != NULL)
    {
      if (json_string_length (img) == 0 || json_string_length (img) > 255)
        ext_problems_add (probs, "vm.image", "must be 1 to 255 bytes");
      else
        m->vm_image = substitute (json_string_value (img), image);
    }
  if (compose != NULL)
    {
      m->vm_compose = ext_image_path (json_string_value (compose));
      if (m->vm_compose == NULL)
        ext_problems_add (probs, "vm.composefile",
                          "\"%s\" is not a path inside the image",
                          json_string_value (compose));
    }
  exposes = member (vm, "vm", "exposes", JSON_OBJECT, false, probs);
  if (exposes != NULL)
    {
      unknown_keys (exposes, "vm.exposes", exposes_keys, probs);
      m->vm_socket = socket_member (exposes, "vm.exposes", "socket", probs);
    }
}

static void
parse_host (const json_t *host, struct ext_meta *m, struct ext_problems *probs)
{
  static const char *const host_keys[] = { "binaries", NULL };
  static const char *const platforms[]
      = { "darwin", "windows", "linux", NULL };
  json_t *bins, *entry;
  size_t i;

  unknown_keys (host, "host", host_keys, probs);
  bins = member (host, "host", "binaries", JSON_ARRAY, false, probs);
  json_array_foreach (bins, i, entry)
  {
    char ep[64];
    const char *plat;
    json_t *list;

    snprintf (ep, sizeof ep, "host.binaries[%zu]", i);
    if (!json_is_object (entry))
      {
        ext_problems_add (probs, ep, "must be an object, not %s",
                          json_type_desc (entry));
        continue;
      }
    unknown_keys (entry, ep, platforms, probs);
    json_object_foreach (entry, plat, list)
    {
      char lp[128];
      size_t j;
      json_t *b;

      snprintf (lp, sizeof lp, "%s.%s", ep, plat);
      if (!json_is_array (list))
        {
          ext_problems_add (probs, lp, "must be an array, not %s",
                            json_type_desc (list));
          continue;
        }
      json_array_foreach (list, j, b)
      {
        static const char *const bin_keys[] = { "path", NULL };
        char bp[160];
        char *p;

        snprintf (bp, sizeof bp, "%s[%zu]", lp, j);
        if (!json_is_object (b))
          {
            ext_problems_add (probs, bp, "must be an object, not %s",
                              json_type_desc (b));
            continue;
          }
        unknown_keys (b, bp, bin_keys, probs);
        p = image_path_member (b, bp, "path", true, probs);
        if (p == NULL)
          continue;
        /* Only linux binaries can run here; the others are checked and
         * not kept. */
        if (strcmp (plat, "linux") != 0)
          free (p);
        else if (m->n_binaries >= EXT_MAX_BINARIES)
          {
            ext_problems_add (probs, bp, "more than %d host binaries",
                              EXT_MAX_BINARIES);
            free (p);
          }
        else
          m->binaries[m->n_binaries++] = p;
      }
    }
  }
}

static void
parse_moat (const json_t *moat, struct ext_meta *m, struct ext_problems *probs)
{
  static const char *const moat_keys[] = { "sandbox", NULL };
  static const char *const sandbox_keys[]
      = { "script", "requestedScopes", NULL };
  json_t *sb, *scopes;

  unknown_keys (moat, "moat", moat_keys, probs);
  sb = member (moat, "moat", "sandbox", JSON_OBJECT, false, probs);
  if (sb == NULL)
    return;
  unknown_keys (sb, "moat.sandbox", sandbox_keys, probs);
  m->sandbox_script
      = image_path_member (sb, "moat.sandbox", "script", true, probs);
  scopes = member (sb, "moat.sandbox", "requestedScopes", JSON_OBJECT, false,
                   probs);
  if (scopes != NULL)
    {
      m->sandbox_scopes = json_incref (scopes);
      ext_sandbox_scopes_check (scopes, probs);
    }
}

int
ext_meta_parse (const char *buf, size_t len, const char *image,
                struct ext_meta *m, struct ext_problems *probs)
{
  static const char *const top_keys[]
      = { "icon", "ui", "vm", "host", "moat", NULL };
  json_error_t jerr;
  json_t *doc, *v;
  size_t before = probs->n;

  memset (m, 0, sizeof *m);
  if (len > EXT_META_MAX)
    {
      ext_problems_add (probs, "", "larger than %d bytes", EXT_META_MAX);
      return -1;
    }
  doc = json_loadb (buf, len, JSON_REJECT_DUPLICATES, &jerr);
  if (doc == NULL)
    {
      ext_problems_add (probs, "", "not valid JSON (line %d: %s)", jerr.line,
                        jerr.text);
      return -1;
    }
  if (!json_is_object (doc))
    {
      ext_problems_add (probs, "", "must be an object, not %s",
                        json_type_desc (doc));
      json_decref (doc);
      return -1;
    }
  unknown_keys (doc, "", top_keys, probs);
  m->icon = image_path_member (doc, "", "icon", true, probs);
  if ((v = member (doc, "", "ui", JSON_OBJECT, false, probs)) != NULL)
    parse_ui (v, m, probs);
  if ((v = member (doc, "", "vm", JSON_OBJECT, false, probs)) != NULL)
    parse_vm (v, image, m, probs);
  if ((v = member (doc, "", "host", JSON_OBJECT, false, probs)) != NULL)
    parse_host (v, m, probs);
  if ((v = member (doc, "", "moat", JSON_OBJECT, false, probs)) != NULL)
    parse_moat (v, m, probs);
  if (m->ui_socket != NULL && m->vm_socket != NULL
      && strcmp (m->ui_socket, m->vm_socket) != 0)
    ext_problems_add (probs, "ui.dashboard-tab.backend.socket",
                      "\"%s\" is not the socket vm.exposes.socket names "
                      "(\"%s\")",
                      m->ui_socket, m->vm_socket);
  if (m->ui_socket != NULL && m->vm_image == NULL && m->vm_compose == NULL)
    ext_problems_add (probs, "ui.dashboard-tab.backend",
                      "names a socket but there is no vm backend");
  json_decref (doc);
  return probs->n > before || probs->truncated ? -1 : 0;
}

int
ext_labels_check (const json_t *labels, struct ext_problems *probs)
{
  static const char *const required[] = {
    "org.opencontainers.image.title",
    "org.opencontainers.image.description",
    "org.opencontainers.image.vendor",
    "com.docker.desktop.extension.api.version",
    "com.docker.desktop.extension.icon",
  };
  size_t before = probs->n;

  for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
    {
      json_t *v = json_is_object (labels)
                      ? json_object_get (labels, required[i])
                      : NULL;
      char p[96];

      snprintf (p, sizeof p, "labels[\"%s\"]", required[i]);
      if (v == NULL)
        ext_problems_add (probs, p, "missing (a label Docker requires)");
      else if (!json_is_string (v) || json_string_length (v) == 0)
        ext_problems_add (probs, p, "must be a non-empty string");
    }
  return probs->n > before ? -1 : 0;
}

/* Split "[registry/]path[:tag][@digest]" into its repository [r0, r1). */
static void
repository_span (const char *image, const char **r0, const char **r1)
{
  const char *end = strchr (image, '@');
  const char *slash, *colon;

  if (end == NULL)
    end = image + strlen (image);
  slash = NULL;
  for (const char *p = image; p < end; p++)
    if (*p == '/')
      slash = p;
  colon = NULL;
  for (const char *p = slash != NULL ? slash : image; p < end; p++)
    if (*p == ':')
      colon = p;
  *r0 = image;
  *r1 = colon != NULL ? colon : end;
}

int
ext_name_from_image (const char *image, char *out, size_t outsz,
                     moat_error_t *err)
{
  const char *r0, *r1, *last;
  size_t n;

  if (image == NULL || image[0] == '\0' || strlen (image) > 512)
    return moat_error (err, EINVAL, "no image name");
  repository_span (image, &r0, &r1);
  last = r0;
  for (const char *p = r0; p < r1; p++)
    if (*p == '/')
      last = p + 1;
  n = (size_t)(r1 - last);
  /* The name becomes a host name (<name>.ext.localhost) and a directory
   * name: a DNS label, nothing a URL or a path could read differently. */
  if (n == 0 || n > EXT_NAME_MAX || n >= outsz || last[0] == '-'
      || last[n - 1] == '-')
    goto bad;
  for (size_t i = 0; i < n; i++)
    if (!((last[i] >= 'a' && last[i] <= 'z')
          || (last[i] >= '0' && last[i] <= '9') || last[i] == '-'))
      goto bad;
  memcpy (out, last, n);
  out[n] = '\0';
  return 0;
bad:
  return moat_error (err, EINVAL,
                     "extension name `%.*s` (the last component of the "
                     "image's repository) must be a DNS label: lower-case "
                     "letters, digits and '-', at most %d",
                     (int)(n > 80 ? 80 : n), last, EXT_NAME_MAX);
}

char *
ext_image_canonical (const char *image)
{
  const char *r0, *r1;
  char *out = NULL;

  if (strncmp (image, "docker.io/", 10) == 0)
    image += 10;
  if (strncmp (image, "library/", 8) == 0)
    image += 8;
  if (strchr (image, '@') != NULL)
    return strdup (image);
  repository_span (image, &r0, &r1);
  if (*r1 == ':')
    return strdup (image);
  if (asprintf (&out, "%s:latest", image) < 0)
    return NULL;
  return out;
}
