/* ECI: driver names (volume, network, IPAM, log) and local volume driver
 * options; POST /volumes/create. */
#include "eci_internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/refusal.h"

/* ---- drivers and plugins ---------------------------------------------- */

/* The engine's built-in drivers of each kind (enum eci_driver_kind), which
 * need no permission.  Any other name is an engine plugin, looked up by a
 * lexical join of the name to /run/docker/plugins/ (and the spec
 * directories): it must be a plain name, and one the admin allows. */
static const char *const builtin_volume[] = { "local", NULL };
/* macvlan and ipvlan put a container on a host link; overlay needs swarm */
static const char *const builtin_network[] = { "bridge", NULL };
static const char *const builtin_ipam[] = { "default", "null", NULL };
/* the others send container output to host services or remote servers,
 * from the host, outside the net guard */
static const char *const builtin_log[]
    = { "json-file", "local", "none", NULL };

static const struct
{
  const char *what;
  const char *const *builtin;
} driver_kinds[] = {
  [ECI_DRV_VOLUME] = { "volume driver", builtin_volume },
  [ECI_DRV_NETWORK] = { "network driver", builtin_network },
  [ECI_DRV_IPAM] = { "IPAM driver", builtin_ipam },
  [ECI_DRV_LOG] = { "log driver", builtin_log },
};

/* A driver name as a request gives it (NULL, null or "" = the engine's
 * default): built in, or a plugin name the admin allows. */
int
eci_check_driver (const struct policy *pol, enum eci_driver_kind kind,
                  json_t *name, struct eci_verdict *v)
{
  const char *what = driver_kinds[kind].what;
  const char *n;
  if (name == NULL || json_is_null (name))
    return 0;
  if (!json_is_string (name))
    return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID, what);
  n = json_string_value (name);
  if (n[0] == '\0')
    return 0;
  for (const char *const *b = driver_kinds[kind].builtin; *b; b++)
    if (strcmp (n, *b) == 0)
      return 0;
  /* a path would name a socket anywhere on the host */
  if (!policy_driver_name_p (n))
    return eci_refuse (v, 403, "eci.driver", REFUSAL_ECI_DRIVER_NAME, what, n);
  if (policy_driver_allowed_p (pol, n))
    return 0;
  return eci_refuse (v, 403, "eci.driver", REFUSAL_ECI_DRIVER_NOT_ALLOWED,
                     what, n);
}

/* Mount flags of the engine's option parser that change nothing outside
 * the volume's own mount. */
static const char *const safe_mount_flags[] = {
  "defaults",   "ro",       "rw",         "suid",        "nosuid",
  "dev",        "nodev",    "exec",       "noexec",      "sync",
  "async",      "dirsync",  "atime",      "noatime",     "diratime",
  "nodiratime", "relatime", "norelatime", "strictatime", "nostrictatime",
  "private",    "rprivate", "slave",      "rslave",      NULL,
};

/* tmpfs data options (key=value) */
static const char *const tmpfs_options[] = {
  "size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", NULL,
};

/* Local-driver options {"type","o","device"}, read as the engine's local
 * driver does (keys exactly; "o" split on ',' into mount flags and fs
 * data).  Accepts no options, tmpfs, and binds ("bind"/"rbind" in o) whose
 * device is an absolute, clean host path that passes as a bind source.
 * Refuses every other file system type: a block device (ext4 on
 * /dev/loop0), overlay (its options name host directories), network file
 * systems (mounted by the host as root, outside the net guard, with the
 * server's device nodes and setuid files), proc and the like; and every
 * option that is neither a known harmless flag nor tmpfs data. */
