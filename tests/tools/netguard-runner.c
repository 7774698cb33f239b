/* netguard-runner: drives the net guard library outside moatd, for the
 * integration test and the benchmark.  Builds a policy by hand from its
 * options, installs the interception rules in the current network
 * namespace, and runs the guard until SIGTERM/SIGINT.  Audit records go
 * to --audit FILE as JSON lines.
 *
 *   netguard-runner --port 15001 --iface h0 --src 10.77.0.0/24
 *     --ports '*' [--http URL] [--https URL] [--exclude E]...
 *     [--host NAME=IP]... [--dns IP] [--no-rules] [--nft-exclude]
 *     [--audit FILE]
 *     [--pac URL --sandbox PATH [--pac-cache-ms N] [--pac-sandboxes N]]
 *
 * --host entries are the only names the guard can resolve (a private
 * resolver, so the test never depends on the machine's DNS). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/log.h"
#include "net/guard.h"
#include "net/pac_hook.h"
#include "pac/engine.h"

static struct net_guard *the_guard;

static void
on_signal (int sig)
{
  (void)sig;
  if (the_guard)
    net_guard_stop (the_guard);
}

struct hostmap
{
  char *name[64];
  struct net_addr addr[64];
  size_t n;
};

static int
map_resolve (void *ctx, const char *name, struct net_addr *out, size_t max,
             moat_error_t *err)
{
  struct hostmap *m = ctx;
  size_t n = 0;
  for (size_t i = 0; i < m->n && n < max; i++)
    if (strcmp (m->name[i], name) == 0)
      out[n++] = m->addr[i];
  if (n == 0)
    return moat_error (err, 0, "resolve `%s`: unknown host", name);
  return (int)n;
}

/* --route "PROXY h:p; SOCKS5 h:p; DIRECT": a fixed route for every
 * connection the static rules do not refuse, through the decide hook (the
 * way moatd wires PAC), to exercise failover.  A test-only parser: the
 * real one is pac_result_parse. */
static struct proxy_list fixed_route;

static int
parse_route (char *s)
{
  char *save = NULL;
  for (char *t = strtok_r (s, ";", &save); t; t = strtok_r (NULL, ";", &save))
    {
      struct proxy_hop *h = &fixed_route.hops[fixed_route.n];
      char kind[16], host[256];
      unsigned port;
      if (fixed_route.n == PROXY_LIST_MAX)
        return -1;
      while (*t == ' ')
        t++;
      if (strncmp (t, "DIRECT", 6) == 0)
        h->kind = PROXY_DIRECT;
      else if (sscanf (t, "%15s %255[^:]:%u", kind, host, &port) == 3)
        {
          h->kind = strcmp (kind, "SOCKS5") == 0   ? PROXY_SOCKS5
                    : strcmp (kind, "SOCKS4") == 0 ? PROXY_SOCKS4
                    : strcmp (kind, "SOCKS") == 0  ? PROXY_SOCKS4
                    : strcmp (kind, "HTTPS") == 0  ? PROXY_HTTPS
                                                   : PROXY_HTTP;
          snprintf (h->host, sizeof h->host, "%s", host);
          h->port = (uint16_t)port;
        }
      else
        return -1;
      fixed_route.n++;
    }
  return 0;
}

static int
route_decide (void *ctx, const struct net_rules *rules,
              const struct net_query *q, struct net_decision *out,
              moat_error_t *err)
{
  net_decide_static (rules, q, out);
  if (net_decision_refuse_p (out) && out->route.n == 0
      && strncmp (out->rule, "no ", 3) != 0)
    return 0;
  out->route = fixed_route;
  snprintf (out->rule, sizeof out->rule, "fixed route");
  return 0;
}

static FILE *audit_file;

