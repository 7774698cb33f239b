/* ECI: a create's HostConfig: namespaces, binds and mounts, devices,
 * cgroups, security options, masks, OOM score, drivers, capabilities. */
#include "eci_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/refusal.h"

/* HostConfig namespace modes: "host" shares the host's namespace. */
static const struct
{
  const char *field;
  const char *ns;
} ns_fields[] = {
  { "PidMode", "pid" },     { "NetworkMode", "network" },
  { "IpcMode", "ipc" },     { "UTSMode", "uts" },
  { "UsernsMode", "user" }, { "CgroupnsMode", "cgroup" },
};

int
eci_ns_refuse (struct eci_verdict *v, const char *ns)
{
  return eci_refuse (v, 403, "eci.namespace", REFUSAL_ECI_NAMESPACE, ns);
}

/* Host devices moat-runc keeps in a container (docs/moat-runc.md): the
 * only ones --device may name. */
static const char *const safe_devices[] = {
  "/dev/null", "/dev/zero", "/dev/full",    "/dev/random", "/dev/urandom",
  "/dev/tty",  "/dev/fuse", "/dev/net/tun", NULL,
};

/* The field is absent, null or an empty array. */
static int
empty_array (json_t *hc, const char *field, bool *empty, struct eci_verdict *v)
{
  json_t *x;
  if (eci_obj_get (hc, field, &x, v) < 0)
    return -1;
  if (x != NULL && !json_is_null (x) && !json_is_array (x))
    return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID_HOSTCONFIG,
                       field);
  *empty = x == NULL || json_array_size (x) == 0;
  return 0;
}

/* A block I/O limit's device path, which the engine stat()s as host root
 * at every start: an absolute, clean path under /dev that goes through
 * none of the directories a user can write or that lead out of /dev
 * (/dev/shm's symlinks, /dev/fd to the engine's own descriptors).  Any
 * other path told a user whether a file exists where they cannot look
 * ("no such device" or "no such file or directory"). */
static bool
blkio_path_ok (const char *p)
{
  static const char *const no_dir[]
      = { "shm", "mqueue", "fd", "stdin", "stdout", "stderr", "core", NULL };
  const char *c;
  if (strncmp (p, "/dev/", 5) != 0 || p[5] == '\0')
    return false;
  for (c = p + 5;;)
    {
      size_t n = strcspn (c, "/");
      if (n == 0 || c[0] == '.')
        return false;
      if (c[n] == '\0')
        return true;
      for (size_t i = 0; no_dir[i]; i++)
        if (strlen (no_dir[i]) == n && strncmp (c, no_dir[i], n) == 0)
          return false;
      c += n + 1;
    }
}

static int
check_blkio_paths (json_t *hc, struct eci_verdict *v)
{
  static const char *const fields[]
      = { "BlkioWeightDevice", "BlkioDeviceReadBps", "BlkioDeviceWriteBps",
          "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps" };
  for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
    {
      json_t *x, *e, *ph;
      size_t i;
      if (eci_obj_get (hc, fields[f], &x, v) < 0)
        return -1;
      if (x != NULL && !json_is_null (x) && !json_is_array (x))
        return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID, fields[f]);
      json_array_foreach (x, i, e)
      {
        if (!json_is_object (e))
          return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID,
                             fields[f]);
        if (eci_obj_get (e, "Path", &ph, v) < 0)
          return -1;
        if (!blkio_path_ok (eci_str_or_empty (ph)))
          return eci_refuse (v, 403, "eci.device", REFUSAL_ECI_BLKIO_DEVICE,
                             eci_str_or_empty (ph));
      }
    }
  return 0;
}

/* HostConfig fields that reach host devices, host cgroups, the engine's
 * masks or a plugin: Devices (only the safe list), DeviceCgroupRules and
 * DeviceRequests (none), CgroupParent (none), SecurityOpt
 * systempaths=unconfined, MaskedPaths / ReadonlyPaths (engine defaults
 * only), VolumeDriver and LogConfig.Type (built in or allowed). */
