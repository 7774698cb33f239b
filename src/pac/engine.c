/* The PAC engine: see engine.h.  The PAC runs in moat-sandbox; this side
 * answers its host callbacks (DNS with a cache and a per-evaluation limit,
 * the container's address, alert) and keeps the decision cache. */
#include "pac/engine.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/log.h"
#include "pac/fetch.h"
#include "pac/helpers.h"
#include "sandbox/client.h"
#include "sandbox/sandbox.h"

#define NAME_MAX_LEN 253
#define DNS_SLOTS 256
#define DNS_ANSWER_MAX 512
#define PROBE 8

struct dns_entry
{
  char name[NAME_MAX_LEN + 1];
  int family;
  int rc; /* 0 resolved, 1 not */
  char answer[DNS_ANSWER_MAX];
  int64_t expires;
};

struct decision
{
  uint64_t hash;
  char *key;
  int64_t expires;
  struct proxy_list list;
};

/* One sandbox of the pool, with the state of the evaluation it runs. */
struct pac_slot
{
  struct pac_engine *e;
  struct sandbox_client *sb;
  bool busy;              /* under the engine's lock: a thread owns sb */
  unsigned long restarts; /* sb's count, copied under the lock */
  /* Per evaluation (only the owning thread touches them). */
  const char *seed_host, *seed_ip, *my_ip;
  unsigned lookups;
};

struct pac_engine
{
  struct pac_engine_opts opts;
  /* Guards everything but the slots' sandboxes (owned by the thread that
   * marked the slot busy), the DNS table and the decision cache.  Never
   * held across an evaluation. */
  pthread_mutex_t lock;
  pthread_cond_t slot_free; /* a slot became free */
  struct pac_slot *slots;
  unsigned n_slots;
  bool loaded;
  char why[512]; /* why not loaded */
  /* Bumped by pac_engine_begin: a load that started under an older
   * ticket is stale and discarded (a newer policy named another PAC). */
  uint64_t ticket;
  uint64_t unload_ticket; /* the ticket of the last begin() that unloaded */
  bool loading;           /* a load owns every slot */
  uint64_t turn_next, turn_serving; /* FIFO order of slot_take callers */
  /* Bumped whenever the PAC goes or changes: a decision evaluated under
   * an older generation is not cached. */
  uint64_t gen;
  /* The latest evaluation's outcome (pac_engine_health). */
  struct pac_engine_health health;
  pthread_mutex_t dns_lock; /* the table and the DNS counters */
  struct dns_entry *dns;
  unsigned long dns_lookups, dns_limited;
  /* The decision cache has a lock of its own, never held across an
   * evaluation, so that pac_engine_decide_cached answers at once while
   * workers wait on the sandboxes. */
  pthread_mutex_t cache_lock;
  struct decision *cache;
  size_t cache_n;           /* power of two */
  unsigned long cache_hits; /* under cache_lock */
  struct pac_engine_stats stats;
};

