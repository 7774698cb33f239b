/* moat net decide [--json] URL: the decision the net guard would take for
 * a container connecting to URL's host and port, from the effective
 * containersProxy settings. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <jansson.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "cli.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "net/pac_hook.h"
#include "pac/engine.h"
#include "net/decide.h"
#include "net/rules.h"

/* ---- policy and PAC ---- */

/* The effective policy from the admin settings (and the built-in defaults).
 * User overrides of unlocked settings live in moatd's state; this command
 * works without moatd, so it shows what the admin file alone decides. */
static int
load_policy (struct moat_cli *cli, struct policy **out, moat_error_t *err)
{
  struct policy_report rep = { 0 };
  struct policy_admin *admin = NULL;
  int r = policy_admin_load (&cli->paths, &admin, &rep, err);

  if (r < 0 && rep.n_errors > 0)
    {
      cleanup_free char *text = policy_report_format (&rep);
      moat_error (err, EINVAL, "%s is invalid:\n%s", cli->paths.admin_settings,
                  text ? text : "");
    }
  policy_report_free (&rep);
  if (r < 0)
    {
      policy_admin_free (admin);
      return -1;
    }
  r = policy_build (admin, NULL, out, err);
  policy_admin_free (admin);
  return r;
}

/* The decide hook of net_decide for a PAC policy: a PAC engine in
 * moat-sandbox for this one decision, as moatd's hook over its engine.  A
 * PAC that cannot be loaded still lets exclude decide, as in the guard;
 * the rest fails closed with the reason. */
static int
decide_pac (void *ctx, const struct net_rules *r, const struct net_query *q,
            struct net_decision *d, moat_error_t *err)
{
  char exe[PATH_MAX];
  struct pac_engine *e = NULL;
  int ret;

  (void)ctx;
  if (cli_find_sandbox (exe, sizeof exe, err) < 0)
    goto failed;
  {
    struct pac_engine_opts o = { .sandbox_exe = exe };
    if (pac_engine_new (&o, &e, err) < 0)
      goto failed;
  }
  {
    moat_error_t lerr = NULL;
    pac_engine_load_url (e, r->pac_url, 5000, &lerr);
    moat_error_release (&lerr);
  }
  ret = net_pac_decide (e, r, q, d, err);
  pac_engine_free (e);
  return ret;
failed:
  memset (d, 0, sizeof *d);
  snprintf (d->rule, sizeof d->rule, "pac-failed");
  return -1;
}

/* ---- the command ---- */

struct target
{
  struct policy_url url; /* host normalised, port defaulted */
  bool is_ip;
  struct net_addr addr;
};

/* The destination URL, read by the policy library's URL parser. */
static int
parse_target (const char *url, struct target *t, moat_error_t *err)
{
  memset (t, 0, sizeof *t);
  if (policy_dest_url_parse (url, &t->url, err) < 0)
    return moat_error_wrap (err, "`%s`", url);
  t->is_ip = net_addr_parse (t->url.host, &t->addr) == 0;
  return 0;
}

static void
usage (FILE *f)
{
  fprintf (f,
           "Usage: moat net decide [--json] URL\n\n"
           "Print the decision the net guard would take for a container\n"
           "connecting to URL's host and port (80 for http, 443 for https\n"
           "unless given): DIRECT, PROXY h:p, SOCKS5 h:p, REFUSE, or\n"
           "\"not intercepted\" for ports outside transparentPorts, with\n"
           "the rule that decided.  A host name is resolved on this machine\n"
           "so that IP and CIDR exclude entries apply too.\n");
}

