/* Proxy and PAC URLs as containersProxy writes them.  This is the one
 * parser of proxy URLs: the settings validator, the effective policy and
 * the net guard (also for the host's http_proxy/https_proxy in mode
 * system) all read them with policy_proxy_url_parse. */
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
  POLICY_URL_SOCKS5H, /* SOCKS5 as well (the guard sends names itself) */
  POLICY_URL_SOCKS4,
  POLICY_URL_FILE,
  POLICY_URL_OTHER, /* policy_dest_url_parse: any other scheme */
};

struct policy_url
{
  enum policy_url_scheme scheme;
  bool has_user;  /* "user@" or "user:pass@" was written */
  char user[256]; /* percent-decoded */
  char pass[256]; /* percent-decoded; "" when not written */
  /* A host name (lower case, no trailing dot), an IPv4 address or an IPv6
   * address without brackets. */
  char host[NETADDR_HOST_MAX + 1];
  uint16_t port;   /* default 80 / 443 / 1080 */
  char path[1024]; /* "" or "/..." (PAC and file only) */
};

/* "http://[user[:pass]@]host[:port][/]", https://, socks5://, socks5h://,
 * socks4:// (no password: SOCKS4 has none).  Schemes are case-insensitive.
 * The host is a host name (netaddr_hostname_normalize: letters, digits,
 * '-', '_'; one trailing dot dropped), an IPv4 address or [IPv6].  The port
 * is decimal 1-65535 without leading zeros (default 80, 443, 1080).  User
 * and password are percent-decoded; a malformed escape is refused.  No
 * path, query or fragment.  *err says what is wrong. */
int policy_proxy_url_parse (const char *s, struct policy_url *out,
                            moat_error_t *err);

/* "http(s)://host[:port]/path" or "file:///absolute/path". */
int policy_pac_url_parse (const char *s, struct policy_url *out,
                          moat_error_t *err);

/* A destination as `moat net decide` takes it:
 * "scheme://[userinfo@]host[:port][/path...]", with the host rules of a
 * proxy URL (so a name is spelled as exclude entries match it).  The port
 * defaults to 80 for http and 443 for https; another scheme needs one. */
int policy_dest_url_parse (const char *s, struct policy_url *out,
                           moat_error_t *err);

#endif