static uint64_t
fnv1a (const char *s)
{
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static bool
ipv4_literal_p (const char *s)
{
  struct in_addr a;
  return inet_pton (AF_INET, s, &a) == 1;
}

static bool
ip_literal_p (const char *s)
{
  struct in6_addr a;
  return ipv4_literal_p (s) || inet_pton (AF_INET6, s, &a) == 1;
}

/* ---- default resolver ---- */

int
pac_resolve_default (void *ud, const char *name, int family, char *out,
                     size_t outlen)
{
  unsigned cap_ms = ud ? *(const unsigned *)ud : 2000;
  struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM };
  /* Heap-allocated: if the lookup cannot be cancelled after the timeout,
   * glibc's resolver thread still owns the request, so it is leaked rather
   * than freed under it. */
  struct gaicb *req = calloc (1, sizeof *req);
  char *nm = strdup (name);
  struct addrinfo *hp = malloc (sizeof *hp);
  if (req == NULL || nm == NULL || hp == NULL)
    {
      free (req);
      free (nm);
      free (hp);
      return -1;
    }
  *hp = hints;
  req->ar_name = nm;
  req->ar_request = hp;
  struct gaicb *list[1] = { req };
  if (getaddrinfo_a (GAI_NOWAIT, list, 1, NULL) != 0)
    {
      free (req);
      free (nm);
      free (hp);
      return -1;
    }
  struct timespec ts = { cap_ms / 1000, (long)(cap_ms % 1000) * 1000000L };
  while (gai_suspend ((const struct gaicb *const *)list, 1, &ts) == EAI_INTR)
    ;
  int rc = gai_error (req);
  if (rc == EAI_INPROGRESS && gai_cancel (req) != EAI_CANCELED)
    return -1; /* leaked on purpose, see above */
  if (rc != 0)
    {
      if (req->ar_result)
        freeaddrinfo (req->ar_result);
      free (req);
      free (nm);
      free (hp);
      return rc == EAI_INPROGRESS ? -1 : 1;
    }
  size_t used = 0;
  out[0] = 0;
  for (struct addrinfo *ai = req->ar_result; ai; ai = ai->ai_next)
    {
      char buf[INET6_ADDRSTRLEN];
      const void *a
          = ai->ai_family == AF_INET
                ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr
                : (const void *)&((struct sockaddr_in6 *)ai->ai_addr)
                      ->sin6_addr;
      if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
          || inet_ntop (ai->ai_family, a, buf, sizeof buf) == NULL)
        continue;
      if (family == AF_INET)
        {
          snprintf (out, outlen, "%s", buf);
          used = 1;
          break;
        }
      if (strstr (out, buf)) /* one entry per address */
        continue;
      size_t bl = strlen (buf);
      if (used + bl + 2 > outlen)
        break;
      if (used)
        out[used++] = ';';
      memcpy (out + used, buf, bl + 1);
      used += bl;
    }
  freeaddrinfo (req->ar_result);
  free (req);
  free (nm);
  free (hp);
  return used ? 0 : 1;
}

/* ---- DNS answers for the PAC ---- */

/* The lookup itself runs without the DNS lock, so that one slow name
 * does not hold the other sandboxes' answers. */
static int
resolve_cached (struct pac_slot *sl, const char *name, int family, char *out,
                size_t outlen)
{
  struct pac_engine *e = sl->e;
  char key[NAME_MAX_LEN + 8];
  snprintf (key, sizeof key, "%d/%s", family, name);
  struct dns_entry *d = &e->dns[fnv1a (key) % DNS_SLOTS];
  int64_t now = moat_mono_ms ();
  pthread_mutex_lock (&e->dns_lock);
  if (d->expires > now && d->family == family
      && strcasecmp (d->name, name) == 0)
    {
      snprintf (out, outlen, "%s", d->answer);
      int rc = d->rc;
      pthread_mutex_unlock (&e->dns_lock);
      return rc;
    }
  /* What it prevents: a PAC that resolves thousands of names per decision
   * (a DNS amplifier, or a way to stall every connection). */
  if (sl->lookups >= e->opts.max_lookups)
    {
      e->dns_limited++;
      pthread_mutex_unlock (&e->dns_lock);
      return 1;
    }
  sl->lookups++;
  e->dns_lookups++;
  pthread_mutex_unlock (&e->dns_lock);
  pac_resolve_fn fn = e->opts.resolve ? e->opts.resolve : pac_resolve_default;
  void *ud = e->opts.resolve ? e->opts.resolve_ud : &e->opts.timeout_ms;
  int rc = fn (ud, name, family, out, outlen);
  if (rc < 0)
    rc = 1;
  pthread_mutex_lock (&e->dns_lock);
  snprintf (d->name, sizeof d->name, "%s", name);
  d->family = family;
  d->rc = rc;
  snprintf (d->answer, sizeof d->answer, "%s", rc == 0 ? out : "");
  d->expires = now + e->opts.dns_ttl_ms;
  pthread_mutex_unlock (&e->dns_lock);
  return rc;
}

static char *
json_str_or_null (const char *s)
{
  json_t *j = s ? json_string (s) : json_null ();
  if (j == NULL)
    j = json_null (); /* not UTF-8: cannot come from us, treat as null */
  char *r = json_dumps (j, JSON_ENCODE_ANY);
  json_decref (j);
  return r;
}

