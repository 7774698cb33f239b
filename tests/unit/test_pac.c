/* The PAC helpers' semantics (run in the real sandbox with a fixed clock and
 * TZ=EST5, so local time and GMT differ) and the PAC engine: URL form,
 * FindProxyForURLEx, DNS seeding and lookup limit, myIpAddress, decision
 * cache, fail-closed behaviour, hostile PACs, fetch. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "pac/engine.h"
#include "pac/fetch.h"
#include "pac/helpers.h"
#include "sandbox/client.h"
#include "sandbox_helpers.h"

/* ---- helpers, called directly in a sandbox ---- */

static int
test_host (void *ud, const char *name, const char *args, char **result,
           moat_error_t *err)
{
  if (strcmp (name, "dnsResolve") == 0)
    {
      if (strstr (args, "\"known.example\""))
        *result = strdup ("\"10.1.2.3\"");
      else
        *result = strdup ("null");
    }
  else if (strcmp (name, "dnsResolveEx") == 0)
    *result = strdup (strstr (args, "\"known.example\"")
                          ? "\"10.1.2.3;2001:db8::7\""
                          : "\"\"");
  else if (strcmp (name, "myIpAddress") == 0)
    *result = strdup ("\"172.17.0.2\"");
  else if (strcmp (name, "myIpAddressEx") == 0)
    *result = strdup ("\"172.17.0.2;fd00::2\"");
  else if (strcmp (name, "alert") == 0)
    *result = strdup ("null");
  else
    return moat_error (err, 0, "no %s", name);
  return 0;
}

struct helper_case
{
  const char *fn, *args, *want;
};

/* Clock: Wednesday 2026-03-04 23:30:15 UTC = 18:30:15 EST (Wed). */
static const char clock_js[]
    = "__moat_clock = function () { return new Date(Date.UTC(2026, 2, 4, 23, "
      "30, 15)); };";
/* Clock 2: Sunday 2026-01-04 03:05:00 UTC = Sat 2026-01-03 22:05 EST. */
static const char clock2_js[]
    = "__moat_clock = function () { return new Date(Date.UTC(2026, 0, 4, 3, "
      "5, 0)); };";

