/* Dispatch of the proxy handshakes (hs.h) to their protocol modules. */
#include "net/hs.h"

#include <stdio.h>
#include <string.h>

enum net_hs_result
net_hs_start (struct net_hs *hs, enum net_hs_proto proto,
              const struct net_hs_target *t)
{
  memset (hs, 0, sizeof *hs);
  hs->proto = proto;
  hs->t.addr = *t->addr;
  hs->t.port = t->port;
  if (t->name != NULL && t->name[0] != '\0')
    {
      if (strlen (t->name) >= sizeof hs->t.name)
        goto too_long;
      snprintf (hs->t.name, sizeof hs->t.name, "%s", t->name);
      hs->t.has_name = true;
    }
  if (t->user != NULL)
    {
      if (strlen (t->user) >= sizeof hs->t.user
          || strlen (t->pass ? t->pass : "") >= sizeof hs->t.pass)
        goto too_long;
      snprintf (hs->t.user, sizeof hs->t.user, "%s", t->user);
      snprintf (hs->t.pass, sizeof hs->t.pass, "%s", t->pass ? t->pass : "");
      hs->t.has_cred = true;
    }
  if (proto == NET_HS_HTTP_CONNECT)
    return net_hs_http_start (hs);
  return net_hs_socks_start (hs);
too_long:
  snprintf (hs->why, sizeof hs->why, "cannot build proxy request");
  return NET_HS_FAIL;
}

enum net_hs_result
net_hs_input (struct net_hs *hs, const uint8_t *in, size_t len, size_t *used)
{
  if (hs->proto == NET_HS_HTTP_CONNECT)
    return net_hs_http_input (hs, in, len, used);
  return net_hs_socks_input (hs, in, len, used);
}