static int
host_callback (void *ud, const char *name, const char *args_json,
               char **result, moat_error_t *err)
{
  struct pac_slot *sl = ud;
  json_error_t jerr;
  json_t *args = json_loads (args_json, 0, &jerr);
  const char *arg0 = NULL;
  char answer[DNS_ANSWER_MAX];
  int rc = 0;

  if (args == NULL || !json_is_array (args))
    {
      json_decref (args);
      return moat_error (err, EINVAL, "bad host call arguments");
    }
  if (json_array_size (args) > 0 && json_is_string (json_array_get (args, 0)))
    arg0 = json_string_value (json_array_get (args, 0));

  if (strcmp (name, "dnsResolve") == 0 || strcmp (name, "dnsResolveEx") == 0)
    {
      int family = name[10] == 'E' ? AF_UNSPEC : AF_INET;
      const char *ans = NULL;
      if (arg0 == NULL || strlen (arg0) > NAME_MAX_LEN || arg0[0] == 0)
        ans = NULL;
      else if (family == AF_INET ? ipv4_literal_p (arg0) : ip_literal_p (arg0))
        ans = arg0;
      else if (sl->seed_host && sl->seed_ip
               && strcasecmp (arg0, sl->seed_host) == 0
               && (family == AF_UNSPEC || ipv4_literal_p (sl->seed_ip)))
        ans = sl->seed_ip;
      else if (resolve_cached (sl, arg0, family, answer, sizeof answer) == 0)
        ans = answer;
      if (family == AF_UNSPEC && ans == NULL)
        ans = "";
      *result = json_str_or_null (ans);
    }
  else if (strcmp (name, "myIpAddress") == 0)
    *result = json_str_or_null (
        sl->my_ip && ipv4_literal_p (sl->my_ip) ? sl->my_ip : "127.0.0.1");
  else if (strcmp (name, "myIpAddressEx") == 0)
    *result = json_str_or_null (sl->my_ip ? sl->my_ip : "");
  else if (strcmp (name, "alert") == 0)
    {
      log_info ("PAC alert: %.200s", arg0 ? arg0 : "");
      *result = json_str_or_null (NULL);
    }
  else
    rc = moat_error (err, ENOENT, "no host function `%.64s`", name);
  json_decref (args);
  if (rc == 0 && *result == NULL)
    return moat_error (err, ENOMEM, "host call answer");
  return rc;
}

/* ---- decision cache ---- */

static struct decision *
cache_find (struct pac_engine *e, const char *key, uint64_t h, bool for_insert)
{
  if (e->cache == NULL)
    return NULL;
  int64_t now = moat_mono_ms ();
  struct decision *victim = NULL;
  for (size_t i = 0; i < PROBE; i++)
    {
      struct decision *d = &e->cache[(h + i) & (e->cache_n - 1)];
      if (d->key && d->hash == h && strcmp (d->key, key) == 0)
        return (for_insert || d->expires > now) ? d : NULL;
      if (!for_insert)
        continue;
      if (victim == NULL || d->key == NULL || d->expires < victim->expires)
        victim = d;
    }
  return victim;
}

static void
cache_clear (struct pac_engine *e)
{
  if (e->cache == NULL)
    return;
  pthread_mutex_lock (&e->cache_lock);
  for (size_t i = 0; i < e->cache_n; i++)
    {
      free (e->cache[i].key);
      e->cache[i].key = NULL;
    }
  pthread_mutex_unlock (&e->cache_lock);
}

/* The cache key of a decision: the container's address is part of it,
 * since myIpAddress() may make the decision differ between containers.
 * Returns the host decided on, or NULL when there is none usable. */
static const char *
decision_key (const char *host, uint16_t port, const char *dest_ip,
              const char *my_ip, char *key, size_t len)
{
  const char *h = host && *host ? host : dest_ip;
  if (h == NULL || strlen (h) > NAME_MAX_LEN)
    return NULL;
  snprintf (key, len, "%s|%u|%s", h, (unsigned)port, my_ip ? my_ip : "");
  return h;
}

/* A cached, unexpired decision into *out; false when there is none. */
static bool
cache_get (struct pac_engine *e, const char *key, uint64_t hash,
           struct proxy_list *out)
{
  bool hit = false;
  pthread_mutex_lock (&e->cache_lock);
  struct decision *d = cache_find (e, key, hash, false);
  if (d)
    {
      *out = d->list;
      e->cache_hits++;
      hit = true;
    }
  pthread_mutex_unlock (&e->cache_lock);
  return hit;
}

/* ---- API ---- */

unsigned
pac_engine_default_sandboxes (void)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN);
  if (n < PAC_POOL_MIN)
    n = PAC_POOL_MIN;
  if (n > PAC_POOL_MAX)
    n = PAC_POOL_MAX;
  return (unsigned)n;
}

