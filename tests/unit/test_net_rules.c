/* Unit tests of src/net/rules.c: exclude matching, proxy URLs, the static
 * decision and host protection.  The policy is filled by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net/rules.h"

struct fixture
{
  struct policy p;
  struct net_rules *r;
};

static struct net_rules *
compile (struct policy *p, const char *http, const char *https,
         const char **ex, const char *ports)
{
  struct net_rules *r = NULL;
  moat_error_t err = NULL;
  memset (p, 0, sizeof *p);
  p->proxy.mode = POLICY_PROXY_MANUAL;
  p->proxy.http = (char *)http;
  p->proxy.https = (char *)https;
  p->proxy.pac = (char *)"";
  p->proxy.exclude = (char **)ex;
  while (ex && ex[p->proxy.n_exclude])
    p->proxy.n_exclude++;
  p->proxy.transparent_ports = (char *)ports;
  if (policy_proxy_parse (p, &err) < 0)
    fail_msg ("parse: %s", moat_error_msg (&err));
  if (net_rules_compile (p, NULL, &r, &err) < 0)
    fail_msg ("compile: %s", moat_error_msg (&err));
  free (p->proxy.excludes);
  p->proxy.excludes = NULL;
  return r;
}

static const char *
decide (struct net_rules *r, const char *ip, uint16_t port, const char *host,
        bool is_host, char *rule)
{
  static char buf[512];
  struct net_query q
      = { .port = port, .hostname = host, .dst_is_host = is_host };
  struct net_decision d;
  assert_int_equal (net_addr_parse (ip, &q.dst), 0);
  net_decide_static (r, &q, &d);
  if (rule)
    strcpy (rule, d.rule);
  return net_decision_format (&d, buf, sizeof buf);
}

/* DESIGN.md example: block all external access. */
static void
block_all (void **state)
{
  struct policy p;
  struct net_rules *r = compile (&p, "", "", NULL, "*");
  char rule[256];
  assert_true (net_rules_port_p (r, 22));
  assert_string_equal (
      decide (r, "93.184.216.34", 443, "example.com", false, rule), "REFUSE");
  assert_string_equal (rule, "no https proxy configured: refused");
  assert_string_equal (decide (r, "93.184.216.34", 80, NULL, false, rule),
                       "REFUSE");
  assert_string_equal (rule, "no http proxy configured: refused");
  net_rules_free (r);
}

/* Allow internal services. */
static void
exclude_internal (void **state)
{
  struct policy p;
  const char *ex[] = { "internal.company.com", "10.0.0.0/8", NULL };
  struct net_rules *r = compile (&p, "", "", ex, "80,443");
  char rule[256];
  assert_false (net_rules_port_p (r, 22));
  assert_true (net_rules_port_p (r, 443));
  assert_string_equal (decide (r, "10.1.2.3", 443, NULL, false, rule),
                       "DIRECT");
  assert_string_equal (rule, "exclude \"10.0.0.0/8\"");
  assert_string_equal (
      decide (r, "192.0.2.7", 443, "internal.company.com", false, rule),
      "DIRECT");
  assert_string_equal (rule, "exclude \"internal.company.com\"");
  /* a plain name matches its subdomains too (Go's NO_PROXY, as Docker
   * Desktop reads exclude), never a longer label */
  assert_string_equal (
      decide (r, "192.0.2.7", 443, "x.internal.company.com", false, NULL),
      "DIRECT");
  assert_string_equal (
      decide (r, "192.0.2.7", 443, "xinternal.company.com", false, NULL),
      "REFUSE");
  assert_string_equal (decide (r, "11.0.0.1", 80, NULL, false, NULL),
                       "REFUSE");
  net_rules_free (r);
}

