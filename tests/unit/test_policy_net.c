/* One policy source (issue 12, section 2): the same proxy URLs, exclude
 * entries and port lists are fed to the validator (`moat settings set` and
 * admin-settings.json) and to the net guard's compiled rules, and both must
 * give the same answer: accepted or refused, and for accepted values the
 * same meaning (route, credentials, which destinations an exclude entry
 * sends DIRECT).
 *
 * The guard is fed each string twice: through the policy the validator
 * built (mode manual), and as raw text through mode "system" (the host's
 * http_proxy/https_proxy/no_proxy), which the guard parses itself. */
/* The tables leave out the fields a refused row does not need. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/cleanup.h"
#include "net/decide.h"
#include "net/rules.h"
#include "policy/policy.h"

/* ---- the two sides ---- */

static bool
validator_accepts (const char *key, const char *value_text)
{
  json_t *v = NULL;
  moat_error_t err = NULL;
  int r = policy_check_override (NULL, key, value_text, &v, &err);
  json_decref (v);
  moat_error_release (&err);
  return r == 0;
}

/* The guard's rules from an admin file (the validator's parsed values). */
static struct net_rules *
rules_from_file (const char *proxy_json)
{
  char buf[2048];
  struct policy_admin *a = NULL;
  struct policy_report rep = { 0 };
  struct policy *p = NULL;
  struct net_rules *r = NULL;
  moat_error_t err = NULL;

  snprintf (buf, sizeof buf,
            "{\"configurationFileVersion\": 2, \"containersProxy\": "
            "{\"locked\": true, \"mode\": \"manual\", %s}}",
            proxy_json);
  if (policy_admin_parse (buf, strlen (buf), &a, &rep, &err) < 0)
    {
      cleanup_free char *t = policy_report_format (&rep);
      fail_msg ("admin file refused: %s %s", t ? t : "",
                moat_error_msg (&err));
    }
  policy_report_free (&rep);
  assert_int_equal (policy_build (a, NULL, &p, &err), 0);
  policy_admin_free (a);
  if (net_rules_compile (p, NULL, &r, &err) < 0)
    fail_msg ("guard refused what the validator accepted: %s",
              moat_error_msg (&err));
  policy_free (p);
  return r;
}

/* The guard's rules from raw strings (mode system); NULL when refused. */
static struct net_rules *
rules_from_system (const char *http, const char *no_proxy)
{
  struct policy p;
  struct net_system_proxy sys = { http, "http://proxy.test:3128", no_proxy };
  struct net_rules *r = NULL;
  moat_error_t err = NULL;

  memset (&p, 0, sizeof p);
  p.proxy.mode = POLICY_PROXY_SYSTEM;
  p.proxy.http = (char *)"";
  p.proxy.https = (char *)"";
  p.proxy.pac = (char *)"";
  p.proxy.transparent_ports = (char *)"*";
  p.proxy.all_ports = true;
  if (net_rules_compile (&p, &sys, &r, &err) < 0)
    {
      moat_error_release (&err);
      return NULL;
    }
  return r;
}

/* ---- proxy URLs ---- */

struct url_case
{
  const char *url;
  bool ok;
  /* accepted: the route for port 80 and the credentials sent */
  const char *route;
  const char *user, *pass;
};

