/* Unit tests of IP/CIDR parsing and matching, host names, exclude entries
 * and port lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "policy/netaddr.h"
#include "policy/url.h"

static bool
excl (const char *entry, const char *dest)
{
  struct netaddr_exclude e;
  moat_error_t err = NULL;
  if (netaddr_exclude_parse (entry, &e, &err) < 0)
    fail_msg ("%s: %s", entry, moat_error_msg (&err));
  return netaddr_exclude_match (&e, dest, 443);
}

static void
excl_bad (const char *entry, const char *msg)
{
  struct netaddr_exclude e;
  moat_error_t err = NULL;
  assert_int_equal (netaddr_exclude_parse (entry, &e, &err), -1);
  assert_string_equal (moat_error_msg (&err), msg);
  moat_error_release (&err);
}

static void
cidr_match (void **state)
{
  assert_true (excl ("10.0.0.0/8", "10.200.3.4"));
  assert_false (excl ("10.0.0.0/8", "11.0.0.1"));
  assert_true (excl ("10.1.2.3/8", "10.9.9.9"));
  assert_true (excl ("192.168.1.0/23", "192.168.0.255"));
  assert_false (excl ("192.168.1.0/24", "192.168.0.255"));
  assert_true (excl ("0.0.0.0/0", "8.8.8.8"));
  assert_true (excl ("127.0.0.1", "127.0.0.1"));
  assert_false (excl ("127.0.0.1", "127.0.0.2"));
  assert_true (excl ("fd00::/8", "fd12::1"));
  assert_true (excl ("fd00::/8", "[fd12::1]"));
  assert_false (excl ("fd00::/8", "fe80::1"));
  assert_true (excl ("10.0.0.0/8", "::ffff:10.1.1.1"));
  assert_false (excl ("10.0.0.0/8", "example.com"));
  assert_true (excl ("::1", "::1"));
}

/* Docker Desktop's exclude is Go's NO_PROXY: a name matches itself and its
 * subdomains, ".x" and "*.x" only the subdomains. */
static void
host_match (void **state)
{
  assert_true (excl ("internal.company.com", "INTERNAL.company.com"));
  assert_true (excl ("internal.company.com", "x.internal.company.com"));
  assert_false (excl ("internal.company.com", "xinternal.company.com"));
  assert_true (excl ("*.corp", "a.corp"));
  assert_true (excl ("*.corp", "a.b.corp"));
  assert_false (excl ("*.corp", "corp"));
  assert_false (excl ("*.corp", "acorp"));
  assert_true (excl (".corp", "x.corp"));
  assert_false (excl (".corp", "corp"));
  assert_true (excl ("localhost", "localhost"));
  assert_true (excl ("Host.Example.", "host.example."));
  assert_true (excl ("h_x.example", "h_x.example"));
  assert_true (excl ("*", "anything.example"));
  assert_true (excl ("*", "10.0.0.1"));
  /* with a port: that port only (excl tries port 443) */
  assert_true (excl ("corp.example:443", "a.corp.example"));
  assert_false (excl ("corp.example:8443", "a.corp.example"));
  assert_true (excl ("10.0.0.1:443", "10.0.0.1"));
  assert_false (excl ("10.0.0.1:80", "10.0.0.1"));
  assert_true (excl ("[fd00::1]:443", "[fd00::1]"));
  assert_false (excl ("10.0.0.1:80", "10.0.0.1:80"));
}

