/* Network addresses as policy writes them: IPv4/IPv6 addresses and CIDRs,
 * host names and "*.suffix" wildcards, and transparent-port lists.
 *
 * Used by the settings validator (containersProxy.exclude,
 * containersProxy.transparentPorts, proxy URLs) and by the net guard to
 * decide whether a destination is excluded from proxying.  Pure functions:
 * no allocation except where a char * is returned. */
#ifndef MOAT_POLICY_NETADDR_H
#define MOAT_POLICY_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define NETADDR_HOST_MAX 253

/* An address with a prefix length; a plain address has the full prefix
 * (32 or 128).  IPv4 addresses are kept as 4 bytes (family 4). */
struct netaddr_cidr
{
  int family; /* 4 or 6 */
  uint8_t addr[16];
  unsigned prefix;
};

/* Parse an IPv4 or IPv6 address ("10.1.2.3", "::1", "[::1]" is refused).
 * Refuses leading zeros in IPv4 octets.  Returns 0 or -1. */
int netaddr_parse_ip (const char *s, struct netaddr_cidr *out);

/* Parse "ADDR/PREFIX" or a plain address.  The prefix is decimal without
 * sign or leading zeros, at most 32 (IPv4) or 128 (IPv6).  Host bits may be
 * set ("10.1.2.3/8" is 10.0.0.0/8, as Go's ParseCIDR reads it). */
int netaddr_parse_cidr (const char *s, struct netaddr_cidr *out,
                        moat_error_t *err);

/* True when ip (a plain address) is inside c.  An IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) matches IPv4 CIDRs. */
bool netaddr_cidr_contains (const struct netaddr_cidr *c,
                            const struct netaddr_cidr *ip);

/* A DNS host name: labels of [A-Za-z0-9_-], 1-63 chars, not starting or
 * ending with '-', total at most 253, last label not all digits (so that
 * "300.1.1.1" is not a host name).  No trailing dot.  The underscore is
 * allowed as in DNS (and as the net guard reads SNI and Host). */
bool netaddr_hostname_valid_p (const char *s);

/* The one spelling of a host name in policy values: s[0..n) lower-cased,
 * one trailing dot dropped ("Host.Example." is "host.example"), then
 * netaddr_hostname_valid_p.  Returns 0, or -1 when it is not a host name
 * or does not fit in size. */
int netaddr_hostname_normalize (const char *s, size_t n, char *out,
                                size_t size);

/* An exclude entry (containersProxy.exclude, and no_proxy in mode system),
 * with the meaning of Docker Desktop's exclude list, which is Go's
 * NO_PROXY (golang.org/x/net/http/httpproxy):
 *   "*"                   every destination
 *   "10.0.0.1", "fd00::/8" an address or CIDR: the destination address
 *   "corp.example"        the name and all its subdomains
 *   ".corp.example", "*.corp.example"  its subdomains only
 * Each form but "*" and CIDRs may carry a port ("10.0.0.1:443",
 * "[fd00::1]:443", "corp.example:8443"): then only that port matches.
 * Names match a verified host name only, never an address. */
enum netaddr_exclude_kind
{
  NETADDR_EXCLUDE_CIDR,
  NETADDR_EXCLUDE_DOMAIN,     /* the name and its subdomains */
  NETADDR_EXCLUDE_SUBDOMAINS, /* subdomains only */
  NETADDR_EXCLUDE_ALL,        /* "*" */
};

struct netaddr_exclude
{
  enum netaddr_exclude_kind kind;
  struct netaddr_cidr cidr;        /* NETADDR_EXCLUDE_CIDR */
  char host[NETADDR_HOST_MAX + 1]; /* normalised, without "*." or "." */
  uint16_t port;                   /* 0: every port */
};

/* Parse an exclude entry.  On failure *err says why, e.g. `"10.0.0.0/33" is
 * not a valid IP address, CIDR or host name: prefix 33 is larger than 32`. */
int netaddr_exclude_parse (const char *s, struct netaddr_exclude *out,
                           moat_error_t *err);

/* True when e matches a connection to address ip (NULL: not known), with
 * the verified host name name (normalised, or NULL), on port (0: not
 * known; then an entry with a port never matches). */
bool netaddr_exclude_matches (const struct netaddr_exclude *e,
                              const struct netaddr_cidr *ip, const char *name,
                              uint16_t port);

/* The same for a destination written as text: a host name, an IP address
 * literal or "[v6]". */
bool netaddr_exclude_match (const struct netaddr_exclude *e, const char *dest,
                            uint16_t port);

/* Parse a transparent-port list: "" (no port), "*" (every port), or a
 * comma-separated list of ports 1-65535 and ranges "a-b" (a <= b); spaces
 * around items are allowed.  Fills bitmap (65536 bits, bit p = port p) and
 * *all.  On failure *err names the offending item. */
int netaddr_parse_ports (const char *s, bool *all, uint8_t bitmap[65536 / 8],
                         moat_error_t *err);

static inline bool
netaddr_port_in (const uint8_t bitmap[65536 / 8], uint16_t port)
{
  return (bitmap[port / 8] >> (port % 8)) & 1;
}

#endif