static const struct url_case url_cases[] = {
  { "proxy:080", false },
  { "http://proxy:080", false },
  { "http://h_x", true, "PROXY h_x:80" },
  { "http://host.", true, "PROXY host:80" },
  { "socks4://h:1", true, "SOCKS h:1" },
  { "socks5h://h:1", true, "SOCKS5 h:1" },
  { "http://h:3128", true, "PROXY h:3128" },
  { "https://h", true, "HTTPS h:443" },
  { "socks5://u:p@h:1080", true, "SOCKS5 h:1080", "u", "p" },
  { "[::1]:8080", false },
  { "", true, "REFUSE" },
  { "http://h:0", false },
  { "http://[::1]:8080", true, "PROXY [::1]:8080" },
  { "HTTP://Proxy.Example:3128/", true, "PROXY proxy.example:3128" },
  { "http://u%40x:p%3Aw@h", true, "PROXY h:80", "u@x", "p:w" },
  { "http://alice@h:8080", true, "PROXY h:8080", "alice", "" },
  { "socks4://u:p@h:1080", false },
  { "ftp://h:21", false },
  { "http://h/path", false },
  { "http://h:65536", false },
  { "http://-h", false },
  { "http://a b:1", false },
  { "http://[::1", false },
  { "http://300.1.1.1", false },
  { "http://u:p%zz@h", false },
};

static void
check_url_meaning (const struct url_case *c, struct net_rules *r,
                   const char *side)
{
  struct net_query q = { .port = 80 };
  struct net_decision d;
  char buf[256];

  assert_int_equal (net_addr_parse ("198.51.100.1", &q.dst), 0);
  net_decide_static (r, &q, &d);
  net_decision_format (&d, buf, sizeof buf);
  if (strcmp (buf, c->route) != 0)
    fail_msg ("%s: `%s` routes port 80 to `%s`, want `%s`", side, c->url, buf,
              c->route);
  if (d.route.n == 1 && d.route.hops[0].kind != PROXY_DIRECT)
    {
      const struct net_proxy_url *cr
          = net_rules_credentials (r, &d.route.hops[0]);
      if (c->user == NULL && cr != NULL)
        fail_msg ("%s: `%s` has credentials", side, c->url);
      if (c->user != NULL
          && (cr == NULL || strcmp (cr->user, c->user) != 0
              || strcmp (cr->pass, c->pass) != 0))
        fail_msg ("%s: `%s` credentials `%s:%s`, want `%s:%s`", side, c->url,
                  cr ? cr->user : "(none)", cr ? cr->pass : "", c->user,
                  c->pass);
    }
}

static void
proxy_url_table (void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof url_cases / sizeof url_cases[0]; i++)
    {
      const struct url_case *c = &url_cases[i];
      bool v = validator_accepts ("containersProxy.http", c->url);
      struct net_rules *g = rules_from_system (c->url, NULL);
      if (v != c->ok)
        fail_msg ("validator %s `%s`", v ? "accepts" : "refuses", c->url);
      if ((g != NULL) != c->ok)
        fail_msg ("guard %s `%s`", g ? "accepts" : "refuses", c->url);
      if (!c->ok)
        continue;
      check_url_meaning (c, g, "guard (system)");
      net_rules_free (g);
      char json[512];
      snprintf (json, sizeof json,
                "\"http\": \"%s\", \"https\": \"\", \"exclude\": []", c->url);
      g = rules_from_file (json);
      check_url_meaning (c, g, "guard (admin file)");
      net_rules_free (g);
    }
}

/* ---- exclude entries ---- */

/* The destinations each entry is tried on: a verified name (or none), the
 * address, the port, and whether the address is the host's own. */
static const struct probe
{
  const char *name, *ip;
  uint16_t port;
  bool is_host;
} probes[] = {
  { "corp.example", "198.51.100.10", 443 },   /* 0 */
  { "a.corp.example", "198.51.100.11", 443 }, /* 1 */
  { "xcorp.example", "198.51.100.12", 443 },  /* 2 */
  { NULL, "10.1.2.3", 443 },                  /* 3 */
  { NULL, "10.0.0.1", 443 },                  /* 4 */
  { NULL, "10.0.0.1", 80 },                   /* 5 */
  { NULL, "198.51.100.7", 443 },              /* 6 */
  { NULL, "2001:db8::5", 443 },               /* 7 */
  { "localhost", "127.0.0.1", 80 },           /* 8 */
  { NULL, "::1", 443 },                       /* 9 */
  { NULL, "10.77.0.1", 80, true },            /* 10: the bridge gateway */
};
#define N_PROBES (sizeof probes / sizeof probes[0])