static void
bad_entries (void **state)
{
  excl_bad ("10.0.0.0/33", "\"10.0.0.0/33\" is not a valid IP address, CIDR "
                           "or host name: prefix 33 is larger than 32");
  excl_bad ("::/129", "\"::/129\" is not a valid IP address, CIDR or host "
                      "name: prefix 129 is larger than 128");
  excl_bad ("10.0.0.0/08", "\"10.0.0.0/08\" is not a valid IP address, CIDR "
                           "or host name: prefix `08` is not a number 0-32");
  excl_bad ("10.0.0.0/", "\"10.0.0.0/\" is not a valid IP address, CIDR or "
                         "host name: prefix `` is not a number 0-32");
  excl_bad ("300.1.1.1", "\"300.1.1.1\" is not a valid IP address, CIDR or "
                         "host name: `300.1.1.1` is not an IPv4 or IPv6 "
                         "address");
  excl_bad ("010.1.1.1", "\"010.1.1.1\" is not a valid IP address, CIDR or "
                         "host name: `010.1.1.1` is not an IPv4 or IPv6 "
                         "address");
  excl_bad ("a b", "\"a b\" is not a valid IP address, CIDR or host name");
  excl_bad ("", "an exclude entry may not be empty");
  excl_bad ("**", "\"**\" is not a valid IP address, CIDR or host name");
  excl_bad ("10.0.0.0/8:443",
            "\"10.0.0.0/8:443\" is not a valid IP address, CIDR or host "
            "name: a port goes with an address or a host name, not a CIDR");
  excl_bad ("10.0.0.1:0", "\"10.0.0.1:0\" is not a valid IP address, CIDR or "
                          "host name: `0` is not a port number 1-65535");
  excl_bad ("[h]:80", "\"[h]:80\" is not a valid IP address, CIDR or host "
                      "name: only an IPv6 address goes in `[]`");
  excl_bad ("*.-x.com", "\"*.-x.com\" is not a valid IP address, CIDR or "
                        "host name: `-x.com` is not a host name");
  excl_bad ("under score.com",
            "\"under score.com\" is not a valid IP address, CIDR or host "
            "name");
}

static void
hostnames (void **state)
{
  char long_label[80];
  memset (long_label, 'a', 64);
  strcpy (long_label + 64, ".com");
  assert_true (netaddr_hostname_valid_p ("a-b.c0m"));
  assert_true (netaddr_hostname_valid_p ("x"));
  assert_true (netaddr_hostname_valid_p ("_srv.h_x"));
  assert_false (netaddr_hostname_valid_p ("a..b"));
  assert_false (netaddr_hostname_valid_p ("a.b."));
  assert_false (netaddr_hostname_valid_p ("a-.b"));
  assert_false (netaddr_hostname_valid_p ("1.2.3.4"));
  assert_false (netaddr_hostname_valid_p (long_label));
}

static void
ports (void **state)
{
  uint8_t bm[65536 / 8];
  bool all;
  moat_error_t err = NULL;

  assert_int_equal (netaddr_parse_ports ("80, 443,8000-8002", &all, bm, &err),
                    0);
  assert_false (all);
  assert_true (netaddr_port_in (bm, 80));
  assert_true (netaddr_port_in (bm, 443));
  assert_true (netaddr_port_in (bm, 8001));
  assert_true (netaddr_port_in (bm, 8002));
  assert_false (netaddr_port_in (bm, 8003));
  assert_false (netaddr_port_in (bm, 81));
  /* Ranges that start and end inside a byte, and span whole bytes. */
  assert_int_equal (
      netaddr_parse_ports ("5-20,30-31,65530-65535", &all, bm, &err), 0);
  for (unsigned p = 0; p < 65536; p++)
    assert_int_equal (netaddr_port_in (bm, (uint16_t)p),
                      (p >= 5 && p <= 20) || p == 30 || p == 31 || p >= 65530);
  assert_int_equal (netaddr_parse_ports ("*", &all, bm, &err), 0);
  assert_true (all);
  assert_true (netaddr_port_in (bm, 65535));
  assert_false (netaddr_port_in (bm, 0));
  assert_int_equal (netaddr_parse_ports ("", &all, bm, &err), 0);
  assert_false (netaddr_port_in (bm, 80));
  assert_int_equal (netaddr_parse_ports ("1-65535", &all, bm, &err), 0);
  assert_true (netaddr_port_in (bm, 65535));
  assert_int_equal (netaddr_parse_ports ("80,x,1-2-3,08", &all, bm, &err), -1);
  assert_string_equal (moat_error_msg (&err),
                       "`x` is not a port number 1-65535; `1-2-3` is not a "
                       "port range a-b of ports 1-65535; `08` is not a port "
                       "number 1-65535");
  moat_error_release (&err);
  assert_int_equal (netaddr_parse_ports ("80,", &all, bm, &err), -1);
  assert_string_equal (moat_error_msg (&err), "empty item");
  moat_error_release (&err);
}

