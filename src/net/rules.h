/* The net guard's view of the policy, and the static-rule decision.
 *
 * net_rules_compile() turns the `containersProxy` part of an effective
 * policy, as the policy library parsed it, into immutable rules (exclude
 * entries, proxy routes with their credentials, intercepted ports);
 * net_decide_static() is a pure function of those rules and one
 * connection.  net_decide() (decide.h) is the whole decision the guard and
 * `moat net decide` take: host addresses, then these functions or the PAC
 * hook. */
#ifndef MOAT_NET_RULES_H
#define MOAT_NET_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "pac/proxy.h"
#include "policy/policy.h"

/* An IPv4 or IPv6 address; v4 uses the first 4 bytes of a. */
struct net_addr
{
  int family; /* AF_INET or AF_INET6 */
  uint8_t a[16];
};

/* Parse a numeric address ("10.0.0.1", "2001:db8::1"). */
int net_addr_parse (const char *s, struct net_addr *out);
/* "10.0.0.1" / "2001:db8::1" into buf (INET6_ADDRSTRLEN is enough). */
const char *net_addr_format (const struct net_addr *a, char *buf, size_t size);
bool net_addr_equal_p (const struct net_addr *x, const struct net_addr *y);

struct net_cidr
{
  struct net_addr net;
  unsigned prefix;
};

/* "10.0.0.0/8", "fd00::/8", or a bare address (a /32 or /128).  Host bits
 * beyond the prefix are masked off, as nft does. */
int net_cidr_parse (const char *s, struct net_cidr *out);
bool net_cidr_contains_p (const struct net_cidr *c, const struct net_addr *a);

/* An exclude entry as the guard keeps it: the policy library's parsed
 * entry (policy/netaddr.h says what each form means) and its text. */
struct net_exclude
{
  struct netaddr_exclude e;
  char *text; /* as written, for audit */
};

/* A proxy the rules route to, compiled from a struct policy_url (the one
 * parser of proxy URLs, policy/url.h): socks5h:// is SOCKS5.  user/pass
 * are percent-decoded. */
struct net_proxy_url
{
  bool set;
  enum proxy_kind kind;
  char host[256];
  uint16_t port;
  char *user; /* NULL when none */
  char *pass;
};

/* For mode "system": the host's proxy settings, as main() read them from
 * the environment (http_proxy, https_proxy, no_proxy) or NULL. */
struct net_system_proxy
{
  const char *http;
  const char *https;
  const char *no_proxy;
};

struct net_rules
{
  struct net_exclude *ex;
  size_t n_ex;
  struct net_proxy_url http;  /* for port 80 */
  struct net_proxy_url https; /* for every other port (CONNECT) */
  char *pac_url;              /* "" when no PAC */
  bool all_ports;
  uint8_t ports[65536 / 8];
};

/* Compile p->proxy (and sys when p->proxy.mode is system) from the values
 * the policy library parsed (p->proxy.excludes, http_url, https_url,
 * port_bitmap: policy_build or policy_proxy_parse fills them).  The host's
 * http_proxy/https_proxy/no_proxy strings are parsed with the same policy
 * parsers; one that does not parse refuses the policy. */
int net_rules_compile (const struct policy *p,
                       const struct net_system_proxy *sys,
                       struct net_rules **out, moat_error_t *err);
void net_rules_free (struct net_rules *r);

bool net_rules_port_p (const struct net_rules *r, uint16_t port);

/* The credentials to use for a hop the route names: those of the http or
 * https proxy URL with the same kind, host and port, or NULL (credentials
 * for a TLS proxy never go to a plain-text hop at the same address). */
const struct net_proxy_url *net_rules_credentials (const struct net_rules *r,
                                                   const struct proxy_hop *h);

/* What the guard knows about one connection when it decides. */
struct net_query
{
  struct net_addr dst;
  uint16_t port;
  /* A host name the container named (SNI/Host) and that resolves to dst,
   * or NULL: unverified names are never used to decide. */
  const char *hostname;
  bool dst_is_host;    /* dst is one of the host's own addresses */
  struct net_addr src; /* the container (family 0: unknown), for a PAC's
                          myIpAddress() */
};

struct net_decision
{
  struct proxy_list route; /* n == 0 or a REJECT hop: refuse */
  char rule[192];          /* which rule decided, for audit and the CLI */
};

/* The static rules: exclude -> DIRECT; else the http proxy for port 80 and
 * the https proxy (CONNECT) for the rest; no proxy -> refuse.  Before that:
 * loopback, unspecified and multicast destinations are refused; the host's
 * own addresses, host.docker.internal and link-local addresses (cloud
 * metadata) are refused unless the exclude list names them explicitly. */
void net_decide_static (const struct net_rules *r, const struct net_query *q,
                        struct net_decision *out);

/* The exclude list alone (used before a PAC decision: exclude is the
 * admin's explicit DIRECT list, in force whether the PAC decides, fails or
 * is not loaded): returns true and fills out with DIRECT when an entry
 * matches q. */
bool net_decide_exclude (const struct net_rules *r, const struct net_query *q,
                         struct net_decision *out);

/* The protection checks alone (used before a PAC decision too): returns
 * true and fills out with a refusal when q must be refused whatever the
 * rules say. */
bool net_decide_protected (const struct net_rules *r,
                           const struct net_query *q,
                           struct net_decision *out);

/* What a PAC's FindProxyForURL(url, host) is asked for q: the verified
 * name or else the address as host ("[v6]" in the URL), the scheme from the
 * port (https for 443, http for every other port, as pac_engine_decide
 * does), no path: "https://example.com:443".  Returns 0, or -1 when the
 * buffers are too small. */
int net_query_pac_args (const struct net_query *q, char *url, size_t url_size,
                        char *host, size_t host_size);

/* True when d refuses the connection. */
bool net_decision_refuse_p (const struct net_decision *d);

/* "DIRECT", "PROXY h:p; SOCKS5 h:p", "REFUSE" into buf. */
const char *net_decision_format (const struct net_decision *d, char *buf,
                                 size_t size);

#endif