static const struct helper_case cases[] = {
  { "isPlainHostName", "[\"www\"]", "true" },
  { "isPlainHostName", "[\"www.example.com\"]", "false" },
  { "isPlainHostName", "[\"::1\"]", "false" },
  { "dnsDomainIs", "[\"www.example.com\", \".example.com\"]", "true" },
  { "dnsDomainIs", "[\"www\", \".example.com\"]", "false" },
  { "dnsDomainIs", "[\"www.example.org\", \".example.com\"]", "false" },
  { "localHostOrDomainIs", "[\"www.example.com\", \"www.example.com\"]",
    "true" },
  { "localHostOrDomainIs", "[\"www\", \"www.example.com\"]", "true" },
  { "localHostOrDomainIs", "[\"www.example.org\", \"www.example.com\"]",
    "false" },
  { "localHostOrDomainIs", "[\"home.example.com\", \"www.example.com\"]",
    "false" },
  { "dnsDomainLevels", "[\"www\"]", "0" },
  { "dnsDomainLevels", "[\"a.b.c\"]", "2" },
  { "isResolvable", "[\"known.example\"]", "true" },
  { "isResolvable", "[\"unknown.example\"]", "false" },
  { "dnsResolve", "[\"known.example\"]", "\"10.1.2.3\"" },
  { "dnsResolve", "[\"unknown.example\"]", "null" },
  { "myIpAddress", "[]", "\"172.17.0.2\"" },
  { "isInNet", "[\"10.1.2.3\", \"10.0.0.0\", \"255.0.0.0\"]", "true" },
  { "isInNet", "[\"11.1.2.3\", \"10.0.0.0\", \"255.0.0.0\"]", "false" },
  { "isInNet", "[\"known.example\", \"10.1.0.0\", \"255.255.0.0\"]", "true" },
  { "isInNet", "[\"unknown.example\", \"0.0.0.0\", \"0.0.0.0\"]", "false" },
  { "isInNet", "[\"192.168.1.1\", \"192.168.1.1\", \"255.255.255.255\"]",
    "true" },
  { "isInNet", "[\"255.255.255.255\", \"128.0.0.0\", \"128.0.0.0\"]", "true" },
  { "isInNet", "[\"1.2.3.4\", \"1.2.3\", \"255.0.0.0\"]", "false" },
  { "isInNet", "[\"1.2.3.256\", \"1.2.3.0\", \"255.0.0.0\"]", "false" },
  /* shExpMatch: glob only */
  { "shExpMatch", "[\"www.example.com\", \"*.example.com\"]", "true" },
  { "shExpMatch", "[\"example.com\", \"*.example.com\"]", "false" },
  { "shExpMatch", "[\"http://a/b\", \"http://*\"]", "true" },
  { "shExpMatch", "[\"abc\", \"a?c\"]", "true" },
  { "shExpMatch", "[\"ac\", \"a?c\"]", "false" },
  { "shExpMatch", "[\"\", \"*\"]", "true" },
  { "shExpMatch", "[\"\", \"?\"]", "false" },
  { "shExpMatch", "[\"axbxc\", \"a*b*c\"]", "true" },
  { "shExpMatch", "[\"aXc\", \"a.c\"]", "false" },
  { "shExpMatch", "[\"a.c\", \"a.c\"]", "true" },
  { "shExpMatch", "[\"ab\", \"[ab]b\"]", "false" },
  { "shExpMatch", "[\"[ab]b\", \"[ab]b\"]", "true" },
  { "shExpMatch", "[\"aaa\", \"a+\"]", "false" },
  { "shExpMatch", "[\"a+\", \"a+\"]", "true" },
  { "shExpMatch", "[\"a|b\", \"a|b\"]", "true" },
  { "shExpMatch", "[\"a\", \"a|b\"]", "false" },
  { "shExpMatch", "[\"x(y)\", \"x(y)\"]", "true" },
  { "shExpMatch",
    "[\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab\", "
    "\"*a*a*a*a*a*a*a*a*a*a*a*a*c\"]",
    "false" },
  { "shExpMatch", "[\"ab*\", \"ab\\\\*\"]", "false" },
  { "shExpMatch", "[\"\\u00e9\", \"?\"]", "true" },
  { "shExpMatch", "[\"x\\u00e9y.example\", \"x?y.*\"]", "true" },
  { "shExpMatch", "[\"\\u00e9\\u00e9z\", \"*?z\"]", "true" },
  { "shExpMatch", "[\"\\u00e9\", \"??\"]", "false" },
  { "shExpMatch", "[42, \"4*\"]", "true" },
  /* weekdayRange: now is Wednesday (local and GMT) */
  { "weekdayRange", "[\"WED\"]", "true" },
  { "weekdayRange", "[\"MON\", \"FRI\"]", "true" },
  { "weekdayRange", "[\"THU\", \"TUE\"]", "false" },
  { "weekdayRange", "[\"SAT\", \"WED\"]", "true" },
  { "weekdayRange", "[\"FRI\", \"MON\"]", "false" },
  { "weekdayRange", "[\"wed\"]", "false" },
  { "weekdayRange", "[\"toString\"]", "false" },
  { "weekdayRange", "[\"WED\", \"GMT\"]", "true" },
  { "weekdayRange", "[]", "false" },
  /* dateRange: local 2026-03-04 (EST), GMT 2026-03-04 */
  { "dateRange", "[4]", "true" },
  { "dateRange", "[\"4\"]", "true" },
  { "dateRange", "[5]", "false" },
  { "dateRange", "[\"MAR\"]", "true" },
  { "dateRange", "[2026]", "true" },
  { "dateRange", "[2025]", "false" },
  { "dateRange", "[1, 15]", "true" },
  { "dateRange", "[28, 5]", "true" },
  { "dateRange", "[5, 28]", "false" },
  { "dateRange", "[\"JAN\", \"MAR\"]", "true" },
  { "dateRange", "[\"NOV\", \"MAR\"]", "true" },
  { "dateRange", "[\"APR\", \"FEB\"]", "false" },
  { "dateRange", "[1, \"MAR\", 3, \"MAR\"]", "false" },
  { "dateRange", "[20, \"DEC\", 10, \"MAR\"]", "true" },
  { "dateRange", "[\"JAN\", 2026, \"MAR\", 2026]", "true" },
  { "dateRange", "[\"DEC\", 2026, \"JAN\", 2026]", "false" },
  { "dateRange", "[1, \"JAN\", 2025, 4, \"MAR\", 2026]", "true" },
  { "dateRange", "[1, \"JAN\", 2025, 3, \"MAR\", 2026]", "false" },
  { "dateRange", "[1, \"MAR\"]", "false" },
  { "dateRange", "[1, 2, 3]", "false" },
  { "dateRange", "[\"XYZ\"]", "false" },
  { "dateRange", "[0]", "false" },
  { "dateRange", "[\"MAR\", \"GMT\"]", "true" },
  /* timeRange: local 18:30:15, GMT 23:30:15 */
  { "timeRange", "[18]", "true" },
  { "timeRange", "[23]", "false" },
  { "timeRange", "[23, \"GMT\"]", "true" },
  { "timeRange", "[9, 17]", "false" },
  { "timeRange", "[9, 18]", "true" },
  { "timeRange", "[22, 6]", "false" },
  { "timeRange", "[17, 2]", "true" },
  { "timeRange", "[22, 6, \"GMT\"]", "true" },
  { "timeRange", "[18, 30, 18, 30]", "true" },
  { "timeRange", "[18, 31, 18, 29]", "false" },
  { "timeRange", "[18, 31, 18, 30]", "true" },
  { "timeRange", "[18, 30, 16, 18, 30, 20]", "false" },
  { "timeRange", "[18, 30, 15, 18, 30, 15]", "true" },
  { "timeRange", "[23, 0, 0, 0, 0, 0, \"GMT\"]", "true" },
  { "timeRange", "[24]", "false" },
  { "timeRange", "[1, 2, 3]", "false" },
  /* Microsoft set */
  { "dnsResolveEx", "[\"known.example\"]", "\"10.1.2.3;2001:db8::7\"" },
  { "dnsResolveEx", "[\"unknown.example\"]", "\"\"" },
  { "isResolvableEx", "[\"known.example\"]", "true" },
  { "isResolvableEx", "[\"unknown.example\"]", "false" },
  { "myIpAddressEx", "[]", "\"172.17.0.2;fd00::2\"" },
  { "isInNetEx", "[\"10.1.2.3\", \"10.0.0.0/8\"]", "true" },
  { "isInNetEx", "[\"10.1.2.3\", \"10.1.2.4/32\"]", "false" },
  { "isInNetEx", "[\"10.1.2.3\", \"0.0.0.0/0\"]", "true" },
  { "isInNetEx", "[\"2001:db8::7\", \"2001:db8::/32\"]", "true" },
  { "isInNetEx", "[\"2001:db9::7\", \"2001:db8::/32\"]", "false" },
  { "isInNetEx", "[\"2001:db8::7\", \"2001:db8::/127\"]", "false" },
  { "isInNetEx", "[\"2001:db8::6\", \"2001:db8::7/127\"]", "true" },
  { "isInNetEx", "[\"::ffff:10.1.2.3\", \"::ffff:10.0.0.0/104\"]", "true" },
  { "isInNetEx", "[\"10.1.2.3\", \"::/0\"]", "false" },
  { "isInNetEx", "[\"known.example\", \"10.0.0.0/8\"]", "false" },
  { "isInNetEx", "[\"10.1.2.3\", \"10.0.0.0\"]", "false" },
  { "isInNetEx", "[\"10.1.2.3\", \"10.0.0.0/33\"]", "false" },
  { "isInNetEx", "[\"1:2:3:4:5:6:7:8:9\", \"::/0\"]", "false" },
  { "sortIpAddressList",
    "[\"10.2.3.9;2001:4898:28:3:201:2ff:feea:fc14;::1;127.0.0.1;::9\"]",
    "\"::1;::9;2001:4898:28:3:201:2ff:feea:fc14;10.2.3.9;127.0.0.1\"" },
  { "sortIpAddressList", "[\"10.0.0.10; 10.0.0.9\"]",
    "\"10.0.0.9;10.0.0.10\"" },
  { "sortIpAddressList", "[\"10.0.0.1;bogus\"]", "false" },
  { "sortIpAddressList", "[\"\"]", "false" },
  { "getClientVersion", "[]", "\"1.0\"" },
  { "alert", "[\"hello\"]", "null" },
};

