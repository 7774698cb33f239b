#include "rules.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/strutil.h"
#include "common/cleanup.h"
#include "net/sniff.h"

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


void
net_proxy_url_clear (struct net_proxy_url *u)
{
  free (u->user);
  free (u->pass);
  memset (u, 0, sizeof *u);
}

int
net_proxy_url_parse (const char *url, struct net_proxy_url *out,
                     moat_error_t *err)
{
  static const struct
  {
    const char *scheme;
    enum proxy_kind kind;
    uint16_t port;
  } schemes[] = {
    { "http://", PROXY_HTTP, 80 },       { "https://", PROXY_HTTPS, 443 },
    { "socks5://", PROXY_SOCKS5, 1080 }, { "socks5h://", PROXY_SOCKS5, 1080 },
    { "socks4://", PROXY_SOCKS4, 1080 },
  };
  const char *p = NULL, *at, *end, *hostend;
  size_t i;

  memset (out, 0, sizeof *out);
  for (i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
    if (strncasecmp (url, schemes[i].scheme, strlen (schemes[i].scheme)) == 0)
      {
        p = url + strlen (schemes[i].scheme);
        out->kind = schemes[i].kind;
        out->port = schemes[i].port;
        break;
      }
  if (p == NULL)
    return moat_error (
        err, EINVAL, "proxy `%s`: scheme must be http, https or socks5", url);
  end = p + strcspn (p, "/?#");
  if (*end != '\0' && strcmp (end, "/") != 0)
    return moat_error (err, EINVAL, "proxy `%s`: a path is not allowed", url);
  at = memrchr (p, '@', (size_t)(end - p));
  if (at != NULL)
    {
      const char *colon = memchr (p, ':', (size_t)(at - p));
      out->user = pct_decode (p, (size_t)((colon ? colon : at) - p), false);
      out->pass = colon ? pct_decode (colon + 1, (size_t)(at - colon - 1), false)
                        : strdup ("");
      if (out->user == NULL || out->pass == NULL)
        {
          net_proxy_url_clear (out);
          return moat_error (err, ENOMEM, "proxy URL");
        }
      p = at + 1;
    }
  if (*p == '[')
    {
      const char *close = memchr (p, ']', (size_t)(end - p));
      if (close == NULL)
        goto bad;
      if ((size_t)(close - p - 1) >= sizeof out->host)
        goto bad;
      memcpy (out->host, p + 1, (size_t)(close - p - 1));
      out->host[close - p - 1] = '\0';
      hostend = close + 1;
      struct net_addr a;
      if (net_addr_parse (out->host, &a) < 0 || a.family != AF_INET6)
        goto bad;
    }
  else
    {
      hostend = memchr (p, ':', (size_t)(end - p));
      if (hostend == NULL)
        hostend = end;
      if (net_hostname_normalize (p, (size_t)(hostend - p), out->host,
                                  sizeof out->host)
          < 0)
        goto bad;
    }
  if (hostend < end)
    {
      long v = 0;
      if (*hostend != ':' || hostend + 1 == end || end - hostend > 6)
        goto bad;
      for (const char *c = hostend + 1; c < end; c++)
        {
          if (*c < '0' || *c > '9')
            goto bad;
          v = v * 10 + (*c - '0');
        }
      if (v < 1 || v > 65535)
        goto bad;
      out->port = (uint16_t)v;
    }
  out->set = true;
  return 0;
bad:
  net_proxy_url_clear (out);
  return moat_error (err, EINVAL, "proxy `%s`: bad host or port", url);
}

static int
exclude_parse (const char *s, struct net_exclude *e, moat_error_t *err)
{
  char name[NET_HOSTNAME_MAX];
  const char *n = s;

  memset (e, 0, sizeof *e);
  e->text = strdup (s);
  if (e->text == NULL)
    return moat_error (err, ENOMEM, "exclude");
  if (strcmp (s, "*") == 0)
    {
      e->kind = NET_EXCLUDE_ALL;
      return 0;
    }
  if (net_cidr_parse (s, &e->cidr) == 0)
    {
      e->kind = NET_EXCLUDE_CIDR;
      return 0;
    }
  if (strncmp (s, "*.", 2) == 0)
    {
      e->kind = NET_EXCLUDE_SUFFIX;
      n = s + 1;
    }
  else if (s[0] == '.')
    {
      e->kind = NET_EXCLUDE_SUFFIX;
      e->apex = true;
    }
  else
    e->kind = NET_EXCLUDE_HOST;
  if (e->kind == NET_EXCLUDE_SUFFIX)
    {
      /* ".corp.example" is kept with its dot, so that "xcorp.example"
       * never matches. */
      if (net_hostname_normalize (n + 1, strlen (n + 1), name + 1,
                                  sizeof name - 1)
          < 0)
        return moat_error (err, EINVAL,
                           "exclude entry `%s` is not a host "
                           "name, *.suffix, IP or CIDR",
                           s);
      name[0] = '.';
    }
  else if (net_hostname_normalize (n, strlen (n), name, sizeof name) < 0)
    return moat_error (err, EINVAL,
                       "exclude entry `%s` is not a host name, *.suffix, IP "
                       "or CIDR",
                       s);
  e->name = strdup (name);
  if (e->name == NULL)
    return moat_error (err, ENOMEM, "exclude");
  return 0;
}

void
net_rules_free (struct net_rules *r)
{
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n_ex; i++)
    {
      free (r->ex[i].text);
      free (r->ex[i].name);
    }
  free (r->ex);
  net_proxy_url_clear (&r->http);
  net_proxy_url_clear (&r->https);
  free (r->pac_url);
  free (r);
}

