#include "nft.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"

static const char *
table_name (const struct net_intercept *ic)
{
  return ic->table ? ic->table : NET_NFT_TABLE;
}

/* "{ 80, 443, 8000-8100 }" from the port bitmap. */
static void
put_ports (FILE *f, const struct net_rules *r)
{
  bool first = true;
  fputs ("{ ", f);
  for (unsigned p = 1; p < 65536;)
    {
      if (!net_rules_port_p (r, (uint16_t)p))
        {
          p++;
          continue;
        }
      unsigned q = p;
      while (q + 1 < 65536 && net_rules_port_p (r, (uint16_t)(q + 1)))
        q++;
      fprintf (f, first ? "%u" : ", %u", p);
      if (q > p)
        fprintf (f, "-%u", q);
      first = false;
      p = q + 1;
    }
  fputs (" }", f);
}

static bool
any_port_p (const struct net_rules *r)
{
  if (r->all_ports)
    return true;
  for (size_t i = 0; i < sizeof r->ports; i++)
    if (r->ports[i] != 0)
      return true;
  return false;
}

/* "{ 10.0.0.0/24, 10.1.0.0/16 }" of one family; false when none. */
static bool
put_cidrs (FILE *f, const struct net_cidr *c, size_t n, int family)
{
  bool first = true;
  char buf[64];
  for (size_t i = 0; i < n; i++)
    {
      if (c[i].net.family != family)
        continue;
      fprintf (f, "%s%s/%u", first ? "{ " : ", ",
               net_addr_format (&c[i].net, buf, sizeof buf), c[i].prefix);
      first = false;
    }
  if (!first)
    fputs (" }", f);
  return !first;
}

static bool
has_family (const struct net_cidr *c, size_t n, int family)
{
  for (size_t i = 0; i < n; i++)
    if (c[i].net.family == family)
      return true;
  return false;
}

static bool
put_addrs (FILE *f, const struct net_addr *a, size_t n, int family)
{
  bool first = true;
  char buf[64];
  for (size_t i = 0; i < n; i++)
    {
      if (a[i].family != family)
        continue;
      fprintf (f, "%s%s", first ? "{ " : ", ",
               net_addr_format (&a[i], buf, sizeof buf));
      first = false;
    }
  if (!first)
    fputs (" }", f);
  return !first;
}

/* "from the containers": iifname "br" ip saddr {...}. */
static void
put_src (FILE *f, const struct net_intercept *ic, int family)
{
  fputs ("    ", f);
  if (ic->iface != NULL && ic->iface[0] != '\0')
    fprintf (f, "iifname \"%s\" ", ic->iface);
  fprintf (f, "%s saddr ", family == AF_INET ? "ip" : "ip6");
  put_cidrs (f, ic->src, ic->n_src, family);
  fputc (' ', f);
}

/* The match for "from the containers, leaving their network" of one
 * family: iifname "br" ip saddr {...} ip daddr != {...}. */
static void
put_from (FILE *f, const struct net_intercept *ic, int family)
{
  const char *ip = family == AF_INET ? "ip" : "ip6";
  fputs ("    ", f);
  if (ic->iface != NULL && ic->iface[0] != '\0')
    fprintf (f, "iifname \"%s\" ", ic->iface);
  fprintf (f, "%s saddr ", ip);
  put_cidrs (f, ic->src, ic->n_src, family);
  fprintf (f, " %s daddr != ", ip);
  put_cidrs (f, ic->src, ic->n_src, family);
  fputc (' ', f);
}

