/* Unit tests of src/net/nft.c: the rendered interception ruleset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net/nft.h"

static struct net_rules *
rules_ex (const char *ports, char **ex, size_t n_ex)
{
  struct policy p;
  struct net_rules *r = NULL;
  moat_error_t err = NULL;
  memset (&p, 0, sizeof p);
  p.proxy.http = p.proxy.https = p.proxy.pac = (char *)"";
  assert_int_equal (netaddr_parse_ports (ports, &p.proxy.all_ports,
                                         p.proxy.port_bitmap, &err),
                    0);
  p.proxy.mode = POLICY_PROXY_MANUAL;
  p.proxy.exclude = ex;
  p.proxy.n_exclude = n_ex;
  assert_int_equal (policy_proxy_parse (&p, &err), 0);
  assert_int_equal (net_rules_compile (&p, NULL, &r, &err), 0);
  free (p.proxy.excludes);
  return r;
}

static struct net_rules *
rules_for (const char *ports)
{
  return rules_ex (ports, NULL, 0);
}

static const char *const user_bridges[] = { "br-*" };

static void
render_ports (void **state)
{
  struct net_rules *r = rules_for ("443,80,8000-8100");
  moat_error_t err = NULL;
  char *out = NULL;
  struct net_intercept ic = { .iface = "moat0",
                              .ifaces = user_bridges,
                              .n_ifaces = 1,
                              .listen_port = 15001 };
  assert_int_equal (net_nft_render (&ic, r, &out, &err), 0);
  /* atomic replace: the file starts by deleting the table */
  assert_non_null (
      strstr (out, "table inet moat {}\ndelete table inet moat\n"));
  /* every rule matches the engine's interfaces, never a source range */
  assert_null (strstr (out, "saddr {"));
  /* anti-spoofing: strict reverse path on the engine's interfaces */
  assert_non_null (strstr (out, "type filter hook prerouting priority raw"));
  assert_non_null (strstr (out, "iifname { \"moat0\", \"br-*\" } fib saddr "
                                ". iif oif missing drop\n"));
  /* same-network traffic returns untouched unless it is for the host */
  assert_non_null (
      strstr (out, "iifname { \"moat0\", \"br-*\" } fib daddr . iif oif "
                   "exists fib daddr type != local return\n"));
  /* both families at once (inet): no ip/ip6 qualifier on the redirect */
  assert_non_null (strstr (
      out, "iifname { \"moat0\", \"br-*\" } tcp dport { 80, 443, 8000-8100 "
           "} redirect to :15001\n"));
  assert_non_null (strstr (out, "tcp dport { 80, 443, 8000-8100 } reject "
                                "with tcp reset\n"));
  /* a port list is not air-gapped: no drop of other traffic */
  assert_null (strstr (out, "} drop\n"));
  assert_null (strstr (out, "hook input"));
  free (out);
  net_rules_free (r);
}

static void
render_all_ports_airgap (void **state)
{
  struct net_addr dns;
  struct net_rules *r = rules_for ("*");
  moat_error_t err = NULL;
  char *out = NULL;
  net_addr_parse ("172.30.0.1", &dns);
  struct net_intercept ic = { .iface = "moat0",
                              .ifaces = user_bridges,
                              .n_ifaces = 1,
                              .listen_port = 15001,
                              .dns = &dns,
                              .n_dns = 1 };
  assert_int_equal (net_nft_render (&ic, r, &out, &err), 0);
  assert_non_null (strstr (out, "tcp dport 1-65535 redirect to :15001"));
  /* DNS to the resolver, UDP and TCP, before TCP is reset */
  const char *dns_fwd = strstr (out, "ip daddr { 172.30.0.1 } meta l4proto "
                                     "{ tcp, udp } th dport 53 accept\n");
  const char *reset = strstr (out, "tcp dport 1-65535 reject with tcp reset");
  assert_non_null (dns_fwd);
  assert_non_null (reset);
  assert_true (dns_fwd < reset);
  assert_non_null (strstr (out, "ip daddr { 172.30.0.1 } tcp dport 53 "
                                "return\n"));
  /* everything else from the engine's interfaces, both families */
  assert_non_null (strstr (out, "iifname { \"moat0\", \"br-*\" } drop\n"));
  /* to the host itself: TCP (redirected), DNS, ICMP only */
  assert_non_null (strstr (out, "type filter hook input"));
  assert_non_null (
      strstr (out, "meta l4proto { tcp, icmp, ipv6-icmp } accept\n"));
  /* no IPv6 resolver: no empty set */
  assert_null (strstr (out, "{ }"));
  assert_null (strstr (out, "ip6 daddr"));
  free (out);
  net_rules_free (r);
}

