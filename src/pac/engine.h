/* The PAC engine the net guard calls: a small pool of moat-sandbox
 * processes, each holding the helper functions and the same PAC file, a
 * decision cache, and the answers to the PAC's DNS and address questions.
 *
 * Thread safety: worker threads may share one engine.  An evaluation takes
 * a free sandbox of the pool (waiting while all are busy) and keeps it for
 * at most timeout_ms plus the sandbox grace (a hostile PAC costs that much
 * per cache miss), so up to `sandboxes` evaluations run at once.  Do not
 * call these from an event loop that relays traffic: call from a worker. */
#ifndef MOAT_PAC_ENGINE_H
#define MOAT_PAC_ENGINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "pac/proxy.h"

/* Resolve name for the PAC.  family AF_INET: write one dotted quad (what
 * dnsResolve returns); AF_UNSPEC: a ';'-separated list of every IPv4 and
 * IPv6 address (dnsResolveEx).  Return 0 with out filled, 1 when the name
 * does not resolve, -1 on error (treated as does not resolve).  Called only
 * within the per-evaluation lookup limit and on a cache miss. */
typedef int (*pac_resolve_fn) (void *ud, const char *name, int family,
                               char *out, size_t outlen);

struct pac_engine_opts
{
  const char *sandbox_exe;  /* path of moat-sandbox (required) */
  unsigned timeout_ms;      /* per evaluation; 0 = 200 */
  unsigned load_timeout_ms; /* PAC top level; 0 = 1000 */
  pac_resolve_fn resolve;   /* NULL: pac_resolve_default (getaddrinfo) */
  void *resolve_ud;
  unsigned max_lookups;  /* DNS lookups per evaluation; 0 = 8 */
  unsigned dns_ttl_ms;   /* DNS answer cache; 0 = 30000 */
  unsigned cache_ttl_ms; /* decision cache; 0 = off */
  size_t cache_max;      /* decision cache entries; 0 = 4096 */
  /* Sandboxes in the pool; 0 = 1 (one-shot callers: the CLI).  Long-lived
   * callers (moatd) use pac_engine_default_sandboxes().  At most
   * PAC_POOL_MAX. */
  unsigned sandboxes;
};

#define PAC_POOL_MIN 2
#define PAC_POOL_MAX 8

/* The pool size for moatd: the online CPUs, at least PAC_POOL_MIN (one
 * slow evaluation never holds every other decision), at most PAC_POOL_MAX
 * (a PAC is CPU-bound: more sandboxes than cores add memory, not
 * throughput; see BENCHMARKS.md, "PAC pool"). */
unsigned pac_engine_default_sandboxes (void);

struct pac_engine;

/* Start the sandbox and load the helper functions. */
int pac_engine_new (const struct pac_engine_opts *opts,
                    struct pac_engine **out, moat_error_t *err);
void pac_engine_free (struct pac_engine *e);

/* Load (or replace) the PAC source.  A syntax error or a top level that
 * throws or runs past load_timeout_ms is returned as the error (the message
 * names it, e.g. "SyntaxError: …"); the engine then has no PAC and every
 * decision fails: fail closed.  Clears the decision cache. */
int pac_engine_load (struct pac_engine *e, const char *src, size_t len,
                     moat_error_t *err);

/* Fetch url with pac_fetch() (http, https, file; 1 MB; HTTP 200) and load
 * it.  On any failure the engine is left with no PAC, so every decision
 * fails and the caller refuses every connection (fail closed); the reason is
 * returned and kept for pac_engine_ready().  moatd calls this at start, on a
 * policy change and periodically. */
int pac_engine_load_url (struct pac_engine *e, const char *url,
                         unsigned timeout_ms, moat_error_t *err);