int
pac_engine_new (const struct pac_engine_opts *opts, struct pac_engine **out,
                moat_error_t *err)
{
  struct pac_engine *e = calloc (1, sizeof *e);
  if (e == NULL)
    return moat_error (err, ENOMEM, "pac engine");
  e->opts = *opts;
  if (!e->opts.timeout_ms)
    e->opts.timeout_ms = 200;
  if (!e->opts.load_timeout_ms)
    e->opts.load_timeout_ms = 1000;
  if (!e->opts.max_lookups)
    e->opts.max_lookups = 8;
  if (!e->opts.dns_ttl_ms)
    e->opts.dns_ttl_ms = 30000;
  if (!e->opts.cache_max)
    e->opts.cache_max = 4096;
  if (!e->opts.sandboxes)
    e->opts.sandboxes = 1;
  if (e->opts.sandboxes > PAC_POOL_MAX)
    e->opts.sandboxes = PAC_POOL_MAX;
  pthread_mutex_init (&e->lock, NULL);
  pthread_cond_init (&e->slot_free, NULL);
  pthread_mutex_init (&e->dns_lock, NULL);
  pthread_mutex_init (&e->cache_lock, NULL);
  e->dns = calloc (DNS_SLOTS, sizeof *e->dns);
  e->slots = calloc (e->opts.sandboxes, sizeof *e->slots);
  if (e->dns == NULL || e->slots == NULL)
    goto nomem;
  if (e->opts.cache_ttl_ms)
    {
      e->cache_n = 16;
      while (e->cache_n < e->opts.cache_max)
        e->cache_n <<= 1;
      e->cache = calloc (e->cache_n, sizeof *e->cache);
      if (e->cache == NULL)
        goto nomem;
    }
  for (; e->n_slots < e->opts.sandboxes; e->n_slots++)
    {
      struct pac_slot *sl = &e->slots[e->n_slots];
      /* The first sandbox starts now (a missing or broken moat-sandbox
       * fails here); the others at the first PAC load, which starts every
       * sandbox afresh anyway. */
      struct sandbox_client_opts so = { .exe = opts->sandbox_exe,
                                        .host = host_callback,
                                        .host_ud = sl,
                                        .cpu_seconds = SANDBOX_DEFAULT_CPU,
                                        .lazy = e->n_slots > 0 };
      sl->e = e;
      if (sandbox_client_new (&so, &sl->sb, err) < 0
          || (e->n_slots == 0
              && sandbox_client_load (sl->sb, "pac-helpers.js", pac_helpers_js,
                                      pac_helpers_js_len, 5000, err)
                     < 0))
        {
          e->n_slots++; /* freed with the rest */
          pac_engine_free (e);
          return moat_error_wrap (err, "start the PAC sandbox");
        }
    }
  *out = e;
  return 0;
nomem:
  pac_engine_free (e);
  return moat_error (err, ENOMEM, "pac engine");
}

void
pac_engine_free (struct pac_engine *e)
{
  if (e == NULL)
    return;
  for (unsigned i = 0; i < e->n_slots; i++)
    sandbox_client_free (e->slots[i].sb);
  free (e->slots);
  cache_clear (e);
  free (e->cache);
  free (e->dns);
  pthread_mutex_destroy (&e->lock);
  pthread_cond_destroy (&e->slot_free);
  pthread_mutex_destroy (&e->dns_lock);
  pthread_mutex_destroy (&e->cache_lock);
  free (e);
}

/* A free slot, or NULL; lock held. */
static struct pac_slot *
free_slot (struct pac_engine *e)
{
  for (unsigned i = 0; i < e->n_slots; i++)
    if (!e->slots[i].busy)
      return &e->slots[i];
  return NULL;
}

/* Give a slot back; lock held. */
static void
slot_release (struct pac_engine *e, struct pac_slot *sl)
{
  sl->restarts = sandbox_client_restarts (sl->sb);
  sl->busy = false;
  pthread_cond_broadcast (&e->slot_free);
}

