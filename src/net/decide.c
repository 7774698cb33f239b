#include "decide.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void
unmap (struct net_addr *a)
{
  if (a->family == AF_INET6
      && IN6_IS_ADDR_V4MAPPED ((const struct in6_addr *)a->a))
    {
      a->family = AF_INET;
      memmove (a->a, a->a + 12, 4);
      memset (a->a + 4, 0, 12);
    }
}

bool
net_addr_same_p (const struct net_addr *x, const struct net_addr *y)
{
  struct net_addr a = *x, b = *y;
  unmap (&a);
  unmap (&b);
  return net_addr_equal_p (&a, &b);
}

int
net_host_addrs (struct net_addr **out, size_t *n, moat_error_t *err)
{
  struct ifaddrs *ifa = NULL;
  size_t max = 0;

  *out = NULL;
  *n = 0;
  if (getifaddrs (&ifa) < 0)
    return moat_error (err, errno, "getifaddrs");
  for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
    max += i->ifa_addr != NULL;
  *out = calloc (max ? max : 1, sizeof **out);
  if (*out == NULL)
    {
      freeifaddrs (ifa);
      return moat_error (err, ENOMEM, "host addresses");
    }
  for (struct ifaddrs *i = ifa; i; i = i->ifa_next)
    {
      struct net_addr *a = &(*out)[*n];
      if (i->ifa_addr == NULL)
        continue;
      if (i->ifa_addr->sa_family == AF_INET)
        {
          a->family = AF_INET;
          memcpy (a->a, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, 4);
        }
      else if (i->ifa_addr->sa_family == AF_INET6)
        {
          a->family = AF_INET6;
          memcpy (a->a, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, 16);
        }
      else
        continue;
      (*n)++;
    }
  freeifaddrs (ifa);
  return 0;
}

static bool
in_list (const struct net_addr *list, size_t n, const struct net_addr *a)
{
  for (size_t i = 0; i < n; i++)
    if (net_addr_same_p (&list[i], a))
      return true;
  return false;
}

/* True when a is an address of this network namespace now: the kernel
 * lets a socket bind to it only then (or to a broadcast or multicast
 * address, which is never a container's destination either).  A snapshot
 * of the interfaces would miss a bridge made after it, e.g. by `docker
 * network create`.  Any failure answers true, so the host's protection
 * holds. */
static bool
local_now_p (const struct net_addr *x)
{
  struct net_addr a = *x;
  struct sockaddr_storage ss;
  socklen_t len;
  int fd, r, e;

  unmap (&a);
  memset (&ss, 0, sizeof ss);
  if (a.family == AF_INET)
    {
      struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
      sin->sin_family = AF_INET;
      memcpy (&sin->sin_addr, a.a, 4);
      len = sizeof *sin;
    }
  else if (a.family == AF_INET6)
    {
      struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
      /* link-local needs a scope to bind; net_decide_protected refuses
       * those unless exclude names them explicitly */
      if (IN6_IS_ADDR_LINKLOCAL ((const struct in6_addr *)a.a))
        return false;
      sin6->sin6_family = AF_INET6;
      memcpy (&sin6->sin6_addr, a.a, 16);
      len = sizeof *sin6;
    }
  else
    return false;
  fd = socket (a.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return true;
  r = bind (fd, (struct sockaddr *)&ss, len);
  e = errno;
  close (fd);
  return r == 0 || e != EADDRNOTAVAIL;
}

int
net_decide (const struct net_decider *d, struct net_query *q, bool inline_only,
            struct net_decision *out, char *error, size_t error_size)
{
  cleanup_error moat_error_t err = NULL;

  memset (out, 0, sizeof *out);
  if (q->dst.family != 0
      && (in_list (d->host, d->n_host, &q->dst)
          || in_list (d->extra_host, d->n_extra_host, &q->dst)
          || local_now_p (&q->dst)))
    q->dst_is_host = true;
  if (net_decide_protected (d->rules, q, out))
    return 0;
  if (d->rules->pac_url[0] != '\0' && d->decide == NULL)
    {
      out->route.n = 0;
      snprintf (out->rule, sizeof out->rule,
                "PAC configured but no PAC evaluator: refused");
      return 0;
    }
  if (d->decide == NULL)
    {
      net_decide_static (d->rules, q, out);
      return 0;
    }
  if (inline_only)
    return d->decide_cached != NULL
                   && d->decide_cached (d->ctx, d->rules, q, out) == 1
               ? 0
               : 1;
  if (d->decide (d->ctx, d->rules, q, out, &err) < 0)
    {
      /* The hook may name the refusal (e.g. "pac-timeout"); the reason
       * goes to the audit record's error. */
      out->route.n = 0;
      if (out->rule[0] == '\0')
        snprintf (out->rule, sizeof out->rule, "decision failed");
      if (error != NULL)
        snprintf (error, error_size, "%s", moat_error_msg (&err));
    }
  return 0;
}