/* Everything through a corporate proxy, with exclusions. */
static void
corporate_proxy (void **state)
{
  struct policy p;
  const char *ex[] = { "localhost", "*.company.local", ".corp.example",
                       "fd00::/8",  "192.0.2.9",       NULL };
  struct net_rules *r
      = compile (&p, "http://proxy.corp:3128",
                 "http://alice:p%40ss@proxy.corp:3129/", ex, "*");
  char rule[256];
  assert_string_equal (
      decide (r, "198.51.100.1", 80, "a.example", false, rule),
      "PROXY proxy.corp:3128");
  assert_string_equal (rule, "http proxy");
  assert_string_equal (decide (r, "198.51.100.1", 443, NULL, false, rule),
                       "PROXY proxy.corp:3129");
  assert_string_equal (rule, "https proxy");
  assert_string_equal (decide (r, "198.51.100.1", 22, NULL, false, NULL),
                       "PROXY proxy.corp:3129");
  assert_string_equal (
      decide (r, "198.51.100.1", 443, "git.company.local", false, NULL),
      "DIRECT");
  /* *.suffix and .suffix: subdomains only, not the apex; never a longer
   * label */
  assert_string_equal (
      decide (r, "198.51.100.1", 443, "company.local", false, NULL),
      "PROXY proxy.corp:3129");
  assert_string_equal (
      decide (r, "198.51.100.1", 443, "corp.example", false, NULL),
      "PROXY proxy.corp:3129");
  assert_string_equal (
      decide (r, "198.51.100.1", 443, "a.corp.example", false, NULL),
      "DIRECT");
  assert_string_equal (
      decide (r, "198.51.100.1", 443, "xcorp.example", false, NULL),
      "PROXY proxy.corp:3129");
  assert_string_equal (decide (r, "fd12::1", 443, NULL, false, NULL),
                       "DIRECT");
  assert_string_equal (decide (r, "192.0.2.9", 8443, NULL, false, NULL),
                       "DIRECT");
  assert_string_equal (decide (r, "192.0.2.10", 8443, NULL, false, NULL),
                       "PROXY proxy.corp:3129");
  /* credentials follow the hop */
  struct proxy_hop h = { .kind = PROXY_HTTP, .port = 3129 };
  strcpy (h.host, "proxy.corp");
  const struct net_proxy_url *c = net_rules_credentials (r, &h);
  assert_non_null (c);
  assert_string_equal (c->user, "alice");
  assert_string_equal (c->pass, "p@ss");
  h.port = 3128;
  assert_null (net_rules_credentials (r, &h));
  net_rules_free (r);
}

static void
host_protection (void **state)
{
  struct policy p;
  const char *ex[] = { "*", NULL };
  struct net_rules *r = compile (&p, "", "", ex, "*");
  char rule[256];
  /* "*" goes direct, but not to the host, loopback or metadata */
  assert_string_equal (decide (r, "198.51.100.1", 443, NULL, false, NULL),
                       "DIRECT");
  assert_string_equal (decide (r, "172.17.0.1", 443, NULL, true, rule),
                       "REFUSE");
  assert_string_equal (
      decide (r, "198.51.100.1", 443, "host.docker.internal", false, NULL),
      "REFUSE");
  assert_string_equal (decide (r, "169.254.169.254", 80, NULL, false, rule),
                       "REFUSE");
  assert_string_equal (decide (r, "127.0.0.1", 80, NULL, false, NULL),
                       "REFUSE");
  assert_string_equal (decide (r, "::1", 80, NULL, false, NULL), "REFUSE");
  assert_string_equal (decide (r, "::ffff:127.0.0.1", 80, NULL, false, NULL),
                       "REFUSE");
  assert_string_equal (decide (r, "224.0.0.1", 80, NULL, false, NULL),
                       "REFUSE");
  net_rules_free (r);

  const char *ex2[] = { "host.docker.internal", "169.254.169.254", NULL };
  r = compile (&p, "", "", ex2, "*");
  assert_string_equal (decide (r, "172.17.0.1", 443, NULL, true, NULL),
                       "DIRECT");
  assert_string_equal (decide (r, "169.254.169.254", 80, NULL, false, NULL),
                       "DIRECT");
  assert_string_equal (decide (r, "169.254.169.253", 80, NULL, false, NULL),
                       "REFUSE");
  net_rules_free (r);
}

/* Review finding: excluding host.docker.internal (which opens the host)
 * must not also open link-local destinations (cloud metadata) to any
 * connection that carries a verified host name.  net_decide_protected's
 * `host_allowed_p (r, q) && (q->dst_is_host || q->hostname != NULL)` lets
 * a link-local destination through when the container names any host that
 * resolves to it (a public DNS name pointing at 169.254.169.254 is easy to
 * have); a `*` or a domain exclusion matching that name then sends it
 * DIRECT.  Fails today. */
