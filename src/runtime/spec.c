/* Spec rewrite: namespaces, id mappings, capabilities, devices. */
#include "spec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/refusal.h"

static const char *const ns_spec_names[SPEC_NS_COUNT]
    = { "pid", "network", "ipc", "uts", "user", "cgroup", "mount" };
static const char *const ns_proc_names[SPEC_NS_COUNT]
    = { "pid", "net", "ipc", "uts", "user", "cgroup", "mnt" };

/* include/linux/proc_ns.h: inode numbers of the initial namespaces
 * (net and mnt have them since 6.x; 0 means none to compare). */
static const unsigned long init_ns_ino[SPEC_NS_COUNT]
    = { 0xEFFFFFFCu, 0xEFFFFFF9u, 0xEFFFFFFFu, 0xEFFFFFFEu,
        0xEFFFFFFDu, 0xEFFFFFFBu, 0xEFFFFFF8u };

static const char *const cap_names[] = {
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_DAC_READ_SEARCH",
  "CAP_FOWNER",
  "CAP_FSETID",
  "CAP_KILL",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETPCAP",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_NET_RAW",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_MKNOD",
  "CAP_LEASE",
  "CAP_AUDIT_WRITE",
  "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
};
#define N_CAPS (sizeof cap_names / sizeof cap_names[0])
_Static_assert(N_CAPS <= 64, "capability sets are 64-bit masks");

/* Device nodes a privileged container keeps: the ones every container gets
 * plus fuse and tun, which only reach the container's own namespaces.
 * Everything else (disks, /dev/mem, /dev/kmsg, ...) reaches the host. */
static const char *const safe_devices[]
    = { "/dev/null",    "/dev/zero",   "/dev/full",    "/dev/random",
        "/dev/urandom", "/dev/tty",    "/dev/console", "/dev/ptmx",
        "/dev/fuse",    "/dev/net/tun" };

/* Docker's defaults, restored for privileged containers.  /proc/sys stays
 * writable so that sysctls of the container's own namespaces work; the
 * host's are owned by an id the container cannot map. */
static const char *const masked_default[] = {
  "/proc/asound",     "/proc/acpi",        "/proc/interrupts",
  "/proc/kcore",      "/proc/keys",        "/proc/latency_stats",
  "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
  "/proc/scsi",       "/sys/firmware",     "/sys/devices/virtual/powercap"
};
static const char *const readonly_default[]
    = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sysrq-trigger" };

const char *const *
spec_masked_paths (size_t *n)
{
  *n = sizeof masked_default / sizeof masked_default[0];
  return masked_default;
}

const char *const *
spec_readonly_paths (size_t *n)
{
  *n = sizeof readonly_default / sizeof readonly_default[0];
  return readonly_default;
}

const char *
spec_ns_name (enum spec_ns ns)
{
  return ns < SPEC_NS_COUNT ? ns_spec_names[ns] : "?";
}

int
spec_cap_number (const char *name)
{
  for (size_t i = 0; i < N_CAPS; i++)
    if (strcmp (cap_names[i], name) == 0)
      return (int)i;
  return -1;
}

void
spec_report_free (struct spec_report *r)
{
  free (r->dropped_caps);
  free (r->dropped_devices);
  memset (r, 0, sizeof *r);
}

int
spec_ctx_probe_host (struct spec_ctx *ctx, moat_error_t *err)
{
  cleanup_file FILE *f = NULL;
  char line[256];
  int have_bnd = 0;

  for (int t = 0; t < SPEC_NS_COUNT; t++)
    for (int w = 0; w < 2; w++)
      {
        char path[64];
        struct stat st;
        snprintf (path, sizeof path, "/proc/%s/ns/%s", w == 0 ? "1" : "self",
                  ns_proc_names[t]);
        if (stat (path, &st) < 0)
          {
            /* init may hold capabilities we lack (ptrace access check):
             * its entry is then covered by the fixed inode below.  Our own
             * namespaces must be readable: fail closed. */
            if (w == 0 && (errno == EACCES || errno == EPERM))
              continue;
            return moat_error (err, errno, "stat `%s`", path);
          }
        ctx->host_ns[t][w].dev = st.st_dev;
        ctx->host_ns[t][w].ino = st.st_ino;
        ctx->host_ns[t][w].valid = 1;
        if (w == 1)
          {
            ctx->host_ns[t][2].dev = st.st_dev;
            ctx->host_ns[t][2].ino = (ino_t)init_ns_ino[t];
            ctx->host_ns[t][2].valid = init_ns_ino[t] != 0;
          }
      }

  f = fopen ("/proc/self/status", "re");
  if (f == NULL)
    return moat_error (err, errno, "open /proc/self/status");
  while (fgets (line, sizeof line, f) != NULL)
    if (strncmp (line, "CapBnd:", 7) == 0)
      {
        ctx->cap_bound = strtoull (line + 7, NULL, 16);
        have_bnd = 1;
      }
  if (!have_bnd)
    return moat_error (err, EINVAL, "no CapBnd in /proc/self/status");
  return 0;
}

