#include "rules.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"

int
net_addr_parse (const char *s, struct net_addr *out)
{
  memset (out, 0, sizeof *out);
  if (inet_pton (AF_INET, s, out->a) == 1)
    {
      out->family = AF_INET;
      return 0;
    }
  if (inet_pton (AF_INET6, s, out->a) == 1)
    {
      out->family = AF_INET6;
      return 0;
    }
  return -1;
}

const char *
net_addr_format (const struct net_addr *a, char *buf, size_t size)
{
  if (inet_ntop (a->family, a->a, buf, (socklen_t)size) == NULL)
    snprintf (buf, size, "?");
  return buf;
}

bool
net_addr_equal_p (const struct net_addr *x, const struct net_addr *y)
{
  return x->family == y->family
         && memcmp (x->a, y->a, x->family == AF_INET ? 4 : 16) == 0;
}

int
net_cidr_parse (const char *s, struct net_cidr *out)
{
  char buf[INET6_ADDRSTRLEN + 8];
  const char *slash = strchr (s, '/');
  size_t alen = slash ? (size_t)(slash - s) : strlen (s);
  unsigned max;

  if (alen >= sizeof buf)
    return -1;
  memcpy (buf, s, alen);
  buf[alen] = '\0';
  if (net_addr_parse (buf, &out->net) < 0)
    return -1;
  max = out->net.family == AF_INET ? 32 : 128;
  out->prefix = max;
  if (slash != NULL)
    {
      char *end;
      long v;
      if (slash[1] < '0' || slash[1] > '9')
        return -1;
      errno = 0;
      v = strtol (slash + 1, &end, 10);
      if (errno != 0 || *end != '\0' || v < 0 || v > (long)max)
        return -1;
      out->prefix = (unsigned)v;
    }
  for (unsigned i = out->prefix; i < max; i++)
    out->net.a[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
  return 0;
}

bool
net_cidr_contains_p (const struct net_cidr *c, const struct net_addr *a)
{
  struct net_addr x = *a;

  /* An IPv4-mapped IPv6 destination is matched as the IPv4 it is. */
  if (x.family == AF_INET6 && c->net.family == AF_INET
      && IN6_IS_ADDR_V4MAPPED ((const struct in6_addr *)x.a))
    {
      x.family = AF_INET;
      memmove (x.a, x.a + 12, 4);
    }
  if (x.family != c->net.family)
    return false;
  for (unsigned i = 0; i < c->prefix; i++)
    {
      uint8_t bit = (uint8_t)(0x80u >> (i % 8));
      if ((x.a[i / 8] & bit) != (c->net.a[i / 8] & bit))
        return false;
    }
  return true;
}

static void
proxy_url_clear (struct net_proxy_url *u)
{
  free (u->user);
  free (u->pass);
  memset (u, 0, sizeof *u);
}

/* The route to a proxy the policy library parsed. */
static int
proxy_from_policy (const struct policy_url *pu, struct net_proxy_url *out,
                   moat_error_t *err)
{
  static const enum proxy_kind kinds[] = {
    [POLICY_URL_HTTP] = PROXY_HTTP,     [POLICY_URL_HTTPS] = PROXY_HTTPS,
    [POLICY_URL_SOCKS5] = PROXY_SOCKS5, [POLICY_URL_SOCKS5H] = PROXY_SOCKS5,
    [POLICY_URL_SOCKS4] = PROXY_SOCKS4,
  };

  memset (out, 0, sizeof *out);
  if (pu->scheme >= POLICY_URL_FILE || strlen (pu->host) >= sizeof out->host)
    return moat_error (err, EINVAL, "not a proxy URL");
  out->kind = kinds[pu->scheme];
  strcpy (out->host, pu->host);
  out->port = pu->port;
  if (pu->has_user)
    {
      out->user = strdup (pu->user);
      out->pass = strdup (pu->pass);
      if (out->user == NULL || out->pass == NULL)
        {
          proxy_url_clear (out);
          return moat_error (err, ENOMEM, "proxy URL");
        }
    }
  out->set = true;
  return 0;
}

void
net_rules_free (struct net_rules *r)
{
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n_ex; i++)
    free (r->ex[i].text);
  free (r->ex);
  proxy_url_clear (&r->http);
  proxy_url_clear (&r->https);
  free (r->pac_url);
  free (r);
}