/* Clock 2 (Saturday 22:05 local, Sunday 03:05 GMT): GMT flips the day. */
static const struct helper_case cases2[] = {
  { "weekdayRange", "[\"SAT\"]", "true" },
  { "weekdayRange", "[\"SUN\", \"GMT\"]", "true" },
  { "weekdayRange", "[\"FRI\", \"MON\"]", "true" },
  { "weekdayRange", "[\"SUN\", \"FRI\"]", "false" },
  { "dateRange", "[3]", "true" },
  { "dateRange", "[4, \"GMT\"]", "true" },
  { "dateRange", "[2026]", "true" },
  { "dateRange", "[2025]", "false" },
  { "dateRange", "[2026, \"GMT\"]", "true" },
  { "dateRange", "[\"DEC\", \"JAN\"]", "true" },
  { "timeRange", "[22, 2]", "true" },
  { "timeRange", "[21, 50, 22, 10]", "true" },
  { "timeRange", "[3, \"GMT\"]", "true" },
};

static const char *pre_helpers = NULL; /* script run before the helpers */

static struct sandbox_client *
helpers_sandbox (const char *clock)
{
  struct sandbox_client *c = NULL;
  moat_error_t err = NULL;
  struct sandbox_client_opts o
      = { .exe = test_sandbox_exe (), .host = test_host, .grace_ms = 500 };
  if (sandbox_client_new (&o, &c, &err) < 0
      || (pre_helpers
          && sandbox_client_load (c, "pre", pre_helpers, strlen (pre_helpers),
                                  1000, &err)
                 < 0)
      || sandbox_client_load (c, "helpers", pac_helpers_js, pac_helpers_js_len,
                              5000, &err)
             < 0
      || sandbox_client_load (c, "clock", clock, strlen (clock), 1000, &err)
             < 0)
    fail_msg ("%s", moat_error_msg (&err));
  return c;
}