static int
decide_cmd (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  static struct option opts[] = { { "json", no_argument, 0, 'j' },
                                  { "help", no_argument, 0, 'h' },
                                  { 0, 0, 0, 0 } };
  struct policy *pol = NULL;
  struct net_rules *r = NULL;
  struct target t;
  struct net_query q;
  struct net_decision d;
  bool json = false, intercepted;
  char buf[1024], abuf[64] = "", error[512] = "", rule[800];
  struct net_addr *host = NULL;
  size_t n_host = 0;
  int c, ret = -1;

  optind = 1;
  while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1)
    switch (c)
      {
      case 'j':
        json = true;
        break;
      case 'h':
        usage (stdout);
        return 0;
      default:
        usage (stderr);
        return 2;
      }
  if (optind + 1 != argc)
    {
      usage (stderr);
      return 2;
    }
  if (parse_target (argv[optind], &t, err) < 0)
    return -1;
  if (load_policy (cli, &pol, err) < 0)
    goto out;
  {
    struct net_system_proxy sys
        = { getenv ("http_proxy"), getenv ("https_proxy"),
            getenv ("no_proxy") };
    if (net_rules_compile (pol, &sys, &r, err) < 0)
      goto out;
  }
  memset (&q, 0, sizeof q);
  q.port = t.url.port;
  if (t.is_ip)
    q.dst = t.addr;
  else
    {
      struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
      q.hostname = t.url.host;
      if (getaddrinfo (t.url.host, NULL, &hints, &res) == 0 && res != NULL)
        {
          if (res->ai_family == AF_INET)
            {
              q.dst.family = AF_INET;
              memcpy (q.dst.a, &((struct sockaddr_in *)res->ai_addr)->sin_addr,
                      4);
            }
          else if (res->ai_family == AF_INET6)
            {
              q.dst.family = AF_INET6;
              memcpy (q.dst.a,
                      &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, 16);
            }
          freeaddrinfo (res);
        }
    }
  if (q.dst.family != 0)
    net_addr_format (&q.dst, abuf, sizeof abuf);
  intercepted = net_rules_port_p (r, t.url.port);
  /* The guard's own decision function, host protection included: this
   * machine's addresses are the host's, as they are for moatd. */
  if (net_host_addrs (&host, &n_host, err) < 0)
    goto out;
  {
    const struct net_decider dd
        = { .rules = r,
            .host = host,
            .n_host = n_host,
            .decide = r->pac_url[0] != '\0' ? decide_pac : NULL };
    net_decide (&dd, &q, false, &d, error, sizeof error);
  }
  /* A hook failure refuses; the guard audits the reason as the error. */
  if (error[0] != '\0')
    snprintf (rule, sizeof rule, "%s (fail closed): %s", d.rule, error);
  else
    snprintf (rule, sizeof rule, "%s", d.rule);

  if (json)
    {
      json_t *o = json_pack ("{s:s,s:s,s:i,s:b}", "url", argv[optind], "host",
                             t.url.host, "port", t.url.port, "intercepted",
                             intercepted);
      json_t *route = json_array ();
      static const char *const kinds[]
          = { "DIRECT", "PROXY", "HTTPS", "SOCKS", "SOCKS5", "REFUSE" };
      json_object_set_new (o, "address",
                           abuf[0] ? json_string (abuf) : json_null ());
      if (intercepted)
        {
          for (size_t i = 0; i < d.route.n; i++)
            {
              const struct proxy_hop *h = &d.route.hops[i];
              json_t *hop = json_pack ("{s:s}", "type", kinds[h->kind]);
              if (h->kind != PROXY_DIRECT && h->kind != PROXY_REJECT)
                {
                  json_object_set_new (hop, "host", json_string (h->host));
                  json_object_set_new (hop, "port", json_integer (h->port));
                }
              json_array_append_new (route, hop);
            }
          json_object_set_new (
              o, "decision",
              json_string (net_decision_format (&d, buf, sizeof buf)));
          json_object_set_new (o, "route", route);
          json_object_set_new (o, "rule", json_string (rule));
        }
      else
        {
          json_decref (route);
          json_object_set_new (o, "decision", json_string ("NOT INTERCEPTED"));
          json_object_set_new (o, "rule",
                               json_string ("port not in transparentPorts"));
        }
      char *s = json_dumps (o, JSON_INDENT (2));
      printf ("%s\n", s ? s : "{}");
      free (s);
      json_decref (o);
    }
  else if (!intercepted)
    printf ("NOT INTERCEPTED (port %u is not in transparentPorts \"%s\": "
            "the connection passes untouched)\n",
            t.url.port, pol->proxy.transparent_ports);
  else
    printf ("%s (rule: %s)\n", net_decision_format (&d, buf, sizeof buf),
            rule);
  ret = 0;
out:
  free (host);
  net_rules_free (r);
  policy_free (pol);
  return ret;
}

int
cli_net (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  if (argc < 2 || strcmp (argv[1], "--help") == 0
      || strcmp (argv[1], "-h") == 0)
    {
      usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
  if (strcmp (argv[1], "decide") == 0)
    return decide_cmd (cli, argc - 1, argv + 1, err);
  return moat_error (err, EINVAL,
                     "unknown subcommand `%s` (try `moat net "
                     "--help`)",
                     argv[1]);
}