static int
add_exclude (struct net_rules *r, const char *text,
             const struct netaddr_exclude *e, moat_error_t *err)
{
  struct net_exclude *ex = realloc (r->ex, (r->n_ex + 1) * sizeof *ex);
  if (ex == NULL)
    return moat_error (err, ENOMEM, "exclude");
  r->ex = ex;
  r->ex[r->n_ex].e = *e;
  r->ex[r->n_ex].text = strdup (text);
  if (r->ex[r->n_ex].text == NULL)
    return moat_error (err, ENOMEM, "exclude");
  r->n_ex++;
  return 0;
}

/* The host's no_proxy: entries separated by commas and/or spaces, each
 * read by the policy library's exclude parser. */
static int
add_no_proxy (struct net_rules *r, const char *no_proxy, moat_error_t *err)
{
  cleanup_free char *copy = strdup (no_proxy);
  char *save = NULL;

  if (copy == NULL)
    return moat_error (err, ENOMEM, "no_proxy");
  for (char *t = strtok_r (copy, ", ", &save); t != NULL;
       t = strtok_r (NULL, ", ", &save))
    {
      struct netaddr_exclude e;
      if (netaddr_exclude_parse (t, &e, err) < 0)
        return moat_error_wrap (err, "no_proxy");
      if (add_exclude (r, t, &e, err) < 0)
        return -1;
    }
  return 0;
}

/* The host's http_proxy/https_proxy, read by the policy library's parser. */
static int
system_proxy (const char *url, struct net_proxy_url *out, const char *what,
              moat_error_t *err)
{
  struct policy_url pu;

  if (url == NULL || url[0] == '\0')
    return 0;
  if (policy_proxy_url_parse (url, &pu, err) < 0
      || proxy_from_policy (&pu, out, err) < 0)
    return moat_error_wrap (err, "%s `%s`", what, url);
  return 0;
}

int
net_rules_compile (const struct policy *p, const struct net_system_proxy *sys,
                   struct net_rules **out, moat_error_t *err)
{
  struct net_rules *r = calloc (1, sizeof *r);

  if (r == NULL)
    return moat_error (err, ENOMEM, "net rules");
  r->all_ports = p->proxy.all_ports;
  memcpy (r->ports, p->proxy.port_bitmap, sizeof r->ports);
  r->pac_url = strdup (p->proxy.pac ? p->proxy.pac : "");
  if (r->pac_url == NULL)
    {
      moat_error (err, ENOMEM, "net rules");
      goto fail;
    }
  if (p->proxy.mode == POLICY_PROXY_SYSTEM)
    {
      /* The host's settings replace the manual ones (PAC stays the
       * admin's). */
      if (sys != NULL
          && ((sys->no_proxy != NULL
               && add_no_proxy (r, sys->no_proxy, err) < 0)
              || system_proxy (sys->http, &r->http, "http_proxy", err) < 0
              || system_proxy (sys->https, &r->https, "https_proxy", err) < 0))
        goto fail;
    }
  else
    {
      if (p->proxy.n_exclude > 0 && p->proxy.excludes == NULL)
        {
          moat_error (err, EINVAL,
                      "containersProxy: the policy's values are not parsed");
          goto fail;
        }
      for (size_t i = 0; i < p->proxy.n_exclude; i++)
        if (add_exclude (r, p->proxy.exclude[i], &p->proxy.excludes[i], err)
            < 0)
          goto fail;
      if ((p->proxy.http != NULL && p->proxy.http[0] != '\0'
           && proxy_from_policy (&p->proxy.http_url, &r->http, err) < 0)
          || (p->proxy.https != NULL && p->proxy.https[0] != '\0'
              && proxy_from_policy (&p->proxy.https_url, &r->https, err) < 0))
        goto fail;
    }
  *out = r;
  return 0;
fail:
  net_rules_free (r);
  return -1;
}

bool
net_rules_port_p (const struct net_rules *r, uint16_t port)
{
  return r->all_ports || (r->ports[port / 8] & (1u << (port % 8))) != 0;
}

const struct net_proxy_url *
net_rules_credentials (const struct net_rules *r, const struct proxy_hop *h)
{
  const struct net_proxy_url *c[2] = { &r->http, &r->https };
  for (int i = 0; i < 2; i++)
    if (c[i]->set && c[i]->user != NULL && c[i]->port == h->port
        && c[i]->kind == h->kind && strcasecmp (c[i]->host, h->host) == 0)
      return c[i];
  return NULL;
}