static void
render_closed (void **state)
{
  struct net_addr dns;
  moat_error_t err = NULL;
  char *out = NULL;
  net_addr_parse ("172.30.0.1", &dns);
  struct net_intercept ic = { .iface = "moat0",
                              .ifaces = user_bridges,
                              .n_ifaces = 1,
                              .listen_port = 15001,
                              .dns = &dns,
                              .n_dns = 1 };
  assert_int_equal (net_nft_render_closed (&ic, &out, &err), 0);
  assert_non_null (strstr (out, "tcp dport 1-65535 redirect to :15001"));
  assert_non_null (strstr (out, "iifname { \"moat0\", \"br-*\" } drop\n"));
  /* fail closed: not even DNS */
  assert_null (strstr (out, "dport 53"));
  free (out);
}

static void
render_remove_and_refusals (void **state)
{
  moat_error_t err = NULL;
  char *out = NULL;
  struct net_intercept ic = { .iface = "moat0", .listen_port = 1 };
  assert_int_equal (net_nft_render (&ic, NULL, &out, &err), 0);
  assert_string_equal (out, "table inet moat {}\ndelete table inet moat\n");
  free (out);
  ic.iface = "x\" accept";
  assert_int_equal (net_nft_render (&ic, NULL, &out, &err), -1);
  moat_error_release (&err);
  ic.iface = "a*b";
  assert_int_equal (net_nft_render (&ic, NULL, &out, &err), -1);
  moat_error_release (&err);
  ic.iface = "sixteen-chars-xx";
  assert_int_equal (net_nft_render (&ic, NULL, &out, &err), -1);
  moat_error_release (&err);
  /* no interface at all: refused (never "any interface") */
  ic.iface = NULL;
  assert_int_equal (net_nft_render (&ic, NULL, &out, &err), -1);
  moat_error_release (&err);
}

/* IP-literal exclusions are decided in nft: accepted before the redirect
 * (never reaching the guard) and before the forward chain's reset, but
 * never for the host's own addresses or what the guard always refuses. */
static void
render_exclusions (void **state)
{
  char *ex[]
      = { (char *)"10.0.0.0/8",
          (char *)"192.168.1.7",
          (char *)"2001:db8::/32",
          (char *)"internal.company.com",
          (char *)"*.corp.example",
          (char *)"10.9.9.9:443" /* one port: the guard's */,
          (char *)"172.16.0.1/12" /* host bits masked, as nft would */ };
  struct net_rules *r = rules_ex ("80,443", ex, 7);
  moat_error_t err = NULL;
  char *out = NULL;
  struct net_intercept ic = { .iface = "moat0",
                              .ifaces = user_bridges,
                              .n_ifaces = 1,
                              .listen_port = 15001 };
  /* not asked for: every intercepted connection stays with the guard */
  assert_int_equal (net_nft_render (&ic, r, &out, &err), 0);
  assert_null (strstr (out, "exclude"));
  free (out);
  ic.exclude_in_nft = true;
  assert_int_equal (net_nft_render (&ic, r, &out, &err), 0);
  /* named sets of the excluded prefixes, names left to the guard */
  assert_non_null (strstr (out, "  set exclude4 {\n"
                                "    type ipv4_addr; flags interval; "
                                "auto-merge;\n"
                                "    elements = { 10.0.0.0/8, "
                                "192.168.1.7/32, 172.16.0.0/12 }\n"
                                "  }\n"));
  assert_non_null (strstr (out, "  set exclude6 {\n"
                                "    type ipv6_addr; flags interval; "
                                "auto-merge;\n"
                                "    elements = { 2001:db8::/32 }\n"
                                "  }\n"));
  assert_null (strstr (out, "company"));
  assert_null (strstr (out, "corp"));
  /* accepted ahead of the redirect, with the host and the always-refused
   * ranges kept out */
  const char *pre4 = strstr (
      out, "iifname { \"moat0\", \"br-*\" } meta l4proto tcp ip daddr "
           "@exclude4 ip daddr != { 0.0.0.0/8, 127.0.0.0/8, "
           "169.254.0.0/16, 224.0.0.0/3 } fib daddr type unicast counter "
           "return\n");
  const char *pre6 = strstr (
      out, "iifname { \"moat0\", \"br-*\" } meta l4proto tcp ip6 daddr "
           "@exclude6 ip6 daddr != { ::/127, ::ffff:0:0/96, fe80::/10, "
           "ff00::/8 } fib daddr type unicast counter return\n");
  const char *redirect = strstr (out, "redirect to :15001");
  assert_non_null (pre4);
  assert_non_null (pre6);
  assert_non_null (redirect);
  assert_true (pre4 < redirect && pre6 < redirect);
  /* the same-network return comes first: the host's gateway address is
   * still redirected (its rule stays ahead of the exclusions) */
  assert_true (strstr (out, "fib daddr type != local return") < pre4);
  /* forwarded: accepted ahead of the reset */
  const char *fwd4 = strstr (
      out, "iifname { \"moat0\", \"br-*\" } meta l4proto tcp ip daddr "
           "@exclude4 ip daddr != { 0.0.0.0/8, 127.0.0.0/8, "
           "169.254.0.0/16, 224.0.0.0/3 } fib daddr type unicast counter "
           "accept\n");
  const char *reset = strstr (out, "reject with tcp reset");
  assert_non_null (fwd4);
  assert_non_null (reset);
  assert_true (fwd4 < reset);
  /* they leave with the host's address (IPv6 is not masqueraded by the
   * engine), on the intercepted ports only */
  assert_non_null (strstr (out, "type nat hook postrouting priority srcnat "
                                "- 10; policy accept;\n"));
  assert_non_null (strstr (out, "iifname { \"moat0\", \"br-*\" } tcp "
                                "dport { 80, 443 } ip daddr @exclude4 "
                                "masquerade\n"));
  assert_non_null (strstr (out, "iifname { \"moat0\", \"br-*\" } tcp "
                                "dport { 80, 443 } ip6 daddr @exclude6 "
                                "masquerade\n"));
  free (out);
  net_rules_free (r);

  /* "*": every prefix, the protections unchanged */
  char *all[] = { (char *)"*" };
  r = rules_ex ("*", all, 1);
  assert_int_equal (net_nft_render (&ic, r, &out, &err), 0);
  assert_non_null (strstr (out, "elements = { 0.0.0.0/0 }\n"));
  assert_non_null (strstr (out, "elements = { ::/0 }\n"));
  assert_non_null (strstr (out, "@exclude4 ip daddr != { 0.0.0.0/8"));
  free (out);
  net_rules_free (r);

  /* names only, or nothing: no set, no rule */
  char *names[] = { (char *)"internal.company.com" };
  r = rules_ex ("80,443", names, 1);
  assert_int_equal (net_nft_render (&ic, r, &out, &err), 0);
  assert_null (strstr (out, "exclude4"));
  assert_null (strstr (out, "exclude6"));
  assert_null (strstr (out, "postrouting"));
  free (out);
  net_rules_free (r);
}