static int
check_host_access (const struct policy *pol, json_t *hc, struct eci_verdict *v)
{
  json_t *x, *e;
  size_t i;
  bool empty;

  if (eci_obj_get (hc, "Devices", &x, v) < 0)
    return -1;
  if (x != NULL && !json_is_null (x) && !json_is_array (x))
    return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID,
                       "HostConfig.Devices");
  json_array_foreach (x, i, e)
  {
    json_t *ph;
    if (!json_is_object (e))
      return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID,
                         "HostConfig.Devices");
    if (eci_obj_get (e, "PathOnHost", &ph, v) < 0)
      return -1;
    const char *p = eci_str_or_empty (ph);
    /* Exactly as written: the engine follows symlinks and walks
     * directories later, and a link a user owns could be swapped for
     * /dev/sda in between; /dev itself is root's. */
    if (!eci_in_list (p, safe_devices))
      return eci_refuse (v, 403, "eci.device", REFUSAL_ECI_DEVICE, p);
  }
  if (check_blkio_paths (hc, v) < 0)
    return -1;
  if (empty_array (hc, "DeviceCgroupRules", &empty, v) < 0)
    return -1;
  if (!empty)
    return eci_refuse (v, 403, "eci.device", REFUSAL_ECI_DEVICE_CGROUP_RULES);
  if (empty_array (hc, "DeviceRequests", &empty, v) < 0)
    return -1;
  if (!empty)
    return eci_refuse (v, 403, "eci.device", REFUSAL_ECI_DEVICE_REQUESTS);

  /* a container placed in any host cgroup leaves the engine's limits and
   * device rules */
  if (eci_obj_get (hc, "CgroupParent", &x, v) < 0)
    return -1;
  if (x != NULL && !json_is_null (x)
      && (!json_is_string (x) || json_string_length (x) > 0))
    return eci_refuse (v, 403, "eci.cgroup", REFUSAL_ECI_CGROUP_PARENT);

  if (eci_obj_get (hc, "SecurityOpt", &x, v) < 0)
    return -1;
  if (x != NULL && !json_is_null (x) && !json_is_array (x))
    return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID,
                       "HostConfig.SecurityOpt");
  json_array_foreach (x, i, e)
  {
    if (!json_is_string (e))
      return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID,
                         "HostConfig.SecurityOpt");
    const char *so = json_string_value (e);
    /* the engine splits on '=', or on ':' when there is none */
    size_t kl = strchr (so, '=') ? strcspn (so, "=") : strcspn (so, ":");
    if (kl == strlen ("systempaths") && strncmp (so, "systempaths", kl) == 0)
      return eci_refuse (v, 403, "eci.masks", REFUSAL_ECI_SECURITY_OPT, so);
  }
  /* no value means the engine's defaults; any value replaces them */
  for (int f = 0; f < 2; f++)
    {
      const char *field = f == 0 ? "MaskedPaths" : "ReadonlyPaths";
      if (eci_obj_get (hc, field, &x, v) < 0)
        return -1;
      if (x != NULL && !json_is_null (x))
        return eci_refuse (v, 403, "eci.masks", REFUSAL_ECI_MASKS, field);
    }

  if (eci_obj_get (hc, "OomScoreAdj", &x, v) < 0)
    return -1;
  if (x != NULL && !json_is_null (x) && !json_is_integer (x))
    return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID,
                       "HostConfig.OomScoreAdj");
  if (json_is_integer (x) && json_integer_value (x) < 0)
    return eci_refuse (v, 403, "eci.oom", REFUSAL_ECI_OOM_SCORE);

  if (eci_obj_get (hc, "VolumeDriver", &x, v) < 0
      || eci_check_driver (pol, ECI_DRV_VOLUME, x, v) < 0)
    return -1;
  if (eci_obj_get (hc, "LogConfig", &x, v) < 0)
    return -1;
  if (x != NULL && !json_is_null (x))
    {
      if (!json_is_object (x))
        return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID,
                           "HostConfig.LogConfig");
      if (eci_obj_get (x, "Type", &e, v) < 0
          || eci_check_driver (pol, ECI_DRV_LOG, e, v) < 0)
        return -1;
    }
  return 0;
}