static int
refuse_shared (enum spec_ns t, moat_error_t *err)
{
  return moat_error (err, 0, REFUSAL_ECI_NAMESPACE, ns_spec_names[t]);
}

static int
ns_type (const char *s)
{
  for (int t = 0; t < SPEC_NS_COUNT; t++)
    if (strcmp (s, ns_spec_names[t]) == 0)
      return t;
  return -1;
}

static int
append_name (char **list, const char *name)
{
  char *n = NULL;
  if (asprintf (&n, "%s%s%s", *list ? *list : "", *list ? "," : "", name) < 0)
    return -1;
  free (*list);
  *list = n;
  return 0;
}

/* Check and complete linux.namespaces. */
static int
rewrite_namespaces (json_t *linux_, const struct spec_ctx *ctx,
                    struct spec_report *rep, moat_error_t *err)
{
  json_t *nss = json_object_get (linux_, "namespaces");
  int seen[SPEC_NS_COUNT] = { 0 };
  size_t i;
  json_t *ns;

  if (nss == NULL)
    {
      nss = json_array ();
      if (nss == NULL || json_object_set_new (linux_, "namespaces", nss) < 0)
        return moat_error (err, ENOMEM, "add namespaces");
    }
  if (!json_is_array (nss))
    return moat_error (err, EINVAL, "linux.namespaces is not an array");

  json_array_foreach (nss, i, ns)
  {
    const char *type = json_string_value (json_object_get (ns, "type"));
    json_t *jpath = json_object_get (ns, "path");
    const char *path = json_string_value (jpath);
    struct stat st;
    int t;

    if (type == NULL)
      return moat_error (err, EINVAL, "linux.namespaces[%zu]: no type", i);
    t = ns_type (type);
    if (t < 0)
      continue; /* time namespace and future types: runc decides */
    seen[t] = 1;
    if (jpath != NULL && !json_is_string (jpath))
      return moat_error (err, EINVAL, "linux.namespaces[%zu].path", i);
    if (t == SPEC_NS_USER && ctx->pod_userns != NULL
        && (path == NULL || *path == '\0'))
      {
        if (json_object_set_new (ns, "path", json_string (ctx->pod_userns))
            < 0)
          return moat_error (err, ENOMEM, "join the pod's user namespace");
        continue;
      }
    if (path == NULL || *path == '\0')
      continue;
    /* Joining any existing user namespace would bypass the exclusive
     * range, whoever owns it. */
    if (t == SPEC_NS_USER)
      {
        if (ctx->pod_userns != NULL && strcmp (path, ctx->pod_userns) == 0)
          continue;
        return refuse_shared (SPEC_NS_USER, err);
      }
    if (stat (path, &st) < 0)
      return moat_error (err, errno, "linux.namespaces[%zu]: stat `%s`", i,
                         path);
    for (int w = 0; w < 3; w++)
      if (ctx->host_ns[t][w].valid && ctx->host_ns[t][w].dev == st.st_dev
          && ctx->host_ns[t][w].ino == st.st_ino
          && !(ctx->allow_host_ns & (1u << t)))
        return refuse_shared ((enum spec_ns)t, err);
    for (int w = 0; w < 3; w++)
      if (ctx->host_ns[t][w].valid && ctx->host_ns[t][w].dev == st.st_dev
          && ctx->host_ns[t][w].ino == st.st_ino)
        rep->host_ns_allowed |= 1u << t;
  }

  /* A missing namespace means the host's.  cgroup is the exception: Docker
   * leaves it out by default on cgroup v1, so it is added instead. */
  for (int t = 0; t < SPEC_NS_COUNT; t++)
    {
      json_t *add;
      if (seen[t])
        continue;
      if (t != SPEC_NS_USER && t != SPEC_NS_CGROUP
          && (ctx->allow_host_ns & (1u << t)))
        {
          rep->host_ns_allowed |= 1u << t;
          continue;
        }
      if (t != SPEC_NS_USER && t != SPEC_NS_CGROUP)
        return refuse_shared ((enum spec_ns)t, err);
      if (t == SPEC_NS_USER && ctx->pod_userns != NULL)
        add = json_pack ("{s:s, s:s}", "type", ns_spec_names[t], "path",
                         ctx->pod_userns);
      else
        add = json_pack ("{s:s}", "type", ns_spec_names[t]);
      if (add == NULL || json_array_append_new (nss, add) < 0)
        return moat_error (err, ENOMEM, "add namespace");
      if (t == SPEC_NS_CGROUP)
        rep->added_cgroup_ns = 1;
    }
  return 0;
}

static int
set_mappings (json_t *linux_, const char *key, uint32_t base, uint32_t size,
              struct spec_report *rep, moat_error_t *err)
{
  json_t *old = json_object_get (linux_, key);
  json_t *m;
  if (old != NULL && json_array_size (old) > 0)
    rep->replaced_mappings = 1;
  m = json_pack ("[{s:i, s:I, s:I}]", "containerID", 0, "hostID",
                 (json_int_t)base, "size", (json_int_t)size);
  if (m == NULL || json_object_set_new (linux_, key, m) < 0)
    return moat_error (err, ENOMEM, "set %s", key);
  return 0;
}

