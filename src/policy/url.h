/* Proxy and PAC URLs as containersProxy writes them.  The net guard uses
 * policy_proxy_url_parse to learn where to send traffic. */
#ifndef MOAT_POLICY_URL_H
#define MOAT_POLICY_URL_H

#include <stdint.h>

#include "common/error.h"
#include "netaddr.h"

enum policy_url_scheme
{
  POLICY_URL_HTTP,
  POLICY_URL_HTTPS,
  POLICY_URL_SOCKS5,
  POLICY_URL_FILE,
};

struct policy_url
{
  enum policy_url_scheme scheme;
  char user[256]; /* "" = none; percent-encoding kept as written */
  char pass[256];
  char host[NETADDR_HOST_MAX + 1]; /* IPv6 without brackets */
  uint16_t port;                   /* default 80 / 443 / 1080 */
  char path[1024];                 /* "" or "/..." (PAC and file only) */
};

/* "http://[user[:pass]@]host[:port][/]", https://, socks5://.  The host is
 * a host name, an IPv4 address or [IPv6].  No path, query or fragment.
 * *err says what is wrong. */
int policy_proxy_url_parse (const char *s, struct policy_url *out,
                            moat_error_t *err);

/* "http(s)://host[:port]/path" or "file:///absolute/path". */
int policy_pac_url_parse (const char *s, struct policy_url *out,
                          moat_error_t *err);

#endif