static void
host_exclusion_opens_link_local (void **state)
{
  struct policy p;
  char rule[256];
  const char *ex[] = { "*", "host.docker.internal", NULL };
  struct net_rules *r = compile (&p, "", "", ex, "*");
  /* the host itself: named, so allowed */
  assert_string_equal (decide (r, "172.17.0.1", 443, NULL, true, NULL),
                       "DIRECT");
  /* metadata without a name: refused (host_protection shows it) */
  assert_string_equal (decide (r, "169.254.169.254", 80, NULL, false, rule),
                       "REFUSE");
  /* metadata with a verified name (the worker sets hostname only when
   * the name resolves to the destination): must stay refused */
  assert_string_equal (decide (r, "169.254.169.254", 80,
                               "metadata.attacker.example", false, rule),
                       "REFUSE");
  assert_string_equal (decide (r, "fe80::a9fe:a9fe", 80,
                               "metadata.attacker.example", false, rule),
                       "REFUSE");
  net_rules_free (r);

  /* the same with a domain exclusion (Go NO_PROXY meaning: subdomains) */
  const char *ex2[] = { "host.docker.internal:80", "corp.example", NULL };
  r = compile (&p, "", "", ex2, "*");
  assert_string_equal (
      decide (r, "169.254.169.254", 80, "meta.corp.example", false, rule),
      "REFUSE");
  net_rules_free (r);
}

static void
proxy_urls (void **state)
{
  struct policy p;
  struct net_rules *r = compile (&p, "socks5://[fd00::1]:1081",
                                 "socks4://proxy.corp", NULL, "*");
  assert_string_equal (decide (r, "198.51.100.1", 80, NULL, false, NULL),
                       "SOCKS5 [fd00::1]:1081");
  assert_string_equal (decide (r, "198.51.100.1", 443, NULL, false, NULL),
                       "SOCKS proxy.corp:1080");
  net_rules_free (r);
}

static void
cidrs_and_ports (void **state)
{
  struct net_cidr c;
  struct net_addr a;
  assert_int_equal (net_cidr_parse ("10.1.2.3/8", &c), 0);
  net_addr_parse ("10.200.0.1", &a);
  assert_true (net_cidr_contains_p (&c, &a));
  net_addr_parse ("::ffff:10.0.0.1", &a);
  assert_true (net_cidr_contains_p (&c, &a));
  net_addr_parse ("11.0.0.1", &a);
  assert_false (net_cidr_contains_p (&c, &a));
  assert_int_equal (net_cidr_parse ("10.0.0.0/33", &c), -1);
  assert_int_equal (net_cidr_parse ("10.0.0.0/", &c), -1);
  assert_int_equal (net_cidr_parse ("2001:db8::/129", &c), -1);
}

static void
pac_args (void **state)
{
  struct net_query q = { .port = 443, .hostname = "example.com" };
  char url[300], host[260];
  assert_int_equal (
      net_query_pac_args (&q, url, sizeof url, host, sizeof host), 0);
  assert_string_equal (url, "https://example.com:443");
  assert_string_equal (host, "example.com");
  q.hostname = NULL;
  q.port = 80;
  net_addr_parse ("2001:db8::1", &q.dst);
  net_query_pac_args (&q, url, sizeof url, host, sizeof host);
  assert_string_equal (url, "http://[2001:db8::1]:80");
  assert_string_equal (host, "2001:db8::1");
  q.port = 22;
  net_addr_parse ("10.0.0.1", &q.dst);
  net_query_pac_args (&q, url, sizeof url, host, sizeof host);
  assert_string_equal (url, "http://10.0.0.1:22");
  assert_int_equal (net_query_pac_args (&q, url, 5, host, sizeof host), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (block_all),
    cmocka_unit_test (exclude_internal),
    cmocka_unit_test (corporate_proxy),
    cmocka_unit_test (host_protection),
    cmocka_unit_test (host_exclusion_opens_link_local),
    cmocka_unit_test (proxy_urls),
    cmocka_unit_test (cidrs_and_ports),
    cmocka_unit_test (pac_args),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
