/* The net guard role: moatd runs the transparent egress proxy on a thread
 * of its own, in the engine's network namespace (where the containers'
 * traffic and the interception rules are), hands it every policy change,
 * keeps the PAC loaded in moat-sandbox, and audits every connection. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "internal.h"
#include "net/guard.h"
#include "net/pac_hook.h"
#include "pac/engine.h"

#define NET_MAX_CIDRS 8
#define NET_MAX_DNS 4

/* The net role's part of struct moatd (opaque outside this file). */
struct net_role
{
  struct net_guard *net;
  struct pac_engine *pac;
  struct pac_loader *pac_loader; /* fetches off the main thread */
  pthread_t net_thread;
  bool net_running;
  int net_nsfd, host_nsfd;
  struct net_cidr net_cidrs[NET_MAX_CIDRS];
  size_t n_net_cidrs;
  struct net_addr net_dns[NET_MAX_DNS];
  size_t n_net_dns;
  int64_t pac_loaded_ms;
};

bool
moatd_net_running_p (const struct moatd *d)
{
  return d->netr != NULL && d->netr->net != NULL;
}

struct pac_engine *
moatd_net_pac (const struct moatd *d)
{
  return d->netr != NULL ? d->netr->pac : NULL;
}

static void
net_audit (void *ctx, const struct net_audit *rec)
{
  struct moatd *d = ctx;
  char endpoint[INET6_ADDRSTRLEN + 16], container[INET6_ADDRSTRLEN + 8];
  char detail[2048];
  struct audit_record r = {
    .component = "net",
    .caller_uid = -1,
    .caller_pid = -1,
    .endpoint = endpoint,
    .container = container,
    .rule = rec->rule,
    .outcome = rec->decision,
    .detail = detail,
  };
  snprintf (endpoint, sizeof endpoint, "%s:%u", rec->dst,
            (unsigned)rec->dst_port);
  snprintf (container, sizeof container, "%s", rec->src);
  snprintf (detail, sizeof detail,
            "host=%.255s (%s) via=%s up=%llu down=%llu duration_us=%llu%s%s",
            rec->hostname[0] ? rec->hostname : "-", rec->hostname_source,
            rec->via[0] ? rec->via : "-", (unsigned long long)rec->bytes_up,
            (unsigned long long)rec->bytes_down,
            (unsigned long long)rec->duration_us,
            rec->error[0] ? " error=" : "", rec->error);
  moatd_audit_post (d, &r);
}

/* Run fn in the engine's network namespace (a no-op without one).  setns
 * is per thread: the main thread steps in and back out around calls that
 * create sockets or load nft rules. */
static int
enter_netns (struct moatd *d, moat_error_t *err)
{
  if (d->netr->net_nsfd < 0)
    return 0;
  if (setns (d->netr->net_nsfd, CLONE_NEWNET) < 0)
    return moat_error (err, errno, "enter network namespace `%s`",
                       d->cfg.engine_netns);
  return 0;
}

static void
leave_netns (struct moatd *d)
{
  if (d->netr->net_nsfd >= 0 && setns (d->netr->host_nsfd, CLONE_NEWNET) < 0)
    log_error ("cannot return to moatd's own network namespace: %s",
               strerror (errno));
}

static void *
net_thread (void *arg)
{
  struct moatd *d = arg;
  moat_error_t err = NULL;
  /* The loop connects upstream: it must live in the engine's namespace,
   * where the containers' routes are.  Refuse to run anywhere else. */
  if (enter_netns (d, &err) < 0)
    {
      log_error ("net guard not started: %s", moat_error_msg (&err));
      moat_error_release (&err);
      return NULL;
    }
  if (net_guard_run (d->netr->net, &err) < 0)
    {
      log_error ("net guard stopped: %s", moat_error_msg (&err));
      moat_error_release (&err);
    }
  return NULL;
}

