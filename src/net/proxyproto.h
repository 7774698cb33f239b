/* The bytes of the upstream proxy protocols: HTTP CONNECT (RFC 9110 §9.3.6,
 * Basic proxy auth RFC 7617) and SOCKS5 (RFC 1928, user/password RFC 1929).
 * Pure functions: the guard does the I/O.  Replies come from a proxy on the
 * network and are parsed as untrusted input. */
#ifndef MOAT_NET_PROXYPROTO_H
#define MOAT_NET_PROXYPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "net/rules.h"

/* "CONNECT host:port HTTP/1.1\r\nHost: ...\r\n[Proxy-Authorization: Basic
 * ...\r\n]\r\n".  host is a name or an address (IPv6 gets brackets).
 * Returns the length, or -1 when it does not fit or user/pass hold CR/LF. */
int net_http_connect_request (char *buf, size_t size, const char *host,
                              uint16_t port, const char *user,
                              const char *pass);

/* "Proxy-Authorization: Basic <base64 user:pass>\r\n" into buf.  Returns
 * the length, or -1 when it does not fit or user holds ':'. */
int net_http_proxy_auth (char *buf, size_t size, const char *user,
                         const char *pass);

/* The proxy's reply head.  Returns 1 and sets *head_len (bytes up to and
 * including the empty line, to consume exactly) and *status; 0 when more
 * bytes are needed; -1 when it is not an HTTP/1.x status line or longer
 * than max_head. */
int net_http_connect_response (const uint8_t *buf, size_t len, size_t max_head,
                               size_t *head_len, int *status);

/* SOCKS5 method selection: offers user/password (2) only when with_auth. */
size_t net_socks5_greeting (uint8_t *buf, int with_auth);
/* RFC 1929 request; -1 when user or pass exceed 255 bytes. */
int net_socks5_auth (uint8_t *buf, size_t size, const char *user,
                     const char *pass);
/* CONNECT with domain-name addressing when host is non-NULL, else the
 * address.  Returns the length or -1. */
int net_socks5_request (uint8_t *buf, size_t size, const char *host,
                        const struct net_addr *addr, uint16_t port);
/* A CONNECT reply: 1 with *reply_len and *rep (0 = succeeded); 0 when more
 * bytes are needed; -1 malformed. */
int net_socks5_reply (const uint8_t *buf, size_t len, size_t *reply_len,
                      int *rep);

/* SOCKS4 CONNECT (what a PAC's "SOCKS h:p" means): SOCKS4a with the name
 * when host is non-NULL, else the IPv4 address (-1 for IPv6: SOCKS4 has
 * no IPv6).  user may be NULL.  Returns the length or -1. */
int net_socks4_request (uint8_t *buf, size_t size, const char *host,
                        const struct net_addr *addr, uint16_t port,
                        const char *user);
/* The 8-byte reply: 1 with *granted (CD 90), 0 when fewer than 8 bytes,
 * -1 when it is not a SOCKS4 reply. */
int net_socks4_reply (const uint8_t *buf, size_t len, int *granted);

#endif