int
spec_drop_cap (json_t *spec, const char *name, moat_error_t *err)
{
  static const char *const sets[]
      = { "bounding", "effective", "permitted", "inheritable", "ambient" };
  json_t *caps
      = json_object_get (json_object_get (spec, "process"), "capabilities");
  for (size_t s = 0; caps != NULL && s < sizeof sets / sizeof sets[0]; s++)
    {
      json_t *arr = json_object_get (caps, sets[s]);
      for (size_t i = json_array_size (arr); i-- > 0;)
        {
          const char *c = json_string_value (json_array_get (arr, i));
          if (c != NULL && strcmp (c, name) == 0
              && json_array_remove (arr, i) < 0)
            return moat_error (err, ENOMEM, "drop %s", name);
        }
    }
  return 0;
}

/* Keep only capabilities in ctx->cap_bound in every set; collect the
 * names dropped (once each). */
static int
rewrite_caps (json_t *process, const struct spec_ctx *ctx,
              struct spec_report *rep, int *has_sys_admin, moat_error_t *err)
{
  static const char *const sets[]
      = { "bounding", "effective", "permitted", "inheritable", "ambient" };
  json_t *caps = json_object_get (process, "capabilities");
  uint64_t dropped = 0;
  int dropped_unknown = 0;

  *has_sys_admin = 0;
  if (caps == NULL)
    return 0;
  for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++)
    {
      json_t *arr = json_object_get (caps, sets[s]);
      json_t *keep;
      size_t i;
      json_t *c;
      if (arr == NULL)
        continue;
      if (!json_is_array (arr))
        return moat_error (err, EINVAL, "process.capabilities.%s", sets[s]);
      keep = json_array ();
      if (keep == NULL)
        return moat_error (err, ENOMEM, "rewrite capabilities");
      json_array_foreach (arr, i, c)
      {
        const char *name = json_string_value (c);
        int n = name ? spec_cap_number (name) : -1;
        if (n < 0)
          {
            if (name != NULL && !dropped_unknown)
              {
                append_name (&rep->dropped_caps, name);
                dropped_unknown = 1;
              }
            continue;
          }
        if (!(ctx->cap_bound & (1ULL << n)))
          {
            if (!(dropped & (1ULL << n)))
              {
                dropped |= 1ULL << n;
                if (append_name (&rep->dropped_caps, name) < 0)
                  {
                    json_decref (keep);
                    return moat_error (err, ENOMEM, "rewrite capabilities");
                  }
              }
            continue;
          }
        if (n == 21 && strcmp (sets[s], "bounding") == 0)
          *has_sys_admin = 1;
        json_array_append (keep, c);
      }
      if (json_object_set_new (caps, sets[s], keep) < 0)
        return moat_error (err, ENOMEM, "rewrite capabilities");
    }
  return 0;
}

static int
is_safe_device (const char *path)
{
  if (path == NULL)
    return 0;
  if (strncmp (path, "/dev/pts/", 9) == 0)
    return 1;
  for (size_t i = 0; i < sizeof safe_devices / sizeof safe_devices[0]; i++)
    if (strcmp (path, safe_devices[i]) == 0)
      return 1;
  return 0;
}