/* The engine's resolvers: what containers on the default bridge use. */
static size_t
read_resolvers (struct net_addr *out, size_t max)
{
  cleanup_file FILE *f = fopen ("/etc/resolv.conf", "re");
  char line[256];
  size_t n = 0;
  if (f == NULL)
    return 0;
  while (n < max && fgets (line, sizeof line, f) != NULL)
    {
      char addr[128];
      if (sscanf (line, " nameserver %127s", addr) == 1
          && net_addr_parse (addr, &out[n]) == 0)
        n++;
    }
  return n;
}

/* The PAC loader: a thread of its own fetches and loads the PAC, so that a
 * PAC server that stalls (up to the 10 s fetch timeout) never holds
 * moatd's main thread (control socket, policy reloads, audit).  The main
 * thread posts the URL to load; only the newest request counts.  Until a
 * new URL is loaded the engine has no PAC: connections are refused (fail
 * closed) and `moat status` says the PAC is being fetched. */
struct pac_loader
{
  pthread_mutex_t mu;
  pthread_cond_t cond;
  char *url;    /* the request waiting, or NULL */
  char *loaded; /* the URL of the last request taken (main thread reads) */
  uint64_t ticket;
  bool stop;
  atomic_bool cancel;      /* abort the fetch in progress (shutdown) */
  struct net_guard *guard; /* told when a load changed the PAC's answers */
  pthread_t thread;
  bool started;
};

static void
pac_audit (struct moatd *d, const char *url, const char *outcome,
           const char *detail)
{
  struct audit_record r = {
    .component = "net",
    .caller_uid = -1,
    .caller_pid = -1,
    .rule = "containersProxy.pac",
    .endpoint = url,
    .outcome = outcome,
    .detail = detail,
  };
  moatd_audit_post (d, &r);
}

static void *
pac_loader_thread (void *arg)
{
  struct moatd *d = arg;
  struct pac_loader *l = d->netr->pac_loader;

  pthread_mutex_lock (&l->mu);
  for (;;)
    {
      while (!l->stop && l->url == NULL)
        pthread_cond_wait (&l->cond, &l->mu);
      if (l->stop)
        break;
      cleanup_free char *url = l->url;
      uint64_t ticket = l->ticket;
      struct net_guard *guard = l->guard;
      moat_error_t err = NULL;
      l->url = NULL;
      pthread_mutex_unlock (&l->mu);

      int r = pac_engine_load_url_ticket (d->netr->pac, url, 10000, ticket,
                                          &l->cancel, &err);
      if (r < 0 && !atomic_load (&l->cancel))
        {
          log_error ("PAC `%s` cannot be used; container connections are "
                     "refused: %s",
                     url, moat_error_msg (&err));
          pac_audit (d, url, "rejected", moat_error_msg (&err));
        }
      else if (r == 0)
        pac_audit (d, url, "applied", "PAC loaded");
      /* r == 1: a newer request superseded this one; it reports itself. */
      /* The PAC's answers may have changed (a new script, or none): the
       * open connections are decided again (docs/net-guard.md, "Policy
       * changes and open connections").  The guard outlives this thread
       * (moatd_net_stop stops the loader first). */
      if (guard != NULL && r != 1 && !atomic_load (&l->cancel))
        net_guard_recheck (guard);
      moat_error_release (&err);
      pthread_mutex_lock (&l->mu);
    }
  pthread_mutex_unlock (&l->mu);
  return NULL;
}

static int
pac_loader_start (struct moatd *d, moat_error_t *err)
{
  struct pac_loader *l = calloc (1, sizeof *l);
  if (l == NULL)
    return moat_error (err, ENOMEM, "PAC loader");
  pthread_mutex_init (&l->mu, NULL);
  pthread_cond_init (&l->cond, NULL);
  atomic_init (&l->cancel, false);
  d->netr->pac_loader = l;
  /* Created from the main thread while it is in moatd's own network
   * namespace: the PAC server is reached from the host, as before. */
  if (pthread_create (&l->thread, NULL, pac_loader_thread, d) != 0)
    return moat_error (err, EAGAIN, "start the PAC loader thread");
  l->started = true;
  return 0;
}

