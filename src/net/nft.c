#include "nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
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

/* Can owner stand in the table's comment as it is? */
static bool
owner_ok (const char *owner)
{
  size_t len = owner != NULL ? strlen (owner) : 0;
  if (len == 0 || len > NET_NFT_OWNER_MAX)
    return false;
  for (size_t i = 0; i < len; i++)
    {
      unsigned char c = (unsigned char)owner[i];
      if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
        return false;
    }
  return true;
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

/* "{ 10.0.0.53, 10.0.0.54 }" of one family; false when none. */
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

static bool
iface_ok (const char *s)
{
  size_t len = strlen (s);
  /* IFNAMSIZ - 1 characters, a `*` only at the end. */
  if (len == 0 || len > 15)
    return false;
  for (size_t i = 0; i < len; i++)
    {
      unsigned char c = (unsigned char)s[i];
      if (c == '*'
              ? i + 1 != len
              : !(c == '-' || c == '_' || c == '.' || (c >= '0' && c <= '9')
                  || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
        return false;
    }
  return true;
}

/* The start of every rule: `iifname { "moat0", "br-*" } `. */
static void
put_in (FILE *f, const struct net_intercept *ic)
{
  bool first = true;
  fputs ("    iifname { ", f);
  if (ic->iface != NULL)
    {
      fprintf (f, "\"%s\"", ic->iface);
      first = false;
    }
  for (size_t i = 0; i < ic->n_ifaces; i++)
    {
      fprintf (f, "%s\"%s\"", first ? "" : ", ", ic->ifaces[i]);
      first = false;
    }
  fputs (" } ", f);
}

/* DNS to the engine's resolvers, of both families:
 * `... ip daddr { r } <what>`. */
static void
put_dns (FILE *f, const struct net_intercept *ic, const char *what)
{
  static const int fams[2] = { AF_INET, AF_INET6 };
  for (int k = 0; k < 2; k++)
    {
      cleanup_free char *set = NULL;
      size_t len = 0;
      FILE *s = open_memstream (&set, &len);
      bool any;
      if (s == NULL)
        continue;
      any = put_addrs (s, ic->dns, ic->n_dns, fams[k]);
      fclose (s);
      if (!any)
        continue;
      put_in (f, ic);
      fprintf (f, "%s daddr %s %s\n", fams[k] == AF_INET ? "ip" : "ip6", set,
               what);
    }
}

/* IP-literal exclusions decided in nft (docs/net-guard.md, "Exclusions
 * decided in nft"): the exclude list's addresses and CIDRs of one family,
 * `*` as the whole family.  Host names are the guard's: they need the
 * name the container sent. */
static bool
put_excluded (FILE *f, const struct net_rules *r, int family)
{
  bool first = true;
  char addr[64], buf[80];
  if (r == NULL)
    return false;
  for (size_t i = 0; i < r->n_ex; i++)
    {
      const struct netaddr_exclude *e = &r->ex[i].e;
      const char *pfx;
      if (e->port != 0)
        continue; /* one port only: the guard decides it */
      if (e->kind == NETADDR_EXCLUDE_ALL)
        pfx = family == AF_INET ? "0.0.0.0/0" : "::/0";
      else if (e->kind == NETADDR_EXCLUDE_CIDR
               && e->cidr.family == (family == AF_INET ? 4 : 6))
        {
          uint8_t a[16] = { 0 };
          unsigned bytes = family == AF_INET ? 4 : 16;
          for (unsigned b = 0; b < bytes * 8 && b < e->cidr.prefix; b++)
            a[b / 8] |= e->cidr.addr[b / 8] & (0x80u >> (b % 8));
          if (inet_ntop (family, a, addr, sizeof addr) == NULL)
            continue;
          snprintf (buf, sizeof buf, "%s/%u", addr, e->cidr.prefix);
          pfx = buf;
        }
      else
        continue;
      if (f != NULL)
        fprintf (f, "%s%s", first ? "{ " : ", ", pfx);
      first = false;
    }
  if (f != NULL && !first)
    fputs (" }", f);
  return !first;
}

/* What an exclusion never opens, by family: what the guard always refuses
 * (loopback, unspecified, multicast and broadcast), link-local addresses
 * (cloud metadata; the guard allows them only when exclude names them,
 * and then decides them itself) and IPv4-mapped IPv6 (the guard decides
 * those as IPv4).  The host's own addresses are kept out by
 * `fib daddr type unicast` (they are `local`). */
static const char *const never_excluded[2]
    = { "ip daddr != { 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, "
        "224.0.0.0/3 }",
        "ip6 daddr != { ::/127, ::ffff:0:0/96, fe80::/10, ff00::/8 }" };

/* The named sets `exclude4` / `exclude6` (only those with elements). */
static void
put_exclude_sets (FILE *f, const struct net_intercept *ic,
                  const struct net_rules *r)
{
  static const int fams[2] = { AF_INET, AF_INET6 };
  if (!ic->exclude_in_nft)
    return;
  for (int k = 0; k < 2; k++)
    {
      if (!put_excluded (NULL, r, fams[k]))
        continue;
      fprintf (f,
               "  set exclude%c {\n"
               "    type %s_addr; flags interval; auto-merge;\n"
               "    elements = ",
               k == 0 ? '4' : '6', k == 0 ? "ipv4" : "ipv6");
      put_excluded (f, r, fams[k]);
      fputs ("\n  }\n", f);
    }
}

/* `... meta l4proto tcp ip daddr @exclude4 ip daddr != {...} fib daddr
 * type unicast counter <verdict>`, per family with a set. */
static void
put_exclude_rules (FILE *f, const struct net_intercept *ic,
                   const struct net_rules *r, const char *verdict)
{
  static const int fams[2] = { AF_INET, AF_INET6 };
  if (!ic->exclude_in_nft)
    return;
  for (int k = 0; k < 2; k++)
    {
      if (!put_excluded (NULL, r, fams[k]))
        continue;
      put_in (f, ic);
      fprintf (f,
               "meta l4proto tcp %s daddr @exclude%c %s fib daddr type "
               "unicast counter %s\n",
               k == 0 ? "ip" : "ip6", k == 0 ? '4' : '6', never_excluded[k],
               verdict);
    }
}

/* The excluded flows leave with the host's address, as the guard's own
 * connections did: the engine masquerades IPv4 from its bridges but not
 * IPv6 (dockerd without ip6tables), and a server must be able to answer.
 * Only the intercepted ports: on others nothing changes. */
static void
put_exclude_masquerade (FILE *f, const struct net_intercept *ic,
                        const struct net_rules *r, bool all)
{
  static const int fams[2] = { AF_INET, AF_INET6 };
  bool any = false;
  if (!ic->exclude_in_nft)
    return;
  for (int k = 0; k < 2; k++)
    {
      if (!put_excluded (NULL, r, fams[k]))
        continue;
      if (!any)
        fputs ("  chain postrouting {\n"
               "    type nat hook postrouting priority srcnat - 10; "
               "policy accept;\n",
               f);
      any = true;
      put_in (f, ic);
      fputs ("tcp dport ", f);
      if (all)
        fputs ("1-65535", f);
      else
        put_ports (f, r);
      fprintf (f, " %s daddr @exclude%c masquerade\n", k == 0 ? "ip" : "ip6",
               k == 0 ? '4' : '6');
    }
  if (any)
    fputs ("  }\n", f);
}

/* all: every TCP port; ports: else the ports of r.  airgap: drop every
 * other packet (DNS to ic->dns excepted). */
static int
render (const struct net_intercept *ic, const struct net_rules *r, bool all,
        bool airgap, char **out, moat_error_t *err)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f;
  const char *t = table_name (ic);

  if ((ic->iface == NULL || ic->iface[0] == '\0') && ic->n_ifaces == 0)
    return moat_error (err, EINVAL,
                       "interception needs the engine's interfaces");
  if (ic->iface != NULL && !iface_ok (ic->iface))
    return moat_error (err, EINVAL, "bad interface name `%s`", ic->iface);
  for (size_t i = 0; i < ic->n_ifaces; i++)
    if (ic->ifaces[i] == NULL || !iface_ok (ic->ifaces[i]))
      return moat_error (err, EINVAL, "bad interface name `%s`",
                         ic->ifaces[i] ? ic->ifaces[i] : "(null)");
  f = open_memstream (&buf, &len);
  if (f == NULL)
    return moat_error (err, errno, "open_memstream");
  /* Declaring then deleting makes the delete succeed whether or not the
   * table exists; the whole file is one transaction. */
  fprintf (f, "table inet %s {}\ndelete table inet %s\n", t, t);
  if (all || (r != NULL && any_port_p (r)))
    {
      fprintf (f, "table inet %s {\n", t);
      if (owner_ok (ic->owner))
        fprintf (f, "  comment \"" NET_NFT_OWNER_PREFIX "%s\"\n", ic->owner);
      put_exclude_sets (f, ic, r);
      /* Anti-spoofing, before anything else looks at the packet: a source
       * address must be routed back through the interface it came in on
       * (strict reverse path, both families), so a container cannot send
       * with the address of another network or of the outside. */
      fputs ("  chain antispoof {\n"
             "    type filter hook prerouting priority raw - 10; "
             "policy accept;\n",
             f);
      put_in (f, ic);
      fputs ("fib saddr . iif oif missing drop\n", f);
      fputs ("  }\n", f);

      fputs ("  chain prerouting {\n"
             "    type nat hook prerouting priority dstnat - 10; "
             "policy accept;\n",
             f);
      /* Container to container on the same network is not egress; the
       * host's own address on that network (the gateway) is, so it is
       * redirected like any other destination. */
      put_in (f, ic);
      fputs ("fib daddr . iif oif exists fib daddr type != local return\n", f);
      if (airgap)
        /* DNS over TCP to the engine's resolvers is not redirected. */
        put_dns (f, ic, "tcp dport 53 return");
      /* Excluded prefixes go DIRECT without the guard: not redirected. */
      put_exclude_rules (f, ic, r, "return");
      put_in (f, ic);
      fputs ("tcp dport ", f);
      if (all)
        fputs ("1-65535", f);
      else
        put_ports (f, r);
      fprintf (f, " redirect to :%u\n", ic->listen_port);
      fputs ("  }\n", f);

      fputs ("  chain forward {\n"
             "    type filter hook forward priority filter - 10; "
             "policy accept;\n",
             f);
      put_in (f, ic);
      fputs ("fib daddr . iif oif exists return\n", f);
      if (airgap)
        /* Air-gapped: the only egress besides the net guard is DNS (UDP
         * and TCP) to the engine's resolvers. */
        put_dns (f, ic, "meta l4proto { tcp, udp } th dport 53 accept");
      /* ... and forwarded, ahead of the reset (and of the air gap's drop:
       * TCP only, like the guard). */
      put_exclude_rules (f, ic, r, "accept");
      /* Intercepted TCP is redirected, never forwarded: a flow that
       * predates the rules is cut here instead of leaking. */
      put_in (f, ic);
      fputs ("tcp dport ", f);
      if (all)
        fputs ("1-65535", f);
      else
        put_ports (f, r);
      fputs (" reject with tcp reset\n", f);
      if (airgap)
        {
          put_in (f, ic);
          fputs ("drop\n", f);
        }
      fputs ("  }\n", f);
      put_exclude_masquerade (f, ic, r, all);
      if (airgap)
        {
          /* Air-gapped: to the host itself only TCP (redirected to the
           * guard, which protects the host's addresses), DNS (when there
           * are resolvers) and ICMP (neighbour discovery); a host service
           * must not become a way out. */
          fputs ("  chain input {\n"
                 "    type filter hook input priority filter - 10; "
                 "policy accept;\n",
                 f);
          put_in (f, ic);
          fputs ("meta l4proto { tcp, icmp, ipv6-icmp } accept\n", f);
          if (ic->n_dns > 0)
            {
              put_in (f, ic);
              fputs ("meta l4proto { tcp, udp } th dport 53 accept\n", f);
            }
          put_in (f, ic);
          fputs ("drop\n", f);
          fputs ("  }\n", f);
        }
      fputs ("}\n", f);
    }
  else if (r != NULL && owner_ok (ic->owner))
    /* Nothing intercepted: the stack still marks the namespace as its
     * own (an empty table changes no packet). */
    fprintf (f,
             "table inet %s {\n  comment \"" NET_NFT_OWNER_PREFIX "%s\"\n}\n",
             t, ic->owner);
  if (fclose (f) != 0)
    {
      free (buf);
      return moat_error (err, errno, "render ruleset");
    }
  *out = buf;
  return 0;
}

int
net_nft_render (const struct net_intercept *ic, const struct net_rules *r,
                char **out, moat_error_t *err)
{
  bool all = r != NULL && r->all_ports;
  return render (ic, r, all, all, out, err);
}

int
net_nft_render_closed (const struct net_intercept *ic, char **out,
                       moat_error_t *err)
{
  struct net_intercept closed = *ic;
  closed.n_dns = 0;
  return render (&closed, NULL, true, true, out, err);
}

/* Run `nft ARGS...` with `input` on its stdin, in ic->netns when set.
 * Returns nft's exit status (0 on success) or -1 when it could not run;
 * *msg (optional) is its output. */
static int
run_nft (const struct net_intercept *ic, const char *const args[],
         const char *input, char *msg, size_t msg_len, moat_error_t *err)
{
  cleanup_close int in = -1;
  cleanup_close int errfd = -1;
  cleanup_close int nsfd = -1;
  const char *nft = ic->nft ? ic->nft : "/usr/sbin/nft";
  const char *argv[8];
  size_t len = strlen (input), n = 0;
  int status;
  pid_t pid;

  argv[n++] = nft;
  for (size_t i = 0; args[i] != NULL && n < 7; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  if (ic->netns != NULL)
    {
      char path[256];
      if (ic->netns[0] == '\0' || strchr (ic->netns, '/') != NULL
          || strlen (ic->netns) > 200)
        return moat_error (err, EINVAL, "bad network namespace `%s`",
                           ic->netns);
      snprintf (path, sizeof path, "/run/netns/%s", ic->netns);
      nsfd = open (path, O_RDONLY | O_CLOEXEC);
      if (nsfd < 0)
        return moat_error (err, errno, "open network namespace `%s`", path);
    }
  /* memfds as stdin/stderr: no pipe to deadlock on, whatever the size. */
  in = memfd_create ("moat-nft-in", MFD_CLOEXEC);
  errfd = memfd_create ("moat-nft-err", MFD_CLOEXEC);
  if (in < 0 || errfd < 0)
    return moat_error (err, errno, "memfd_create");
  for (size_t o = 0; o < len;)
    {
      ssize_t w = write (in, input + o, len - o);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return moat_error (err, errno, "write ruleset");
      o += (size_t)w;
    }
  if (lseek (in, 0, SEEK_SET) < 0)
    return moat_error (err, errno, "lseek");
  pid = fork ();
  if (pid < 0)
    return moat_error (err, errno, "fork");
  if (pid == 0)
    {
      /* Only async-signal-safe calls until exec. */
      if ((nsfd >= 0 && setns (nsfd, CLONE_NEWNET) < 0) || dup2 (in, 0) < 0
          || dup2 (errfd, 1) < 0 || dup2 (errfd, 2) < 0)
        _exit (126);
      execv (nft, (char *const *)argv);
      _exit (127);
    }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return moat_error (err, errno, "waitpid nft");
  if (msg != NULL && msg_len > 0)
    {
      ssize_t got = pread (errfd, msg, msg_len - 1, 0);
      msg[got > 0 ? got : 0] = '\0';
      for (char *p = msg; *p; p++)
        if (*p == '\n')
          *p = ' ';
    }
  if (!WIFEXITED (status))
    return moat_error (err, 0, "`%s` killed by signal %d", nft,
                       WTERMSIG (status));
  if (WEXITSTATUS (status) == 127 || WEXITSTATUS (status) == 126)
    return moat_error (err, 0, "cannot run `%s`%s%s", nft,
                       ic->netns ? " in network namespace " : "",
                       ic->netns ? ic->netns : "");
  return WEXITSTATUS (status);
}

int
net_nft_load (const struct net_intercept *ic, const char *ruleset,
              moat_error_t *err)
{
  static const char *const args[] = { "-f", "-", NULL };
  char msg[1024];
  int st = run_nft (ic, args, ruleset, msg, sizeof msg, err);
  if (st < 0)
    return -1;
  if (st != 0)
    return moat_error (err, 0, "`%s -f -` failed (status %d): %s",
                       ic->nft ? ic->nft : "/usr/sbin/nft", st, msg);
  return 0;
}

int
net_nft_table_exists (const struct net_intercept *ic, moat_error_t *err)
{
  const char *args[] = { "list", "table", "inet", table_name (ic), NULL };
  char msg[256];
  int st = run_nft (ic, args, "", msg, sizeof msg, err);
  if (st < 0)
    return -1;
  if (st == 0)
    return 1;
  if (strstr (msg, "No such file") != NULL)
    return 0;
  return moat_error (err, 0, "`nft list table` failed (status %d): %s", st,
                     msg);
}

int
net_nft_table_owner (const struct net_intercept *ic, char *owner,
                     size_t owner_len, moat_error_t *err)
{
  const char *args[] = { "list", "table", "inet", table_name (ic), NULL };
  static const char key[] = "comment \"" NET_NFT_OWNER_PREFIX;
  char msg[512];
  const char *p, *end;
  int st;

  if (owner_len == 0)
    return moat_error (err, EINVAL, "owner buffer");
  owner[0] = '\0';
  st = run_nft (ic, args, "", msg, sizeof msg, err);
  if (st < 0)
    return -1;
  if (st != 0)
    {
      if (strstr (msg, "No such file") != NULL)
        return 0;
      return moat_error (err, 0, "`nft list table` failed (status %d): %s", st,
                         msg);
    }
  /* `table inet moat {` then, first, the comment (newlines are spaces
   * in msg). */
  p = strchr (msg, '{');
  if (p == NULL)
    return 1;
  p++;
  while (*p == ' ' || *p == '\t')
    p++;
  if (strncmp (p, key, sizeof key - 1) != 0)
    return 1;
  p += sizeof key - 1;
  end = strchr (p, '"');
  if (end == NULL || (size_t)(end - p) >= owner_len)
    return 1;
  memcpy (owner, p, (size_t)(end - p));
  owner[end - p] = '\0';
  return 1;
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

int
net_nft_apply_closed (const struct net_intercept *ic, moat_error_t *err)
{
  cleanup_free char *rs = NULL;
  if (net_nft_render_closed (ic, &rs, err) < 0)
    return -1;
  if (net_nft_load (ic, rs, err) < 0)
    return moat_error_wrap (err, "install the fail-closed interception "
                                 "rules");
  return 0;
}
