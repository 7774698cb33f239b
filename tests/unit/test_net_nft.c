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
rules_for (const char *ports)
{
  struct policy p;
  struct net_rules *r = NULL;
  moat_error_t err = NULL;
  memset (&p, 0, sizeof p);
  p.proxy.http = p.proxy.https = p.proxy.pac = (char *)"";
  assert_int_equal (
      net_ports_parse (ports, &p.proxy.all_ports, p.proxy.port_bitmap, &err),
      0);
  assert_int_equal (net_rules_compile (&p, NULL, &r, &err), 0);
  return r;
}

static void
render_ports (void **state)
{
  struct net_cidr c;
  struct net_rules *r = rules_for ("443,80,8000-8100");
  moat_error_t err = NULL;
  char *out = NULL;
  net_cidr_parse ("172.30.0.0/16", &c);
  struct net_intercept ic
      = { .iface = "moat0", .src = &c, .n_src = 1, .listen_port = 15001 };
  assert_int_equal (net_nft_render (&ic, r, &out, &err), 0);
  /* atomic replace: the file starts by deleting the table */
  assert_non_null (
      strstr (out, "table inet moat {}\ndelete table inet moat\n"));
  /* same-network traffic returns untouched unless it is for the host */
  assert_non_null (
      strstr (out, "iifname \"moat0\" ip saddr { 172.30.0.0/16 } ip daddr { "
                   "172.30.0.0/16 } fib daddr type != local return\n"));
  assert_non_null (strstr (
      out, "iifname \"moat0\" ip saddr { 172.30.0.0/16 } tcp dport { 80, "
           "443, 8000-8100 } redirect to :15001\n"));
  /* no IPv6 source network: no ip6 rules; a port list is not air-gapped */
  assert_null (strstr (out, "ip6"));
  assert_null (strstr (out, " drop\n"));
  free (out);
  net_rules_free (r);
}

static void
render_all_ports_airgap (void **state)
{
  struct net_cidr c[2];
  struct net_addr dns;
  struct net_rules *r = rules_for ("*");
  moat_error_t err = NULL;
  char *out = NULL;
  net_cidr_parse ("172.30.0.0/16", &c[0]);
  net_cidr_parse ("fd30::/64", &c[1]);
  net_addr_parse ("172.30.0.1", &dns);
  struct net_intercept ic = { .iface = "moat0",
                              .src = c,
                              .n_src = 2,
                              .listen_port = 15001,
                              .dns = &dns,
                              .n_dns = 1 };
  assert_int_equal (net_nft_render (&ic, r, &out, &err), 0);
  assert_non_null (strstr (out, "tcp dport 1-65535 redirect to :15001"));
  assert_non_null (
      strstr (out, "ip daddr { 172.30.0.1 } udp dport 53 accept"));
  assert_non_null (strstr (out, "ip6 daddr != { fd30::/64 } drop\n"));
  /* UDP to the host itself: DNS only */
  assert_non_null (strstr (out, "type filter hook input"));
  assert_non_null (strstr (out, "udp dport != 53 drop\n"));
  /* no IPv6 resolver: no empty set left behind */
  assert_null (strstr (out, "{ }"));
  free (out);
  net_rules_free (r);
}

static void
render_remove_and_refusals (void **state)
{
  struct net_cidr c;
  moat_error_t err = NULL;
  char *out = NULL;
  net_cidr_parse ("172.30.0.0/16", &c);
  struct net_intercept ic = { .src = &c, .n_src = 1, .listen_port = 1 };
  assert_int_equal (net_nft_render (&ic, NULL, &out, &err), 0);
  assert_string_equal (out, "table inet moat {}\ndelete table inet moat\n");
  free (out);
  ic.iface = "x\" accept";
  assert_int_equal (net_nft_render (&ic, NULL, &out, &err), -1);
  moat_error_release (&err);
  ic.iface = NULL;
  ic.n_src = 0;
  assert_int_equal (net_nft_render (&ic, NULL, &out, &err), -1);
  moat_error_release (&err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (render_ports),
    cmocka_unit_test (render_all_ports_airgap),
    cmocka_unit_test (render_remove_and_refusals),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