static void
pac_loader_stop (struct moatd *d)
{
  struct pac_loader *l = d->netr->pac_loader;
  if (l == NULL)
    return;
  if (l->started)
    {
      pthread_mutex_lock (&l->mu);
      l->stop = true;
      atomic_store (&l->cancel, true);
      pthread_cond_signal (&l->cond);
      pthread_mutex_unlock (&l->mu);
      pthread_join (l->thread, NULL);
    }
  free (l->url);
  free (l->loaded);
  pthread_mutex_destroy (&l->mu);
  pthread_cond_destroy (&l->cond);
  free (l);
  d->netr->pac_loader = NULL;
}

/* (Re)load the PAC when the policy names one (main thread; never blocks on
 * the network).  A URL other than the one last requested unloads the
 * current PAC at once, so decisions never pair the new policy with the
 * old script; the same URL (a refresh, or another setting changed) keeps
 * the current PAC deciding until the fetch replaces it or fails. */
static void
load_pac (struct moatd *d)
{
  struct pac_loader *l = d->netr->pac_loader;
  const char *url = d->policy->proxy.pac;
  char why[600];

  if (d->netr->pac == NULL || l == NULL || url == NULL || url[0] == '\0')
    return;
  char *copy = strdup (url);
  if (copy == NULL)
    {
      /* Fail closed: no PAC rather than a stale one. */
      pac_engine_begin (d->netr->pac, "out of memory");
      return;
    }
  bool same = l->loaded != NULL && strcmp (l->loaded, url) == 0;
  snprintf (why, sizeof why, "fetching PAC `%s`", url);
  d->netr->pac_loaded_ms = moatd_now_ms ();
  pthread_mutex_lock (&l->mu);
  l->ticket = pac_engine_begin (d->netr->pac, same ? NULL : why);
  l->guard = d->netr->net;
  free (l->url);
  l->url = copy;
  free (l->loaded);
  l->loaded = strdup (url); /* NULL on ENOMEM: the next call unloads */
  pthread_cond_signal (&l->cond);
  pthread_mutex_unlock (&l->mu);
}

