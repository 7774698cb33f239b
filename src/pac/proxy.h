/* Where one connection goes: the result of a PAC evaluation or of the static
 * rules, as an ordered list of hops to try (failover in order). */
#ifndef MOAT_PAC_PROXY_H
#define MOAT_PAC_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

enum proxy_kind
{
  PROXY_DIRECT,
  PROXY_HTTP,   /* HTTP proxy (PROXY/HTTP h:p); CONNECT for non-80 ports */
  PROXY_HTTPS,  /* HTTPS proxy (TLS to the proxy) */
  PROXY_SOCKS4, /* SOCKS h:p (PAC's SOCKS means v4) */
  PROXY_SOCKS5,
  PROXY_REJECT, /* PROXY reject.docker.internal:<any>: refuse */
};

#define PROXY_LIST_MAX 8

struct proxy_hop
{
  enum proxy_kind kind;
  char host[256];
  uint16_t port;
};

struct proxy_list
{
  struct proxy_hop hops[PROXY_LIST_MAX];
  size_t n;
};

/* Parse a FindProxyForURL result ("PROXY a:1; SOCKS5 b:2; DIRECT").  Refuses
 * malformed entries, ports out of range, more than PROXY_LIST_MAX hops. */
int pac_result_parse (const char *s, struct proxy_list *out,
                      moat_error_t *err);

#endif