static int
prune_devices (json_t *linux_, struct spec_report *rep, moat_error_t *err)
{
  json_t *devs = json_object_get (linux_, "devices");
  json_t *res = json_object_get (linux_, "resources");
  json_t *rules = res ? json_object_get (res, "devices") : NULL;
  size_t i;
  json_t *d;

  if (json_is_array (devs))
    for (i = json_array_size (devs); i-- > 0;)
      {
        const char *path = json_string_value (
            json_object_get (json_array_get (devs, i), "path"));
        if (is_safe_device (path))
          continue;
        if (path != NULL)
          append_name (&rep->dropped_devices, path);
        json_array_remove (devs, i);
      }

  /* The device cgroup is rebuilt: deny all, Docker's default rules, then
   * one rule per device node the container keeps.  Rules the spec came
   * with for devices it no longer has (--device pruned above,
   * --device-cgroup-rule, --privileged's allow-all) are left out. */
  if (res == NULL)
    {
      res = json_object ();
      if (res == NULL || json_object_set_new (linux_, "resources", res) < 0)
        return moat_error (err, ENOMEM, "rewrite device rules");
    }
  if (!json_is_object (res))
    return moat_error (err, EINVAL, "linux.resources is not an object");
  json_array_foreach (rules, i, d)
  {
    if (json_is_true (json_object_get (d, "allow")))
      rep->dropped_rules++;
  }
  {
    json_t *nr = json_pack (
        "[{s:b, s:s},"
        " {s:b, s:s, s:s}, {s:b, s:s, s:s},"
        " {s:b, s:s, s:i, s:i, s:s}, {s:b, s:s, s:i, s:i, s:s},"
        " {s:b, s:s, s:i, s:i, s:s}, {s:b, s:s, s:i, s:i, s:s},"
        " {s:b, s:s, s:i, s:i, s:s}, {s:b, s:s, s:i, s:i, s:s},"
        " {s:b, s:s, s:i, s:i, s:s}, {s:b, s:s, s:i, s:i, s:s},"
        " {s:b, s:s, s:i, s:s}, {s:b, s:s, s:i, s:i, s:s}]",
        "allow", 0, "access", "rwm", "allow", 1, "type", "c", "access", "m",
        "allow", 1, "type", "b", "access", "m", "allow", 1, "type", "c",
        "major", 1, "minor", 3, "access", "rwm", "allow", 1, "type", "c",
        "major", 1, "minor", 5, "access", "rwm", "allow", 1, "type", "c",
        "major", 1, "minor", 7, "access", "rwm", "allow", 1, "type", "c",
        "major", 1, "minor", 8, "access", "rwm", "allow", 1, "type", "c",
        "major", 1, "minor", 9, "access", "rwm", "allow", 1, "type", "c",
        "major", 5, "minor", 0, "access", "rwm", "allow", 1, "type", "c",
        "major", 5, "minor", 1, "access", "rwm", "allow", 1, "type", "c",
        "major", 5, "minor", 2, "access", "rwm", "allow", 1, "type", "c",
        "major", 136, "access", "rwm", "allow", 1, "type", "c", "major", 10,
        "minor", 200, "access", "rwm");
    if (nr == NULL)
      return moat_error (err, ENOMEM, "rewrite device rules");
    /* the kept nodes (fuse, tun, ... with --device or --privileged) */
    json_array_foreach (devs, i, d)
    {
      const char *type = json_string_value (json_object_get (d, "type"));
      json_t *maj = json_object_get (d, "major");
      json_t *min = json_object_get (d, "minor");
      if (type == NULL || !json_is_integer (maj) || !json_is_integer (min)
          || (strcmp (type, "c") != 0 && strcmp (type, "u") != 0))
        continue;
      if (json_array_append_new (
              nr, json_pack ("{s:b, s:s, s:I, s:I, s:s}", "allow", 1, "type",
                             "c", "major", json_integer_value (maj), "minor",
                             json_integer_value (min), "access", "rwm"))
          < 0)
        {
          json_decref (nr);
          return moat_error (err, ENOMEM, "rewrite device rules");
        }
    }
    if (json_object_set_new (res, "devices", nr) < 0)
      return moat_error (err, ENOMEM, "rewrite device rules");
  }
  return 0;
}

static int
ensure_paths (json_t *linux_, const char *key, const char *const *paths,
              size_t n, moat_error_t *err)
{
  json_t *arr = json_object_get (linux_, key);
  if (arr == NULL)
    {
      arr = json_array ();
      if (arr == NULL || json_object_set_new (linux_, key, arr) < 0)
        return moat_error (err, ENOMEM, "set %s", key);
    }
  if (!json_is_array (arr))
    return moat_error (err, EINVAL, "linux.%s is not an array", key);
  for (size_t k = 0; k < n; k++)
    {
      size_t i;
      json_t *v;
      int found = 0;
      json_array_foreach (arr, i, v)
      {
        const char *s = json_string_value (v);
        if (s != NULL && strcmp (s, paths[k]) == 0)
          found = 1;
      }
      if (!found && json_array_append_new (arr, json_string (paths[k])) < 0)
        return moat_error (err, ENOMEM, "set %s", key);
    }
  return 0;
}

/* Docker sets net.ipv4.ping_group_range to "0 2147483647"; the kernel
 * accepts only gids mapped in the writer's user namespace. */
static int
clamp_ping_range (json_t *linux_, uint32_t size, moat_error_t *err)
{
  json_t *sysctl = json_object_get (linux_, "sysctl");
  const char *v = json_string_value (
      json_object_get (sysctl, "net.ipv4.ping_group_range"));
  unsigned long lo, hi;
  char buf[64];
  if (v == NULL)
    return 0;
  if (sscanf (v, "%lu %lu", &lo, &hi) != 2)
    return moat_error (err, EINVAL, "bad net.ipv4.ping_group_range `%s`", v);
  if (hi > size - 1)
    hi = size - 1;
  if (lo > hi)
    lo = hi;
  snprintf (buf, sizeof buf, "%lu %lu", lo, hi);
  if (json_object_set_new (sysctl, "net.ipv4.ping_group_range",
                           json_string (buf))
      < 0)
    return moat_error (err, ENOMEM, "set ping_group_range");
  return 0;
}

/* Calls that change mounts; a filter that allows any of them does not
 * keep a process with CAP_SYS_ADMIN from undoing the masks. */
static const char *const mount_calls[]
    = { "mount",    "umount", "umount2",    "fsopen",    "fsmount",
        "fsconfig", "fspick", "move_mount", "open_tree", "mount_setattr" };