static void
run_cases (const char *clock, const struct helper_case *cs, size_t n)
{
  struct sandbox_client *c = helpers_sandbox (clock);
  int bad = 0;
  for (size_t i = 0; i < n; i++)
    {
      cleanup_error moat_error_t err = NULL;
      cleanup_free char *r = NULL;
      if (sandbox_client_call (c, cs[i].fn, cs[i].args, 1000, &r, &err) < 0)
        {
          print_error ("%s(%s): %s\n", cs[i].fn, cs[i].args,
                       moat_error_msg (&err));
          bad++;
        }
      else if (strcmp (r, cs[i].want) != 0)
        {
          print_error ("%s(%s) = %s, want %s\n", cs[i].fn, cs[i].args, r,
                       cs[i].want);
          bad++;
        }
    }
  sandbox_client_free (c);
  assert_int_equal (bad, 0);
}

static void
helpers_semantics (void **state)
{
  run_cases (clock_js, cases, sizeof cases / sizeof cases[0]);
}

static void
helpers_gmt_and_wrap (void **state)
{
  run_cases (clock2_js, cases2, sizeof cases2 / sizeof cases2[0]);
}

/* The JavaScript glob (used when the sandbox has no native __moat_glob)
 * agrees with the native one on every shExpMatch case. */
static void
helpers_js_glob_fallback (void **state)
{
  struct helper_case globs[64];
  size_t n = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0] && n < 64; i++)
    if (strcmp (cases[i].fn, "shExpMatch") == 0)
      globs[n++] = cases[i];
  assert_true (n > 20);
  pre_helpers = "__moat_glob = undefined;";
  run_cases (clock_js, globs, n);
  pre_helpers = NULL;
}

/* ---- engine ---- */

struct fake_dns
{
  int calls;
};

static int
fake_resolve (void *ud, const char *name, int family, char *out, size_t outlen)
{
  struct fake_dns *d = ud;
  d->calls++;
  if (strncmp (name, "n", 1) == 0 || strcmp (name, "known.example") == 0)
    {
      snprintf (out, outlen, "%s",
                family == AF_INET ? "10.9.9.9" : "10.9.9.9;fd00::9");
      return 0;
    }
  return 1;
}

static struct pac_engine *
engine (struct fake_dns *dns, unsigned cache_ttl, const char *pac)
{
  struct pac_engine *e = NULL;
  moat_error_t err = NULL;
  struct pac_engine_opts o = { .sandbox_exe = test_sandbox_exe (),
                               .timeout_ms = 300,
                               .resolve = fake_resolve,
                               .resolve_ud = dns,
                               .cache_ttl_ms = cache_ttl };
  if (pac_engine_new (&o, &e, &err) < 0)
    fail_msg ("%s", moat_error_msg (&err));
  if (pac && pac_engine_load (e, pac, strlen (pac), &err) < 0)
    fail_msg ("%s", moat_error_msg (&err));
  return e;
}

static const char url_pac[]
    = "function FindProxyForURL(url, host) {\n"
      "  if (url === 'https://example.com:443' && host === 'example.com')\n"
      "    return 'DIRECT';\n"
      "  if (url === 'http://example.com:8080') return 'PROXY p:3128';\n"
      "  if (url === 'http://10.0.0.1:80' && host === '10.0.0.1')\n"
      "    return 'SOCKS5 s:1080';\n"
      "  if (url === 'http://[2001:db8::1]:80' && host === '2001:db8::1')\n"
      "    return 'HTTPS h:443';\n"
      "  if (host === 'seed.example') return 'PROXY ' + dnsResolve(host) + "
      "':1';\n"
      "  if (host === 'me.example') return 'PROXY ' + myIpAddress() + ':2';\n"
      "  if (host === 'many.example') {\n"
      "    for (var i = 0; i < 20; i++) dnsResolve('n' + i + '.example');\n"
      "    return isResolvable('n1.example') ? 'DIRECT' : 'PROXY x:1';\n"
      "  }\n"
      "  if (host === 'loop.example') for (;;) {}\n"
      "  if (host === 'regex.example')\n"
      "    return /^(a+)+$/.test(new Array(40).join('a') + 'b') ? 'DIRECT' : "
      "'x';\n"
      "  if (host === 'bomb.example') { var a = []; for (;;) "
      "a.push(a.join('xx') + a.length); }\n"
      "  if (host === 'deep.example') { var f = function (n) { return f(n + "
      "1) + 1; }; f(0); }\n"
      "  if (host === 'throw.example') throw new Error('nope');\n"
      "  if (host === 'nonstring.example') return 42;\n"
      "  if (host === 'garbage.example') return 'PROXY';\n"
      "  if (host === 'hostloop.example') for (;;) "
      "dnsResolve('known.example');\n"
      "  return 'PROXY reject.docker.internal:1';\n"
      "}\n";

