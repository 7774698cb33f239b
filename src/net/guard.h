/* The net guard: moatd's transparent proxy for container egress.
 *
 * It runs in a thread of its own with its own epoll loop (net_guard_run
 * blocks until net_guard_stop).  Each connection that the interception
 * rules (nft.h) redirect to its listener is:
 *   1. given its original destination (SO_ORIGINAL_DST /
 * IP6T_SO_ORIGINAL_DST);
 *   2. on ports 80 and 443, sniffed with MSG_PEEK for the HTTP Host or the
 *      TLS SNI (nothing is consumed; deadline and byte cap in the config);
 *   3. decided: the claimed name is resolved and used only if it resolves
 *      to the destination (else the IP decides and the audit says so); then
 *      the decide hook (PAC, wired by moatd) or the static rules (rules.h).
 *      In the loop when nothing can block (static rules, names and PAC
 *      answers in the caches), else by a worker thread;
 *   4. connected DIRECT, through an HTTP proxy (CONNECT, Basic auth; an
 *      HTTP request stream on port 80 in forward mode instead, each request
 *      rewritten to absolute form by httpfwd.h), over TLS for an https://
 *      proxy (OpenSSL, certificate verified; a bad one refuses), a SOCKS5
 *      proxy (RFC 1928/1929) or a SOCKS4 one, trying the route's hops in
 *      order;
 *      a refusal, or every hop failing, resets the container's connection
 *      (SO_LINGER 0) at once;
 *   5. relayed with splice(2) through a pipe pair (user-space buffers
 *      where bytes are rewritten or encrypted), half-closes forwarded, at
 *      most one pipe/buffer of data in flight per direction (backpressure);
 *   6. reported once, when it ends, to the audit callback.
 * No thread per connection: one loop thread plus a few decision workers
 * (DNS and PAC may block; the loop never does). */
#ifndef MOAT_NET_GUARD_H
#define MOAT_NET_GUARD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "net/nft.h"
#include "net/rules.h"
#include "net/sniff.h"

/* One record per connection, passed to the audit callback from the loop
 * thread when the connection ends (or is refused). */
struct net_audit
{
  char src[INET6_ADDRSTRLEN]; /* the container */
  uint16_t src_port;
  char dst[INET6_ADDRSTRLEN]; /* where it wanted to go */
  uint16_t dst_port;
  char hostname[NET_HOSTNAME_MAX]; /* "" when none was learnt */
  /* How the name was learnt: "none", "sni", "http-host", or
   * "sni-mismatch"/"http-host-mismatch" when the claimed name does not
   * resolve to dst (then it was ignored), "timeout" when the client sent
   * nothing in time. */
  const char *hostname_source;
  /* "direct", "http-connect", "http-forward" (port 80 in forward mode),
   * "https-connect", "https-forward" (the same over TLS to the proxy),
   * "socks5", "socks4", "refused" or "failed" (every hop failed). */
  const char *decision;
  char via[280];  /* the hop used, "host:port", or "" */
  char rule[192]; /* which rule decided */
  char error[512];
  uint64_t bytes_up;   /* container -> destination */
  uint64_t bytes_down; /* destination -> container */
  uint64_t duration_us;
};

typedef void (*net_audit_fn) (void *ctx, const struct net_audit *rec);

/* Decide one connection (called in a worker thread; may block, e.g. on the
 * PAC sandbox).  q->hostname is verified or NULL.  Return -1 with *err to
 * refuse with that reason (fail closed).  The host-protection checks
 * (net_decide_protected) run before the hook. */
typedef int (*net_decide_fn) (void *ctx, const struct net_rules *rules,
                              const struct net_query *q,
                              struct net_decision *out, moat_error_t *err);

/* Optional: decide one connection from what the decide hook already knows
 * (no PAC configured, or a decision it has cached), without blocking: it
 * is called in the loop thread.  Return 1 with *out filled, or 0 to leave
 * the connection to a worker and the decide hook.  Saves the thread hop
 * (two context switches and their wake-ups) per connection. */
typedef int (*net_decide_cached_fn) (void *ctx, const struct net_rules *rules,
                                     const struct net_query *q,
                                     struct net_decision *out);

/* Resolve a name to at most max addresses (worker thread).  Returns the
 * count, or -1 with *err. */
typedef int (*net_resolve_fn) (void *ctx, const char *name,
                               struct net_addr *out, size_t max,
                               moat_error_t *err);

struct net_guard_config
{
  uint16_t listen_port;           /* required */
  const char *listen4;            /* NULL: "0.0.0.0"; "": no IPv4 listener */
  const char *listen6;            /* NULL: "::"; "": no IPv6 listener */
  bool install_rules;             /* set_policy loads the nft ruleset */
  struct net_intercept intercept; /* its listen_port is forced to ours */
  unsigned workers;               /* decision threads; 0: 4 */
  unsigned sniff_timeout_ms;      /* 0: 1500 */
  unsigned sniff_cap;             /* bytes peeked at most; 0: 16384 */
  unsigned connect_timeout_ms;    /* per hop; 0: 5000 */
  unsigned max_conns;             /* 0: 4096; beyond, new ones are reset */
  /* Per container address, so that one container cannot take every slot;
   * 0: 1024. */
  unsigned max_conns_per_src;
  net_audit_fn audit;
  void *audit_ctx;
  net_decide_fn decide; /* NULL: static rules (a PAC policy is refused) */
  net_decide_cached_fn decide_cached; /* NULL: every decision in a worker */
  void *decide_ctx;                   /* for both */
  net_resolve_fn resolve;             /* NULL: getaddrinfo */
  void *resolve_ctx;
  /* PEM CA certificates trusted for https:// proxies besides the system
   * store (NULL: the system store only).  Read once, by net_guard_new. */
  const char *proxy_ca_file;
  /* Addresses that count as the host besides its interfaces' (read with
   * getifaddrs at every set_policy). */
  const struct net_addr *host_addrs;
  size_t n_host_addrs;
};

struct net_guard;

/* Binds the listeners (so the port is known and in use before any rule
 * points at it) and starts the workers.  No policy yet: every connection
 * is refused until net_guard_set_policy. */
int net_guard_new (const struct net_guard_config *cfg, struct net_guard **out,
                   moat_error_t *err);

/* Install a new effective policy; thread-safe, callable while run() is
 * going.  Compiles it (an invalid one is refused and the old one stays),
 * loads the interception rules when install_rules, then swaps it in for new
 * decisions.  Connections already relayed keep their route. */
int net_guard_set_policy (struct net_guard *g, const struct policy *p,
                          const struct net_system_proxy *sys,
                          moat_error_t *err);

/* The decide hook's answers may have changed (a PAC was loaded, or could
 * not be): decide the open connections again, as after set_policy.  Any
 * thread. */
void net_guard_recheck (struct net_guard *g);

/* The event loop; returns 0 after net_guard_stop, -1 on a fatal error. */
int net_guard_run (struct net_guard *g, moat_error_t *err);

/* Ask run() to return (writes an eventfd: safe from any thread or a
 * signal handler).  Open connections are closed. */
void net_guard_stop (struct net_guard *g);

/* Remove the interception rules (for `moat down`; a stopped guard leaves
 * them in place on purpose: redirected connections then meet a closed port
 * and are reset, which fails closed). */
int net_guard_remove_rules (struct net_guard *g, moat_error_t *err);

/* After run() returned (or was never called). */
void net_guard_free (struct net_guard *g);

/* The port listened on (useful when listen_port was 0 in tests). */
uint16_t net_guard_port (const struct net_guard *g);

#endif
