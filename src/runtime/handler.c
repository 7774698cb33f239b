/* Keys and pods of moat-runc as a containerd runtime handler (handler.h). */
#include "handler.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/bindpol.h"
#include "runtime/runtime.h"
#include "runtime/spec.h"

char *
handler_key (const char *runc_root, const char *id)
{
  char *s = NULL;
  size_t n = strlen (runc_root);
  /* "/run/x/" and "/run/x" are one root */
  while (n > 1 && runc_root[n - 1] == '/')
    n--;
  if (asprintf (&s, "%.*s/%s", (int)n, runc_root, id) < 0)
    return NULL;
  return s;
}

int
handler_split_key (const char *key, char **root, char **id, moat_error_t *err)
{
  const char *slash = strrchr (key, '/');
  *root = *id = NULL;
  if (slash == NULL || slash == key || slash[1] == '\0')
    return moat_error (err, EINVAL, "`%s` is not a handler key", key);
  *root = strndup (key, (size_t)(slash - key));
  *id = strdup (slash + 1);
  if (*root == NULL || *id == NULL)
    {
      free (*root);
      free (*id);
      *root = *id = NULL;
      return moat_error (err, ENOMEM, "split key");
    }
  return 0;
}

char *
handler_scope (const char *runc_root)
{
  uint64_t h = 14695981039346656037ull;
  char *s = NULL;
  size_t n = strlen (runc_root);
  while (n > 1 && runc_root[n - 1] == '/')
    n--;
  for (size_t i = 0; i < n; i++)
    {
      h ^= (unsigned char)runc_root[i];
      h *= 1099511628211ull;
    }
  if (asprintf (&s, "ctd-%016" PRIx64, h) < 0)
    return NULL;
  return s;
}

int
handler_pod_sandbox (json_t *spec, const char **sandbox_id, moat_error_t *err)
{
  json_t *ann = json_object_get (spec, "annotations");
  const char *type
      = json_string_value (json_object_get (ann, HANDLER_ANN_TYPE));
  const char *sid
      = json_string_value (json_object_get (ann, HANDLER_ANN_SANDBOX));

  *sandbox_id = NULL;
  if (type == NULL || strcmp (type, "sandbox") == 0)
    return 0;
  if (strcmp (type, "container") != 0)
    return moat_error (err, EINVAL, "annotation %s: unknown type `%s`",
                       HANDLER_ANN_TYPE, type);
  if (sid == NULL || !runtime_id_valid_p (sid))
    return moat_error (err, EINVAL,
                       "a CRI container without a valid %s annotation",
                       HANDLER_ANN_SANDBOX);
  *sandbox_id = sid;
  return 0;
}

int
handler_parse_host_ns (const char *list, unsigned *mask, moat_error_t *err)
{
  const char *p = list;
  *mask = 0;
  while (*p != '\0')
    {
      size_t n = strcspn (p, ",");
      if (n == 7 && strncmp (p, "network", n) == 0)
        *mask |= 1u << SPEC_NS_NETWORK;
      else if (n == 3 && strncmp (p, "ipc", n) == 0)
        *mask |= 1u << SPEC_NS_IPC;
      else if (n == 3 && strncmp (p, "pid", n) == 0)
        *mask |= 1u << SPEC_NS_PID;
      else if (n > 0)
        return moat_error (err, EINVAL,
                           "--moat-allow-host-ns: `%.*s` is not one of "
                           "network, ipc, pid",
                           (int)n, p);
      p += n;
      if (*p == ',')
        p++;
    }
  return 0;
}

int
handler_cri_p (json_t *spec)
{
  return json_string_value (json_object_get (
             json_object_get (spec, "annotations"), HANDLER_ANN_TYPE))
         != NULL;
}

#define TASK_DIR "/io.containerd.runtime.v2.task/"
#define CRI_DIR "io.containerd.grpc.v1.cri/sandboxes"

/* The containerd directory a task path lies in: the prefix before
 * TASK_DIR (malloc'd), or NULL. */
static char *
ctd_dir_of (const char *task_path)
{
  const char *t = task_path ? strstr (task_path, TASK_DIR) : NULL;
  if (t == NULL || t == task_path)
    return NULL;
  return strndup (task_path, (size_t)(t - task_path));
}

int
handler_pod_binds (struct bindpol *bp, json_t *spec, const char *bundle,
                   const char *id, const char *kubelet_root, moat_error_t *err)
{
  json_t *ann = json_object_get (spec, "annotations");
  const char *type
      = json_string_value (json_object_get (ann, HANDLER_ANN_TYPE));
  const char *uid
      = json_string_value (json_object_get (ann, HANDLER_ANN_POD_UID));
  const char *sid = NULL;
  cleanup_free char *real = realpath (bundle, NULL);
  cleanup_free char *work = NULL, *wreal = NULL;
  cleanup_free char *state = NULL, *root = NULL;
  int r = 0;

  if (type == NULL)
    return 0;
  if (strcmp (type, "sandbox") == 0)
    sid = id;
  else if (handler_pod_sandbox (spec, &sid, err) < 0)
    return -1;
  if (asprintf (&work, "%s/work", bundle) < 0)
    return moat_error (err, ENOMEM, "pod binds");
  wreal = realpath (work, NULL);
  state = ctd_dir_of (real);
  root = ctd_dir_of (wreal);
  for (int i = 0; i < 2; i++)
    {
      const char *d = i == 0 ? root : state;
      cleanup_free char *dir = NULL;
      if (d == NULL)
        continue;
      if (asprintf (&dir, "%s/" CRI_DIR "/%s", d, sid) < 0)
        return moat_error (err, ENOMEM, "pod binds");
      r |= bindpol_add_pod_dir (bp, dir);
      r |= bindpol_add_protected (bp, d);
    }
  if (uid != NULL && runtime_id_valid_p (uid))
    {
      cleanup_free char *dir = NULL;
      if (asprintf (&dir, "%s/pods/%s", kubelet_root, uid) < 0)
        return moat_error (err, ENOMEM, "pod binds");
      r |= bindpol_add_pod_dir (bp, dir);
    }
  r |= bindpol_add_protected (bp, kubelet_root);
  if (r != 0)
    return moat_error (err, ENOMEM, "pod binds");
  return 0;
}