struct ex_case
{
  const char *entry;
  bool ok;
  /* per probe: D (DIRECT), P (proxied), R (refused) */
  const char *want;
};

static const struct ex_case ex_cases[] = {
  { ".corp.example", true, "PDPPPPPPRRR" },
  { "*.corp.example", true, "PDPPPPPPRRR" },
  { "corp.example", true, "DDPPPPPPRRR" },
  { "Corp.Example.", true, "DDPPPPPPRRR" },
  { "10.0.0.0/8", true, "PPPDDDPPRRD" },
  { "0.0.0.0/0", true, "DDDDDDDPRRR" },
  { "::1", true, "PPPPPPPPRRR" },
  { "localhost", true, "PPPPPPPPRRR" },
  { "10.0.0.1:443", true, "PPPPDPPPRRR" },
  { "[2001:db8::5]:443", true, "PPPPPPPDRRR" },
  { "corp.example:443", true, "DDPPPPPPRRR" },
  { "*", true, "DDDDDDDDRRR" },
  { "10.77.0.1", true, "PPPPPPPPRRD" },
  { "h_x.corp.example", true, "PPPPPPPPRRR" },
  { "10.0.0.0/33", false },
  { "corp..example", false },
  { "*corp.example", false },
  { "*.", false },
  { ".", false },
  { "", false },
  { "http://corp.example", false },
  { "10.0.0.1:0", false },
  { "10.0.0.1:x", false },
  { "10.0.0.1/8:443", false },
  { "300.1.1.1", false },
};

static void
check_ex_meaning (const struct ex_case *c, struct net_rules *r,
                  const char *side)
{
  for (size_t i = 0; i < N_PROBES; i++)
    {
      struct net_query q = { .port = probes[i].port,
                             .hostname = probes[i].name,
                             .dst_is_host = probes[i].is_host };
      struct net_decision d;
      char got;
      assert_int_equal (net_addr_parse (probes[i].ip, &q.dst), 0);
      net_decide_static (r, &q, &d);
      if (net_decision_refuse_p (&d))
        got = 'R';
      else if (d.route.hops[0].kind == PROXY_DIRECT)
        got = 'D';
      else
        got = 'P';
      if (got != c->want[i])
        fail_msg ("%s: exclude `%s`, probe %zu (%s %s:%u): %c (rule %s), "
                  "want %c",
                  side, c->entry, i, probes[i].name ? probes[i].name : "-",
                  probes[i].ip, probes[i].port, got, d.rule, c->want[i]);
    }
}

static void
exclude_table (void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof ex_cases / sizeof ex_cases[0]; i++)
    {
      const struct ex_case *c = &ex_cases[i];
      char json[512];
      snprintf (json, sizeof json, "[\"%s\"]", c->entry);
      bool v = validator_accepts ("containersProxy.exclude", json);
      /* An empty no_proxy is no entry at all: the empty string goes to the
       * guard only through the file, which the validator decides. */
      struct net_rules *g
          = c->entry[0] != '\0'
                ? rules_from_system ("http://proxy.test:3128", c->entry)
                : NULL;
      if (v != c->ok)
        fail_msg ("validator %s exclude `%s`", v ? "accepts" : "refuses",
                  c->entry);
      if ((g != NULL) != c->ok)
        fail_msg ("guard %s exclude `%s`", g ? "accepts" : "refuses",
                  c->entry);
      if (!c->ok)
        continue;
      check_ex_meaning (c, g, "guard (system)");
      net_rules_free (g);
      snprintf (json, sizeof json,
                "\"http\": \"http://proxy.test:3128\", \"https\": "
                "\"http://proxy.test:3128\", \"exclude\": [\"%s\"]",
                c->entry);
      g = rules_from_file (json);
      check_ex_meaning (c, g, "guard (admin file)");
      net_rules_free (g);
    }
}

/* ---- port lists ---- */