/* Reset one sandbox and load the helpers and src into it (its owner). */
static int
slot_load (struct pac_engine *e, struct pac_slot *sl, const char *src,
           size_t len, moat_error_t *err)
{
  /* A fresh sandbox with only the helpers: nothing of the previous PAC
   * (globals, functions) survives into the new one. */
  int r = sandbox_client_reset (sl->sb, err);
  if (r == 0)
    r = sandbox_client_load (sl->sb, "pac-helpers.js", pac_helpers_js,
                             pac_helpers_js_len, 5000, err);
  if (r == 0)
    {
      sl->seed_host = sl->seed_ip = sl->my_ip = NULL;
      sl->lookups = 0;
      r = sandbox_client_load (sl->sb, "proxy.pac", src, len,
                               e->opts.load_timeout_ms, err);
      if (r < 0)
        moat_error_wrap (err, "load PAC");
    }
  return r;
}

/* Load src into every sandbox when ticket is current (any ticket when
 * use_ticket is false); returns 1 without touching the engine for a stale
 * one.  Decisions wait while the sandboxes load (as they would for one
 * sandbox), so a refresh of the same PAC refuses nothing. */
static int
load_ticket (struct pac_engine *e, const char *src, size_t len,
             bool use_ticket, uint64_t ticket, moat_error_t *err)
{
  int r = 0;
  pthread_mutex_lock (&e->lock);
  while (e->loading)
    pthread_cond_wait (&e->slot_free, &e->lock);
  if (use_ticket && ticket != e->ticket)
    {
      pthread_mutex_unlock (&e->lock);
      return 1;
    }
  e->loading = true;
  uint64_t mine = e->ticket;
  for (unsigned i = 0; i < e->n_slots; i++)
    {
      while (e->slots[i].busy)
        pthread_cond_wait (&e->slot_free, &e->lock);
      e->slots[i].busy = true;
    }
  cache_clear (e);
  e->gen++;
  pthread_mutex_unlock (&e->lock);

  for (unsigned i = 0; i < e->n_slots && r == 0; i++)
    r = slot_load (e, &e->slots[i], src, len, err);

  pthread_mutex_lock (&e->lock);
  for (unsigned i = 0; i < e->n_slots; i++)
    slot_release (e, &e->slots[i]);
  e->loading = false;
  e->gen++;
  if (use_ticket && e->unload_ticket > mine)
    {
      /* A newer policy named another PAC while this one loaded: it stays
       * unloaded (begin set the reason) until that one arrives. */
      pthread_mutex_unlock (&e->lock);
      return 1;
    }
  e->loaded = r == 0;
  snprintf (e->why, sizeof e->why, "%s", r == 0 ? "" : moat_error_msg (err));
  memset (&e->health.last_error, 0, sizeof e->health.last_error);
  e->health.consecutive_failures = 0;
  e->health.last_kind = PAC_OK;
  pthread_mutex_unlock (&e->lock);
  return r;
}

int
pac_engine_load (struct pac_engine *e, const char *src, size_t len,
                 moat_error_t *err)
{
  return load_ticket (e, src, len, false, 0, err);
}

uint64_t
pac_engine_begin (struct pac_engine *e, const char *why)
{
  uint64_t t;
  pthread_mutex_lock (&e->lock);
  t = ++e->ticket;
  if (why != NULL)
    {
      cache_clear (e);
      e->gen++;
      e->loaded = false;
      e->unload_ticket = t;
      snprintf (e->why, sizeof e->why, "%s", why);
    }
  pthread_mutex_unlock (&e->lock);
  return t;
}

int
pac_engine_load_url_ticket (struct pac_engine *e, const char *url,
                            unsigned timeout_ms, uint64_t ticket,
                            const atomic_bool *cancel, moat_error_t *err)
{
  cleanup_free char *src = NULL;
  size_t len;
  if (pac_fetch_cancel (url, timeout_ms, cancel, &src, &len, err) < 0)
    {
      pthread_mutex_lock (&e->lock);
      if (ticket != e->ticket)
        {
          pthread_mutex_unlock (&e->lock);
          return 1;
        }
      cache_clear (e);
      e->gen++;
      e->loaded = false;
      snprintf (e->why, sizeof e->why, "%s", moat_error_msg (err));
      pthread_mutex_unlock (&e->lock);
      return -1;
    }
  return load_ticket (e, src, len, true, ticket, err);
}

int
pac_engine_load_url (struct pac_engine *e, const char *url,
                     unsigned timeout_ms, moat_error_t *err)
{
  uint64_t t = pac_engine_begin (e, NULL);
  return pac_engine_load_url_ticket (e, url, timeout_ms, t, NULL, err) < 0 ? -1
                                                                           : 0;
}

