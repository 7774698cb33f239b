/* ECI: the names and labels docker-compose adopts, for moat's extension
 * backends (projects moat-ext-<name>, src/ext/compose.c). */
#include "eci_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/refusal.h"
#include "engine/archive.h"

#define COMPOSE_PROJECT_LABEL "com.docker.compose.project"

/* Does s start with moat-ext- as compose may find it: any case, and
 * with '-' and '_' left out (compose 1.x also looks for its legacy
 * project name, the name without them: moatext<name>)? */
static bool
reserved_p (const char *s)
{
  static const char want[] = "moatext";
  size_t n = 0;
  for (; *s != '\0' && n < sizeof want - 1; s++)
    {
      if (*s == '-' || *s == '_')
        continue;
      if (tolower ((unsigned char)*s) != want[n])
        return false;
      n++;
    }
  return n == sizeof want - 1;
}

int
eci_check_ext_reserved (const char *body, size_t len, const char *what,
                        bool with_name, struct eci_verdict *v)
{
  json_t *root = NULL, *labels = NULL, *name = NULL;
  const char *k;
  json_t *val;
  int r = 0;
  size_t i = 0;

  while (i < len && strchr (" \t\r\n", body[i]) != NULL)
    i++;
  if (i == len) /* no body: nothing named or labelled */
    return 0;
  if (eci_parse_object (body, len, &root, v) < 0)
    return -1;
  if (eci_obj_get (root, "Labels", &labels, v) < 0
      || (with_name && eci_obj_get (root, "Name", &name, v) < 0))
    {
      json_decref (root);
      return -1;
    }
  /* label keys are matched exactly (engine filters, compose); the value
   * in any case, to be safe */
  if (json_is_object (labels))
    json_object_foreach (labels, k, val)
    {
      if (strcmp (k, COMPOSE_PROJECT_LABEL) == 0 && json_is_string (val)
          && reserved_p (json_string_value (val)))
        {
          r = eci_refuse (v, 403, "eci.ext-project", REFUSAL_ECI_EXT_PROJECT,
                          what, json_string_value (val));
          break;
        }
    }
  if (r == 0 && json_is_string (name) && reserved_p (json_string_value (name)))
    r = eci_refuse (v, 403, "eci.ext-project", REFUSAL_ECI_EXT_NAME, what,
                    json_string_value (name));
  json_decref (root);
  return r;
}

int
eci_check_ext_image (engine_get_fn get, void *ctx, const char *body,
                     size_t len, struct eci_verdict *v)
{
  cleanup_free char *path = NULL;
  cleanup_free char *ans = NULL;
  json_t *root = NULL, *img = NULL, *labels;
  const char *ref, *val;
  size_t alen = 0;
  int r;

  if (eci_parse_object (body, len, &root, v) < 0)
    return -1;
  if (eci_obj_get (root, "Image", &img, v) < 0)
    {
      json_decref (root);
      return -1;
    }
  ref = json_is_string (img) ? json_string_value (img) : "";
  /* nothing to look up (the engine refuses the create), or a string
   * that is no reference and could change the URL */
  if (ref[0] == '\0' || strpbrk (ref, "?#% \\") != NULL
      || strstr (ref, "..") != NULL)
    {
      json_decref (root);
      return 0;
    }
  if (get == NULL || asprintf (&path, "/images/%s/json", ref) < 0)
    {
      path = NULL;
      r = eci_refuse (v, 502, "eci.ext-project", REFUSAL_ERR_INSPECT_IMAGE,
                      ref);
      json_decref (root);
      return r;
    }
  r = get (ctx, path, &ans, &alen);
  if (r > 0) /* no such image: the engine refuses the create */
    {
      json_decref (root);
      return 0;
    }
  if (r < 0)
    {
      r = eci_refuse (v, 502, "eci.ext-project", REFUSAL_ERR_INSPECT_IMAGE,
                      ref);
      json_decref (root);
      return r;
    }
  {
    json_t *a = json_loadb (ans, alen, 0, NULL);
    labels = json_object_get (json_object_get (a, "Config"), "Labels");
    val = json_string_value (json_object_get (labels, COMPOSE_PROJECT_LABEL));
    r = 0;
    if (val != NULL && reserved_p (val))
      r = eci_refuse (v, 403, "eci.ext-project", REFUSAL_ECI_EXT_IMAGE, ref,
                      val);
    json_decref (a);
  }
  json_decref (root);
  return r;
}
