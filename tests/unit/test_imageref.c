/* Unit tests of image reference parsing, normalisation and allow-list
 * pattern matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "policy/imageref.h"

static void
norm_is (const char *in, const char *want)
{
  char *out = NULL;
  moat_error_t err = NULL;
  if (imageref_normalize (in, &out, &err) < 0)
    fail_msg ("%s: %s", in, moat_error_msg (&err));
  assert_string_equal (out, want);
  free (out);
}

static void
bad_is (const char *in, const char *msg)
{
  struct imageref r;
  moat_error_t err = NULL;
  assert_int_equal (imageref_parse (in, &r, &err), -1);
  assert_string_equal (moat_error_msg (&err), msg);
  moat_error_release (&err);
}

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void
normalises_like_docker (void **state)
{
  norm_is ("docker:cli", "docker.io/library/docker:cli");
  norm_is ("alpine", "docker.io/library/alpine:latest");
  norm_is ("testcontainers/ryuk", "docker.io/testcontainers/ryuk:latest");
  norm_is ("index.docker.io/library/alpine:3", "docker.io/library/alpine:3");
  norm_is ("docker.io/alpine", "docker.io/library/alpine:latest");
  norm_is ("localhost/foo", "localhost/foo:latest");
  norm_is ("localhost:5000/a/b:v1.2", "localhost:5000/a/b:v1.2");
  norm_is ("registry.example.com:443/team/app@sha256:" D64,
           "registry.example.com:443/team/app@sha256:" D64);
  norm_is ("alpine:3.19@sha256:" D64,
           "docker.io/library/alpine:3.19@sha256:" D64);
  norm_is ("[::1]:5000/x", "[::1]:5000/x:latest");
  norm_is ("a__b/c-d--e/f.g_h", "docker.io/a__b/c-d--e/f.g_h:latest");
}

static void
refuses_malformed (void **state)
{
  bad_is ("", "empty image reference");
  bad_is ("Docker:cli", "repository name must be lowercase");
  bad_is ("alpine@sha256:abc",
          "digest `sha256:abc` must have exactly 64 lowercase hex digits");
  bad_is ("alpine@md5:abc", "digest `md5:abc` must be sha256:<64 hex "
                            "digits> or sha512:<128 hex digits>");
  bad_is ("alpine:", "tag must be 1-128 characters");
  bad_is ("alpine:.bad", "invalid tag `.bad`");
  bad_is ("a//b", "empty path component");
  bad_is ("foo-/bar", "repository name component `foo-` must end with a "
                      "letter or digit");
  bad_is ("a___b", "invalid character `_` in repository name component "
                   "`a___b`");
  bad_is ("al pine", "image reference contains a space or a control or "
                     "non-ASCII character");
  bad_is ("-x.com/y", "invalid registry host `-x.com`");
  bad_is ("x.com:99999/y", "invalid registry port `99999`");
  bad_is (":tag", "missing repository name");
}

static bool
matches (const char *pattern, const char *ref)
{
  struct imageref_pattern p;
  struct imageref r;
  moat_error_t err = NULL;
  bool m;
  if (imageref_pattern_parse (pattern, &p, &err) < 0)
    fail_msg ("pattern %s: %s", pattern, moat_error_msg (&err));
  if (imageref_parse (ref, &r, &err) < 0)
    fail_msg ("ref %s: %s", ref, moat_error_msg (&err));
  m = imageref_pattern_match (&p, &r);
  imageref_pattern_free (&p);
  imageref_free (&r);
  return m;
}

static void
patterns_match (void **state)
{
  assert_true (matches ("*", "anything/at:all"));
  assert_true (matches ("docker:cli", "docker.io/library/docker:cli"));
  assert_false (matches ("docker:cli", "docker:dind"));
  assert_true (matches ("alpine", "alpine:latest"));
  assert_false (matches ("alpine", "alpine:3"));
  assert_true (matches ("docker.io/localstack/localstack:*",
                        "localstack/localstack:3.0"));
  assert_true (matches ("localstack/localstack:*",
                        "localstack/localstack@sha256:" D64));
  assert_false (matches ("localstack/localstack:*", "localstack/other:1"));
  assert_true (matches ("testcontainers/*:*", "testcontainers/ryuk:0.5"));
  assert_true (matches ("testcontainers/*:*", "testcontainers/a/b:1"));
  assert_false (matches ("testcontainers/*:*", "testcontainersx/ryuk:1"));
  assert_false (matches ("testcontainers/*:*", "quay.io/testcontainers/r:1"));
  assert_true (matches ("testcontainers/*", "testcontainers/ryuk"));
  assert_false (matches ("testcontainers/*", "testcontainers/ryuk:1"));
  assert_true (matches ("registry.local:5000/*:*", "registry.local:5000/a:1"));
  assert_false (matches ("registry.local:5000/*:*", "registry.local/a:1"));
  assert_true (matches ("alpine@sha256:" D64, "alpine@sha256:" D64));
  assert_false (matches ("alpine@sha256:" D64, "alpine:latest"));
  assert_false (matches ("alpine", "alpine@sha256:" D64));
}

static void
bad_patterns (void **state)
{
  struct imageref_pattern p;
  moat_error_t err = NULL;
  const char *bads[] = { "a/*b", "*/x", "a/*/b", "x:*@sha256:" D64, "a*" };
  for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++)
    {
      if (imageref_pattern_parse (bads[i], &p, &err) == 0)
        fail_msg ("pattern %s was accepted", bads[i]);
      moat_error_release (&err);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (normalises_like_docker),
    cmocka_unit_test (refuses_malformed),
    cmocka_unit_test (patterns_match),
    cmocka_unit_test (bad_patterns),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
