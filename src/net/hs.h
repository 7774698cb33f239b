/* Proxy handshakes as pure functions of the bytes seen: the net guard
 * sends hs->out, feeds every byte the proxy answers into net_hs_input,
 * and learns "need more", "send this next", "done" or "refused".  No
 * I/O here (the guard does it through src/io), so each protocol is
 * unit-tested and fuzzed without sockets.
 *
 * One module per protocol: hs_http.c (HTTP CONNECT, Basic auth) and
 * hs_socks.c (SOCKS5 with RFC 1929 auth, SOCKS4).  Forward mode (an HTTP
 * request stream rewritten to absolute form) is httpfwd.h; TLS to an
 * https:// proxy (hs_tls.h, OpenSSL over memory buffers) wraps a CONNECT
 * handshake. */
#ifndef MOAT_NET_HS_H
#define MOAT_NET_HS_H

#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>
#include <stdbool.h>

#include "net/rules.h"
#include "net/sniff.h"

/* A proxy's reply (a CONNECT head, SOCKS replies) larger than this is
 * refused. */
#define NET_HS_REPLY_MAX 8192

enum net_hs_proto
{
  NET_HS_HTTP_CONNECT,
  NET_HS_SOCKS5,
  NET_HS_SOCKS4,
};

enum net_hs_result
{
  NET_HS_MORE,   /* keep the bytes, wait for more */
  NET_HS_SEND,   /* *used bytes consumed; send hs->out, then wait */
  NET_HS_DONE,   /* *used bytes consumed; the rest is the relayed stream */
  NET_HS_REFUSE, /* the proxy said no, or spoke nonsense: final, hs->why */
  NET_HS_FAIL,   /* could not build a request: try the next hop, hs->why */
};

/* What to ask the proxy for.  Strings are borrowed for the handshake. */
struct net_hs_target
{
  const char *name; /* a verified host name, or NULL: use addr */
  const struct net_addr *addr;
  uint16_t port;
  const char *user; /* NULL: no credentials */
  const char *pass;
};

enum net_hs_step
{
  NET_HS_S_REPLY,        /* HTTP / SOCKS4: waiting for the one reply */
  NET_HS_S_SOCKS_METHOD, /* SOCKS5: method selection */
  NET_HS_S_SOCKS_AUTH,   /* SOCKS5: RFC 1929 status */
  NET_HS_S_SOCKS_CONNECT /* SOCKS5: CONNECT reply */
};

struct net_hs
{
  enum net_hs_proto proto;
  enum net_hs_step step;
  struct net_hs_target_copy
  {
    char name[NET_HOSTNAME_MAX];
    bool has_name;
    struct net_addr addr;
    uint16_t port;
    char user[128], pass[128];
    bool has_cred;
  } t;
  uint8_t out[1024]; /* the next message for the proxy */
  size_t out_len;
  int status; /* the HTTP status or SOCKS reply code, when known */
  char why[96];
};

/* Start a handshake: fills hs->out with the first message.  Returns
 * NET_HS_SEND, or NET_HS_FAIL (a request that cannot be built, e.g.
 * SOCKS4 to an IPv6 address, CR/LF in credentials). */
enum net_hs_result net_hs_start (struct net_hs *hs, enum net_hs_proto proto,
                                 const struct net_hs_target *t);

/* The bytes received from the proxy and not yet consumed (in, len).
 * Returns MORE (nothing consumed), SEND (*used consumed, send hs->out),
 * DONE (*used consumed) or REFUSE. */
enum net_hs_result net_hs_input (struct net_hs *hs, const uint8_t *in,
                                 size_t len, size_t *used);

/* Per protocol (called by net_hs_start / net_hs_input). */
enum net_hs_result net_hs_http_start (struct net_hs *hs);
enum net_hs_result net_hs_http_input (struct net_hs *hs, const uint8_t *in,
                                      size_t len, size_t *used);
enum net_hs_result net_hs_socks_start (struct net_hs *hs);
enum net_hs_result net_hs_socks_input (struct net_hs *hs, const uint8_t *in,
                                       size_t len, size_t *used);

#endif