static void
decide (struct pac_engine *e, const char *host, uint16_t port, const char *ip,
        const char *my_ip, struct proxy_list *l)
{
  cleanup_error moat_error_t err = NULL;
  if (pac_engine_decide (e, host, port, ip, my_ip, l, NULL, &err) < 0)
    fail_msg ("decide %s: %s", host ? host : ip, moat_error_msg (&err));
}

static void
engine_url_and_results (void **state)
{
  struct fake_dns dns = { 0 };
  struct pac_engine *e = engine (&dns, 0, url_pac);
  struct proxy_list l;
  decide (e, "example.com", 443, "93.184.216.34", NULL, &l);
  assert_int_equal (l.hops[0].kind, PROXY_DIRECT);
  decide (e, "example.com", 8080, "93.184.216.34", NULL, &l);
  assert_int_equal (l.hops[0].kind, PROXY_HTTP);
  decide (e, NULL, 80, "10.0.0.1", NULL, &l);
  assert_int_equal (l.hops[0].kind, PROXY_SOCKS5);
  decide (e, NULL, 80, "2001:db8::1", NULL, &l);
  assert_int_equal (l.hops[0].kind, PROXY_HTTPS);
  /* dnsResolve(host) answers the verified destination, no lookup */
  decide (e, "seed.example", 443, "10.7.7.7", NULL, &l);
  assert_string_equal (l.hops[0].host, "10.7.7.7");
  assert_int_equal (dns.calls, 0);
  decide (e, "me.example", 443, "10.7.7.7", "172.18.0.4", &l);
  assert_string_equal (l.hops[0].host, "172.18.0.4");
  decide (e, "other.example", 443, "10.7.7.7", NULL, &l);
  assert_int_equal (l.hops[0].kind, PROXY_REJECT);
  pac_engine_free (e);
}

static void
engine_dns_limit (void **state)
{
  struct fake_dns dns = { 0 };
  struct pac_engine *e = engine (&dns, 0, url_pac);
  struct proxy_list l;
  struct pac_engine_stats st;
  decide (e, "many.example", 443, "10.7.7.7", NULL, &l);
  assert_int_equal (dns.calls, 8); /* default per-evaluation limit */
  assert_int_equal (l.hops[0].kind, PROXY_DIRECT); /* n1 cached */
  pac_engine_stats (e, &st);
  assert_int_equal (st.dns_limited, 12);
  pac_engine_free (e);
}

static void
engine_prefers_ex (void **state)
{
  struct fake_dns dns = { 0 };
  const char *pac = "function FindProxyForURL(u, h) { return 'PROXY a:1'; }\n"
                    "function FindProxyForURLEx(u, h) {\n"
                    "  return isResolvableEx(h) ? 'DIRECT' : 'PROXY b:2'; }\n";
  struct pac_engine *e = engine (&dns, 0, pac);
  struct proxy_list l;
  decide (e, "known.example", 443, "10.9.9.9", NULL, &l);
  assert_int_equal (l.hops[0].kind, PROXY_DIRECT);
  /* the destination seeds dnsResolveEx(host) too */
  decide (e, "zzz.example", 443, "10.9.9.8", NULL, &l);
  assert_int_equal (l.hops[0].kind, PROXY_DIRECT);
  decide (e, "zzz.example", 443, NULL, NULL, &l);
  assert_string_equal (l.hops[0].host, "b");
  pac_engine_free (e);
}

static void
engine_cache (void **state)
{
  struct fake_dns dns = { 0 };
  struct pac_engine *e = engine (&dns, 100, url_pac);
  struct proxy_list l;
  bool cached = true;
  cleanup_error moat_error_t err = NULL;
  struct pac_engine_stats st;
  assert_int_equal (pac_engine_decide (e, "me.example", 443, "1.1.1.1",
                                       "172.18.0.4", &l, &cached, &err),
                    0);
  assert_false (cached);
  assert_int_equal (pac_engine_decide (e, "me.example", 443, "1.1.1.1",
                                       "172.18.0.4", &l, &cached, &err),
                    0);
  assert_true (cached);
  assert_string_equal (l.hops[0].host, "172.18.0.4");
  /* the cache alone (the net guard's loop): the same answer, and a miss
   * for what was never evaluated */
  memset (&l, 0, sizeof l);
  assert_int_equal (pac_engine_decide_cached (e, "me.example", 443, "1.1.1.1",
                                              "172.18.0.4", &l),
                    1);
  assert_string_equal (l.hops[0].host, "172.18.0.4");
  assert_int_equal (pac_engine_decide_cached (e, "me.example", 80, "1.1.1.1",
                                              "172.18.0.4", &l),
                    0);
  /* another container: its own entry (myIpAddress may differ) */
  assert_int_equal (pac_engine_decide (e, "me.example", 443, "1.1.1.1",
                                       "172.18.0.5", &l, &cached, &err),
                    0);
  assert_false (cached);
  assert_string_equal (l.hops[0].host, "172.18.0.5");
  usleep (150 * 1000);
  assert_int_equal (pac_engine_decide (e, "me.example", 443, "1.1.1.1",
                                       "172.18.0.4", &l, &cached, &err),
                    0);
  assert_false (cached);
  assert_int_equal (pac_engine_decide_cached (e, "me.example", 443, "1.1.1.1",
                                              "172.18.0.5", &l),
                    0); /* expired */
  pac_engine_stats (e, &st);
  assert_int_equal (st.cache_hits, 2);
  assert_int_equal (st.cache_misses, 3);
  /* a new PAC clears the cache */
  const char *pac2 = "function FindProxyForURL(u, h) { return 'DIRECT'; }";
  assert_int_equal (pac_engine_load (e, pac2, strlen (pac2), &err), 0);
  assert_int_equal (pac_engine_decide (e, "me.example", 443, "1.1.1.1",
                                       "172.18.0.4", &l, &cached, &err),
                    0);
  assert_false (cached);
  assert_int_equal (l.hops[0].kind, PROXY_DIRECT);
  assert_int_equal (pac_engine_decide_cached (e, "me.example", 443, "1.1.1.1",
                                              "172.18.0.5", &l),
                    0); /* cleared by the load */
  pac_engine_free (e);
}

