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
#include "net/rules.h"
#include "net/sniff.h"

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

/* Decide q with the PAC of r, as the guard's hook does; any failure is a
 * refusal whose rule names the reason (fail closed). */
static void
decide_pac (const struct net_rules *r, const struct net_query *q,
            struct net_decision *d)
{
  cleanup_error moat_error_t perr = NULL;
  char exe[PATH_MAX];
  struct pac_engine *e = NULL;

  if (cli_find_sandbox (exe, sizeof exe, &perr) == 0)
    {
      struct pac_engine_opts o = { .sandbox_exe = exe };
      if (pac_engine_new (&o, &e, &perr) == 0)
        {
          /* A PAC that cannot be loaded still lets exclude decide, as in
           * the guard; the rest fails with the load's reason. */
          moat_error_t lerr = NULL;
          pac_engine_load_url (e, r->pac_url, 5000, &lerr);
          moat_error_release (&lerr);
          if (net_pac_decide (e, r, q, d, &perr) == 0)
            {
              pac_engine_free (e);
              return;
            }
        }
    }
  pac_engine_free (e);
  memset (d, 0, sizeof *d);
  snprintf (d->rule, sizeof d->rule, "refused (fail closed): %s",
            moat_error_msg (&perr));
}

/* ---- the command ---- */

struct target
{
  char host[NET_HOSTNAME_MAX];
  uint16_t port;
  bool is_ip;
  struct net_addr addr;
};

/* scheme://[userinfo@]host[:port][/...]; the port defaults from the
 * scheme (http 80, https 443), as the guard sees connections. */
static int
parse_url (const char *url, struct target *t, moat_error_t *err)
{
  const char *p = strstr (url, "://"), *end, *at, *hs, *he;
  long port = 0;

  memset (t, 0, sizeof *t);
  if (p == NULL)
    return moat_error (err, EINVAL, "`%s` is not a URL (scheme://host...)",
                       url);
  if (strncasecmp (url, "http://", 7) == 0)
    port = 80;
  else if (strncasecmp (url, "https://", 8) == 0)
    port = 443;
  p += 3;
  end = p + strcspn (p, "/?#");
  at = memrchr (p, '@', (size_t)(end - p));
  if (at)
    p = at + 1;
  if (*p == '[')
    {
      hs = p + 1;
      he = memchr (hs, ']', (size_t)(end - hs));
      if (he == NULL)
        return moat_error (err, EINVAL, "`%s`: unclosed `[`", url);
      p = he + 1;
    }
  else
    {
      hs = p;
      he = memchr (p, ':', (size_t)(end - p));
      if (he == NULL)
        he = end;
      p = he;
    }
  if (p < end && *p == ':')
    {
      char *e;
      port = strtol (p + 1, &e, 10);
      if (e != end || port < 1 || port > 65535)
        return moat_error (err, EINVAL, "`%s`: bad port", url);
    }
  else if (p != end)
    return moat_error (err, EINVAL, "`%s`: bad host", url);
  if (port == 0)
    return moat_error (err, EINVAL, "`%s`: give a port for this scheme", url);
  if (net_hostname_normalize (hs, (size_t)(he - hs), t->host, sizeof t->host)
      < 0)
    return moat_error (err, EINVAL, "`%s`: bad host", url);
  t->port = (uint16_t)port;
  t->is_ip = net_addr_parse (t->host, &t->addr) == 0;
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
  char buf[1024], abuf[64] = "";
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
  if (parse_url (argv[optind], &t, err) < 0)
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
  q.port = t.port;
  if (t.is_ip)
    q.dst = t.addr;
  else
    {
      struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
      q.hostname = t.host;
      if (getaddrinfo (t.host, NULL, &hints, &res) == 0 && res != NULL)
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
  intercepted = net_rules_port_p (r, t.port);
  if (r->pac_url[0] != '\0' && intercepted)
    {
      memset (&d, 0, sizeof d);
      if (!net_decide_protected (r, &q, &d))
        decide_pac (r, &q, &d);
    }
  else
    net_decide_static (r, &q, &d);

  if (json)
    {
      json_t *o
          = json_pack ("{s:s,s:s,s:i,s:b}", "url", argv[optind], "host",
                       t.host, "port", t.port, "intercepted", intercepted);
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
          json_object_set_new (o, "rule", json_string (d.rule));
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
            t.port, pol->proxy.transparent_ports);
  else
    printf ("%s (rule: %s)\n", net_decision_format (&d, buf, sizeof buf),
            d.rule);
  ret = 0;
out:
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