static bool
seccomp_allows_mounts (json_t *linux_)
{
  json_t *sc = json_object_get (linux_, "seccomp");
  const char *def = json_string_value (json_object_get (sc, "defaultAction"));
  size_t i, k;
  json_t *e, *n;
  if (!json_is_object (sc) || def == NULL
      || strcmp (def, "SCMP_ACT_ALLOW") == 0
      || strcmp (def, "SCMP_ACT_LOG") == 0)
    return true;
  json_array_foreach (json_object_get (sc, "syscalls"), i, e)
  {
    const char *act = json_string_value (json_object_get (e, "action"));
    if (act == NULL
        || (strcmp (act, "SCMP_ACT_ALLOW") != 0
            && strcmp (act, "SCMP_ACT_LOG") != 0))
      continue;
    json_array_foreach (json_object_get (e, "names"), k, n)
    {
      const char *name = json_string_value (n);
      for (size_t m = 0;
           name != NULL && m < sizeof mount_calls / sizeof *mount_calls; m++)
        if (strcmp (name, mount_calls[m]) == 0)
          return true;
    }
  }
  return false;
}

/* Every bind mount nodev: a volume can hold device nodes (dockerd copies
 * an image's VOLUME contents into it), and a shared directory too. */
static int
nodev_binds (json_t *spec, moat_error_t *err)
{
  size_t i;
  json_t *m;
  json_array_foreach (json_object_get (spec, "mounts"), i, m)
  {
    json_t *opts = json_object_get (m, "options");
    size_t k;
    json_t *o;
    bool have = false;
    if (!bindpol_is_bind (m))
      continue;
    if (opts == NULL)
      {
        opts = json_array ();
        if (opts == NULL || json_object_set_new (m, "options", opts) < 0)
          return moat_error (err, ENOMEM, "bind options");
      }
    if (!json_is_array (opts))
      return moat_error (err, EINVAL, "mounts[%zu].options", i);
    json_array_foreach (opts, k, o)
    {
      const char *s = json_string_value (o);
      if (s != NULL && strcmp (s, "dev") == 0)
        {
          json_array_remove (opts, k);
          k--;
          continue;
        }
      if (s != NULL && strcmp (s, "nodev") == 0)
        have = true;
    }
    if (!have && json_array_append_new (opts, json_string ("nodev")) < 0)
      return moat_error (err, ENOMEM, "bind options");
  }
  return 0;
}

/* Early refusal of bind sources by their real path now; binds.c
 * decides again on the tree it mounts. */
static int
check_binds (json_t *spec, const struct spec_ctx *ctx, moat_error_t *err)
{
  json_t *mounts = json_object_get (spec, "mounts");
  size_t i;
  json_t *m;

  if (ctx->binds == NULL)
    return 0;
  json_array_foreach (mounts, i, m)
  {
    const char *src = json_string_value (json_object_get (m, "source"));
    const char *dst = json_string_value (json_object_get (m, "destination"));
    if (!bindpol_is_bind (m) || src == NULL || src[0] != '/')
      continue;
    if (bindpol_check_path (ctx->binds, src, dst, err) < 0)
      return -1;
  }
  return 0;
}

int
spec_rewrite (json_t *spec, const struct spec_ctx *ctx,
              struct spec_report *rep, moat_error_t *err)
{
  json_t *linux_, *process;
  int sys_admin = 0;

  memset (rep, 0, sizeof *rep);
  if (!json_is_object (spec))
    return moat_error (err, EINVAL, "spec is not a JSON object");
  if (ctx->size == 0 || ctx->uid_base == 0 || ctx->gid_base == 0)
    return moat_error (err, EINVAL, "refusing to map host id 0");
  linux_ = json_object_get (spec, "linux");
  if (linux_ == NULL)
    {
      linux_ = json_object ();
      if (linux_ == NULL || json_object_set_new (spec, "linux", linux_) < 0)
        return moat_error (err, ENOMEM, "add linux section");
    }
  if (!json_is_object (linux_))
    return moat_error (err, EINVAL, "spec.linux is not an object");

  if (rewrite_namespaces (linux_, ctx, rep, err) < 0)
    return -1;
  if (check_binds (spec, ctx, err) < 0)
    return -1;
  if (set_mappings (linux_, "uidMappings", ctx->uid_base, ctx->size, rep, err)
          < 0
      || set_mappings (linux_, "gidMappings", ctx->gid_base, ctx->size, rep,
                       err)
             < 0)
    return -1;

  if (clamp_ping_range (linux_, ctx->size, err) < 0)
    return -1;

  process = json_object_get (spec, "process");
  if (json_is_object (process)
      && rewrite_caps (process, ctx, rep, &sys_admin, err) < 0)
    return -1;