int
eci_check_host_config (const struct eci_config *cfg, const struct policy *pol,
                       json_t *hc, const char *image, struct eci_verdict *v)
{
  json_t *x;

  for (size_t i = 0; i < sizeof ns_fields / sizeof ns_fields[0]; i++)
    {
      if (eci_obj_get (hc, ns_fields[i].field, &x, v) < 0)
        return -1;
      if (x == NULL || json_is_null (x))
        continue;
      if (!json_is_string (x))
        return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID_HOSTCONFIG,
                           ns_fields[i].field);
      if (strcasecmp (json_string_value (x), "host") == 0)
        return eci_ns_refuse (v, ns_fields[i].ns);
    }

  if (eci_obj_get (hc, "Binds", &x, v) < 0)
    return -1;
  if (x && !json_is_null (x))
    {
      size_t i;
      json_t *b;
      if (!json_is_array (x))
        return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID, "Binds");
      json_array_foreach (x, i, b)
      {
        if (!json_is_string (b))
          return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID, "Binds");
        const char *s = json_string_value (b);
        const char *colon = strchr (s, ':');
        if (s[0] != '/' || colon == NULL)
          continue; /* named volume, or anonymous volume at that path */
        cleanup_free char *src = strndup (s, (size_t)(colon - s));
        cleanup_free char *nb = NULL;
        int r;
        if (src == NULL)
          return eci_oom (v);
        r = eci_check_bind (cfg, pol, src, image, v);
        if (r < 0)
          return -1;
        /* the engine mounts the container's filtered socket instead */
        if (r > 0
            && (asprintf (&nb, "%s%s", v->socket, colon) < 0
                || json_array_set_new (x, i, json_string (nb)) < 0))
          return eci_oom (v);
      }
    }

  if (eci_obj_get (hc, "Mounts", &x, v) < 0)
    return -1;
  if (x && !json_is_null (x))
    {
      size_t i;
      json_t *m;
      if (!json_is_array (x))
        return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID, "Mounts");
      json_array_foreach (x, i, m)
      {
        json_t *type, *src, *vo, *dc, *opts;
        if (!json_is_object (m))
          return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID,
                             "Mounts");
        if (eci_obj_get (m, "Type", &type, v) < 0
            || eci_obj_get (m, "Source", &src, v) < 0
            || eci_obj_get (m, "VolumeOptions", &vo, v) < 0)
          return -1;
        const char *t = eci_str_or_empty (type);
        /* the engine matches types exactly; any spelling is checked */
        if (strcasecmp (t, "bind") == 0)
          {
            int r
                = eci_check_bind (cfg, pol, eci_str_or_empty (src), image, v);
            if (r < 0)
              return -1;
            if (r > 0
                && eci_obj_set_canonical (m, "Source", json_string (v->socket))
                       < 0)
              return eci_oom (v);
          }
        else if (strcasecmp (t, "volume") == 0 && vo && json_is_object (vo))
          {
            json_t *name;
            if (eci_obj_get (vo, "DriverConfig", &dc, v) < 0)
              return -1;
            if (dc && json_is_object (dc))
              {
                if (eci_obj_get (dc, "Name", &name, v) < 0
                    || eci_obj_get (dc, "Options", &opts, v) < 0
                    || eci_check_driver (pol, ECI_DRV_VOLUME, name, v) < 0)
                  return -1;
                const char *dn = eci_str_or_empty (name);
                if ((dn[0] == '\0' || strcmp (dn, "local") == 0)
                    && eci_check_driver_opts (cfg, pol, opts, image, v) < 0)
                  return -1;
              }
          }
      }
    }
  if (check_host_access (pol, hc, v) < 0)
    return -1;
  return eci_check_volumes_from (cfg, pol, hc, image, v);
}

/* ECI drops CAP_NET_RAW unless the create asks for it (CapAdd NET_RAW or
 * ALL, or Privileged): with it, a container forges packets with another
 * container's source address on its own network, which the reverse-path
 * check on the bridge cannot tell apart (docs/engine-eci-checks.md).
 * ping keeps working through ICMP sockets (net.ipv4.ping_group_range,
 * which moat-runc sets to the container's gids). */
int
eci_drop_net_raw (json_t *hc, struct eci_verdict *v)
{
  json_t *priv, *add, *drop, *e;
  size_t i;

  if (eci_obj_get (hc, "Privileged", &priv, v) < 0
      || eci_obj_get (hc, "CapAdd", &add, v) < 0
      || eci_obj_get (hc, "CapDrop", &drop, v) < 0)
    return -1;
  if (json_is_true (priv))
    return 0;
  json_array_foreach (add, i, e)
  {
    const char *c = json_string_value (e);
    if (c == NULL)
      continue;
    if (strncasecmp (c, "CAP_", 4) == 0)
      c += 4;
    if (strcasecmp (c, "NET_RAW") == 0 || strcasecmp (c, "ALL") == 0)
      return 0;
  }
  if (drop == NULL || json_is_null (drop))
    {
      drop = json_array ();
      if (drop == NULL || eci_obj_set_canonical (hc, "CapDrop", drop) < 0)
        return eci_oom (v);
    }
  else if (!json_is_array (drop))
    return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID,
                       "HostConfig.CapDrop");
  if (json_array_append_new (drop, json_string ("NET_RAW")) < 0)
    return eci_oom (v);
  return 0;
}
