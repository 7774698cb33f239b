#include "worker.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "net/decide.h"

static void
snapshot_unref (struct net_snapshot *s)
{
  /* Called with the pool lock held. */
  if (s == NULL || --s->refs > 0)
    return;
  net_rules_free (s->rules);
  free (s->host);
  free (s);
}

static int
default_resolve (const char *name, struct net_addr *out, size_t max,
                 moat_error_t *err)
{
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
  size_t n = 0;
  int r = getaddrinfo (name, NULL, &hints, &res);
  if (r != 0)
    return moat_error (err, 0, "resolve `%s`: %s", name, gai_strerror (r));
  for (struct addrinfo *a = res; a != NULL && n < max; a = a->ai_next)
    {
      memset (&out[n], 0, sizeof out[n]);
      if (a->ai_family == AF_INET)
        {
          out[n].family = AF_INET;
          memcpy (out[n].a, &((struct sockaddr_in *)a->ai_addr)->sin_addr, 4);
          n++;
        }
      else if (a->ai_family == AF_INET6)
        {
          out[n].family = AF_INET6;
          memcpy (out[n].a, &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr,
                  16);
          n++;
        }
    }
  freeaddrinfo (res);
  return (int)n;
}

static uint64_t
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec;
}

static unsigned
name_hash (const char *s)
{
  unsigned h = 2166136261u; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h % NET_DNS_SLOTS;
}

/* Returns the count of addresses, -1 with *err, or, with cached_only, -2
 * when the answer is not in the cache (the caller must not block). */
static int
resolve (struct net_pool *p, const char *name, struct net_addr *out,
         size_t max, bool cached_only, moat_error_t *err)
{
  const struct net_guard_config *cfg = p->cfg;
  struct net_dns_entry *e = p->dns ? &p->dns[name_hash (name)] : NULL;
  uint64_t now = now_s ();
  int n;

  if (net_addr_parse (name, &out[0]) == 0)
    return 1;
  if (e != NULL)
    {
      pthread_mutex_lock (&p->lock);
      if (e->expires_s > now && strcmp (e->name, name) == 0)
        {
          n = e->n;
          for (int i = 0; i < n && (size_t)i < max; i++)
            out[i] = e->addrs[i];
          pthread_mutex_unlock (&p->lock);
          if (n < 0)
            return moat_error (err, 0, "resolve `%s`: failed (cached)", name);
          return n < (int)max ? n : (int)max;
        }
      pthread_mutex_unlock (&p->lock);
    }
  if (cached_only)
    return -2;
  {
    struct net_addr tmp[NET_DNS_ADDRS];
    if (cfg->resolve != NULL)
      n = cfg->resolve (cfg->resolve_ctx, name, tmp, NET_DNS_ADDRS, err);
    else
      n = default_resolve (name, tmp, NET_DNS_ADDRS, err);
    if (e != NULL && strlen (name) < sizeof e->name)
      {
        pthread_mutex_lock (&p->lock);
        strcpy (e->name, name);
        e->n = n < 0 ? -1 : n;
        if (n > 0)
          memcpy (e->addrs, tmp, (size_t)n * sizeof tmp[0]);
        e->expires_s = now + (n < 0 ? NET_DNS_NEG_TTL_S : NET_DNS_TTL_S);
        pthread_mutex_unlock (&p->lock);
      }
    for (int i = 0; i < n && (size_t)i < max; i++)
      out[i] = tmp[i];
    return n < 0 ? -1 : (n < (int)max ? n : (int)max);
  }
}

static bool
same_addr (const struct net_addr *x, const struct net_addr *y)
{
  struct net_addr a = *x, b = *y;
  /* compare v4-mapped v6 as v4 */
  const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  if (a.family == AF_INET6 && memcmp (a.a, mapped, 12) == 0)
    {
      a.family = AF_INET;
      memmove (a.a, a.a + 12, 4);
    }
  if (b.family == AF_INET6 && memcmp (b.a, mapped, 12) == 0)
    {
      b.family = AF_INET;
      memmove (b.a, b.a + 12, 4);
    }
  return net_addr_equal_p (&a, &b);
}

/* Decide j.  inline_only: in the loop thread, where nothing may block; a
 * step that would (a name not in the DNS cache, a decision that needs the
 * decide hook) sets *blocked and returns at once. */