/* ---- the sandbox pool ---- */

static const char echo_pac[]
    = "function FindProxyForURL(u, h) { return 'PROXY ' + h + ':1'; }";
static const char echo_pac2[]
    = "function FindProxyForURL(u, h) { return 'PROXY ' + h + ':2'; }";

struct pool_arg
{
  struct pac_engine *e;
  int id, wrong;
};

static void *
pool_thread (void *p)
{
  struct pool_arg *a = p;
  for (int i = 0; i < 25; i++)
    {
      char host[64];
      struct proxy_list l;
      moat_error_t err = NULL;
      snprintf (host, sizeof host, "h%d-%d.example", a->id, i);
      /* Each answer names the host asked about (no state leaks from one
       * evaluation or sandbox into another); port 1 or 2 depending on
       * which PAC was loaded at the time. */
      if (pac_engine_decide (a->e, host, 443, "10.1.1.1", NULL, &l, NULL, &err)
              < 0
          || l.n != 1 || strcmp (l.hops[0].host, host) != 0
          || (l.hops[0].port != 1 && l.hops[0].port != 2))
        a->wrong++;
      moat_error_release (&err);
    }
  return NULL;
}

static void
engine_pool (void **state)
{
  struct pac_engine *e = NULL;
  cleanup_error moat_error_t err = NULL;
  struct pac_engine_opts o = { .sandbox_exe = test_sandbox_exe (),
                               .timeout_ms = 1000,
                               .sandboxes = 2 };
  struct pool_arg args[4];
  pthread_t t[4];
  struct pac_engine_stats st;

  assert_int_equal (pac_engine_new (&o, &e, &err), 0);
  assert_int_equal (pac_engine_load (e, echo_pac, strlen (echo_pac), &err), 0);
  for (int i = 0; i < 4; i++)
    {
      args[i] = (struct pool_arg){ e, i, 0 };
      assert_int_equal (pthread_create (&t[i], NULL, pool_thread, &args[i]),
                        0);
    }
  /* A reload in the middle: decisions wait for it, none fails. */
  usleep (20 * 1000);
  assert_int_equal (pac_engine_load (e, echo_pac2, strlen (echo_pac2), &err),
                    0);
  for (int i = 0; i < 4; i++)
    {
      pthread_join (t[i], NULL);
      assert_int_equal (args[i].wrong, 0);
    }
  pac_engine_stats (e, &st);
  assert_int_equal (st.sandboxes, 2);
  assert_int_equal (st.evaluations, 100);
  assert_int_equal (st.failures, 0);
  pac_engine_free (e);
  assert_true (pac_engine_default_sandboxes () >= PAC_POOL_MIN);
  assert_true (pac_engine_default_sandboxes () <= PAC_POOL_MAX);
}

/* How usable the PAC is: load failures, evaluation failures and timeouts,
 * as `moat status` and the audit report them. */
