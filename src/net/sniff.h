/* Hostname recovery from the first bytes a container sends: the TLS
 * ClientHello's server_name, or the HTTP/1.x Host header.
 *
 * These parse untrusted bytes.  They are pure functions over a buffer (the
 * net guard fills it with MSG_PEEK, so nothing is consumed) and never read
 * outside [buf, buf+len).  Each returns:
 *   NET_SNIFF_FOUND  a valid host name was written to name (lower-case,
 *                    NUL-terminated, no trailing dot, no port);
 *   NET_SNIFF_MORE   the bytes so far are a plausible prefix: wait for more
 *                    (the caller enforces a deadline and a byte cap);
 *   NET_SNIFF_NONE   not this protocol, malformed, ambiguous or no name:
 *                    decide on the IP address. */
#ifndef MOAT_NET_SNIFF_H
#define MOAT_NET_SNIFF_H

#include <stddef.h>
#include <stdint.h>

enum net_sniff_result
{
  NET_SNIFF_NONE = -1,
  NET_SNIFF_MORE = 0,
  NET_SNIFF_FOUND = 1,
};

/* Largest host name the sniffers return (RFC 1035: 253 + NUL). */
#define NET_HOSTNAME_MAX 254

/* TLS: one or more handshake records carrying a complete ClientHello
 * (it may span several records and TCP segments; handshakes larger than
 * len allow return MORE, so the caller's cap decides). */
int net_sniff_tls_sni (const uint8_t *buf, size_t len, char *name,
                       size_t name_size);

/* HTTP/1.x: request line and headers up to the empty line.  Refuses
 * absolute-form targets, several Host headers, bare LF line ends and
 * obs-fold, so that the name the guard sees is the one an origin server
 * would see. */
int net_sniff_http_host (const uint8_t *buf, size_t len, char *name,
                         size_t name_size);

/* Copy a host name candidate into out after checking it: letters, digits,
 * '-', '_', '.', or an IPv6 literal (hex and ':' only, given without
 * brackets); at most NET_HOSTNAME_MAX-1 bytes; lower-cased; one trailing
 * dot dropped.  Returns 0, or -1 when the candidate is not a host name. */
int net_hostname_normalize (const char *s, size_t len, char *out,
                            size_t out_size);

#endif