static const struct ports_case
{
  const char *list;
  bool ok;
  /* accepted: intercepted or not, for 22, 80, 443, 8050, 65535 */
  const char *want;
} ports_cases[] = {
  { "80,443", true, "-xx--" },
  { "*", true, "xxxxx" },
  { "", true, "-----" },
  { "8000-8100", true, "---x-" },
  { " 80 , 443 ", true, "-xx--" },
  { "1-65535", true, "xxxxx" },
  { "0", false },
  { "80-", false },
  { "443-80", false },
  { "65536", false },
  { "080", false },
  { "80,,443", false },
  { "80;443", false },
  { "**", false },
};

static void
ports_table (void **state)
{
  static const uint16_t probe[] = { 22, 80, 443, 8050, 65535 };
  (void)state;
  for (size_t i = 0; i < sizeof ports_cases / sizeof ports_cases[0]; i++)
    {
      const struct ports_case *c = &ports_cases[i];
      char json[256];
      bool v = validator_accepts ("containersProxy.transparentPorts", c->list);
      if (v != c->ok)
        fail_msg ("validator %s ports `%s`", v ? "accepts" : "refuses",
                  c->list);
      if (!c->ok)
        continue;
      snprintf (json, sizeof json,
                "\"http\": \"\", \"https\": \"\", \"exclude\": [], "
                "\"transparentPorts\": \"%s\"",
                c->list);
      struct net_rules *g = rules_from_file (json);
      for (size_t k = 0; k < sizeof probe / sizeof probe[0]; k++)
        if (net_rules_port_p (g, probe[k]) != (c->want[k] == 'x'))
          fail_msg ("ports `%s`: port %u %s", c->list, probe[k],
                    c->want[k] == 'x' ? "not intercepted" : "intercepted");
      net_rules_free (g);
    }
}

/* ---- one decision function ---- */

/* net_decide (the guard's and `moat net decide`'s) finds the host's
 * addresses itself: with exclude "0.0.0.0/0", the bridge gateway is still
 * the host and refused, also written as an IPv4-mapped address. */
static void
one_decision (void **state)
{
  struct net_rules *r = rules_from_file (
      "\"http\": \"http://proxy.test:3128\", \"https\": \"\", "
      "\"exclude\": [\"0.0.0.0/0\"]");
  struct net_addr host[2];
  struct net_decision d;
  char buf[128];
  (void)state;
  assert_int_equal (net_addr_parse ("192.0.2.99", &host[0]), 0);
  assert_int_equal (net_addr_parse ("172.17.0.1", &host[1]), 0);
  const struct net_decider dd = { .rules = r,
                                  .host = host,
                                  .n_host = 1,
                                  .extra_host = host + 1,
                                  .n_extra_host = 1 };
  static const struct
  {
    const char *ip, *want, *rule;
  } cases[] = {
    { "172.17.0.1", "REFUSE", "host address not allowed" },
    { "::ffff:172.17.0.1", "REFUSE", "host address not allowed" },
    { "192.0.2.99", "REFUSE", "host address not allowed" },
    { "172.17.0.2", "DIRECT", "exclude \"0.0.0.0/0\"" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      struct net_query q = { .port = 80 };
      assert_int_equal (net_addr_parse (cases[i].ip, &q.dst), 0);
      assert_int_equal (net_decide (&dd, &q, false, &d, NULL, 0), 0);
      net_decision_format (&d, buf, sizeof buf);
      if (strcmp (buf, cases[i].want) != 0
          || strncmp (d.rule, cases[i].rule, strlen (cases[i].rule)) != 0)
        fail_msg ("%s: %s (rule %s), want %s (rule %s)", cases[i].ip, buf,
                  d.rule, cases[i].want, cases[i].rule);
    }
  net_rules_free (r);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (proxy_url_table),
    cmocka_unit_test (exclude_table),
    cmocka_unit_test (ports_table),
    cmocka_unit_test (one_decision),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
