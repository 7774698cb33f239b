/* Unit tests of src/runtime/handler: the keys of moat-runc as a containerd
 * runtime handler and how a CRI pod's containers are told apart. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "runtime/handler.h"
#include "runtime/spec.h"

static void
key_round_trip (void **state)
{
  char *k = handler_key ("/run/containerd/moat-runc/k8s.io/", "abc");
  char *root = NULL, *id = NULL;
  moat_error_t err = NULL;
  (void)state;
  assert_string_equal (k, "/run/containerd/moat-runc/k8s.io/abc");
  assert_int_equal (handler_split_key (k, &root, &id, &err), 0);
  assert_string_equal (root, "/run/containerd/moat-runc/k8s.io");
  assert_string_equal (id, "abc");
  free (k);
  free (root);
  free (id);
}

static void
dockerd_ids_are_not_keys (void **state)
{
  char *root = NULL, *id = NULL;
  moat_error_t err = NULL;
  (void)state;
  /* moatd's plain ids never split: the two modes never touch each other's
   * ranges */
  assert_int_equal (handler_split_key ("0123abcd", &root, &id, &err), -1);
  moat_error_release (&err);
  assert_int_equal (handler_split_key ("/run/x/", &root, &id, &err), -1);
  moat_error_release (&err);
  assert_int_equal (handler_split_key ("/abc", &root, &id, &err), -1);
  moat_error_release (&err);
  assert_null (root);
  assert_null (id);
}

static void
scope_per_root (void **state)
{
  char *a = handler_scope ("/run/containerd/runc/default");
  char *b = handler_scope ("/run/containerd/runc/default/");
  char *c = handler_scope ("/run/containerd/runc/k8s.io");
  (void)state;
  assert_int_equal (strlen (a), 4 + 16);
  assert_memory_equal (a, "ctd-", 4);
  assert_string_equal (a, b);
  assert_string_not_equal (a, c);
  free (a);
  free (b);
  free (c);
}

static int
pod_of (const char *json, const char **sid, moat_error_t *err)
{
  static json_t *spec;
  json_decref (spec);
  spec = json_loads (json, 0, NULL);
  assert_non_null (spec);
  return handler_pod_sandbox (spec, sid, err);
}

static void
pods_from_annotations (void **state)
{
  const char *sid = "x";
  moat_error_t err = NULL;
  (void)state;
  assert_int_equal (pod_of ("{}", &sid, &err), 0);
  assert_null (sid);
  assert_int_equal (
      pod_of ("{\"annotations\":{\"io.kubernetes.cri.container-type\":"
              "\"sandbox\",\"io.kubernetes.cri.sandbox-id\":\"s1\"}}",
              &sid, &err),
      0);
  assert_null (sid);
  assert_int_equal (
      pod_of ("{\"annotations\":{\"io.kubernetes.cri.container-type\":"
              "\"container\",\"io.kubernetes.cri.sandbox-id\":\"s1\"}}",
              &sid, &err),
      0);
  assert_string_equal (sid, "s1");
  /* a container without its sandbox, a sandbox id that is a path, an
   * unknown type */
  assert_int_equal (
      pod_of ("{\"annotations\":{\"io.kubernetes.cri.container-type\":"
              "\"container\"}}",
              &sid, &err),
      -1);
  moat_error_release (&err);
  assert_int_equal (
      pod_of ("{\"annotations\":{\"io.kubernetes.cri.container-type\":"
              "\"container\",\"io.kubernetes.cri.sandbox-id\":\"../x\"}}",
              &sid, &err),
      -1);
  moat_error_release (&err);
  assert_int_equal (
      pod_of ("{\"annotations\":{\"io.kubernetes.cri.container-type\":"
              "\"other\"}}",
              &sid, &err),
      -1);
  moat_error_release (&err);
  pod_of ("{}", &sid, &err);
}

static void
host_ns_policy (void **state)
{
  unsigned m = 99;
  moat_error_t err = NULL;
  (void)state;
  assert_int_equal (handler_parse_host_ns ("", &m, &err), 0);
  assert_int_equal (m, 0);
  assert_int_equal (handler_parse_host_ns ("network,pid", &m, &err), 0);
  assert_int_equal (m, (1u << SPEC_NS_NETWORK) | (1u << SPEC_NS_PID));
  assert_int_equal (handler_parse_host_ns ("ipc,", &m, &err), 0);
  assert_int_equal (m, 1u << SPEC_NS_IPC);
  /* never the user, mount, uts or cgroup namespace */
  assert_int_equal (handler_parse_host_ns ("network,user", &m, &err), -1);
  moat_error_release (&err);
  assert_int_equal (handler_parse_host_ns ("mount", &m, &err), -1);
  moat_error_release (&err);
  assert_int_equal (handler_parse_host_ns ("net", &m, &err), -1);
  moat_error_release (&err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (key_round_trip),
    cmocka_unit_test (dockerd_ids_are_not_keys),
    cmocka_unit_test (scope_per_root),
    cmocka_unit_test (pods_from_annotations),
    cmocka_unit_test (host_ns_policy),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
