/* dockerd's configuration for moat's private engine.  Everything goes into
 * the config file (dockerd refuses a directive given both as a flag and in
 * the file), and the file is passed with --config-file so that the
 * machine's /etc/docker/daemon.json is never read. */
#include "stack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

int
stack_cidr_parse (const char *s, unsigned int *addr, int *prefix,
                  moat_error_t *err)
{
  char buf[32];
  const char *slash = strchr (s, '/');
  struct in_addr a;
  char *end;
  long n;

  if (slash == NULL || (size_t)(slash - s) >= sizeof buf)
    return moat_error (err, EINVAL, "`%s` is not an IPv4 CIDR (A.B.C.D/N)", s);
  memcpy (buf, s, (size_t)(slash - s));
  buf[slash - s] = '\0';
  errno = 0;
  n = strtol (slash + 1, &end, 10);
  if (inet_pton (AF_INET, buf, &a) != 1 || slash[1] == '\0' || *end != '\0'
      || errno != 0 || n < 1 || n > 32)
    return moat_error (err, EINVAL, "`%s` is not an IPv4 CIDR (A.B.C.D/N)", s);
  *addr = ntohl (a.s_addr);
  *prefix = (int)n;
  return 0;
}

static bool
empty_p (const char *s)
{
  return s == NULL || s[0] == '\0';
}

json_t *
stack_engine_config_build (const struct stack_engine_config *c,
                           moat_error_t *err)
{
  cleanup_free char *host = NULL;
  cleanup_free char *plugin_ns = NULL;
  unsigned int addr;
  int prefix;
  json_t *cfg, *pool;

  if (empty_p (c->data_root) || empty_p (c->exec_root)
      || empty_p (c->engine_sock) || empty_p (c->pidfile)
      || empty_p (c->key_path) || empty_p (c->bridge)
      || empty_p (c->cgroup_parent) || empty_p (c->containerd_ns))
    {
      moat_error (err, EINVAL, "engine configuration is incomplete");
      return NULL;
    }
  if (c->engine_sock[0] != '/')
    {
      moat_error (err, EINVAL, "engine socket `%s` must be an absolute path",
                  c->engine_sock);
      return NULL;
    }
  if (stack_cidr_parse (c->pool_base, &addr, &prefix, err) < 0)
    {
      moat_error_wrap (err, "address pool");
      return NULL;
    }
  if (c->pool_size < prefix || c->pool_size > 30)
    {
      moat_error (err, EINVAL,
                  "address pool network size /%d must be between /%d and "
                  "/30",
                  c->pool_size, prefix);
      return NULL;
    }
  if (asprintf (&host, "unix://%s", c->engine_sock) < 0
      || asprintf (&plugin_ns, "%s-plugins", c->containerd_ns) < 0)
    {
      moat_error (err, ENOMEM, "engine configuration");
      return NULL;
    }

  pool
      = json_pack ("[{s:s, s:i}]", "base", c->pool_base, "size", c->pool_size);
  cfg = json_pack (
      "{s:s, s:s, s:[s], s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:b, s:b, "
      "s:b}",
      "data-root", c->data_root, "exec-root", c->exec_root, "hosts", host,
      "pidfile", c->pidfile, "deprecated-key-path", c->key_path,
      /* Only root may use the raw engine; moat chmods the socket to 0600
       * once it appears. */
      "group", "root", "bridge", c->bridge, "default-address-pools", pool,
      "cgroup-parent", c->cgroup_parent,
      /* When a system containerd is running, dockerd uses it instead of
       * starting its own: keep moat's containers out of the system
       * engine's "moby" namespace. */
      "containerd-namespace", c->containerd_ns, "containerd-plugins-namespace",
      plugin_ns,
      /* Published ports go through iptables DNAT, not a root helper
       * process per port. */
      "userland-proxy", false, "iptables", true, "live-restore", false);
  if (cfg == NULL)
    {
      moat_error (err, ENOMEM, "engine configuration");
      return NULL;
    }
  if (!empty_p (c->runtime_path))
    {
      /* Hook for moat-runc (its own issue): registered and made the
       * default, so that every container goes through it. */
      json_t *rt = json_pack (
          "{s:{s:s, s:[s,s]}}", "moat-runc", "path", c->runtime_path,
          "runtimeArgs", "--moat-root",
          empty_p (c->moat_root) ? "/" : c->moat_root);
      if (rt == NULL || json_object_set_new (cfg, "runtimes", rt) < 0
          || json_object_set_new (cfg, "default-runtime",
                                  json_string ("moat-runc"))
                 < 0)
        {
          json_decref (cfg);
          moat_error (err, ENOMEM, "engine configuration");
          return NULL;
        }
    }
  return cfg;
}