static int
add_exclude (struct net_rules *r, const char *s, moat_error_t *err)
{
  struct net_exclude *ex = realloc (r->ex, (r->n_ex + 1) * sizeof *ex);
  if (ex == NULL)
    return moat_error (err, ENOMEM, "exclude");
  r->ex = ex;
  if (exclude_parse (s, &r->ex[r->n_ex], err) < 0)
    {
      free (r->ex[r->n_ex].text);
      free (r->ex[r->n_ex].name);
      return -1;
    }
  if (r->ex[r->n_ex].kind == NET_EXCLUDE_HOST
      && strcmp (r->ex[r->n_ex].name, "host.docker.internal") == 0)
    r->allow_host = true;
  r->n_ex++;
  return 0;
}

static int
set_proxy (struct net_proxy_url *u, const char *url, const char *what,
           moat_error_t *err)
{
  if (url == NULL || url[0] == '\0')
    return 0;
  if (net_proxy_url_parse (url, u, err) < 0)
    return moat_error_wrap (err, "containersProxy.%s", what);
  return 0;
}

int
net_rules_compile (const struct policy *p, const struct net_system_proxy *sys,
                   struct net_rules **out, moat_error_t *err)
{
  struct net_rules *r = calloc (1, sizeof *r);
  const char *http = p->proxy.http, *https = p->proxy.https;