int
eci_check_driver_opts (const struct eci_config *cfg, const struct policy *pol,
                       json_t *opts, const char *image, struct eci_verdict *v)
{
  const char *k;
  json_t *x;
  const char *type = "", *o = "", *dev = NULL;
  bool bind = false;
  cleanup_free char *ocopy = NULL;

  if (opts == NULL || json_is_null (opts))
    return 0;
  if (!json_is_object (opts))
    return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID,
                       "volume options");
  json_object_foreach (opts, k, x)
  {
    if (strcmp (k, "type") != 0 && strcmp (k, "o") != 0
        && strcmp (k, "device") != 0)
      return eci_refuse (v, 403, "eci.volume", REFUSAL_ECI_VOLUME_OPTION_KEY,
                         k);
    if (!json_is_string (x))
      return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_VOLUME_OPTION_INVALID,
                         k);
    if (k[0] == 't')
      type = json_string_value (x);
    else if (k[0] == 'o')
      o = json_string_value (x);
    else
      dev = json_string_value (x);
  }
  if (json_object_size (opts) == 0)
    return 0;

  /* with MS_BIND the kernel ignores the type */
  ocopy = strdup (o);
  if (ocopy == NULL)
    return eci_oom (v);
  for (char *save = NULL, *it = strtok_r (ocopy, ",", &save); it;
       it = strtok_r (NULL, ",", &save))
    if (strcmp (it, "bind") == 0 || strcmp (it, "rbind") == 0)
      bind = true;
  if (!bind && strcmp (type, "tmpfs") != 0)
    return eci_refuse (v, 403, "eci.volume", REFUSAL_ECI_VOLUME_TYPE, type);
  strcpy (ocopy, o);
  for (char *save = NULL, *it = strtok_r (ocopy, ",", &save); it;
       it = strtok_r (NULL, ",", &save))
    {
      size_t kl = strcspn (it, "=");
      bool tmpfs_data = false;
      for (const char *const *t = tmpfs_options; *t && !tmpfs_data; t++)
        tmpfs_data
            = strlen (*t) == kl && strncmp (it, *t, kl) == 0 && it[kl] == '=';
      if (strcmp (it, "bind") == 0 || strcmp (it, "rbind") == 0
          || eci_in_list (it, safe_mount_flags) || (tmpfs_data && !bind))
        continue;
      return eci_refuse (v, 403, "eci.volume", REFUSAL_ECI_VOLUME_OPTION, it);
    }

  if (bind)
    {
      cleanup_free char *clean = NULL;
      int r;
      /* The engine resolves a relative device against its own working
       * directory, and may or may not clean it: only one reading. */
      if (dev == NULL || dev[0] != '/'
          || (clean = eci_lexical_clean (dev)) == NULL
          || strcmp (clean, dev) != 0)
        return eci_refuse (v, 403, "eci.volume", REFUSAL_ECI_VOLUME_DEVICE,
                           dev ? dev : "");
      r = eci_check_bind (cfg, pol, dev, image, v);
      if (r > 0)
        return eci_refuse (v, 403, "eci.socket-mount",
                           REFUSAL_ECI_SOCKET_VOLUME);
      return r;
    }
  return 0;
}

int
eci_check_volume_create (const struct eci_config *cfg,
                         const struct policy *pol, const char *body,
                         size_t len, char **out, size_t *out_len,
                         struct eci_verdict *v)
{
  json_t *root = NULL, *drv, *opts;
  int ret = -1;
  *out = NULL;
  if (eci_parse_object (body, len, &root, v) < 0)
    return -1;
  if (eci_obj_get (root, "Driver", &drv, v) < 0
      || eci_obj_get (root, "DriverOpts", &opts, v) < 0)
    goto done;
  if (eci_check_driver (pol, ECI_DRV_VOLUME, drv, v) < 0)
    goto done;
  const char *dn = eci_str_or_empty (drv);
  if ((dn[0] == '\0' || strcmp (dn, "local") == 0)
      && eci_check_driver_opts (cfg, pol, opts, NULL, v) < 0)
    goto done;
  ret = eci_dump (root, out, out_len, v);
done:
  json_decref (root);
  return ret;
}
