#include "pac_hook.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pac/engine.h"

int
net_pac_decide (void *engine, const struct net_rules *rules,
                const struct net_query *q, struct net_decision *out,
                moat_error_t *err)
{
  char dst[INET6_ADDRSTRLEN] = "", src[INET6_ADDRSTRLEN] = "";
  bool cached = false;

  memset (out, 0, sizeof *out);
  if (rules->pac_url[0] == '\0')
    {
      net_decide_static (rules, q, out);
      return 0;
    }
  /* exclude first: the admin's explicit list goes DIRECT whatever the PAC
   * says, and also while the PAC cannot be used. */
  if (net_decide_exclude (rules, q, out))
    return 0;
  if (engine == NULL)
    {
      snprintf (out->rule, sizeof out->rule, "pac-failed");
      return moat_error (err, 0, "PAC `%s`: no PAC engine", rules->pac_url);
    }
  if (q->dst.family != 0)
    net_addr_format (&q->dst, dst, sizeof dst);
  if (q->src.family != 0)
    net_addr_format (&q->src, src, sizeof src);
  /* The verified name, else the address: an unverified name never reaches
   * the PAC (the guard passes it as NULL). */
  if (pac_engine_decide (engine, q->hostname, q->port, dst[0] ? dst : NULL,
                         src[0] ? src : NULL, &out->route, &cached, err)
      < 0)
    {
      memset (out, 0, sizeof *out);
      snprintf (out->rule, sizeof out->rule, "%s",
                moat_error_status (err) == ETIMEDOUT ? "pac-timeout"
                                                     : "pac-failed");
      return moat_error_wrap (err, "PAC `%s`", rules->pac_url);
    }
  snprintf (out->rule, sizeof out->rule, "PAC%s", cached ? " (cached)" : "");
  return 0;
}

/* In the loop thread: the same answer as net_pac_decide when it needs no
 * evaluation, else 0. */
int
net_pac_decide_cached (void *engine, const struct net_rules *rules,
                       const struct net_query *q, struct net_decision *out)
{
  char dst[INET6_ADDRSTRLEN] = "", src[INET6_ADDRSTRLEN] = "";

  memset (out, 0, sizeof *out);
  if (rules->pac_url[0] == '\0')
    {
      net_decide_static (rules, q, out);
      return 1;
    }
  if (net_decide_exclude (rules, q, out))
    return 1;
  if (engine == NULL)
    return 0;
  if (q->dst.family != 0)
    net_addr_format (&q->dst, dst, sizeof dst);
  if (q->src.family != 0)
    net_addr_format (&q->src, src, sizeof src);
  if (pac_engine_decide_cached (engine, q->hostname, q->port,
                                dst[0] ? dst : NULL, src[0] ? src : NULL,
                                &out->route)
      != 1)
    return 0;
  snprintf (out->rule, sizeof out->rule, "PAC (cached)");
  return 1;
}
