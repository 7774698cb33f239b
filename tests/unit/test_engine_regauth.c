/* Registry token authentication: the WWW-Authenticate parser, the token
 * answer parser and the token URL built from a challenge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/regauth.h"

static void
parse_ok (const char *v, struct reg_challenge *c)
{
  moat_error_t err = NULL;
  int rc = regauth_parse_challenge (v, strlen (v), c, &err);
  if (rc < 0)
    fail_msg ("`%s`: %s", v, moat_error_msg (&err));
  moat_error_release (&err);
}

static void
parse_bad (const char *v)
{
  struct reg_challenge c;
  moat_error_t err = NULL;
  if (regauth_parse_challenge (v, strlen (v), &c, &err) == 0)
    {
      regauth_challenge_free (&c);
      fail_msg ("`%s` parsed", v);
    }
  assert_non_null (err);
  moat_error_release (&err);
}

static void
docker_hub (void **state)
{
  struct reg_challenge c;
  (void)state;
  parse_ok ("Bearer realm=\"https://auth.docker.io/token\","
            "service=\"registry.docker.io\","
            "scope=\"repository:library/docker:pull\"",
            &c);
  assert_string_equal (c.scheme, "Bearer");
  assert_string_equal (c.realm, "https://auth.docker.io/token");
  assert_string_equal (c.service, "registry.docker.io");
  assert_string_equal (c.scope, "repository:library/docker:pull");
  regauth_challenge_free (&c);
}

static void
variants (void **state)
{
  struct reg_challenge c;
  (void)state;
  /* tokens, blanks around '=' and ',', escapes, unknown parameters,
   * case-insensitive names, the first of duplicates kept */
  parse_ok ("bearer  realm = \"http://127.0.0.1:5/t\" , Service=reg ,"
            "error=\"insufficient_scope\",scope=\"a\\\"b\",scope=x",
            &c);
  assert_string_equal (c.scheme, "bearer");
  assert_string_equal (c.realm, "http://127.0.0.1:5/t");
  assert_string_equal (c.service, "reg");
  assert_string_equal (c.scope, "a\"b");
  regauth_challenge_free (&c);
  /* only the first challenge is read */
  parse_ok ("Basic realm=\"r1\", Bearer realm=\"r2\"", &c);
  assert_string_equal (c.scheme, "Basic");
  assert_string_equal (c.realm, "r1");
  regauth_challenge_free (&c);
  parse_ok ("Bearer", &c);
  assert_null (c.realm);
  regauth_challenge_free (&c);
}

static void
malformed (void **state)
{
  (void)state;
  parse_bad ("");
  parse_bad ("   ");
  parse_bad ("\"Bearer\"");
  parse_bad ("Bearer realm=\"unterminated");
  parse_bad ("Bearer realm=\"ends in escape\\");
  parse_bad ("Bearer realm=");
  parse_bad ("Bearer realm=\"a\" junk=\"b\"");
  parse_bad ("Bearer realm=\"a\x01\"");
  parse_bad ("Bearer realm=\"a\"; service=b");
  {
    char *big = malloc (REGAUTH_CHALLENGE_MAX + 2);
    assert_non_null (big);
    memset (big, 'a', REGAUTH_CHALLENGE_MAX + 1);
    big[REGAUTH_CHALLENGE_MAX + 1] = '\0';
    parse_bad (big);
    free (big);
  }
}

static void
header_line (void **state)
{
  size_t n;
  const char *l = "WWW-Authenticate:  Bearer realm=\"x\"\r\n";
  const char *v = regauth_header_value (l, strlen (l), &n);
  (void)state;
  assert_non_null (v);
  assert_int_equal (n, strlen ("Bearer realm=\"x\""));
  assert_memory_equal (v, "Bearer realm=\"x\"", n);
  assert_null (regauth_header_value ("Content-Type: x\r\n", 17, &n));
  assert_null (regauth_header_value ("WWW-Auth", 8, &n));
}

static void
token_answers (void **state)
{
  moat_error_t err = NULL;
  char *t = NULL;
  (void)state;
  assert_int_equal (
      regauth_parse_token ("{\"token\":\"abc.def\"}", 19, &t, &err), 0);
  assert_string_equal (t, "abc.def");
  free (t);
  t = NULL;
  assert_int_equal (
      regauth_parse_token ("{\"token\":\"\",\"access_token\":\"z\"}", 31, &t,
                           &err),
      0);
  assert_string_equal (t, "z");
  free (t);
  t = NULL;
  static const char *const bad[] = {
    "",
    "{}",
    "[\"token\"]",
    "{\"token\":7}",
    "{\"token\":\"a\\r\\nX-Injected: 1\"}",
    "{\"token\":\"a b\"}",
    "{\"token\":\"a\",\"token\":\"b\"}",
    "{\"token\":\"a\"",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      if (regauth_parse_token (bad[i], strlen (bad[i]), &t, &err) == 0)
        fail_msg ("`%s` gave a token", bad[i]);
      moat_error_release (&err);
    }
}

static void
token_url (void **state)
{
  struct reg_challenge c = { 0 };
  moat_error_t err = NULL;
  char *u = NULL;
  (void)state;
  c.scheme = strdup ("Bearer");
  c.realm = strdup ("https://auth.example/token?x=1");
  c.service = strdup ("registry.example");
  assert_int_equal (regauth_token_url (&c, "repository:a/b:pull", &u, &err),
                    0);
  assert_string_equal (u, "https://auth.example/token?x=1&service=registry."
                          "example&scope=repository%3aa%2fb%3apull");
  free (u);
  u = NULL;
  c.scope = strdup ("repository:x y&z:pull");
  assert_int_equal (regauth_token_url (&c, "unused", &u, &err), 0);
  assert_non_null (strstr (u, "scope=repository%3ax+y%26z%3apull"));
  free (u);
  u = NULL;
  /* plain http only to loopback; nothing but http(s) */
  free (c.realm);
  c.realm = strdup ("http://127.0.0.1:5000/token");
  assert_int_equal (regauth_token_url (&c, NULL, &u, &err), 0);
  free (u);
  u = NULL;
  static const char *const bad[] = {
    "http://auth.example/token",
    "file:///etc/passwd",
    "gopher://x/",
    "not a url",
    "http://10.0.0.1/token",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      free (c.realm);
      c.realm = strdup (bad[i]);
      if (regauth_token_url (&c, NULL, &u, &err) == 0)
        fail_msg ("realm `%s` accepted: %s", bad[i], u);
      moat_error_release (&err);
    }
  free (c.realm);
  c.realm = NULL;
  assert_int_equal (regauth_token_url (&c, NULL, &u, &err), -1);
  moat_error_release (&err);
  regauth_challenge_free (&c);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (docker_hub),    cmocka_unit_test (variants),
    cmocka_unit_test (malformed),     cmocka_unit_test (header_line),
    cmocka_unit_test (token_answers), cmocka_unit_test (token_url),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