int
moatd_net_start (struct moatd *d, moat_error_t *err)
{
  struct net_guard_config cfg = { .install_rules = true };
  struct pac_engine_opts po = { 0 };
  size_t n = 0;

  if (d->netr == NULL && (d->netr = calloc (1, sizeof *d->netr)) == NULL)
    return moat_error (err, ENOMEM, "net guard role");
  d->netr->net_nsfd = d->netr->host_nsfd = -1;
  if (d->cfg.container_cidrs == NULL)
    {
      log_info ("net guard off: no container networks given "
                "(--container-cidrs)");
      return 0;
    }
  {
    cleanup_free char *list = strdup (d->cfg.container_cidrs);
    char *save = NULL;
    if (list == NULL)
      return moat_error (err, ENOMEM, "net guard");
    for (char *t = strtok_r (list, ",", &save); t != NULL;
         t = strtok_r (NULL, ",", &save))
      {
        if (n == NET_MAX_CIDRS)
          return moat_error (err, E2BIG, "more than %d container networks",
                             NET_MAX_CIDRS);
        if (net_cidr_parse (t, &d->netr->net_cidrs[n]) < 0)
          return moat_error (err, EINVAL, "container network `%s`", t);
        n++;
      }
  }
  d->netr->n_net_cidrs = n;
  d->netr->n_net_dns = read_resolvers (d->netr->net_dns, NET_MAX_DNS);

  if (d->cfg.engine_netns != NULL)
    {
      char path[PATH_MAX];
      snprintf (path, sizeof path, "/run/netns/%s", d->cfg.engine_netns);
      d->netr->host_nsfd
          = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
      d->netr->net_nsfd = open (path, O_RDONLY | O_CLOEXEC);
      if (d->netr->host_nsfd < 0 || d->netr->net_nsfd < 0)
        return moat_error (err, errno, "open network namespace `%s`", path);
    }

  po.sandbox_exe = d->cfg.sandbox_exe;
  po.timeout_ms = 300;
  po.cache_ttl_ms = 30000;
  /* A pool of sandboxes, and two workers more than sandboxes for the
   * decisions that wait on DNS only (docs/net-guard.md, "PAC pool"). */
  po.sandboxes = pac_engine_default_sandboxes ();
  cfg.workers = po.sandboxes + 2;
  if (pac_engine_new (&po, &d->netr->pac, err) < 0)
    return moat_error_wrap (err, "start the PAC engine");
  if (pac_loader_start (d, err) < 0)
    return -1;

  /* Extra CAs for https:// proxies: /etc/moat/proxy-ca.pem when present,
   * trusted only if root owns it and the path to it (else a non-root user
   * could make moat trust a proxy of theirs).  Checked through one
   * descriptor, which the guard then reads through /proc: the file checked
   * is the file loaded, whatever happens to the path in between. */
  cleanup_free char *ca = NULL;
  cleanup_close int ca_fd = -1;
  char ca_proc[64];
  if (asprintf (&ca, "%s/proxy-ca.pem", d->paths->etc_dir) < 0)
    {
      ca = NULL;
      return moat_error (err, ENOMEM, "net guard");
    }
  {
    moat_error_t cerr = NULL;
    ca_fd = fs_open_trusted (ca, d->paths->root, &cerr);
    if (ca_fd >= 0)
      {
        snprintf (ca_proc, sizeof ca_proc, "/proc/self/fd/%d", ca_fd);
        cfg.proxy_ca_file = ca_proc;
      }
    else if (moat_error_status (&cerr) != ENOENT)
      log_error ("proxy CA file ignored (https:// proxies are verified "
                 "against the system store only): %s",
                 moat_error_msg (&cerr));
    moat_error_release (&cerr);
  }
  /* The engine's interfaces: its default bridge and the `br-*` bridges of
   * user-defined networks, whatever their subnets (docs/net-guard.md). */
  static const char *const user_bridges[] = { "br-*" };
  cfg.listen_port = d->cfg.net_port;
  cfg.intercept.iface = d->cfg.engine_bridge ? d->cfg.engine_bridge : "moat0";
  cfg.intercept.ifaces = user_bridges;
  cfg.intercept.n_ifaces = 1;
  cfg.intercept.dns = d->netr->net_dns;
  cfg.intercept.n_dns = d->netr->n_net_dns;
  /* IP-literal exclusions are forwarded by nft, never redirected
   * (docs/net-guard.md, "Exclusions decided in nft"). */
  cfg.intercept.exclude_in_nft = true;
  /* The table names its stack: a second `moat up` in this namespace is
   * refused (src/stack/netns_owner.c). */
  cfg.intercept.owner = d->paths->root[0] != '\0' ? d->paths->root : "/";
  cfg.audit = net_audit;
  cfg.audit_ctx = d;
  cfg.decide = net_pac_decide;
  cfg.decide_cached = net_pac_decide_cached;
  cfg.decide_ctx = d->netr->pac;

  if (enter_netns (d, err) < 0)
    return -1;
  /* IPv6 TCP is intercepted like IPv4: listen on both families, or on
   * IPv4 alone where IPv6 is off (redirected IPv6 then meets a closed
   * port or no address: refused either way). */
  if (net_guard_new (&cfg, &d->netr->net, err) < 0)
    {
      log_warn ("net guard: no IPv6 listener (%s); IPv6 connections will "
                "be refused",
                moat_error_msg (err));
      moat_error_release (err);
      cfg.listen6 = "";
      if (net_guard_new (&cfg, &d->netr->net, err) < 0)
        {
          leave_netns (d);
          return moat_error_wrap (err, "start the net guard");
        }
    }
  leave_netns (d);
  if (moatd_net_policy (d, err) < 0)
    return -1;
  if (pthread_create (&d->netr->net_thread, NULL, net_thread, d) != 0)
    return moat_error (err, EAGAIN, "start the net guard thread");
  d->netr->net_running = true;
  log_info ("net guard listening on port %u%s%s",
            (unsigned)net_guard_port (d->netr->net),
            d->cfg.engine_netns ? " in network namespace " : "",
            d->cfg.engine_netns ? d->cfg.engine_netns : "");
  return 0;
}