static void
audit_json (void *ctx, const struct net_audit *a)
{
  json_t *o = json_pack (
      "{s:s,s:i,s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "src", a->src,
      "src_port", a->src_port, "dst", a->dst, "dst_port", a->dst_port,
      "hostname", a->hostname, "hostname_source", a->hostname_source,
      "decision", a->decision, "via", a->via, "rule", a->rule, "error",
      a->error, "bytes_up", (json_int_t)a->bytes_up, "bytes_down",
      (json_int_t)a->bytes_down, "duration_us", (json_int_t)a->duration_us);
  if (o == NULL || audit_file == NULL)
    {
      json_decref (o);
      return;
    }
  char *s = json_dumps (o, JSON_COMPACT);
  if (s)
    {
      fprintf (audit_file, "%s\n", s);
      fflush (audit_file);
    }
  free (s);
  json_decref (o);
}

int
main (int argc, char **argv)
{
  static struct option opts[] = {
    { "port", required_argument, 0, 'p' },
    { "iface", required_argument, 0, 'i' },
    { "src", required_argument, 0, 's' },
    { "dns", required_argument, 0, 'd' },
    { "ports", required_argument, 0, 'P' },
    { "http", required_argument, 0, 'H' },
    { "https", required_argument, 0, 'S' },
    { "exclude", required_argument, 0, 'e' },
    { "host", required_argument, 0, 'm' },
    { "no-rules", no_argument, 0, 'n' },
    { "audit", required_argument, 0, 'a' },
    { "workers", required_argument, 0, 'w' },
    { "max-conns", required_argument, 0, 'M' },
    { "route", required_argument, 0, 'r' },
    { "max-per-src", required_argument, 0, 'x' },
    { "pac", required_argument, 0, 'A' },
    { "sandbox", required_argument, 0, 'B' },
    { "proxy-ca", required_argument, 0, 'C' },
    { "pac-cache-ms", required_argument, 0, 'T' },
    { "pac-sandboxes", required_argument, 0, 'N' },
    { "nft-exclude", no_argument, 0, 'X' },
    { 0, 0, 0, 0 },
  };
  struct net_guard_config cfg = { .install_rules = true };
  struct net_cidr src[8];
  struct net_addr dns[4];
  size_t n_src = 0, n_dns = 0;
  static struct hostmap map;
  char *exclude[64];
  struct policy pol;
  moat_error_t err = NULL;
  const char *sandbox = NULL;
  unsigned pac_cache_ms = 0, pac_sandboxes = pac_engine_default_sandboxes ();
  struct pac_engine *pac = NULL;
  int c;

  /* Six descriptors per relayed connection (two sockets, two pipes). */
  struct rlimit rl;
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
  memset (&pol, 0, sizeof pol);
  pol.proxy.mode = POLICY_PROXY_MANUAL;
  pol.proxy.http = pol.proxy.https = pol.proxy.pac = (char *)"";
  pol.proxy.exclude = exclude;
  pol.proxy.transparent_ports = (char *)"80,443";
  moat_log_init ("netguard-runner", MOAT_LOG_HUMAN, MOAT_LOG_INFO, 2);
  while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1)
    switch (c)
      {
      case 'p':
        cfg.listen_port = (uint16_t)atoi (optarg);
        break;
      case 'i':
        cfg.intercept.iface = optarg;
        break;
      case 's':
        if (n_src == 8 || net_cidr_parse (optarg, &src[n_src++]) < 0)
          {
            fprintf (stderr, "bad --src %s\n", optarg);
            return 2;
          }
        break;
      case 'd':
        if (n_dns == 4 || net_addr_parse (optarg, &dns[n_dns++]) < 0)
          {
            fprintf (stderr, "bad --dns %s\n", optarg);
            return 2;
          }
        break;
      case 'P':
        pol.proxy.transparent_ports = optarg;
        break;
      case 'H':
        pol.proxy.http = optarg;
        break;
      case 'S':
        pol.proxy.https = optarg;
        break;
      case 'e':
        if (pol.proxy.n_exclude < 64)
          exclude[pol.proxy.n_exclude++] = optarg;
        break;
      case 'm':
        {
          char *eq = strchr (optarg, '=');
          if (eq == NULL || map.n == 64)
            return 2;
          *eq = '\0';
          map.name[map.n] = optarg;
          if (net_addr_parse (eq + 1, &map.addr[map.n++]) < 0)
            return 2;
          break;
        }
      case 'n':
        cfg.install_rules = false;
        break;
      case 'X':
        /* IP-literal exclusions decided in nft, as moatd does */
        cfg.intercept.exclude_in_nft = true;
        break;
      case 'a':
        audit_file = fopen (optarg, "ae");
        if (audit_file == NULL)
          {
            perror (optarg);
            return 2;
          }
        break;
      case 'C':
        cfg.proxy_ca_file = optarg;
        break;
      case 'w':
        cfg.workers = (unsigned)atoi (optarg);
        break;
      case 'M':
        cfg.max_conns = (unsigned)atoi (optarg);
        break;
      case 'A':
        pol.proxy.pac = optarg;
        break;
      case 'B':
        sandbox = optarg;
        break;
      case 'T':
        pac_cache_ms = (unsigned)atoi (optarg);
        break;
      case 'N':
        pac_sandboxes = (unsigned)atoi (optarg);
        break;
      case 'x':
        cfg.max_conns_per_src = (unsigned)atoi (optarg);
        break;
      case 'r':
        if (parse_route (optarg) < 0)
          {
            fprintf (stderr, "bad --route\n");
            return 2;
          }
        cfg.decide = route_decide;
        break;
      default:
        return 2;
      }
  /* The policy library's parsers, as policy_build uses them. */
  if (policy_proxy_parse (&pol, &err) < 0)
    goto fail;
  (void)src; /* --src: interception matches --iface; kept for old scripts */
  cfg.intercept.dns = dns;
  cfg.intercept.n_dns = n_dns;
  cfg.audit = audit_json;
  cfg.resolve = map_resolve;
  cfg.resolve_ctx = &map;
  /* The hooks moatd sets: without a PAC they decide by the static rules,
   * in the loop, as in moatd. */
  if (cfg.decide == NULL)
    {
      cfg.decide = net_pac_decide;
      cfg.decide_cached = net_pac_decide_cached;
    }
  if (pol.proxy.pac[0] != '\0')
    {
      /* As moatd does: one engine with a pool of sandboxes and two more
       * workers than sandboxes, loaded from the URL; a failed fetch
       * leaves it empty and every connection is refused (fail closed). */
      struct pac_engine_opts o = { .sandbox_exe = sandbox,
                                   .cache_ttl_ms = pac_cache_ms,
                                   .sandboxes = pac_sandboxes };
      if (cfg.workers == 0)
        cfg.workers = (pac_sandboxes ? pac_sandboxes : 1) + 2;
      moat_error_t perr = NULL;
      if (sandbox == NULL)
        {
          fprintf (stderr, "--pac needs --sandbox PATH\n");
          return 2;
        }
      if (pac_engine_new (&o, &pac, &err) < 0)
        goto fail;
      if (pac_engine_load_url (pac, pol.proxy.pac, 5000, &perr) < 0)
        fprintf (stderr, "netguard-runner: %s\n", moat_error_msg (&perr));
      moat_error_release (&perr);
      cfg.decide_ctx = pac;
    }
  if (net_guard_new (&cfg, &the_guard, &err) < 0)
    goto fail;
  if (net_guard_set_policy (the_guard, &pol, NULL, &err) < 0)
    goto fail;
  signal (SIGPIPE, SIG_IGN);
  struct sigaction sa = { .sa_handler = on_signal };
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  printf ("listening on port %u\n", net_guard_port (the_guard));
  fflush (stdout);
  if (net_guard_run (the_guard, &err) < 0)
    goto fail;
  net_guard_free (the_guard);
  pac_engine_free (pac);
  free (pol.proxy.excludes);
  return 0;
fail:
  fprintf (stderr, "netguard-runner: %s\n", moat_error_msg (&err));
  free (pol.proxy.excludes);
  return 1;
}