static void
run_job (struct net_pool *p, struct net_job *j, struct net_snapshot *s,
         uint64_t gen, bool inline_only, bool *blocked)
{
  const struct net_guard_config *cfg = p->cfg;
  struct net_query q = { .dst = j->dst, .port = j->port, .src = j->src };
  cleanup_error moat_error_t err = NULL;

  memset (&j->dec, 0, sizeof j->dec);
  memset (j->hop_ok, 0, sizeof j->hop_ok);
  memset (j->has_cred, 0, sizeof j->has_cred);
  j->error[0] = '\0';
  j->gen = gen;
  if (s == NULL)
    {
      snprintf (j->dec.rule, sizeof j->dec.rule, "no policy loaded yet");
      return;
    }
  /* A container must not get another host's treatment by naming it: the
   * name counts only if it resolves to where the connection goes. */
  if (j->claimed[0] != '\0' && j->redecide)
    j->verified = true;
  else if (j->claimed[0] != '\0')
    {
      struct net_addr addrs[16];
      int n = resolve (p, j->claimed, addrs, 16, inline_only, &err);
      if (n == -2)
        {
          *blocked = true;
          return;
        }
      for (int i = 0; i < n; i++)
        if (same_addr (&addrs[i], &j->dst))
          j->verified = true;
      moat_error_release (&err);
    }
  q.hostname = j->verified ? j->claimed : NULL;
  /* The one decision function, which `moat net decide` calls too. */
  const struct net_decider dd = { .rules = s->rules,
                                  .host = s->host,
                                  .n_host = s->n_host,
                                  .extra_host = cfg->host_addrs,
                                  .n_extra_host = cfg->n_host_addrs,
                                  .decide = cfg->decide,
                                  .decide_cached = cfg->decide_cached,
                                  .ctx = cfg->decide_ctx };
  if (net_decide (&dd, &q, inline_only, &j->dec, j->error, sizeof j->error)
      != 0)
    {
      *blocked = true;
      return;
    }
  if (j->redecide)
    return;

  for (size_t i = 0; i < j->dec.route.n; i++)
    {
      const struct proxy_hop *h = &j->dec.route.hops[i];
      struct net_addr a[1];
      if (h->kind == PROXY_DIRECT)
        {
          j->hop_addr[i] = j->dst;
          j->hop_ok[i] = true;
          continue;
        }
      if (h->kind == PROXY_REJECT)
        break;
      int n = resolve (p, h->host, a, 1, inline_only, &err);
      if (n == -2)
        {
          *blocked = true;
          return;
        }
      if (n >= 1)
        {
          j->hop_addr[i] = a[0];
          j->hop_ok[i] = true;
        }
      else
        snprintf (j->error, sizeof j->error, "%s", moat_error_msg (&err));
      moat_error_release (&err);
      const struct net_proxy_url *c = net_rules_credentials (s->rules, h);
      if (c != NULL && strlen (c->user) < sizeof j->hop_user[i]
          && strlen (c->pass) < sizeof j->hop_pass[i])
        {
          j->has_cred[i] = true;
          strcpy (j->hop_user[i], c->user);
          strcpy (j->hop_pass[i], c->pass);
        }
    }
}

/* Append the first job of a source's queue to the ring; lock held. */
static void
ring_append (struct net_pool *p, struct net_job *h)
{
  h->rnext = NULL;
  if (p->rtail)
    p->rtail->rnext = h;
  else
    p->rhead = h;
  p->rtail = h;
}

/* The next job in round-robin order; lock held, ring not empty. */
static struct net_job *
take_next (struct net_pool *p)
{
  struct net_job *j = p->rhead, *nx = j->next;
  p->rhead = j->rnext;
  if (p->rhead == NULL)
    p->rtail = NULL;
  if (nx != NULL)
    {
      /* the source's next job heads its queue, at the back of the ring */
      nx->qtail = j->qtail;
      ring_append (p, nx);
    }
  j->next = j->rnext = j->qtail = NULL;
  p->queued--;
  return j;
}

static void *
worker_main (void *arg)
{
  struct net_pool *p = arg;
  for (;;)
    {
      struct net_job *j;
      struct net_snapshot *s;
      uint64_t one = 1, gen;

      pthread_mutex_lock (&p->lock);
      while (!p->stopping && p->rhead == NULL)
        pthread_cond_wait (&p->cond, &p->lock);
      if (p->stopping)
        {
          pthread_mutex_unlock (&p->lock);
          return NULL;
        }
      j = take_next (p);
      s = p->snap;
      if (s != NULL)
        s->refs++;
      gen = p->gen;
      pthread_mutex_unlock (&p->lock);

      bool blocked = false;
      run_job (p, j, s, gen, false, &blocked);

      pthread_mutex_lock (&p->lock);
      snapshot_unref (s);
      j->next = p->done;
      p->done = j;
      pthread_mutex_unlock (&p->lock);
      if (write (p->done_fd, &one, sizeof one) < 0 && errno != EAGAIN)
        log_warn ("net guard: wake loop: %s", strerror (errno));
    }
}

