/* Decision workers of the net guard (internal to src/net).  The loop hands
 * a job to the pool; a worker verifies the claimed host name, decides, and
 * resolves the route's proxy hosts, then posts the job back and wakes the
 * loop through an eventfd.  Blocking work (DNS, the PAC sandboxes) happens
 * here, never in the loop.  Workers take jobs round-robin across container
 * addresses (see struct net_pool). */
#ifndef MOAT_NET_WORKER_H
#define MOAT_NET_WORKER_H

#include <pthread.h>
#include <stdbool.h>

#include "net/guard.h"

/* The policy in force, shared by reference between set_policy and the
 * workers; freed when the last user lets go. */
struct net_snapshot
{
  struct net_rules *rules;
  struct net_addr *host; /* the host's own addresses */
  size_t n_host;
  unsigned refs; /* under the pool's lock */
};

struct net_job
{
  struct net_job *next; /* in its source's queue, then in the done list */
  /* While queued and first of its source's queue: the next source in
   * round-robin order, and the last job of its own queue. */
  struct net_job *rnext, *qtail;
  void *conn; /* the loop's connection; opaque here */
  /* in */
  struct net_addr dst;
  uint16_t port;
  struct net_addr src;            /* the container */
  char claimed[NET_HOSTNAME_MAX]; /* "" when none */
  /* A policy change deciding an open connection again: claimed was
   * verified when it opened (no lookup), and only the route is wanted
   * (no proxy name resolved). */
  bool redecide;
  /* out */
  uint64_t gen;            /* the pool's gen when it was decided */
  bool verified;           /* claimed resolves to dst */
  struct net_decision dec; /* refusal when route.n == 0 */
  struct net_addr hop_addr[PROXY_LIST_MAX];
  bool hop_ok[PROXY_LIST_MAX];
  bool has_cred[PROXY_LIST_MAX];
  char hop_user[PROXY_LIST_MAX][128];
  char hop_pass[PROXY_LIST_MAX][128];
  char error[384]; /* why the decision failed, or a proxy name did not
                      resolve */
};

/* A small cache of name lookups (anti-spoofing checks and proxy names),
 * so that a burst of connections to one site costs one lookup.  Entries
 * live NET_DNS_TTL_S seconds (failures NET_DNS_NEG_TTL_S); the table is
 * direct-mapped by hash, a collision evicts. */
#define NET_DNS_SLOTS 1024
#define NET_DNS_TTL_S 30
#define NET_DNS_NEG_TTL_S 5
#define NET_DNS_ADDRS 8

struct net_dns_entry
{
  char name[NET_HOSTNAME_MAX];
  struct net_addr addrs[NET_DNS_ADDRS];
  int n; /* -1: lookup failed */
  uint64_t expires_s;
};

struct net_pool
{
  pthread_mutex_t lock;
  pthread_cond_t cond;
  /* Jobs waiting for a worker, one FIFO queue per container address,
   * served round-robin: a ring of the queues' first jobs (rhead is served
   * next; a source that was served goes to the back).  So one container's
   * backlog delays another container's next decision by at most one
   * decision per other busy source, not by its whole backlog. */
  struct net_job *rhead, *rtail;
  unsigned long queued;
  struct net_job *done;
  bool stopping;
  int done_fd; /* eventfd the loop watches */
  pthread_t *threads;
  unsigned n_threads;
  struct net_snapshot *snap;
  uint64_t gen; /* bumped by each snapshot and net_pool_bump */
  const struct net_guard_config *cfg;
  struct net_dns_entry *dns; /* NET_DNS_SLOTS, under lock */
};

int net_pool_start (struct net_pool *p, const struct net_guard_config *cfg,
                    unsigned n, moat_error_t *err);
void net_pool_stop (struct net_pool *p);
/* Queue j behind the jobs of the same source address (j->src). */
void net_pool_submit (struct net_pool *p, struct net_job *j);
/* Take every finished job (a list linked by next). */
struct net_job *net_pool_take_done (struct net_pool *p);
/* Decide j at once in the calling thread when that cannot block: the
 * claimed name and every proxy of the route are addresses or in the DNS
 * cache, and the decision comes from the static rules (pure) or the decide
 * hook's decide_cached.  Returns false when j must go to a worker instead
 * (j is then as before the call). */
bool net_pool_decide_inline (struct net_pool *p, struct net_job *j);
/* Replace the snapshot (takes ownership of s) and wake the loop, which
 * decides its open connections again (guard.c, policy_changed). */
void net_pool_set_snapshot (struct net_pool *p, struct net_snapshot *s);
/* A new generation (the decide hook's answers changed: a PAC was loaded)
 * and wake the loop, which decides its open connections again. */
void net_pool_bump (struct net_pool *p);
/* The generation in force: each snapshot and each bump makes one. */
uint64_t net_pool_gen (struct net_pool *p);

#endif