/* Apply the current policy: PAC first (so decisions never see a new PAC
 * URL with the old script), then the rules.  A policy the net guard cannot
 * compile leaves the previous one in force. */
/* The host's proxy settings, for containersProxy.mode "system": the
 * environment moatd was started with (systemd's Environment= or the
 * shell's), upper case winning as curl does for HTTPS_PROXY. */
static const char *
env2 (const char *a, const char *b)
{
  const char *v = getenv (a);
  return v != NULL && v[0] != '\0' ? v : getenv (b);
}

int
moatd_net_policy (struct moatd *d, moat_error_t *err)
{
  struct net_system_proxy sys = {
    .http = env2 ("http_proxy", "HTTP_PROXY"),
    .https = env2 ("HTTPS_PROXY", "https_proxy"),
    .no_proxy = env2 ("NO_PROXY", "no_proxy"),
  };
  int ret;
  if (d->netr == NULL || d->netr->net == NULL)
    return 0;
  load_pac (d);
  if (enter_netns (d, err) < 0)
    return -1;
  ret = net_guard_set_policy (d->netr->net, d->policy, &sys, err);
  leave_netns (d);
  return ret;
}

/* Why the PAC is not usable, or NULL when it is (or there is none): not
 * loaded (the fetch or load failed), or its latest evaluations failed or
 * timed out (until one succeeds). */
const char *
moatd_net_pac_problem (struct moatd *d, char *buf, size_t len)
{
  struct pac_engine_health h;
  if (d->netr == NULL || d->netr->pac == NULL || d->policy->proxy.pac == NULL
      || d->policy->proxy.pac[0] == '\0')
    return NULL;
  pac_engine_health (d->netr->pac, &h);
  if (!h.loaded)
    snprintf (buf, len, "%s", h.why);
  else if (h.consecutive_failures > 0)
    snprintf (buf, len,
              "PAC evaluation %s (%lu in a row; connections not in exclude "
              "are refused): %s",
              h.last_kind == PAC_TIMEOUT ? "timed out" : "failed",
              h.consecutive_failures, h.last_error);
  else
    return NULL;
  return buf;
}

int
moatd_net_remove_rules (struct moatd *d, moat_error_t *err)
{
  int ret;
  if (d->netr == NULL || d->netr->net == NULL)
    return 0;
  if (enter_netns (d, err) < 0)
    return -1;
  ret = net_guard_remove_rules (d->netr->net, err);
  leave_netns (d);
  return ret;
}

void
moatd_net_stop (struct moatd *d)
{
  if (d->netr == NULL)
    return;
  /* First: the loader tells the guard about PAC loads. */
  pac_loader_stop (d);
  if (d->netr->net != NULL)
    {
      if (d->netr->net_running)
        {
          net_guard_stop (d->netr->net);
          pthread_join (d->netr->net_thread, NULL);
          d->netr->net_running = false;
        }
      net_guard_free (d->netr->net);
      d->netr->net = NULL;
    }
  pac_engine_free (d->netr->pac);
  d->netr->pac = NULL;
  if (d->netr->net_nsfd >= 0)
    close (d->netr->net_nsfd);
  if (d->netr->host_nsfd >= 0)
    close (d->netr->host_nsfd);
  free (d->netr);
  d->netr = NULL;
}

/* Re-fetch the PAC every PAC_REFRESH_MS (a PAC server's change is picked
 * up; a PAC that became unreachable makes connections fail closed). */
#define PAC_REFRESH_MS (5 * 60 * 1000)

void
moatd_pac_refresh (struct moatd *d)
{
  if (d->netr == NULL || d->netr->pac == NULL || d->policy->proxy.pac == NULL
      || d->policy->proxy.pac[0] == '\0')
    return;
  if (moatd_now_ms () - d->netr->pac_loaded_ms < PAC_REFRESH_MS)
    return;
  load_pac (d);
}
