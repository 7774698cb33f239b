/* The registries a container's filtered socket makes the engine reach
 * (engine_registry_fn, docs/net-guard.md "Registry traffic of a
 * container's socket").  The engine connects from the host's side, where
 * the interception rules never see it: so a pull, push, search or
 * distribution lookup asked for on a container's socket is decided as
 * that container's own connection to the registry would be (the net
 * guard's decision function: its static rules, or its PAC through the
 * guard's PAC engine, fail closed), and only a DIRECT verdict lets it
 * through: the engine does not go through the containers' proxy.  Runs on
 * the engine guard's check worker (in the engine's network namespace, as
 * the engine resolves and connects), never on moatd's loop. */
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "common/refusal.h"
#include "net/decide.h"
#include "net/pac_hook.h"
#include "net/rules.h"
#include "internal.h"

static const char *
env2 (const char *a, const char *b)
{
  const char *v = getenv (a);
  return v != NULL && v[0] != '\0' ? v : getenv (b);
}

/* Decide q; 0 when it goes DIRECT, else -1 with why in rule. */
static int
decide_one (const struct net_decider *dd, struct net_query *q, char *rule,
            size_t rule_size)
{
  struct net_decision dec;
  char why[256] = "", route[512];
  net_decide (dd, q, false, &dec, why, sizeof why);
  if (net_decision_refuse_p (&dec))
    {
      snprintf (rule, rule_size, "%s%s%s", dec.rule, why[0] ? ": " : "", why);
      return -1;
    }
  if (dec.route.hops[0].kind != PROXY_DIRECT)
    {
      snprintf (rule, rule_size,
                "%s: %s; the engine's own connections do not go through "
                "the containers' proxy",
                dec.rule, net_decision_format (&dec, route, sizeof route));
      return -1;
    }
  return 0;
}

static int
refuse (char **message, const char *host, const char *rule)
{
  if (asprintf (message, REFUSAL_ENGINE_REGISTRY, host, rule) < 0)
    *message = NULL;
  return -1;
}

int
moatd_registry_check (void *ctx, int listener_id, const char *host,
                      unsigned port, char **message)
{
  struct moatd *d = ctx;
  struct net_system_proxy sys = {
    .http = env2 ("http_proxy", "HTTP_PROXY"),
    .https = env2 ("HTTPS_PROXY", "https_proxy"),
    .no_proxy = env2 ("NO_PROXY", "no_proxy"),
  };
  cleanup_error moat_error_t err = NULL;
  struct net_rules *rules = NULL;
  cleanup_free struct net_addr *hosts = NULL;
  size_t n_hosts = 0;
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
  char rule[768];
  int ret = -1;

  (void)listener_id;
  *message = NULL;
  if (!moatd_net_running_p (d))
    return 0; /* no net guard: containers go anywhere as well */
  if (host[0] == '\0')
    return refuse (message, "docker login",
                   "airgap.registry: a login's server is named in its body, "
                   "which is not decided; log in from the host");
  struct policy_snap *s = policy_snap_acquire (&d->snaps);
  if (s == NULL)
    return refuse (message, host, "airgap.registry: no policy");
  if (net_rules_compile (policy_snap_get (s), &sys, &rules, &err) < 0
      || net_host_addrs (&hosts, &n_hosts, &err) < 0)
    {
      snprintf (rule, sizeof rule, "airgap.registry: %s",
                moat_error_msg (&err));
      refuse (message, host, rule);
      goto out;
    }
  const struct net_decider dd = { .rules = rules,
                                  .host = hosts,
                                  .n_host = n_hosts,
                                  .decide = net_pac_decide,
                                  .ctx = moatd_net_pac (d) };
  struct net_query q = { .port = (uint16_t)port };
  /* an address: decided as it is */
  if (net_addr_parse (host, &q.dst) == 0)
    {
      if (decide_one (&dd, &q, rule, sizeof rule) < 0)
        refuse (message, host, rule);
      else
        ret = 0;
      goto out;
    }
  /* a name: first by the name alone, so that a refused name is not even
   * resolved (its lookup would carry it out), then every address it
   * resolves to (the engine may connect to any of them), so that a name
   * of a loopback or host address is refused as the address is */
  q.hostname = host;
  if (decide_one (&dd, &q, rule, sizeof rule) < 0)
    {
      refuse (message, host, rule);
      goto out;
    }
  int gai = getaddrinfo (host, NULL, &hints, &res);
  if (gai != 0 || res == NULL)
    {
      snprintf (rule, sizeof rule, "airgap.registry: cannot resolve: %s",
                gai_strerror (gai));
      refuse (message, host, rule);
      goto out;
    }
  for (struct addrinfo *a = res; a != NULL; a = a->ai_next)
    {
      struct net_query qa = { .port = (uint16_t)port, .hostname = host };
      if (a->ai_family == AF_INET)
        {
          qa.dst.family = AF_INET;
          memcpy (qa.dst.a, &((struct sockaddr_in *)a->ai_addr)->sin_addr, 4);
        }
      else if (a->ai_family == AF_INET6)
        {
          qa.dst.family = AF_INET6;
          memcpy (qa.dst.a, &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr,
                  16);
        }
      else
        continue;
      if (decide_one (&dd, &qa, rule, sizeof rule) < 0)
        {
          char abuf[64], r2[900];
          snprintf (r2, sizeof r2, "%s (address %s)", rule,
                    net_addr_format (&qa.dst, abuf, sizeof abuf));
          refuse (message, host, r2);
          goto out;
        }
    }
  ret = 0;
out:
  if (res != NULL)
    freeaddrinfo (res);
  net_rules_free (rules);
  policy_snap_release (s);
  return ret;
}
