/* Interception rules: an nftables table of moat's own ("inet moat") that
 * governs everything the engine's containers send: TCP on the intercepted
 * ports is redirected to the net guard's listener, and (air-gapped) every
 * other packet is dropped except DNS to the engine's resolvers.
 *
 * Packets are recognised by the interface they arrive on (the engine's
 * bridges: moat0 and the `br-*` bridges of user-defined networks, both
 * address families), never by their source address, so a network with
 * any subnet is governed, and a source address that does not belong on
 * its interface is dropped first (reverse-path check).
 *
 * The ruleset is rendered as text (pure, unit-tested) and loaded with
 * `nft -f -` in one transaction that first deletes the table, so loading is
 * atomic and idempotent: a restarted moatd replaces what the last one left,
 * and no moment exists with half the rules. */
#ifndef MOAT_NET_NFT_H
#define MOAT_NET_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "net/rules.h"

#define NET_NFT_TABLE "moat"
#define NET_NFT_MAX_IFACES 8
/* nft keeps a comment of 128 bytes at most; "moat stack at " takes 14. */
#define NET_NFT_OWNER_MAX 110
#define NET_NFT_OWNER_PREFIX "moat stack at "

struct net_intercept
{
  const char *table; /* NULL: NET_NFT_TABLE */
  /* The engine's interfaces (at least one between the two): iface, then
   * ifaces[0..n_ifaces).  A name ending in `*` matches every interface
   * whose name starts with what precedes it (`br-*`). */
  const char *iface;
  const char *const *ifaces;
  size_t n_ifaces;
  uint16_t listen_port; /* the guard's listener (both families) */
  /* Resolvers the containers may reach on port 53 (UDP and TCP) when every
   * port is intercepted; all other non-TCP egress is then dropped. */
  const struct net_addr *dns;
  size_t n_dns;
  /* Decide the policy's IP-literal exclusions in nft: connections to an
   * excluded address or CIDR are forwarded, never redirected (sets
   * exclude4/exclude6; the host's own, loopback, link-local and multicast
   * addresses stay redirected).  moatd sets it; false keeps every
   * intercepted connection for the guard (the guard's tests and benchmarks
   * of its DIRECT relay). */
  bool exclude_in_nft;
  /* The stack the table belongs to (its MOAT_ROOT, "/" for the default):
   * the table's comment, `moat stack at OWNER` (docs/net-guard.md, "One
   * stack a network namespace").  NULL, or one that cannot be a comment
   * (over NET_NFT_OWNER_MAX bytes, a quote, a backslash, a control
   * character): no comment. */
  const char *owner;
  const char *nft;   /* path of nft; NULL: /usr/sbin/nft */
  const char *netns; /* load in /run/netns/<netns>; NULL: the caller's */
};

/* The ruleset for rules r (its intercepted ports), or the removal alone
 * when r is NULL.  Rules that intercept nothing leave an empty table that
 * names its owner (none without one).  *out is malloc'd. */
int net_nft_render (const struct net_intercept *ic, const struct net_rules *r,
                    char **out, moat_error_t *err);

/* The fail-closed ruleset: every TCP port redirected to the listener
 * (refused while nothing listens), everything else dropped, no DNS.  What
 * `moat up` loads before the engine starts; moatd replaces it with the
 * policy's. */
int net_nft_render_closed (const struct net_intercept *ic, char **out,
                           moat_error_t *err);

/* Load a rendered ruleset with `nft -f -`; nft's message on failure. */
int net_nft_load (const struct net_intercept *ic, const char *ruleset,
                  moat_error_t *err);

/* Render and load (r NULL: remove the table). */
int net_nft_apply (const struct net_intercept *ic, const struct net_rules *r,
                   moat_error_t *err);

/* Load the fail-closed ruleset. */
int net_nft_apply_closed (const struct net_intercept *ic, moat_error_t *err);

/* 1 when the table exists, 0 when not, -1 when nft cannot tell. */
int net_nft_table_exists (const struct net_intercept *ic, moat_error_t *err);

/* Whose is the table: 1 when it exists, with *owner the OWNER its comment
 * names ("" when it names none: an older moat's, or one made by hand), 0
 * when there is no table, -1 when nft cannot tell. */
int net_nft_table_owner (const struct net_intercept *ic, char *owner,
                         size_t owner_len, moat_error_t *err);

#endif