  /* Docker marks nothing as privileged in the spec; all of CAP_SYS_ADMIN
   * and no masked paths is what --privileged produces. */
  rep->privileged
      = sys_admin
        && json_array_size (json_object_get (linux_, "maskedPaths")) == 0;
  /* A process that gains CAP_SYS_ADMIN later (`docker exec
   * --privileged`) can unmount what runc mounted unless the seccomp
   * filter stops the mount calls: such containers are locked too. */
  rep->lock_mounts = sys_admin || seccomp_allows_mounts (linux_);
  if (prune_devices (linux_, rep, err) < 0)
    return -1;
  /* Docker's masks for every container (--privileged and
   * --security-opt systempaths=unconfined drop them).  /proc/sys stays
   * writable for a container with CAP_SYS_ADMIN (sysctls of its own
   * namespaces; the host's are owned by an id it cannot map). */
  if (ensure_paths (linux_, "maskedPaths", masked_default,
                    sizeof masked_default / sizeof masked_default[0], err)
          < 0
      || ensure_paths (linux_, "readonlyPaths", readonly_default,
                       sizeof readonly_default / sizeof readonly_default[0],
                       err)
             < 0)
    return -1;
  if (!sys_admin)
    {
      static const char *const proc_sys[] = { "/proc/sys" };
      if (ensure_paths (linux_, "readonlyPaths", proc_sys, 1, err) < 0)
        return -1;
    }
  if (nodev_binds (spec, err) < 0)
    return -1;
  return 0;
}

/* Capability sets as masks; names were checked by rewrite_caps. */
static uint64_t
caps_mask (json_t *arr)
{
  uint64_t m = 0;
  size_t i;
  json_t *c;
  json_array_foreach (arr, i, c)
  {
    int n
        = json_string_value (c) ? spec_cap_number (json_string_value (c)) : -1;
    if (n >= 0)
      m |= 1ULL << n;
  }
  return m;
}

static int
add_cap_names (json_t *caps, const char *set, uint64_t add, moat_error_t *err)
{
  json_t *arr = json_object_get (caps, set);
  uint64_t have;
  if (arr == NULL)
    {
      arr = json_array ();
      if (arr == NULL || json_object_set_new (caps, set, arr) < 0)
        return moat_error (err, ENOMEM, "shim capabilities");
    }
  if (!json_is_array (arr))
    return moat_error (err, EINVAL, "process.capabilities.%s", set);
  have = caps_mask (arr);
  for (size_t n = 0; n < N_CAPS; n++)
    if ((add & (1ULL << n)) && !(have & (1ULL << n))
        && json_array_append_new (arr, json_string (cap_names[n])) < 0)
      return moat_error (err, ENOMEM, "shim capabilities");
  return 0;
}

int
spec_add_lock_shim (json_t *spec, const char *shim, uint64_t cap_bound,
                    moat_error_t *err)
{
  static const char *const sets[]
      = { "bounding", "effective", "permitted", "inheritable", "ambient" };
  /* SETPCAP: drop the bounding set back; SYS_ADMIN + SYS_CHROOT: setns
   * into a mount namespace; SETUID: become the spec's user again. */
  const uint64_t need
      = (1ULL << 8) | (1ULL << 21) | (1ULL << 18) | (1ULL << 7);
  json_t *process = json_object_get (spec, "process");
  json_t *args = json_object_get (process, "args");
  json_t *caps = json_object_get (process, "capabilities");
  json_t *user = json_object_get (process, "user");
  json_t *mounts = json_object_get (spec, "mounts");
  json_t *nargs, *m;
  json_int_t uid = 0;
  char masks[5 * 17 + 1], ubuf[24];
  size_t off = 0, i;
  json_t *a;

  if (!json_is_object (process) || !json_is_array (args)
      || json_array_size (args) == 0)
    return moat_error (err, EINVAL, "process.args missing");
  if (!json_is_object (caps))
    return moat_error (err, EINVAL, "process.capabilities missing");
  if ((need & cap_bound) != need)
    return moat_error (err, EPERM,
                       "cannot lock the mounts of a container with "
                       "CAP_SYS_ADMIN: this runtime lacks CAP_SETPCAP, "
                       "CAP_SYS_CHROOT or CAP_SETUID");
  if (user != NULL)
    {
      json_t *ju = json_object_get (user, "uid");
      if (ju != NULL && !json_is_integer (ju))
        return moat_error (err, EINVAL, "process.user.uid");
      uid = ju ? json_integer_value (ju) : 0;
      if (uid < 0 || uid > UINT32_MAX - 1)
        return moat_error (err, EINVAL, "process.user.uid %lld",
                           (long long)uid);
    }
  for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++)
    {
      json_t *arr = json_object_get (caps, sets[s]);
      off += (size_t)snprintf (masks + off, sizeof masks - off, "%s%" PRIx64,
                               s ? "," : "", arr ? caps_mask (arr) : 0);
    }
  snprintf (ubuf, sizeof ubuf, "%lld", (long long)uid);

  nargs = json_pack ("[s, s, s, s, s, s]", SPEC_LOCK_SHIM_DEST, "--uid", ubuf,
                     "--caps", masks, "--");
  if (nargs == NULL)
    return moat_error (err, ENOMEM, "shim args");
  json_array_foreach (args, i, a)
  {
    if (json_array_append (nargs, a) < 0)
      {
        json_decref (nargs);
        return moat_error (err, ENOMEM, "shim args");
      }
  }
  if (json_object_set_new (process, "args", nargs) < 0)
    return moat_error (err, ENOMEM, "shim args");

  for (size_t s = 0; s < 3; s++)
    if (add_cap_names (caps, sets[s], need, err) < 0)
      return -1;
  if (user == NULL)
    {
      user = json_object ();
      if (user == NULL || json_object_set_new (process, "user", user) < 0)
        return moat_error (err, ENOMEM, "shim user");
    }
  if (json_object_set_new (user, "uid", json_integer (0)) < 0)
    return moat_error (err, ENOMEM, "shim user");

  if (mounts == NULL)
    {
      mounts = json_array ();
      if (mounts == NULL || json_object_set_new (spec, "mounts", mounts) < 0)
        return moat_error (err, ENOMEM, "shim mount");
    }
  if (!json_is_array (mounts))
    return moat_error (err, EINVAL, "mounts is not an array");
  m = json_pack ("{s:s, s:s, s:s, s:[s, s, s, s]}", "destination",
                 SPEC_LOCK_SHIM_DEST, "type", "bind", "source", shim,
                 "options", "bind", "ro", "nosuid", "nodev");
  if (m == NULL || json_array_append_new (mounts, m) < 0)
    return moat_error (err, ENOMEM, "shim mount");
  return 0;
}