int
net_nft_render (const struct net_intercept *ic, const struct net_rules *r,
                char **out, moat_error_t *err)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f;
  const char *t = table_name (ic);
  const int fams[2] = { AF_INET, AF_INET6 };

  if (ic->n_src == 0)
    return moat_error (err, EINVAL,
                       "interception needs the containers' "
                       "source networks");
  if (ic->iface != NULL && strpbrk (ic->iface, "\"\\\n ") != NULL)
    return moat_error (err, EINVAL, "bad interface name `%s`", ic->iface);
  f = open_memstream (&buf, &len);
  if (f == NULL)
    return moat_error (err, errno, "open_memstream");
  /* Declaring then deleting makes the delete succeed whether or not the
   * table exists; the whole file is one transaction. */
  fprintf (f, "table inet %s {}\ndelete table inet %s\n", t, t);
  if (r != NULL && any_port_p (r))
    {
      fprintf (f, "table inet %s {\n", t);
      fputs ("  chain prerouting {\n"
             "    type nat hook prerouting priority dstnat - 10; "
             "policy accept;\n",
             f);
      for (int k = 0; k < 2; k++)
        {
          int fam = fams[k];
          const char *ip = fam == AF_INET ? "ip" : "ip6";
          if (!has_family (ic->src, ic->n_src, fam))
            continue;
          if (r->all_ports && ic->n_dns > 0)
            {
              /* DNS over TCP to the engine's resolvers is not redirected. */
              put_from (f, ic, fam);
              fprintf (f, "%s daddr ", ip);
              if (put_addrs (f, ic->dns, ic->n_dns, fam))
                fputs (" tcp dport 53 accept\n", f);
              else
                fputs ("{ } tcp dport 53 accept\n", f);
            }
          /* Container to container on the same network is not egress; the
           * host's own address on that network is (the bridge gateway),
           * so it is redirected like any other destination. */
          put_src (f, ic, fam);
          fprintf (f, "%s daddr ", ip);
          put_cidrs (f, ic->src, ic->n_src, fam);
          fputs (" fib daddr type != local return\n", f);
          put_src (f, ic, fam);
          fputs ("tcp dport ", f);
          if (r->all_ports)
            fputs ("1-65535", f);
          else
            put_ports (f, r);
          fprintf (f, " redirect to :%u\n", ic->listen_port);
        }
      fputs ("  }\n", f);
      fputs ("  chain forward {\n"
             "    type filter hook forward priority filter - 10; "
             "policy accept;\n",
             f);
      for (int k = 0; k < 2; k++)
        {
          int fam = fams[k];
          const char *ip = fam == AF_INET ? "ip" : "ip6";
          if (!has_family (ic->src, ic->n_src, fam))
            continue;
          /* Intercepted TCP is redirected, never forwarded: a flow that
           * predates the rules is cut here instead of leaking. */
          put_from (f, ic, fam);
          fputs ("tcp dport ", f);
          if (r->all_ports)
            fputs ("1-65535", f);
          else
            put_ports (f, r);
          fputs (" reject with tcp reset\n", f);
          if (r->all_ports)
            {
              /* Air-gapped: the only non-TCP egress is DNS to the
               * engine's resolvers. */
              if (ic->n_dns > 0)
                {
                  put_from (f, ic, fam);
                  fprintf (f, "%s daddr ", ip);
                  bool any = put_addrs (f, ic->dns, ic->n_dns, fam);
                  if (any)
                    fputs (" udp dport 53 accept\n", f);
                  else
                    fputs ("{ } udp dport 53 accept\n", f);
                }
              put_from (f, ic, fam);
              fputs ("drop\n", f);
            }
        }
      fputs ("  }\n", f);
      if (r->all_ports)
        {
          /* Air-gapped: UDP to the host itself only for DNS (a host
           * service must not become a way out). */
          fputs ("  chain input {\n"
                 "    type filter hook input priority filter - 10; "
                 "policy accept;\n",
                 f);
          for (int k = 0; k < 2; k++)
            {
              if (!has_family (ic->src, ic->n_src, fams[k]))
                continue;
              put_src (f, ic, fams[k]);
              fputs ("udp dport != 53 drop\n", f);
            }
          fputs ("  }\n", f);
        }
      fputs ("}\n", f);
    }
  if (fclose (f) != 0)
    {
      free (buf);
      return moat_error (err, errno, "render ruleset");
    }
  /* nft refuses an empty anonymous set: drop rules that would have one. */
  for (char *p; (p = strstr (buf, "{ } ")) != NULL;)
    {
      char *start = p, *end = strchr (p, '\n');
      while (start > buf && start[-1] != '\n')
        start--;
      memmove (start, end + 1, strlen (end + 1) + 1);
    }
  *out = buf;
  return 0;
}

int
net_nft_load (const struct net_intercept *ic, const char *ruleset,
              moat_error_t *err)
{
  cleanup_close int in = -1;
  cleanup_close int errfd = -1;
  const char *nft = ic->nft ? ic->nft : "/usr/sbin/nft";
  size_t len = strlen (ruleset);
  int status;
  pid_t pid;

  /* memfds as stdin/stderr: no pipe to deadlock on, whatever the size. */
  in = memfd_create ("moat-nft-in", MFD_CLOEXEC);
  errfd = memfd_create ("moat-nft-err", MFD_CLOEXEC);
  if (in < 0 || errfd < 0)
    return moat_error (err, errno, "memfd_create");
  for (size_t o = 0; o < len;)
    {
      ssize_t n = write (in, ruleset + o, len - o);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return moat_error (err, errno, "write ruleset");
      o += (size_t)n;
    }
  if (lseek (in, 0, SEEK_SET) < 0)
    return moat_error (err, errno, "lseek");
  pid = fork ();
  if (pid < 0)
    return moat_error (err, errno, "fork");
  if (pid == 0)
    {
      /* Only async-signal-safe calls until exec. */
      if (dup2 (in, 0) < 0 || dup2 (errfd, 1) < 0 || dup2 (errfd, 2) < 0)
        _exit (127);
      execl (nft, nft, "-f", "-", (char *)NULL);
      _exit (127);
    }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return moat_error (err, errno, "waitpid nft");
  if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
    return 0;
  {
    char msg[1024];
    ssize_t n = pread (errfd, msg, sizeof msg - 1, 0);
    msg[n > 0 ? n : 0] = '\0';
    for (char *p = msg; *p; p++)
      if (*p == '\n')
        *p = ' ';
    if (WIFEXITED (status) && WEXITSTATUS (status) == 127 && n <= 0)
      return moat_error (err, 0, "cannot run `%s`", nft);
    return moat_error (err, 0, "`%s -f -` failed (status %d): %s", nft,
                       WIFEXITED (status) ? WEXITSTATUS (status) : -1, msg);
  }
}

int
net_nft_apply (const struct net_intercept *ic, const struct net_rules *r,
               moat_error_t *err)
{
  cleanup_free char *rs = NULL;
  if (net_nft_render (ic, r, &rs, err) < 0)
    return -1;
  if (net_nft_load (ic, rs, err) < 0)
    return moat_error_wrap (err, r ? "install interception rules"
                                   : "remove interception rules");
  return 0;
}
