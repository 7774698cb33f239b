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
#include <unistd.h>

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

/* runc exec's container id: after its options, never a value of one; an
 * unknown option gives none (then nothing is joined). */
static void
exec_ids (void **state)
{
  (void)state;
  char *a1[] = { "exec",       "--process", "/tmp/p.json", "--detach",
                 "--pid-file", "/tmp/pid",  "ctr1",        NULL };
  char *a2[] = { "exec", "-e",   "A=ctr2", "-u", "0",    "--cwd=/x",
                 "-t",   "ctr3", "sh",     "-c", "ctr4", NULL };
  char *a3[] = { "exec", "--bogus", "ctr5", NULL };
  char *a4[] = { "exec", "--console-socket", NULL };
  char *a5[] = { "exec", "--env", "ctr6", NULL };
  char *a6[] = { "exec", "-d", "--", "ctr7", NULL };
  assert_string_equal (handler_exec_id (a1), "ctr1");
  assert_string_equal (handler_exec_id (a2), "ctr3");
  assert_null (handler_exec_id (a3));
  assert_null (handler_exec_id (a4));
  assert_null (handler_exec_id (a5));
  assert_null (handler_exec_id (a6));
}

/* The network entry a pod's container loses to moat-runc: a network
 * namespace only; recorded for exec; a record naming something else is
 * not joined. */
static void
netns_take_and_record (void **state)
{
  (void)state;
  char dir[] = "/tmp/moat-netns-XXXXXX";
  char rec[64];
  moat_error_t err = NULL;
  json_t *spec;
  FILE *f;
  int fd = -1;

  assert_non_null (mkdtemp (dir));
  spec = json_loads ("{\"linux\":{\"namespaces\":[{\"type\":\"ipc\"},"
                     "{\"type\":\"network\",\"path\":\"/dev/null\"}]}}",
                     0, NULL);
  assert_non_null (spec);
  assert_int_equal (handler_netns_take (spec, dir, &fd, &err), -1);
  assert_int_equal (fd, -1);
  moat_error_release (&err);
  json_decref (spec);

  spec = json_loads ("{\"linux\":{\"namespaces\":[{\"type\":\"ipc\"},"
                     "{\"type\":\"network\",\"path\":"
                     "\"/proc/self/ns/net\"}]}}",
                     0, NULL);
  assert_int_equal (handler_netns_take (spec, dir, &fd, &err), 1);
  assert_true (fd >= 0);
  close (fd);
  assert_int_equal (json_array_size (json_object_get (
                        json_object_get (spec, "linux"), "namespaces")),
                    1);
  json_decref (spec);
  /* a record naming a file that is no network namespace is refused */
  snprintf (rec, sizeof rec, "%s/%s", dir, HANDLER_NETNS_RECORD);
  f = fopen (rec, "w");
  assert_non_null (f);
  fputs ("/proc/self/ns/ipc", f);
  fclose (f);
  assert_int_equal (handler_netns_join_recorded (dir, &err), -1);
  moat_error_release (&err);
  f = fopen (rec, "w");
  assert_non_null (f);
  fputs ("/dev/null", f);
  fclose (f);
  assert_int_equal (handler_netns_join_recorded (dir, &err), -1);
  moat_error_release (&err);
  unlink (rec);
  assert_int_equal (handler_netns_join_recorded (dir, &err), 0);
  rmdir (dir);
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
    cmocka_unit_test (exec_ids),
    cmocka_unit_test (netns_take_and_record),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