/* Calls that can give a file S_ISUID or S_ISGID, with the index of their
 * mode argument and of their open flags (-1: none). */
struct setid_call
{
  const char *name;
  int mode;
  int flags;
};

static const struct setid_call setid_calls[] = {
  { "chmod", 1, -1 },     { "fchmod", 1, -1 }, { "fchmodat", 2, -1 },
  { "fchmodat2", 2, -1 }, { "creat", 1, -1 },  { "mknod", 1, -1 },
  { "mknodat", 2, -1 },   { "open", 2, 1 },    { "openat", 3, 2 },
};

/* Calls whose mode or flags a filter cannot see (a struct, a ring):
 * ENOSYS, so that libraries fall back to the calls above. */
static const char *const blind_calls[]
    = { "openat2", "io_uring_setup", "io_uring_enter", "io_uring_register" };

#define SETID_BITS 06000u       /* S_ISUID | S_ISGID */
#define CREATE_FLAGS 0100u      /* O_CREAT */
#define TMPFILE_FLAG 020000000u /* __O_TMPFILE */

static bool
guarded_name_p (const char *s)
{
  if (s == NULL)
    return false;
  for (size_t i = 0; i < sizeof setid_calls / sizeof *setid_calls; i++)
    if (strcmp (s, setid_calls[i].name) == 0)
      return true;
  for (size_t i = 0; i < sizeof blind_calls / sizeof *blind_calls; i++)
    if (strcmp (s, blind_calls[i]) == 0)
      return true;
  return false;
}

static bool
permissive_p (const char *action)
{
  return action != NULL
         && (strcmp (action, "SCMP_ACT_ALLOW") == 0
             || strcmp (action, "SCMP_ACT_LOG") == 0);
}

/* Append {names:[name], action, errnoRet?, args:[cmp...]}; each cmp is
 * (index, mask, value) for SCMP_CMP_MASKED_EQ, all must hold. */
static int
add_rule (json_t *rules, const char *name, const char *action, int errno_ret,
          int n, const json_int_t (*cmp)[3])
{
  json_t *args = json_array ();
  json_t *r = json_pack ("{s:[s], s:s, s:o}", "names", name, "action", action,
                         "args", args);
  if (r == NULL)
    return -1;
  for (int i = 0; i < n; i++)
    if (json_array_append_new (
            args, json_pack ("{s:I, s:I, s:I, s:s}", "index", cmp[i][0],
                             "value", cmp[i][1], "valueTwo", cmp[i][2], "op",
                             "SCMP_CMP_MASKED_EQ"))
        < 0)
      {
        json_decref (r);
        return -1;
      }
  if (errno_ret > 0
      && json_object_set_new (r, "errnoRet", json_integer (errno_ret)) < 0)
    {
      json_decref (r);
      return -1;
    }
  return json_array_append_new (rules, r);
}

/* A filter of moat's own for a container that had none: allow all. */
static json_t *
permissive_filter (void)
{
#if defined(__x86_64__)
  return json_pack ("{s:s, s:[s, s, s], s:[]}", "defaultAction",
                    "SCMP_ACT_ALLOW", "architectures", "SCMP_ARCH_X86_64",
                    "SCMP_ARCH_X86", "SCMP_ARCH_X32", "syscalls");
#elif defined(__aarch64__)
  return json_pack ("{s:s, s:[s, s], s:[]}", "defaultAction", "SCMP_ACT_ALLOW",
                    "architectures", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM",
                    "syscalls");
#else
  return json_pack ("{s:s, s:[]}", "defaultAction", "SCMP_ACT_ALLOW",
                    "syscalls");
#endif
}

static int
drop_cap (json_t *process, const char *name)
{
  static const char *const sets[]
      = { "bounding", "effective", "permitted", "inheritable", "ambient" };
  json_t *caps = json_object_get (process, "capabilities");
  int n = 0;
  for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++)
    {
      json_t *arr = json_object_get (caps, sets[s]);
      for (size_t i = json_array_size (arr); i-- > 0;)
        if (strcmp (json_string_value (json_array_get (arr, i)) ?: "", name)
            == 0)
          {
            json_array_remove (arr, i);
            n++;
          }
    }
  return n;
}

