/* ECI: POST /networks/create: drivers, bridge options, subnets. */
#include "eci_internal.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/refusal.h"
#include "policy/netaddr.h"

/* Bridge options that would put the network on a host interface: the
 * engine uses an existing bridge of that name (another engine's, a host
 * LAN bridge), and the net guard intercepts only the engine's own
 * bridges (moat0, br-<id>). */
static const char *const bridge_host_options[] = {
  "com.docker.network.bridge.name",
  "com.docker.network.bridge.default_bridge",
  NULL,
};

/* subnet lies inside one of the container CIDRs, same family. */
static bool
subnet_in_pool (const struct eci_config *cfg, const struct netaddr_cidr *s)
{
  for (size_t i = 0; i < cfg->n_container_cidrs; i++)
    {
      struct netaddr_cidr pool;
      struct netaddr_cidr a = *s;
      cleanup_error moat_error_t err = NULL;
      if (netaddr_parse_cidr (cfg->container_cidrs[i], &pool, &err) < 0)
        continue;
      a.prefix = a.family == 4 ? 32 : 128;
      if (pool.family == s->family && s->prefix >= pool.prefix
          && netaddr_cidr_contains (&pool, &a))
        return true;
    }
  return false;
}

static int
check_subnet (const struct eci_config *cfg, json_t *sub, struct eci_verdict *v)
{
  struct netaddr_cidr c;
  cleanup_error moat_error_t err = NULL;
  cleanup_free char *list = NULL;
  size_t n = 0;
  if (sub == NULL || json_is_null (sub))
    return 0;
  if (!json_is_string (sub)
      || netaddr_parse_cidr (json_string_value (sub), &c, &err) < 0)
    return eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID, "subnet");
  /* no pool known (an engine moat did not start): the engine's own
   * checks only */
  if (cfg->n_container_cidrs == 0 || subnet_in_pool (cfg, &c))
    return 0;
  for (size_t i = 0; i < cfg->n_container_cidrs; i++)
    n += strlen (cfg->container_cidrs[i]) + 2;
  list = calloc (1, n + 1);
  if (list == NULL)
    return eci_oom (v);
  for (size_t i = 0; i < cfg->n_container_cidrs; i++)
    {
      if (i > 0)
        strcat (list, ", ");
      strcat (list, cfg->container_cidrs[i]);
    }
  return eci_refuse (v, 403, "eci.network", REFUSAL_ECI_SUBNET,
                     json_string_value (sub), list);
}

int
eci_check_network_create (const struct eci_config *cfg,
                          const struct policy *pol, const char *body,
                          size_t len, char **out, size_t *out_len,
                          struct eci_verdict *v)
{
  json_t *root = NULL, *x, *ipam, *e;
  size_t i;
  int ret = -1;

  *out = NULL;
  if (eci_parse_object (body, len, &root, v) < 0)
    return -1;
  if (eci_obj_get (root, "Driver", &x, v) < 0
      || eci_check_driver (pol, ECI_DRV_NETWORK, x, v) < 0)
    goto done;
  if (eci_obj_get (root, "Options", &x, v) < 0)
    goto done;
  if (x != NULL && !json_is_null (x))
    {
      const char *k;
      if (!json_is_object (x))
        {
          eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID,
                      "network options");
          goto done;
        }
      json_object_foreach (x, k, e)
      {
        /* a Go map: keys are read exactly */
        if (eci_in_list (k, bridge_host_options))
          {
            eci_refuse (v, 403, "eci.network", REFUSAL_ECI_NETWORK_OPTION, k);
            goto done;
          }
      }
    }
  if (eci_obj_get (root, "IPAM", &ipam, v) < 0)
    goto done;
  if (ipam != NULL && !json_is_null (ipam))
    {
      json_t *conf;
      if (!json_is_object (ipam))
        {
          eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID, "IPAM");
          goto done;
        }
      if (eci_obj_get (ipam, "Driver", &x, v) < 0
          || eci_check_driver (pol, ECI_DRV_IPAM, x, v) < 0
          || eci_obj_get (ipam, "Config", &conf, v) < 0)
        goto done;
      if (conf != NULL && !json_is_null (conf) && !json_is_array (conf))
        {
          eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID, "IPAM.Config");
          goto done;
        }
      json_array_foreach (conf, i, e)
      {
        json_t *sub;
        if (!json_is_object (e))
          {
            eci_refuse (v, 400, "eci.json", REFUSAL_ECI_INVALID,
                        "IPAM.Config");
            goto done;
          }
        if (eci_obj_get (e, "Subnet", &sub, v) < 0
            || check_subnet (cfg, sub, v) < 0)
          goto done;
      }
    }
  ret = eci_dump (root, out, out_len, v);
done:
  json_decref (root);
  return ret;
}