bool
pac_engine_ready (struct pac_engine *e, char *why, size_t len)
{
  pthread_mutex_lock (&e->lock);
  bool ok = e->loaded;
  if (!ok && why && len)
    snprintf (why, len, "%s", e->why[0] ? e->why : "no PAC loaded");
  pthread_mutex_unlock (&e->lock);
  return ok;
}

void
pac_engine_health (struct pac_engine *e, struct pac_engine_health *out)
{
  pthread_mutex_lock (&e->lock);
  *out = e->health;
  out->loaded = e->loaded;
  if (!e->loaded)
    snprintf (out->why, sizeof out->why, "%s",
              e->why[0] ? e->why : "no PAC loaded");
  else
    out->why[0] = '\0';
  pthread_mutex_unlock (&e->lock);
}

/* Take a slot for an evaluation: waits while every sandbox is busy or the
 * PAC is being (re)loaded.  NULL with *err when there is no PAC; lock
 * held. */
static struct pac_slot *
slot_take (struct pac_engine *e, moat_error_t *err)
{
  struct pac_slot *sl = NULL;
  /* First come, first served: a thread that just gave a sandbox back
   * cannot take it again ahead of those already waiting (the net guard's
   * round-robin order across containers is kept up to the sandboxes). */
  uint64_t turn = e->turn_next++;
  while (e->loading || turn != e->turn_serving || (sl = free_slot (e)) == NULL)
    pthread_cond_wait (&e->slot_free, &e->lock);
  e->turn_serving++;
  pthread_cond_broadcast (&e->slot_free); /* the next turn may go too */
  if (!e->loaded)
    {
      /* Status ENOENT without its strerror text in the message. */
      moat_error (err, 0, "no PAC loaded (%s)",
                  e->why[0] ? e->why : "none yet");
      if (err != NULL && *err != NULL)
        (*err)->status = ENOENT;
      return NULL;
    }
  sl->busy = true;
  return sl;
}

/* Record how an evaluation ended; lock held. */
static void
note_outcome (struct pac_engine *e, int r, const moat_error_t *err)
{
  if (r == 0)
    {
      e->health.consecutive_failures = 0;
      e->health.last_kind = PAC_OK;
      e->health.successes++;
      return;
    }
  e->stats.failures++;
  e->health.failures++;
  e->health.consecutive_failures++;
  e->health.last_kind
      = moat_error_status (err) == ETIMEDOUT ? PAC_TIMEOUT : PAC_FAILED;
  snprintf (e->health.last_error, sizeof e->health.last_error, "%s",
            moat_error_msg (err));
}

/* Call __moat_pac_find in sl (owned by the caller, no lock held). */
static int
eval_slot (struct pac_engine *e, struct pac_slot *sl, const char *url,
           const char *host, const char *seed_ip, const char *my_ip,
           char **result, moat_error_t *err)
{
  json_t *args = json_pack ("[ss]", url, host);
  if (args == NULL)
    return moat_error (err, EINVAL, "URL or host is not valid UTF-8");
  cleanup_free char *aj = json_dumps (args, JSON_COMPACT);
  json_decref (args);
  if (aj == NULL)
    return moat_error (err, ENOMEM, "encode arguments");
  sl->seed_host = host;
  sl->seed_ip = seed_ip;
  sl->my_ip = my_ip;
  sl->lookups = 0;
  cleanup_free char *rj = NULL;
  int r = sandbox_client_call (sl->sb, "__moat_pac_find", aj,
                               e->opts.timeout_ms, &rj, err);
  sl->seed_host = sl->seed_ip = sl->my_ip = NULL;
  if (r < 0)
    return moat_error_wrap (err, "FindProxyForURL");
  json_error_t jerr;
  json_t *j = json_loads (rj, JSON_DECODE_ANY, &jerr);
  if (j == NULL || !json_is_string (j))
    {
      json_decref (j);
      return moat_error (err, EPROTO, "FindProxyForURL: bad result");
    }
  *result = strdup (json_string_value (j));
  json_decref (j);
  if (*result == NULL)
    return moat_error (err, ENOMEM, "result");
  return 0;
}