static void
to_netaddr (const struct net_addr *a, struct netaddr_cidr *out)
{
  memset (out, 0, sizeof *out);
  out->family = a->family == AF_INET ? 4 : 6;
  memcpy (out->addr, a->a, a->family == AF_INET ? 4 : 16);
  out->prefix = a->family == AF_INET ? 32 : 128;
}

/* The first exclude entry that matches, or NULL.  Names match only the
 * verified host name; IPs and CIDRs match the destination address.
 * explicit_only: only entries that name an address on purpose (an address
 * or a CIDR with a non-zero prefix), for the protected destinations. */
static const struct net_exclude *
find_exclude (const struct net_rules *r, const struct net_query *q,
              bool explicit_only)
{
  struct netaddr_cidr ip;
  const struct netaddr_cidr *ipp = NULL;

  if (q->dst.family == AF_INET || q->dst.family == AF_INET6)
    {
      to_netaddr (&q->dst, &ip);
      ipp = &ip;
    }
  for (size_t i = 0; i < r->n_ex; i++)
    {
      const struct netaddr_exclude *e = &r->ex[i].e;
      if (explicit_only
          && (e->kind != NETADDR_EXCLUDE_CIDR || e->cidr.prefix == 0))
        continue;
      if (netaddr_exclude_matches (e, ipp, q->hostname, q->port))
        return &r->ex[i];
    }
  return NULL;
}

/* exclude names host.docker.internal (for q's port): the host may be
 * reached. */
static bool
host_allowed_p (const struct net_rules *r, const struct net_query *q)
{
  for (size_t i = 0; i < r->n_ex; i++)
    {
      const struct netaddr_exclude *e = &r->ex[i].e;
      if (e->kind == NETADDR_EXCLUDE_DOMAIN
          && strcmp (e->host, "host.docker.internal") == 0
          && (e->port == 0 || e->port == q->port))
        return true;
    }
  return false;
}

static void
refuse (struct net_decision *out, const char *why)
{
  out->route.n = 0;
  snprintf (out->rule, sizeof out->rule, "%s", why);
}

static void
direct (struct net_decision *out, const struct net_exclude *e)
{
  out->route.n = 1;
  memset (&out->route.hops[0], 0, sizeof out->route.hops[0]);
  out->route.hops[0].kind = PROXY_DIRECT;
  snprintf (out->rule, sizeof out->rule, "exclude \"%s\"", e->text);
}

static bool
loopbackish_p (const struct net_addr *a, bool *link_local)
{
  const uint8_t *b = a->a;
  struct net_addr v4;

  *link_local = false;
  if (a->family == AF_INET6
      && IN6_IS_ADDR_V4MAPPED ((const struct in6_addr *)a->a))
    {
      v4.family = AF_INET;
      memcpy (v4.a, a->a + 12, 4);
      return loopbackish_p (&v4, link_local);
    }
  if (a->family == AF_INET)
    {
      if (b[0] == 169 && b[1] == 254)
        *link_local = true;
      return b[0] == 127 || b[0] == 0 || b[0] >= 224;
    }
  const struct in6_addr *x = (const struct in6_addr *)b;
  if (IN6_IS_ADDR_LINKLOCAL (x))
    *link_local = true;
  return IN6_IS_ADDR_LOOPBACK (x) || IN6_IS_ADDR_UNSPECIFIED (x)
         || IN6_IS_ADDR_MULTICAST (x);
}

bool
net_decide_protected (const struct net_rules *r, const struct net_query *q,
                      struct net_decision *out)
{
  bool link_local;
  const struct net_exclude *e;

  /* Loopback, 0/8, multicast and broadcast never leave a container; a
   * connection that claims them is a trick to reach the guard's host.
   * (family 0: no address known, only `moat net decide` on a name.) */
  if (q->dst.family == 0)
    link_local = false;
  else if (loopbackish_p (&q->dst, &link_local))
    {
      refuse (out, "loopback, unspecified or multicast destination");
      return true;
    }
  /* The host itself and link-local services (cloud metadata at
   * 169.254.169.254) are reachable only when the admin names them. */
  if (q->dst_is_host || link_local
      || (q->hostname && strcmp (q->hostname, "host.docker.internal") == 0))
    {
      /* host.docker.internal in exclude opens the host's own addresses,
       * nothing else: a link-local service (cloud metadata) named by any
       * other name still needs an explicit CIDR.  Family 0 (`moat net
       * decide` on the name alone) has no address to check. */
      bool named_host
          = q->hostname && strcmp (q->hostname, "host.docker.internal") == 0;
      if (host_allowed_p (r, q)
          && (q->dst_is_host || (named_host && q->dst.family == 0)))
        return false;
      e = find_exclude (r, q, true);
      if (e != NULL)
        return false;
      refuse (out, link_local ? "link-local destination not in exclude"
                              : "host address not allowed (exclude "
                                "host.docker.internal to allow it)");
      return true;
    }
  return false;
}