static void
urls (void **state)
{
  struct policy_url u;
  moat_error_t err = NULL;

  assert_int_equal (
      policy_proxy_url_parse ("http://u:p@proxy.local:3128", &u, &err), 0);
  assert_int_equal (u.scheme, POLICY_URL_HTTP);
  assert_string_equal (u.user, "u");
  assert_string_equal (u.pass, "p");
  assert_string_equal (u.host, "proxy.local");
  assert_int_equal (u.port, 3128);
  assert_int_equal (policy_proxy_url_parse ("socks5://[::1]", &u, &err), 0);
  assert_string_equal (u.host, "::1");
  assert_int_equal (u.port, 1080);
  assert_int_equal (policy_proxy_url_parse ("https://10.0.0.1/", &u, &err), 0);
  assert_int_equal (u.port, 443);
  assert_int_equal (policy_proxy_url_parse ("http://:80", &u, &err), -1);
  assert_string_equal (moat_error_msg (&err), "missing host");
  moat_error_release (&err);
  assert_int_equal (policy_proxy_url_parse ("http://@h:1", &u, &err), -1);
  assert_string_equal (moat_error_msg (&err), "empty user name before `@`");
  moat_error_release (&err);
  assert_int_equal (policy_proxy_url_parse ("http://h:0", &u, &err), -1);
  assert_string_equal (moat_error_msg (&err), "invalid port `0`");
  moat_error_release (&err);
  assert_int_equal (policy_proxy_url_parse ("http://h x:1", &u, &err), -1);
  assert_string_equal (moat_error_msg (&err),
                       "spaces and control characters are not allowed");
  moat_error_release (&err);
  assert_int_equal (policy_proxy_url_parse ("http://h..x:1", &u, &err), -1);
  assert_string_equal (moat_error_msg (&err),
                       "`h..x` is not a host name or IP address");
  moat_error_release (&err);
  assert_int_equal (policy_proxy_url_parse ("socks4://u:p@h", &u, &err), -1);
  assert_string_equal (moat_error_msg (&err), "SOCKS4 has no password");
  moat_error_release (&err);
  assert_int_equal (
      policy_proxy_url_parse ("SOCKS5H://A%3Ab@Proxy.Local.:1081", &u, &err),
      0);
  assert_int_equal (u.scheme, POLICY_URL_SOCKS5H);
  assert_true (u.has_user);
  assert_string_equal (u.user, "A:b");
  assert_string_equal (u.host, "proxy.local");
  assert_int_equal (u.port, 1081);
  assert_int_equal (policy_pac_url_parse ("https://h/p.pac?x=1", &u, &err), 0);
  assert_string_equal (u.path, "/p.pac?x=1");
  assert_int_equal (policy_pac_url_parse ("file:///etc/moat/p.pac", &u, &err),
                    0);
  assert_string_equal (u.path, "/etc/moat/p.pac");
  assert_int_equal (policy_pac_url_parse ("socks5://h", &u, &err), -1);
  moat_error_release (&err);
  assert_int_equal (policy_pac_url_parse ("http://u:p@h/p.pac", &u, &err), -1);
  assert_string_equal (moat_error_msg (&err),
                       "credentials are not allowed in a PAC URL");
  moat_error_release (&err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (cidr_match),  cmocka_unit_test (host_match),
    cmocka_unit_test (bad_entries), cmocka_unit_test (hostnames),
    cmocka_unit_test (ports),       cmocka_unit_test (urls),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