bool
net_pool_decide_inline (struct net_pool *p, struct net_job *j)
{
  struct net_snapshot *s;
  bool blocked = false;

  /* Inline, run_job answers only from the DNS cache and decide_cached,
   * and says "blocked" for anything else. */
  if (p->cfg->decide != NULL && p->cfg->decide_cached == NULL)
    return false;
  uint64_t gen;
  pthread_mutex_lock (&p->lock);
  s = p->snap;
  if (s != NULL)
    s->refs++;
  gen = p->gen;
  pthread_mutex_unlock (&p->lock);
  run_job (p, j, s, gen, true, &blocked);
  pthread_mutex_lock (&p->lock);
  snapshot_unref (s);
  pthread_mutex_unlock (&p->lock);
  if (blocked)
    {
      /* start again from a clean job in a worker */
      memset (&j->dec, 0, sizeof j->dec);
      memset (j->hop_ok, 0, sizeof j->hop_ok);
      memset (j->has_cred, 0, sizeof j->has_cred);
      j->error[0] = '\0';
      j->verified = false;
      return false;
    }
  return true;
}

int
net_pool_start (struct net_pool *p, const struct net_guard_config *cfg,
                unsigned n, moat_error_t *err)
{
  memset (p, 0, sizeof *p);
  p->cfg = cfg;
  pthread_mutex_init (&p->lock, NULL);
  pthread_cond_init (&p->cond, NULL);
  p->done_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (p->done_fd < 0)
    return moat_error (err, errno, "eventfd");
  p->threads = calloc (n, sizeof *p->threads);
  p->dns = calloc (NET_DNS_SLOTS, sizeof *p->dns);
  if (p->threads == NULL || p->dns == NULL)
    return moat_error (err, ENOMEM, "workers");
  for (; p->n_threads < n; p->n_threads++)
    {
      int r = pthread_create (&p->threads[p->n_threads], NULL, worker_main, p);
      if (r != 0)
        {
          net_pool_stop (p);
          return moat_error (err, r, "start decision worker");
        }
    }
  return 0;
}

void
net_pool_stop (struct net_pool *p)
{
  pthread_mutex_lock (&p->lock);
  p->stopping = true;
  pthread_cond_broadcast (&p->cond);
  pthread_mutex_unlock (&p->lock);
  for (unsigned i = 0; i < p->n_threads; i++)
    pthread_join (p->threads[i], NULL);
  p->n_threads = 0;
  free (p->threads);
  p->threads = NULL;
  /* Jobs left are freed by their owner (the loop's connections). */
  pthread_mutex_lock (&p->lock);
  snapshot_unref (p->snap);
  p->snap = NULL;
  pthread_mutex_unlock (&p->lock);
  if (p->done_fd >= 0)
    close (p->done_fd);
  p->done_fd = -1;
  free (p->dns);
  p->dns = NULL;
}

void
net_pool_submit (struct net_pool *p, struct net_job *j)
{
  struct net_job *h;
  j->next = j->rnext = j->qtail = NULL;
  pthread_mutex_lock (&p->lock);
  /* A scan of the sources waiting (few: one per busy container). */
  for (h = p->rhead; h != NULL; h = h->rnext)
    if (same_addr (&h->src, &j->src))
      break;
  if (h != NULL)
    {
      h->qtail->next = j;
      h->qtail = j;
    }
  else
    {
      j->qtail = j;
      ring_append (p, j);
    }
  p->queued++;
  pthread_cond_signal (&p->cond);
  pthread_mutex_unlock (&p->lock);
}

struct net_job *
net_pool_take_done (struct net_pool *p)
{
  struct net_job *d;
  pthread_mutex_lock (&p->lock);
  d = p->done;
  p->done = NULL;
  pthread_mutex_unlock (&p->lock);
  return d;
}

void
net_pool_set_snapshot (struct net_pool *p, struct net_snapshot *s)
{
  pthread_mutex_lock (&p->lock);
  s->refs = 1;
  snapshot_unref (p->snap);
  p->snap = s;
  pthread_mutex_unlock (&p->lock);
  net_pool_bump (p);
}

void
net_pool_bump (struct net_pool *p)
{
  uint64_t one = 1;
  pthread_mutex_lock (&p->lock);
  p->gen++;
  pthread_mutex_unlock (&p->lock);
  /* The loop decides its open connections again. */
  if (p->done_fd >= 0 && write (p->done_fd, &one, sizeof one) < 0
      && errno != EAGAIN)
    log_warn ("net guard: wake loop: %s", strerror (errno));
}

uint64_t
net_pool_gen (struct net_pool *p)
{
  uint64_t g;
  pthread_mutex_lock (&p->lock);
  g = p->gen;
  pthread_mutex_unlock (&p->lock);
  return g;
}
