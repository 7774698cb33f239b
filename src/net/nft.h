/* Interception rules: an nftables table of moat's own ("inet moat") that
 * redirects the containers' TCP on the intercepted ports to the net
 * guard's listener.
 *
 * The ruleset is rendered as text (pure, unit-tested) and loaded with
 * `nft -f -` in one transaction that first deletes the table, so loading is
 * atomic and idempotent: a restarted moatd replaces what the last one left,
 * and no moment exists with half the rules.  Only packets that arrive on the
 * engine's bridge from the containers' source networks are matched; the
 * host's own traffic and other bridges are never touched. */
#ifndef MOAT_NET_NFT_H
#define MOAT_NET_NFT_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "net/rules.h"

#define NET_NFT_TABLE "moat"

struct net_intercept
{
  const char *table;          /* NULL: NET_NFT_TABLE */
  const char *iface;          /* the engine's bridge; NULL: any interface */
  const struct net_cidr *src; /* the containers' networks (at least one) */
  size_t n_src;
  uint16_t listen_port; /* the guard's listener (both families) */
  /* Resolvers the containers may reach on port 53 (UDP and TCP) when every
   * port is intercepted; all other non-TCP egress is then dropped. */
  const struct net_addr *dns;
  size_t n_dns;
  const char *nft; /* path of nft; NULL: /usr/sbin/nft */
};

/* The ruleset for rules r (its intercepted ports), or the removal alone
 * when r is NULL.  *out is malloc'd. */
int net_nft_render (const struct net_intercept *ic, const struct net_rules *r,
                    char **out, moat_error_t *err);

/* Load a rendered ruleset with `nft -f -`; nft's message on failure. */
int net_nft_load (const struct net_intercept *ic, const char *ruleset,
                  moat_error_t *err);

/* Render and load (r NULL: remove the table). */
int net_nft_apply (const struct net_intercept *ic, const struct net_rules *r,
                   moat_error_t *err);

#endif