bool
net_decide_exclude (const struct net_rules *r, const struct net_query *q,
                    struct net_decision *out)
{
  const struct net_exclude *e = find_exclude (r, q, false);
  if (e == NULL)
    return false;
  memset (out, 0, sizeof *out);
  direct (out, e);
  return true;
}

void
net_decide_static (const struct net_rules *r, const struct net_query *q,
                   struct net_decision *out)
{
  const struct net_exclude *e;
  const struct net_proxy_url *u;

  memset (out, 0, sizeof *out);
  if (net_decide_protected (r, q, out))
    return;
  e = find_exclude (r, q, false);
  if (e != NULL)
    {
      direct (out, e);
      return;
    }
  if (q->dst_is_host
      || (q->hostname && strcmp (q->hostname, "host.docker.internal") == 0))
    {
      /* The host is named in exclude (net_decide_protected let it through):
       * go direct. */
      out->route.n = 1;
      out->route.hops[0].kind = PROXY_DIRECT;
      snprintf (out->rule, sizeof out->rule,
                "exclude \"host.docker.internal\"");
      return;
    }
  u = q->port == 80 ? &r->http : &r->https;
  if (!u->set)
    {
      refuse (out, q->port == 80 ? "no http proxy configured: refused"
                                 : "no https proxy configured: refused");
      return;
    }
  out->route.n = 1;
  out->route.hops[0].kind = u->kind;
  snprintf (out->route.hops[0].host, sizeof out->route.hops[0].host, "%s",
            u->host);
  out->route.hops[0].port = u->port;
  snprintf (out->rule, sizeof out->rule, "%s proxy",
            q->port == 80 ? "http" : "https");
}

int
net_query_pac_args (const struct net_query *q, char *url, size_t url_size,
                    char *host, size_t host_size)
{
  char abuf[INET6_ADDRSTRLEN];
  const char *h = q->hostname;
  bool v6;
  int n;

  if (h == NULL)
    h = net_addr_format (&q->dst, abuf, sizeof abuf);
  v6 = strchr (h, ':') != NULL;
  n = snprintf (host, host_size, "%s", h);
  if (n < 0 || (size_t)n >= host_size)
    return -1;
  n = snprintf (url, url_size, "%s://%s%s%s:%u",
                q->port == 443 ? "https" : "http", v6 ? "[" : "", h,
                v6 ? "]" : "", q->port);
  if (n < 0 || (size_t)n >= url_size)
    return -1;
  return 0;
}

bool
net_decision_refuse_p (const struct net_decision *d)
{
  if (d->route.n == 0)
    return true;
  for (size_t i = 0; i < d->route.n; i++)
    if (d->route.hops[i].kind == PROXY_REJECT)
      return i == 0;
  return false;
}

const char *
net_decision_format (const struct net_decision *d, char *buf, size_t size)
{
  size_t o = 0;
  static const char *const names[] = {
    [PROXY_DIRECT] = "DIRECT", [PROXY_HTTP] = "PROXY",
    [PROXY_HTTPS] = "HTTPS",   [PROXY_SOCKS4] = "SOCKS",
    [PROXY_SOCKS5] = "SOCKS5", [PROXY_REJECT] = "REFUSE",
  };

  buf[0] = '\0';
  if (net_decision_refuse_p (d))
    {
      snprintf (buf, size, "REFUSE");
      return buf;
    }
  for (size_t i = 0; i < d->route.n && o < size; i++)
    {
      const struct proxy_hop *h = &d->route.hops[i];
      int n;
      if (h->kind == PROXY_DIRECT || h->kind == PROXY_REJECT)
        n = snprintf (buf + o, size - o, "%s%s", i ? "; " : "",
                      names[h->kind]);
      else
        n = snprintf (buf + o, size - o,
                      strchr (h->host, ':') ? "%s%s [%s]:%u" : "%s%s %s:%u",
                      i ? "; " : "", names[h->kind], h->host, h->port);
      if (n < 0)
        break;
      o += (size_t)n;
    }
  return buf;
}
