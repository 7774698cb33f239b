/* SOCKS5 (RFC 1928, user/password RFC 1929) and SOCKS4 to an upstream
 * proxy, as pure handshakes (hs.h).  Replies are untrusted input. */
#include "net/hs.h"

#include <stdio.h>
#include <string.h>

#include "net/proxyproto.h"

static enum net_hs_result
built (struct net_hs *hs, int n)
{
  if (n < 0)
    {
      snprintf (hs->why, sizeof hs->why, "cannot build proxy request");
      return NET_HS_FAIL;
    }
  hs->out_len = (size_t)n;
  return NET_HS_SEND;
}

enum net_hs_result
net_hs_socks_start (struct net_hs *hs)
{
  if (hs->proto == NET_HS_SOCKS4)
    {
      /* Plain SOCKS4 with the address, as browsers send for PAC's
       * "SOCKS": SOCKS4a by name is not accepted by every server (dante
       * refuses it). */
      hs->step = NET_HS_S_REPLY;
      return built (hs, net_socks4_request (
                            hs->out, sizeof hs->out, NULL, &hs->t.addr,
                            hs->t.port, hs->t.has_cred ? hs->t.user : NULL));
    }
  hs->step = NET_HS_S_SOCKS_METHOD;
  return built (hs, (int)net_socks5_greeting (hs->out, hs->t.has_cred));
}

static enum net_hs_result
refuse (struct net_hs *hs, const char *why)
{
  snprintf (hs->why, sizeof hs->why, "%s", why);
  return NET_HS_REFUSE;
}

static enum net_hs_result
connect_request (struct net_hs *hs)
{
  hs->step = NET_HS_S_SOCKS_CONNECT;
  /* Domain-name addressing only for a verified name. */
  return built (hs, net_socks5_request (hs->out, sizeof hs->out,
                                        hs->t.has_name ? hs->t.name : NULL,
                                        &hs->t.addr, hs->t.port));
}

enum net_hs_result
net_hs_socks_input (struct net_hs *hs, const uint8_t *in, size_t len,
                    size_t *used)
{
  size_t take = 0;
  int status = 0, r;

  *used = 0;
  switch (hs->step)
    {
    case NET_HS_S_REPLY: /* SOCKS4 */
      r = net_socks4_reply (in, len, &status);
      if (r == 0)
        return NET_HS_MORE;
      if (r < 0)
        return refuse (hs, "malformed SOCKS4 reply");
      *used = 8;
      hs->status = status;
      return status ? NET_HS_DONE : refuse (hs, "SOCKS4 request rejected");
    case NET_HS_S_SOCKS_METHOD:
      if (len < 2)
        return NET_HS_MORE;
      *used = 2;
      if (in[0] == 5 && in[1] == 2 && hs->t.has_cred)
        {
          hs->step = NET_HS_S_SOCKS_AUTH;
          return built (hs, net_socks5_auth (hs->out, sizeof hs->out,
                                             hs->t.user, hs->t.pass));
        }
      if (in[0] != 5 || in[1] != 0)
        return refuse (hs, "no acceptable SOCKS5 method");
      return connect_request (hs);
    case NET_HS_S_SOCKS_AUTH:
      if (len < 2)
        return NET_HS_MORE;
      *used = 2;
      if (in[1] != 0)
        return refuse (hs, "SOCKS5 authentication failed");
      return connect_request (hs);
    case NET_HS_S_SOCKS_CONNECT:
      r = net_socks5_reply (in, len, &take, &status);
      if (r == 0)
        return NET_HS_MORE;
      if (r < 0)
        return refuse (hs, "malformed SOCKS5 reply");
      *used = take;
      hs->status = status;
      if (status != 0)
        {
          snprintf (hs->why, sizeof hs->why,
                    "SOCKS5 CONNECT failed (reply %d)", status);
          return NET_HS_REFUSE;
        }
      return NET_HS_DONE;
    }
  return refuse (hs, "bad handshake state");
}