static void
engine_health (void **state)
{
  struct fake_dns dns = { 0 };
  struct pac_engine *e = engine (&dns, 0, NULL);
  struct pac_engine_health h;
  struct proxy_list l;
  moat_error_t err = NULL;

  pac_engine_health (e, &h);
  assert_false (h.loaded);
  assert_string_equal (h.why, "no PAC loaded");
  const char *bad = "function FindProxyForURL(u, h) { return 'DIRECT' ";
  assert_int_equal (pac_engine_load (e, bad, strlen (bad), &err), -1);
  moat_error_release (&err);
  pac_engine_health (e, &h);
  assert_false (h.loaded);
  assert_non_null (strstr (h.why, "SyntaxError"));
  assert_int_equal (
      pac_engine_decide (e, "a.example", 443, "1.1.1.1", NULL, &l, NULL, &err),
      -1);
  assert_int_equal (moat_error_status (&err), ENOENT);
  assert_non_null (strstr (moat_error_msg (&err), "SyntaxError"));
  moat_error_release (&err);

  const char *pac = "function FindProxyForURL(u, h) {\n"
                    "  if (h == 'throw.example') throw new Error('boom');\n"
                    "  if (h == 'junk.example') return 'NONSENSE x';\n"
                    "  if (h == 'loop.example') for (;;) {}\n"
                    "  return 'DIRECT'; }";
  assert_int_equal (pac_engine_load (e, pac, strlen (pac), &err), 0);
  pac_engine_health (e, &h);
  assert_true (h.loaded);
  assert_int_equal (h.consecutive_failures, 0);
  assert_int_equal (pac_engine_decide (e, "throw.example", 443, "1.1.1.1",
                                       NULL, &l, NULL, &err),
                    -1);
  assert_int_not_equal (moat_error_status (&err), ETIMEDOUT);
  moat_error_release (&err);
  pac_engine_health (e, &h);
  assert_int_equal (h.last_kind, PAC_FAILED);
  assert_non_null (strstr (h.last_error, "boom"));
  assert_int_equal (pac_engine_decide (e, "junk.example", 443, "1.1.1.1", NULL,
                                       &l, NULL, &err),
                    -1);
  moat_error_release (&err);
  assert_int_equal (pac_engine_decide (e, "loop.example", 443, "1.1.1.1", NULL,
                                       &l, NULL, &err),
                    -1);
  assert_int_equal (moat_error_status (&err), ETIMEDOUT);
  moat_error_release (&err);
  pac_engine_health (e, &h);
  assert_true (h.loaded);
  assert_int_equal (h.last_kind, PAC_TIMEOUT);
  assert_int_equal (h.consecutive_failures, 3);
  assert_int_equal (pac_engine_decide (e, "ok.example", 443, "1.1.1.1", NULL,
                                       &l, NULL, &err),
                    0);
  pac_engine_health (e, &h);
  assert_int_equal (h.last_kind, PAC_OK);
  assert_int_equal (h.consecutive_failures, 0);
  assert_int_equal (h.failures, 4); /* with the one while not loaded */
  pac_engine_free (e);
}

static void
engine_fails_closed (void **state)
{
  struct fake_dns dns = { 0 };
  struct pac_engine *e = engine (&dns, 0, NULL);
  struct proxy_list l;
  moat_error_t err = NULL;
  assert_int_equal (
      pac_engine_decide (e, "a.example", 443, "1.1.1.1", NULL, &l, NULL, &err),
      -1);
  assert_non_null (strstr (moat_error_msg (&err), "no PAC"));
  moat_error_release (&err);
  const char *bad = "function FindProxyForURL(u, h) { return 'DIRECT' ";
  assert_int_equal (pac_engine_load (e, bad, strlen (bad), &err), -1);
  assert_non_null (strstr (moat_error_msg (&err), "SyntaxError"));
  moat_error_release (&err);
  assert_int_equal (
      pac_engine_decide (e, "a.example", 443, "1.1.1.1", NULL, &l, NULL, &err),
      -1);
  moat_error_release (&err);
  const char *none = "var x = 1;";
  assert_int_equal (pac_engine_load (e, none, strlen (none), &err), 0);
  assert_int_equal (
      pac_engine_decide (e, "a.example", 443, "1.1.1.1", NULL, &l, NULL, &err),
      -1);
  assert_non_null (strstr (moat_error_msg (&err), "no FindProxyForURL"));
  moat_error_release (&err);
  pac_engine_free (e);
}

static void
engine_hostile_pacs (void **state)
{
  static const char *hostile[]
      = { "loop.example",    "regex.example",   "bomb.example",
          "deep.example",    "throw.example",   "nonstring.example",
          "garbage.example", "hostloop.example" };
  struct fake_dns dns = { 0 };
  struct pac_engine *e = engine (&dns, 0, url_pac);
  for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++)
    {
      struct proxy_list l;
      cleanup_error moat_error_t err = NULL;
      struct timespec a, b;
      clock_gettime (CLOCK_MONOTONIC, &a);
      int r = pac_engine_decide (e, hostile[i], 443, "1.2.3.4", NULL, &l, NULL,
                                 &err);
      clock_gettime (CLOCK_MONOTONIC, &b);
      long ms
          = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
      print_message ("# %s: %ld ms: %s\n", hostile[i], ms,
                     r < 0 ? moat_error_msg (&err) : "ok");
      assert_int_equal (r, -1);
      /* 300 ms timeout + 50 ms grace, plus a restart (spawn and reload the
       * helpers: ~50 ms plain, ~600 ms under ASan) */
      assert_true (ms < 2500);
      decide (e, "example.com", 443, "1.1.1.1", NULL, &l);
      assert_int_equal (l.hops[0].kind, PROXY_DIRECT);
    }
  struct pac_engine_stats st;
  pac_engine_stats (e, &st);
  print_message ("# restarts %lu, failures %lu\n", st.sandbox_restarts,
                 st.failures);
  assert_int_equal (st.failures, 8);
  pac_engine_free (e);
}

