/* HTTP CONNECT to an upstream proxy (RFC 9110 §9.3.6), as a pure
 * handshake (hs.h).  The reply head is untrusted network input. */
#include "net/hs.h"

#include <stdio.h>
#include <string.h>

#include "net/proxyproto.h"

enum net_hs_result
net_hs_http_start (struct net_hs *hs)
{
  char abuf[INET6_ADDRSTRLEN];
  /* A verified name is what the proxy's own policy expects to see. */
  const char *target = hs->t.has_name
                           ? hs->t.name
                           : net_addr_format (&hs->t.addr, abuf, sizeof abuf);
  int n = net_http_connect_request (
      (char *)hs->out, sizeof hs->out, target, hs->t.port,
      hs->t.has_cred ? hs->t.user : NULL, hs->t.has_cred ? hs->t.pass : NULL);
  if (n < 0)
    {
      snprintf (hs->why, sizeof hs->why, "cannot build proxy request");
      return NET_HS_FAIL;
    }
  hs->out_len = (size_t)n;
  hs->step = NET_HS_S_REPLY;
  return NET_HS_SEND;
}

enum net_hs_result
net_hs_http_input (struct net_hs *hs, const uint8_t *in, size_t len,
                   size_t *used)
{
  size_t take = 0;
  int status = 0;
  int r
      = net_http_connect_response (in, len, NET_HS_REPLY_MAX, &take, &status);
  *used = 0;
  if (r == 0 && len < NET_HS_REPLY_MAX)
    return NET_HS_MORE;
  if (r <= 0)
    {
      snprintf (hs->why, sizeof hs->why, "malformed CONNECT reply");
      return NET_HS_REFUSE;
    }
  hs->status = status;
  *used = take;
  if (status / 100 != 2)
    {
      snprintf (hs->why, sizeof hs->why, "proxy answered CONNECT with %d",
                status);
      return NET_HS_REFUSE;
    }
  return NET_HS_DONE;
}