  if (r == NULL)
    return moat_error (err, ENOMEM, "net rules");
  r->all_ports = p->proxy.all_ports;
  memcpy (r->ports, p->proxy.port_bitmap, sizeof r->ports);
  r->pac_url = strdup (p->proxy.pac ? p->proxy.pac : "");
  if (r->pac_url == NULL)
    goto oom;
  if (p->proxy.mode == POLICY_PROXY_SYSTEM)
    {
      /* The host's settings replace the manual ones (PAC stays the
       * admin's). */
      http = sys ? sys->http : NULL;
      https = sys ? sys->https : NULL;
      if (sys != NULL && sys->no_proxy != NULL)
        {
          cleanup_free char *copy = strdup (sys->no_proxy);
          char *save = NULL;
          if (copy == NULL)
            goto oom;
          for (char *t = strtok_r (copy, ", ", &save); t != NULL;
               t = strtok_r (NULL, ", ", &save))
            if (add_exclude (r, t, err) < 0)
              goto fail;
        }
    }
  else
    for (size_t i = 0; i < p->proxy.n_exclude; i++)
      if (add_exclude (r, p->proxy.exclude[i], err) < 0)
        {
          moat_error_wrap (err, "containersProxy.exclude[%zu]", i);
          goto fail;
        }
  if (set_proxy (&r->http, http, "http", err) < 0
      || set_proxy (&r->https, https, "https", err) < 0)
    goto fail;
  *out = r;
  return 0;
oom:
  moat_error (err, ENOMEM, "net rules");
fail:
  net_rules_free (r);
  return -1;
}

int
net_ports_parse (const char *s, bool *all, uint8_t bitmap[65536 / 8],
                 moat_error_t *err)
{
  const char *p = s;

  *all = false;
  memset (bitmap, 0, 65536 / 8);
  if (strcmp (s, "*") == 0)
    {
      *all = true;
      return 0;
    }
  for (;;)
    {
      char *end;
      long lo, hi;
      while (*p == ' ')
        p++;
      if (*p < '0' || *p > '9')
        return moat_error (err, EINVAL, "ports `%s`: expected a number", s);
      lo = strtol (p, &end, 10);
      hi = lo;
      if (*end == '-')
        {
          if (end[1] < '0' || end[1] > '9')
            return moat_error (err, EINVAL, "ports `%s`: bad range", s);
          hi = strtol (end + 1, &end, 10);
        }
      if (lo < 1 || hi > 65535 || lo > hi)
        return moat_error (err, EINVAL, "ports `%s`: out of range", s);
      for (long v = lo; v <= hi; v++)
        bitmap[v / 8] |= (uint8_t)(1u << (v % 8));
      while (*end == ' ')
        end++;
      if (*end == '\0')
        return 0;
      if (*end != ',')
        return moat_error (err, EINVAL, "ports `%s`: expected `,`", s);
      p = end + 1;
    }
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
        && c[i]->kind == h->kind
        && strcasecmp (c[i]->host, h->host) == 0)
      return c[i];
  return NULL;
}

static bool
name_matches (const struct net_exclude *e, const char *host)
{
  size_t hl, sl;

  if (host == NULL)
    return false;
  if (e->kind == NET_EXCLUDE_HOST)
    return strcmp (e->name, host) == 0;
  hl = strlen (host);
  sl = strlen (e->name);
  if (e->apex && strcmp (e->name + 1, host) == 0)
    return true;
  return hl > sl && strcmp (host + hl - sl, e->name) == 0;
}

/* The first exclude entry that matches, or NULL.  Names match only the
 * verified host name; IPs and CIDRs match the destination address. */
static const struct net_exclude *
find_exclude (const struct net_rules *r, const struct net_query *q,
              bool explicit_only)
{
  for (size_t i = 0; i < r->n_ex; i++)
    {
      const struct net_exclude *e = &r->ex[i];
      switch (e->kind)
        {
        case NET_EXCLUDE_ALL:
          if (!explicit_only)
            return e;
          break;
        case NET_EXCLUDE_CIDR:
          /* A protected address needs an entry that means it, not 0/0. */
          if (explicit_only && e->cidr.prefix == 0)
            break;
          if (net_cidr_contains_p (&e->cidr, &q->dst))
            return e;
          break;
        case NET_EXCLUDE_HOST:
        case NET_EXCLUDE_SUFFIX:
          if (!explicit_only && name_matches (e, q->hostname))
            return e;
          break;
        }
    }
  return NULL;
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
      if (r->allow_host && (q->dst_is_host || q->hostname != NULL))
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
      /* allow_host: the host is named in exclude, go direct. */
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