/* Loading in the background (moatd fetches on a thread of its own, so a
 * slow PAC server never holds its main thread):
 *   t = pac_engine_begin (e, why);   before starting a fetch
 *   pac_engine_load_url_ticket (e, url, timeout_ms, t, &cancel, &err);
 * begin() makes every earlier ticket stale: a fetch or load that finishes
 * under a stale ticket changes nothing and returns 1, so an old PAC URL
 * can never be installed after a newer policy named another.  With why
 * non-NULL, begin() also unloads the current PAC at once (decisions fail
 * closed and pac_engine_ready reports why, e.g. "fetching ..."): for a
 * new URL.  With NULL the current PAC keeps deciding until the new one
 * replaces it or the fetch fails (a periodic refresh of the same URL).
 * cancel (may be NULL), when it becomes true, aborts the fetch within
 * about a second.  Returns 0 loaded, 1 stale, -1 failed (the engine then
 * has no PAC and keeps the reason). */
uint64_t pac_engine_begin (struct pac_engine *e, const char *why);
int pac_engine_load_url_ticket (struct pac_engine *e, const char *url,
                                unsigned timeout_ms, uint64_t ticket,
                                const atomic_bool *cancel, moat_error_t *err);

/* True when a PAC is loaded.  Otherwise, if why is not NULL, the reason of
 * the last failed fetch or load ("no PAC loaded" before the first), for
 * `moat status` and the audit log. */
bool pac_engine_ready (struct pac_engine *e, char *why, size_t len);

/* How usable the PAC is, for `moat status`, `moat verify` and the audit:
 * loaded (else why), and how the latest evaluations ended.  An evaluation
 * that fails (the script throws, returns something unusable) or times out
 * (the sandbox's deadline or the watchdog) counts in consecutive_failures
 * until one succeeds; a (re)load starts afresh. */
enum pac_outcome
{
  PAC_OK,
  PAC_FAILED,
  PAC_TIMEOUT,
};

struct pac_engine_health
{
  bool loaded;
  char why[512]; /* when not loaded */
  enum pac_outcome last_kind;
  unsigned long consecutive_failures, failures, successes;
  char last_error[256]; /* of the latest failure */
};
void pac_engine_health (struct pac_engine *e, struct pac_engine_health *out);

/* What the PAC says for a connection to host:port.
 *   host:    the hostname learnt from SNI/Host, or NULL to decide on dest_ip
 *   dest_ip: the destination address (text); dnsResolve(host) answers it
 *            first, without a lookup, since the net guard verified it
 *   my_ip:   the container's address, for myIpAddress(); NULL = 127.0.0.1
 * The URL passed to FindProxyForURL is scheme://host:port with scheme https
 * for port 443, else http, and no path.  Any failure (no PAC, timeout, error,
 * unparsable result) returns -1: the caller refuses the connection; the
 * error's status is ETIMEDOUT for a timeout, ENOENT when no PAC is loaded.
 * *cached tells whether the answer came from the decision cache. */
int pac_engine_decide (struct pac_engine *e, const char *host, uint16_t port,
                       const char *dest_ip, const char *my_ip,
                       struct proxy_list *out, bool *cached,
                       moat_error_t *err);

/* The decision cache alone: 1 with *out filled when pac_engine_decide
 * would answer host:port from its cache, else 0 (a miss, an expired entry,
 * no cache).  Never waits for an evaluation (the cache has its own lock,
 * held only to copy an entry), so the net guard's loop may call it and
 * leave only the misses to its workers. */
int pac_engine_decide_cached (struct pac_engine *e, const char *host,
                              uint16_t port, const char *dest_ip,
                              const char *my_ip, struct proxy_list *out);

/* The raw FindProxyForURL(url, host) string (for `moat pac eval`);
 * *result is malloc'ed.  No decision cache. */
int pac_engine_eval (struct pac_engine *e, const char *url, const char *host,
                     const char *my_ip, char **result, moat_error_t *err);

struct pac_engine_stats
{
  unsigned long evaluations, cache_hits, cache_misses, dns_lookups,
      dns_limited, failures, sandbox_restarts;
  unsigned sandboxes;
};
void pac_engine_stats (struct pac_engine *e, struct pac_engine_stats *out);

/* The default resolver: getaddrinfo, bounded by a 2 s timeout
 * (getaddrinfo_a).  ud is unused. */
int pac_resolve_default (void *ud, const char *name, int family, char *out,
                         size_t outlen);

#endif