/* The table names its stack (docs/net-guard.md, "One stack a network
 * namespace"); an owner that cannot be a comment is left out, never
 * pasted into the ruleset. */
static void
render_owner (void **state)
{
  static const char *const bad[]
      = { "/tmp/a\"; flush ruleset; \"", "/tmp/a\\b", "/tmp/a\nb", "" };
  char longroot[NET_NFT_OWNER_MAX + 2];
  moat_error_t err = NULL;
  char *out = NULL;
  struct net_intercept ic = { .iface = "moat0",
                              .ifaces = user_bridges,
                              .n_ifaces = 1,
                              .listen_port = 15001,
                              .owner = "/tmp/moat-test-x" };
  assert_int_equal (net_nft_render_closed (&ic, &out, &err), 0);
  assert_non_null (strstr (
      out,
      "table inet moat {\n  comment \"moat stack at /tmp/moat-test-x\"\n"));
  free (out);
  ic.owner = "/";
  assert_int_equal (net_nft_render_closed (&ic, &out, &err), 0);
  assert_non_null (strstr (out, "  comment \"moat stack at /\"\n"));
  free (out);
  /* rules that intercept nothing: an empty table that names its stack,
   * with no chain (it changes no packet) */
  {
    struct net_rules *none = rules_for ("");
    assert_int_equal (net_nft_render (&ic, none, &out, &err), 0);
    assert_string_equal (out, "table inet moat {}\ndelete table inet moat\n"
                              "table inet moat {\n  comment \"moat stack at "
                              "/\"\n}\n");
    free (out);
    ic.owner = NULL;
    assert_int_equal (net_nft_render (&ic, none, &out, &err), 0);
    assert_string_equal (out, "table inet moat {}\ndelete table inet moat\n");
    free (out);
    ic.owner = "/";
    net_rules_free (none);
  }
  /* the removal alone has no table to name */
  assert_int_equal (net_nft_render (&ic, NULL, &out, &err), 0);
  assert_null (strstr (out, "comment"));
  free (out);
  memset (longroot, 'a', sizeof longroot - 1);
  longroot[0] = '/';
  longroot[sizeof longroot - 1] = '\0';
  for (size_t i = 0; i <= sizeof bad / sizeof bad[0]; i++)
    {
      ic.owner = i < sizeof bad / sizeof bad[0] ? bad[i] : longroot;
      assert_int_equal (net_nft_render_closed (&ic, &out, &err), 0);
      assert_null (strstr (out, "comment"));
      assert_null (strstr (out, "flush"));
      free (out);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (render_ports),
    cmocka_unit_test (render_all_ports_airgap),
    cmocka_unit_test (render_closed),
    cmocka_unit_test (render_remove_and_refusals),
    cmocka_unit_test (render_exclusions),
    cmocka_unit_test (render_owner),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