int
pac_engine_eval (struct pac_engine *e, const char *url, const char *host,
                 const char *my_ip, char **result, moat_error_t *err)
{
  int r = -1;
  pthread_mutex_lock (&e->lock);
  struct pac_slot *sl = slot_take (e, err);
  if (sl != NULL)
    {
      e->stats.evaluations++;
      pthread_mutex_unlock (&e->lock);
      r = eval_slot (e, sl, url, host, NULL, my_ip, result, err);
      pthread_mutex_lock (&e->lock);
      slot_release (e, sl);
    }
  note_outcome (e, r, err);
  pthread_mutex_unlock (&e->lock);
  return r;
}

int
pac_engine_decide (struct pac_engine *e, const char *host, uint16_t port,
                   const char *dest_ip, const char *my_ip,
                   struct proxy_list *out, bool *cached, moat_error_t *err)
{
  char url[NAME_MAX_LEN + 32], key[2 * NAME_MAX_LEN + 80];
  const char *h = decision_key (host, port, dest_ip, my_ip, key, sizeof key);
  cleanup_free char *res = NULL;
  int r = -1;

  if (cached)
    *cached = false;
  if (h == NULL)
    return moat_error (err, EINVAL, "no usable host to decide on");
  bool v6 = strchr (h, ':') != NULL;
  snprintf (url, sizeof url, "%s://%s%s%s:%u", port == 443 ? "https" : "http",
            v6 ? "[" : "", h, v6 ? "]" : "", (unsigned)port);
  uint64_t hash = fnv1a (key);

  if (cache_get (e, key, hash, out))
    {
      if (cached)
        *cached = true;
      return 0;
    }
  pthread_mutex_lock (&e->lock);
  if (e->cache)
    e->stats.cache_misses++;
  struct pac_slot *sl = slot_take (e, err);
  if (sl == NULL)
    {
      note_outcome (e, -1, err);
      pthread_mutex_unlock (&e->lock);
      return -1;
    }
  uint64_t gen = e->gen;
  e->stats.evaluations++;
  pthread_mutex_unlock (&e->lock);

  r = eval_slot (e, sl, url, h, dest_ip, my_ip, &res, err);
  if (r == 0)
    r = pac_result_parse (res, out, err);

  pthread_mutex_lock (&e->lock);
  slot_release (e, sl);
  note_outcome (e, r, err);
  /* Cached only when no reload or unload happened meanwhile: a decision
   * of the old PAC must not outlive it. */
  if (r == 0 && gen == e->gen && e->cache != NULL)
    {
      pthread_mutex_lock (&e->cache_lock);
      struct decision *d = cache_find (e, key, hash, true);
      if (d)
        {
          char *k
              = d->key && strcmp (d->key, key) == 0 ? d->key : strdup (key);
          if (k)
            {
              if (k != d->key)
                free (d->key);
              d->key = k;
              d->hash = hash;
              d->list = *out;
              d->expires = moat_mono_ms () + e->opts.cache_ttl_ms;
            }
        }
      pthread_mutex_unlock (&e->cache_lock);
    }
  pthread_mutex_unlock (&e->lock);
  return r;
}

int
pac_engine_decide_cached (struct pac_engine *e, const char *host,
                          uint16_t port, const char *dest_ip,
                          const char *my_ip, struct proxy_list *out)
{
  char key[2 * NAME_MAX_LEN + 80];
  if (e->cache == NULL
      || decision_key (host, port, dest_ip, my_ip, key, sizeof key) == NULL)
    return 0;
  return cache_get (e, key, fnv1a (key), out) ? 1 : 0;
}

void
pac_engine_stats (struct pac_engine *e, struct pac_engine_stats *out)
{
  pthread_mutex_lock (&e->lock);
  *out = e->stats;
  out->sandbox_restarts = 0;
  for (unsigned i = 0; i < e->n_slots; i++)
    out->sandbox_restarts += e->slots[i].busy
                                 ? e->slots[i].restarts
                                 : sandbox_client_restarts (e->slots[i].sb);
  out->sandboxes = e->n_slots;
  pthread_mutex_unlock (&e->lock);
  pthread_mutex_lock (&e->dns_lock);
  out->dns_lookups = e->dns_lookups;
  out->dns_limited = e->dns_limited;
  pthread_mutex_unlock (&e->dns_lock);
  pthread_mutex_lock (&e->cache_lock);
  out->cache_hits = e->cache_hits;
  pthread_mutex_unlock (&e->cache_lock);
}