/* ---- fetch ---- */

static void
write_file (const char *path, const char *body)
{
  FILE *f = fopen (path, "we");
  assert_non_null (f);
  assert_int_equal (fwrite (body, 1, strlen (body), f), strlen (body));
  assert_int_equal (fclose (f), 0);
}

static void
fetch_file_and_limits (void **state)
{
  char path[] = "/tmp/moat-pac-test-XXXXXX";
  int fd = mkstemp (path);
  assert_true (fd >= 0);
  const char *body = "function FindProxyForURL(u, h) { return 'DIRECT'; }\n";
  assert_int_equal (write (fd, body, strlen (body)), (ssize_t)strlen (body));
  char url[64];
  snprintf (url, sizeof url, "file://%s", path);
  cleanup_free char *got = NULL;
  size_t len;
  moat_error_t err = NULL;
  assert_int_equal (pac_fetch (url, 2000, &got, &len, &err), 0);
  assert_int_equal (len, strlen (body));
  assert_string_equal (got, body);
  /* over the cap */
  char *big = calloc (1, PAC_FETCH_MAX + 10);
  memset (big, ' ', PAC_FETCH_MAX + 10);
  assert_int_equal (pwrite (fd, big, PAC_FETCH_MAX + 10, 0),
                    PAC_FETCH_MAX + 10);
  free (big);
  close (fd);
  char *got2 = NULL;
  assert_int_equal (pac_fetch (url, 2000, &got2, &len, &err), -1);
  assert_non_null (strstr (moat_error_msg (&err), "larger than"));
  moat_error_release (&err);

  /* through the engine: a failed fetch leaves no PAC, and says why */
  struct fake_dns dns = { 0 };
  struct pac_engine *e = engine (&dns, 1000, NULL);
  char why[256];
  assert_false (pac_engine_ready (e, why, sizeof why));
  assert_string_equal (why, "no PAC loaded");
  assert_int_equal (pac_engine_load_url (e, url, 2000, &err), -1);
  moat_error_release (&err);
  assert_false (pac_engine_ready (e, why, sizeof why));
  assert_non_null (strstr (why, "larger than"));
  write_file (path, body);
  assert_int_equal (pac_engine_load_url (e, url, 2000, &err), 0);
  assert_true (pac_engine_ready (e, NULL, 0));
  /* Background loads: begin(NULL) keeps the current PAC deciding;
   * begin(why) unloads it and reports why; a load under a stale ticket
   * changes nothing. */
  uint64_t t0 = pac_engine_begin (e, NULL);
  assert_true (pac_engine_ready (e, NULL, 0));
  uint64_t t1 = pac_engine_begin (e, "fetching one");
  assert_true (t1 > t0);
  assert_false (pac_engine_ready (e, why, sizeof why));
  assert_string_equal (why, "fetching one");
  uint64_t t2 = pac_engine_begin (e, "fetching two");
  assert_int_equal (pac_engine_load_url_ticket (e, url, 2000, t1, NULL, &err),
                    1);
  assert_false (pac_engine_ready (e, why, sizeof why));
  assert_string_equal (why, "fetching two");
  assert_int_equal (pac_engine_load_url_ticket (e, url, 2000, t2, NULL, &err),
                    0);
  assert_true (pac_engine_ready (e, NULL, 0));
  pac_engine_free (e);
  unlink (path);
  assert_int_equal (pac_fetch (url, 2000, &got2, &len, &err), -1);
  moat_error_release (&err);
  assert_int_equal (
      pac_fetch ("ftp://127.0.0.1/x.pac", 2000, &got2, &len, &err), -1);
  assert_non_null (strstr (moat_error_msg (&err), "only http"));
  moat_error_release (&err);
}

int
main (void)
{
  signal (SIGPIPE, SIG_IGN);
  setenv ("TZ", "EST5", 1);
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (helpers_semantics),
    cmocka_unit_test (helpers_gmt_and_wrap),
    cmocka_unit_test (helpers_js_glob_fallback),
    cmocka_unit_test (engine_url_and_results),
    cmocka_unit_test (engine_dns_limit),
    cmocka_unit_test (engine_prefers_ex),
    cmocka_unit_test (engine_cache),
    cmocka_unit_test (engine_fails_closed),
    cmocka_unit_test (engine_pool),
    cmocka_unit_test (engine_health),
    cmocka_unit_test (engine_hostile_pacs),
    cmocka_unit_test (fetch_file_and_limits),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
