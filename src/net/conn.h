/* The net guard's connections (internal to src/net): the state of one
 * redirected connection, and the guard that owns them.  guard.c accepts,
 * sniffs, decides and ends connections; conn.c connects them (DIRECT or
 * through the route's proxies: TLS, handshakes of hs.h) and relays them.
 * Everything runs on the guard's io_loop (src/io, level-triggered). */
#ifndef MOAT_NET_CONN_H
#define MOAT_NET_CONN_H

#include <openssl/ssl.h>
#include <pthread.h>

#include "io/buf.h"
#include "io/loop.h"
#include "io/relay.h"
#include "net/guard.h"
#include "net/hs.h"
#include "net/hs_tls.h"
#include "net/httpfwd.h"
#include "net/worker.h"

/* User-space relay buffers (forward mode, TLS to the proxy), per
 * direction (two TLS records; a forward-mode connection also holds the
 * rewriter's ~35 KB state and UIN bytes of input). */
#define UBUF (32 * 1024)
#define UIN (16 * 1024)
/* Empty relay pipes kept for the next connections (io/relay.h). */
#define PIPE_POOL_MAX 128
/* Pipes grown to IO_RELAY_BULK at a time: bounds the extra data held to
 * BULK_MAX MB (guard CPU per GB relayed, bench/net: ~1090 ms with 64 KB
 * pipes, ~600 with 256 KB, ~510 with 1 MB). */
#define BULK_MAX 64

/* One connection's life: each state names what it waits for. */
enum conn_state
{
  CS_SNIFF,      /* the client's first bytes (Host, SNI), or a deadline */
  CS_DECIDING,   /* a decision worker has the job */
  CS_CONNECTING, /* connect() to the current hop in progress */
  CS_TLS,        /* TLS handshake with an https:// proxy */
  CS_HS_SEND,    /* sending hs.out to the proxy */
  CS_HS_RECV,    /* waiting for the proxy's reply (consumed into hsin) */
  CS_RELAY,      /* bytes flow both ways */
  CS_DONE,       /* ended: audited, descriptors closed, freed after batch */
};

/* How the bytes of a relayed connection move. */
enum relay_mode
{
  RM_SPLICE,  /* both ways through pipes (DIRECT, CONNECT, SOCKS) */
  RM_FORWARD, /* up rewritten by httpfwd in user space, down spliced */
  RM_TLS,     /* both ways in user space through TLS to the proxy */
};

struct net_guard;
struct net_redo;

struct conn
{
  struct conn *prev, *next; /* the guard's list of all connections */
  struct net_guard *g;
  enum conn_state state;
  enum relay_mode mode;
  struct io_handle ch, uh; /* the container's socket, the upstream's */
  struct io_timer deadline;
  struct io_grave grave;
  struct net_addr src;
  uint16_t sport;
  uint64_t t0_us;
  const char *host_source;
  struct net_job job;
  size_t hop; /* index in job.dec.route */
  struct net_hs hs;
  size_t hs_off;      /* bytes of hs.out sent */
  struct io_buf in;   /* the container's bytes before the relay */
  struct io_buf hsin; /* the proxy's reply bytes, consumed as parsed */
  const char *decision;
  char via[280];
  char error[512];
  /* Port 80 and the container's first bytes are an HTTP/1.x request: an
   * HTTP proxy gets it in forward mode (absolute form), not CONNECT. */
  bool http;
  /* ab: container -> upstream, ba: upstream -> container.  Their eof,
   * shut and bytes are the directions' state in every relay mode. */
  struct io_relay r;
  struct net_hs_tls *tls; /* TLS to an https:// proxy, or NULL */
  uint32_t want_up;       /* epoll event the last TLS write waits for */
  uint32_t want_down;     /* ... and the last TLS read or handshake */
  struct net_httpfwd *hf; /* forward-mode rewriter, or NULL */
  struct io_buf ui;       /* container bytes waiting for the rewriter */
  struct io_buf uo;       /* bytes for the upstream (user-space modes) */
  struct io_buf db;       /* bytes from a TLS upstream for the container */
  struct net_redo *redo;  /* a worker decides c again (redecide.c) */
};

struct net_guard
{
  struct net_guard_config cfg;
  struct io_loop *loop;
  struct io_handle l4, l6, done; /* listeners, the workers' eventfd */
  struct io_timer unpause;
  /* Per listener (l4, l6): accepts per event (1..64) and the loop batch
   * of the last event that stopped at that limit (on_listen). */
  unsigned accept_max[2];
  uint64_t accept_cut[2];
  uint16_t port;
  struct net_pool pool;
  bool pool_started;
  pthread_mutex_t policy_lock; /* serialises set_policy callers */
  struct conn *conns;
  unsigned n_conns;
  uint64_t policy_gen;    /* the snapshot the open connections were held to */
  struct net_redo *redos; /* re-decisions with the workers (redecide.c) */
  SSL_CTX *ssl_ctx;       /* for https:// proxies */
  struct io_pipe_pool pipes;
};

/* guard.c */
void conn_finish (struct net_guard *g, struct conn *c, bool reset);
/* Set both sockets' interest from the state; ends c on failure. */
void conn_sync (struct net_guard *g, struct conn *c);
const char *net_tls_error (char *buf, size_t size);

/* redecide.c: after a policy change, decide every open connection again
 * and reset those the policy in force does not route the same way. */
void net_guard_policy_changed (struct net_guard *g);
/* A worker's answer for a re-decision (j->redecide); gen: the policy in
 * force.  Frees j. */
void net_guard_redo_done (struct net_guard *g, struct net_job *j,
                          uint64_t gen);
/* c ends: its re-decision, if any, comes back to nobody. */
void net_guard_redo_orphan (struct conn *c);
/* After the pool stopped: the re-decisions still out. */
void net_guard_redo_free_all (struct net_guard *g);

/* conn.c */
void conn_try_hop (struct net_guard *g, struct conn *c);
void conn_next_hop (struct net_guard *g, struct conn *c, const char *why);
void conn_upstream_event (struct net_guard *g, struct conn *c, uint32_t ev);
void conn_relay_event (struct net_guard *g, struct conn *c, bool client,
                       uint32_t ev);
/* The interest of each socket in the relay states (user-space modes
 * included). */
void conn_relay_masks (const struct conn *c, uint32_t *mc, uint32_t *mu);
socklen_t net_to_sockaddr (const struct net_addr *a, uint16_t port,
                           struct sockaddr_storage *ss);

#endif
