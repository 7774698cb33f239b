/* The net guard's decision for one connection, in one place: host
 * protection, then exclude, then the PAC hook or the static rules.  The
 * guard's workers and `moat net decide` both call net_decide, so the CLI
 * answers what the guard does (issue 12: the CLI used to skip the host
 * check and said DIRECT where the guard refused). */
#ifndef MOAT_NET_DECIDE_H
#define MOAT_NET_DECIDE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "net/rules.h"

/* The same signatures as net_decide_fn / net_decide_cached_fn (guard.h). */
typedef int (*net_decide_hook_fn) (void *ctx, const struct net_rules *rules,
                                   const struct net_query *q,
                                   struct net_decision *out,
                                   moat_error_t *err);
typedef int (*net_decide_cached_hook_fn) (void *ctx,
                                          const struct net_rules *rules,
                                          const struct net_query *q,
                                          struct net_decision *out);

struct net_decider
{
  const struct net_rules *rules;
  /* Addresses that are the host: its interfaces' (net_host_addrs) and any
   * more the caller names (net_guard_config.host_addrs). */
  const struct net_addr *host;
  size_t n_host;
  const struct net_addr *extra_host;
  size_t n_extra_host;
  /* NULL: the static rules decide (and a PAC policy is refused). */
  net_decide_hook_fn decide;
  net_decide_cached_hook_fn decide_cached; /* NULL: never inline */
  void *ctx;
};

/* Decide q (its hostname verified or NULL).  Sets q->dst_is_host from the
 * decider's host addresses.  inline_only: nothing may block (the guard's
 * loop thread); returns 1 without a decision when the hook would have to.
 * Otherwise returns 0 with *out filled; a hook failure is a refusal whose
 * reason goes to error (when not NULL). */
int net_decide (const struct net_decider *d, struct net_query *q,
                bool inline_only, struct net_decision *out, char *error,
                size_t error_size);

/* The host's own addresses (getifaddrs): *out is malloc'ed. */
int net_host_addrs (struct net_addr **out, size_t *n, moat_error_t *err);

/* Equal addresses, an IPv4-mapped IPv6 address being the IPv4 one. */
bool net_addr_same_p (const struct net_addr *x, const struct net_addr *y);

#endif