int
spec_guard_setid_process (json_t *process)
{
  return drop_cap (process, SPEC_SETID_CAP);
}

int
spec_guard_setid (json_t *spec, moat_error_t *err)
{
  json_t *linux_ = json_object_get (spec, "linux");
  json_t *sc = json_object_get (linux_, "seccomp");
  json_t *rules, *e;
  bool allow_default;
  /* bit i: setid_calls[i] / blind_calls[i - 16] was allowed */
  uint32_t allowed = 0;
  size_t i;

  if (!json_is_object (linux_))
    return moat_error (err, EINVAL, "spec.linux missing");
  if (sc == NULL || json_is_null (sc))
    {
      sc = permissive_filter ();
      if (sc == NULL || json_object_set_new (linux_, "seccomp", sc) < 0)
        return moat_error (err, ENOMEM, "seccomp filter");
    }
  if (!json_is_object (sc))
    return moat_error (err, EINVAL, "linux.seccomp is not an object");
  allow_default = permissive_p (
      json_string_value (json_object_get (sc, "defaultAction")));
  rules = json_object_get (sc, "syscalls");
  if (rules == NULL)
    {
      rules = json_array ();
      if (rules == NULL || json_object_set_new (sc, "syscalls", rules) < 0)
        return moat_error (err, ENOMEM, "seccomp filter");
    }
  if (!json_is_array (rules))
    return moat_error (err, EINVAL, "linux.seccomp.syscalls");

  /* Take the guarded calls out of every rule that allows them; rules of
   * moat's own below decide on them instead. */
  for (i = json_array_size (rules); i-- > 0;)
    {
      json_t *names;
      e = json_array_get (rules, i);
      names = json_object_get (e, "names");
      if (!permissive_p (json_string_value (json_object_get (e, "action")))
          || !json_is_array (names))
        continue;
      for (size_t k = json_array_size (names); k-- > 0;)
        {
          const char *n = json_string_value (json_array_get (names, k));
          if (!guarded_name_p (n))
            continue;
          for (size_t c = 0; c < sizeof setid_calls / sizeof *setid_calls; c++)
            if (strcmp (n, setid_calls[c].name) == 0)
              allowed |= 1u << c;
          for (size_t c = 0; c < sizeof blind_calls / sizeof *blind_calls; c++)
            if (strcmp (n, blind_calls[c]) == 0)
              allowed |= 1u << (16 + c);
          json_array_remove (names, k);
        }
      if (json_array_size (names) == 0)
        json_array_remove (rules, i);
    }

  for (size_t c = 0; c < sizeof setid_calls / sizeof *setid_calls; c++)
    {
      const struct setid_call *s = &setid_calls[c];
      int r = 0;
      if (allow_default)
        {
          /* refuse: a set-id bit (with O_CREAT or O_TMPFILE for open) */
          for (json_int_t bit = 04000; bit >= 02000 && r == 0; bit >>= 1)
            if (s->flags < 0)
              {
                const json_int_t cmp[1][3] = { { s->mode, bit, bit } };
                r = add_rule (rules, s->name, "SCMP_ACT_ERRNO", EPERM, 1, cmp);
              }
            else
              for (int f = 0; f < 2 && r == 0; f++)
                {
                  json_int_t fl = f == 0 ? CREATE_FLAGS : TMPFILE_FLAG;
                  const json_int_t cmp[2][3]
                      = { { s->flags, fl, fl }, { s->mode, bit, bit } };
                  r = add_rule (rules, s->name, "SCMP_ACT_ERRNO", EPERM, 2,
                                cmp);
                }
        }
      else if (allowed & (1u << c))
        {
          /* allow: no set-id bit, or (open) nothing created */
          const json_int_t m[1][3] = { { s->mode, SETID_BITS, 0 } };
          const json_int_t f[1][3]
              = { { s->flags, CREATE_FLAGS | TMPFILE_FLAG, 0 } };
          r = add_rule (rules, s->name, "SCMP_ACT_ALLOW", 0, 1, m);
          if (r == 0 && s->flags >= 0)
            r = add_rule (rules, s->name, "SCMP_ACT_ALLOW", 0, 1, f);
        }
      if (r < 0)
        return moat_error (err, ENOMEM, "seccomp filter");
    }
  for (size_t c = 0; c < sizeof blind_calls / sizeof *blind_calls; c++)
    if ((allow_default || (allowed & (1u << (16 + c))))
        && add_rule (rules, blind_calls[c], "SCMP_ACT_ERRNO", ENOSYS, 0, NULL)
               < 0)
      return moat_error (err, ENOMEM, "seccomp filter");

  /* A file capability is a set-id bit by another name: a v3
   * security.capability written through a mount that maps the
   * container's root to host root would hold for the host. */
  drop_cap (json_object_get (spec, "process"), SPEC_SETID_CAP);
  return 0;
}
