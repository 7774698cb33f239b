/* Unit tests of src/runtime/spec: a config.json in, the expected one out
 * (tests/unit/data/spec/NAME.{in,out}.json), and every refusal. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "runtime/spec.h"

#define CAP_SYS_RESOURCE_BIT 24

/* A context with no host namespaces to match except those a test sets,
 * and the bounding set of the test machine: everything but
 * CAP_SYS_RESOURCE. */
static struct spec_ctx
test_ctx (void)
{
  struct spec_ctx c;
  memset (&c, 0, sizeof c);
  c.uid_base = 1065536;
  c.gid_base = 2065536;
  c.size = 65536;
  c.cap_bound = ((1ULL << 41) - 1) & ~(1ULL << CAP_SYS_RESOURCE_BIT);
  return c;
}

static json_t *
load (const char *name)
{
  char path[512];
  json_error_t e;
  json_t *j;
  const char *dir = getenv ("MOAT_TEST_DATA");
  snprintf (path, sizeof path, "%s/spec/%s", dir ? dir : "tests/unit/data",
            name);
  j = json_load_file (path, 0, &e);
  if (j == NULL)
    fail_msg ("load %s: %s", path, e.text);
  return j;
}

static void
check_fixture (const char *name)
{
  char in[128], out[128];
  struct spec_ctx ctx = test_ctx ();
  struct spec_report rep;
  cleanup_error moat_error_t err = NULL;
  json_t *spec, *want;
  snprintf (in, sizeof in, "%s.in.json", name);
  snprintf (out, sizeof out, "%s.out.json", name);
  spec = load (in);
  want = load (out);
  if (spec_rewrite (spec, &ctx, &rep, &err) < 0)
    fail_msg ("rewrite %s: %s", name, moat_error_msg (&err));
  if (!json_equal (spec, want))
    {
      char *got = json_dumps (spec, JSON_INDENT (2) | JSON_SORT_KEYS);
      print_error ("got:\n%s\n", got);
      free (got);
      fail_msg ("%s: rewritten spec differs from %s", name, out);
    }
  spec_report_free (&rep);
  json_decref (spec);
  json_decref (want);
}

static void
rewrites_default_spec (void **state)
{
  check_fixture ("default");
}

static void
rewrites_privileged_spec (void **state)
{
  struct spec_ctx ctx = test_ctx ();
  struct spec_report rep;
  cleanup_error moat_error_t err = NULL;
  json_t *spec = load ("privileged.in.json");
  check_fixture ("privileged");
  assert_int_equal (spec_rewrite (spec, &ctx, &rep, &err), 0);
  assert_true (rep.privileged);
  assert_true (rep.replaced_mappings);
  assert_string_equal (rep.dropped_caps, "CAP_SYS_RESOURCE");
  assert_string_equal (rep.dropped_devices, "/dev/mem,/dev/sda");
  spec_report_free (&rep);
  json_decref (spec);
}

static void
expect_refusal (const char *spec_text, const struct spec_ctx *ctx,
                const char *msg)
{
  struct spec_report rep;
  cleanup_error moat_error_t err = NULL;
  json_t *spec = json_loads (spec_text, 0, NULL);
  assert_non_null (spec);
  assert_int_equal (spec_rewrite (spec, ctx, &rep, &err), -1);
  assert_string_equal (moat_error_msg (&err), msg);
  spec_report_free (&rep);
  json_decref (spec);
}

static void
refuses_missing_namespaces (void **state)
{
  struct spec_ctx ctx = test_ctx ();
  /* --pid=host: Docker leaves the pid namespace out. */
  expect_refusal ("{\"linux\":{\"namespaces\":[{\"type\":\"mount\"},"
                  "{\"type\":\"network\"},{\"type\":\"uts\"},"
                  "{\"type\":\"ipc\"}]}}",
                  &ctx,
                  "enhanced container isolation: containers can't share "
                  "the pid namespace with the host");
  expect_refusal ("{\"linux\":{\"namespaces\":[{\"type\":\"mount\"},"
                  "{\"type\":\"network\"},{\"type\":\"pid\"},"
                  "{\"type\":\"ipc\"}]}}",
                  &ctx,
                  "enhanced container isolation: containers can't share "
                  "the uts namespace with the host");
  expect_refusal ("{\"linux\":{\"namespaces\":[{\"type\":\"mount\"},"
                  "{\"type\":\"network\"},{\"type\":\"pid\"},"
                  "{\"type\":\"uts\"}]}}",
                  &ctx,
                  "enhanced container isolation: containers can't share "
                  "the ipc namespace with the host");
  expect_refusal ("{\"linux\":{}}", &ctx,
                  "enhanced container isolation: containers can't share "
                  "the pid namespace with the host");
}

static void
refuses_host_namespace_paths (void **state)
{
  struct spec_ctx ctx = test_ctx ();
  struct stat st;
  char tmpl[] = "/tmp/moat-test-ns-XXXXXX";
  char spec[512];
  int fd = mkstemp (tmpl);
  assert_true (fd >= 0);
  assert_int_equal (fstat (fd, &st), 0);
  /* The file plays the host's network namespace (--network=host: Docker
   * points the path at the engine's own). */
  ctx.host_ns[SPEC_NS_NETWORK][1].dev = st.st_dev;
  ctx.host_ns[SPEC_NS_NETWORK][1].ino = st.st_ino;
  ctx.host_ns[SPEC_NS_NETWORK][1].valid = 1;
  snprintf (spec, sizeof spec,
            "{\"linux\":{\"namespaces\":[{\"type\":\"mount\"},"
            "{\"type\":\"network\",\"path\":\"%s\"},{\"type\":\"pid\"},"
            "{\"type\":\"uts\"},{\"type\":\"ipc\"}]}}",
            tmpl);
  expect_refusal (spec, &ctx,
                  "enhanced container isolation: containers can't share "
                  "the network namespace with the host");
  /* Same inode in the init slot. */
  ctx.host_ns[SPEC_NS_NETWORK][1].valid = 0;
  ctx.host_ns[SPEC_NS_NETWORK][0]
      = (struct spec_ns_id){ st.st_dev, st.st_ino, 1 };
  expect_refusal (spec, &ctx,
                  "enhanced container isolation: containers can't share "
                  "the network namespace with the host");
  /* Any user namespace path: the range would not be the container's. */
  expect_refusal ("{\"linux\":{\"namespaces\":[{\"type\":\"mount\"},"
                  "{\"type\":\"network\"},{\"type\":\"pid\"},"
                  "{\"type\":\"uts\"},{\"type\":\"ipc\"},"
                  "{\"type\":\"user\",\"path\":\"/dev/null\"}]}}",
                  &ctx,
                  "enhanced container isolation: containers can't share "
                  "the user namespace with the host");
  close (fd);
  unlink (tmpl);
}

static void
refuses_host_id_zero (void **state)
{
  struct spec_ctx ctx = test_ctx ();
  struct spec_report rep;
  cleanup_error moat_error_t err = NULL;
  json_t *spec = json_loads ("{}", 0, NULL);
  ctx.uid_base = 0;
  assert_int_equal (spec_rewrite (spec, &ctx, &rep, &err), -1);
  json_decref (spec);
}

static void
refuses_binds_exposing_the_engine_socket (void **state)
{
  struct spec_ctx ctx = test_ctx ();
  char *socks[] = { "/run/moat/engine.sock" };
  struct bindpol bp = { .sockets = socks, .n_sockets = 1, .image = "img:1" };
  static const char ns[] = "\"linux\":{\"namespaces\":[{\"type\":\"mount\"},"
                           "{\"type\":\"network\"},{\"type\":\"pid\"},"
                           "{\"type\":\"uts\"},{\"type\":\"ipc\"}]}";
  char spec[1024];
  /* parents of the socket that exist on any machine */
  const char *bad[] = { "/run", "/" };
  ctx.binds = &bp;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      snprintf (spec, sizeof spec,
                "{\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\","
                "\"source\":\"%s\",\"options\":[\"rbind\"]}],%s}",
                bad[i], ns);
      expect_refusal (spec, &ctx,
                      "enhanced container isolation: docker socket mount "
                      "denied for container with image \"img:1\"; image is "
                      "not in the allowed list; if you wish to allow it, "
                      "configure the docker socket image list in the moat "
                      "admin settings.");
    }
  /* A sibling directory with a common prefix is fine. */
  {
    struct spec_report rep;
    cleanup_error moat_error_t err = NULL;
    json_t *j;
    snprintf (spec, sizeof spec,
              "{\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\","
              "\"source\":\"/etc\",\"options\":[\"rbind\"]}],%s}",
              ns);
    j = json_loads (spec, 0, NULL);
    assert_int_equal (spec_rewrite (j, &ctx, &rep, &err), 0);
    spec_report_free (&rep);
    json_decref (j);
  }
}

/* A container with CAP_SYS_ADMIN starts through the lock shim, as root
 * with the shim's capabilities, the original user and sets as arguments. */
static void
adds_lock_shim (void **state)
{
  struct spec_ctx ctx = test_ctx ();
  struct spec_report rep;
  cleanup_error moat_error_t err = NULL;
  json_t *spec = load ("privileged.in.json");
  json_t *proc, *args, *bnd, *mounts, *m;
  uint64_t bound;

  json_object_set_new (json_object_get (spec, "process"), "user",
                       json_pack ("{s:i, s:i}", "uid", 1000, "gid", 7));
  assert_int_equal (spec_rewrite (spec, &ctx, &rep, &err), 0);
  assert_true (rep.lock_mounts);
  assert_int_equal (
      spec_add_lock_shim (spec, "/usr/sbin/moat-lock", ctx.cap_bound, &err),
      0);
  proc = json_object_get (spec, "process");
  args = json_object_get (proc, "args");
  assert_int_equal (json_array_size (args), 7);
  assert_string_equal (json_string_value (json_array_get (args, 0)),
                       SPEC_LOCK_SHIM_DEST);
  assert_string_equal (json_string_value (json_array_get (args, 2)), "1000");
  /* CAP_CHOWN, CAP_SYS_MODULE, CAP_SYS_ADMIN; no ambient set */
  assert_string_equal (json_string_value (json_array_get (args, 4)),
                       "210001,210001,210001,210001,0");
  assert_string_equal (json_string_value (json_array_get (args, 5)), "--");
  assert_string_equal (json_string_value (json_array_get (args, 6)), "sh");
  assert_int_equal (json_integer_value (json_object_get (
                        json_object_get (proc, "user"), "uid")),
                    0);
  assert_int_equal (json_integer_value (json_object_get (
                        json_object_get (proc, "user"), "gid")),
                    7);
  bnd = json_object_get (json_object_get (proc, "capabilities"), "bounding");
  /* CHOWN, SYS_MODULE, SYS_ADMIN + SETUID, SETPCAP, SYS_CHROOT */
  assert_int_equal (json_array_size (bnd), 6);
  mounts = json_object_get (spec, "mounts");
  m = json_array_get (mounts, json_array_size (mounts) - 1);
  assert_string_equal (json_string_value (json_object_get (m, "destination")),
                       SPEC_LOCK_SHIM_DEST);
  assert_string_equal (json_string_value (json_object_get (m, "source")),
                       "/usr/sbin/moat-lock");
  spec_report_free (&rep);
  json_decref (spec);

  /* A runtime that cannot give the shim what it needs refuses. */
  spec = load ("privileged.in.json");
  assert_int_equal (spec_rewrite (spec, &ctx, &rep, &err), 0);
  bound = ctx.cap_bound & ~(1ULL << 18);
  assert_int_equal (spec_add_lock_shim (spec, "/x", bound, &err), -1);
  assert_int_equal (moat_error_status (&err), EPERM);
  spec_report_free (&rep);
  json_decref (spec);

  /* Without CAP_SYS_ADMIN, under a filter that refuses the mount calls
   * (Docker's default profile), nothing changes. */
  spec = load ("default.in.json");
  json_object_set_new (json_object_get (spec, "linux"), "seccomp",
                       json_pack ("{s:s, s:[{s:[s, s], s:s}]}",
                                  "defaultAction", "SCMP_ACT_ERRNO",
                                  "syscalls", "names", "read", "write",
                                  "action", "SCMP_ACT_ALLOW"));
  assert_int_equal (spec_rewrite (spec, &ctx, &rep, &err), 0);
  assert_false (rep.lock_mounts);
  spec_report_free (&rep);
  json_decref (spec);

  /* seccomp=unconfined, or a filter allowing umount2: `docker exec
   * --privileged` could unmount the masks, so it is locked too. */
  spec = load ("default.in.json");
  assert_int_equal (spec_rewrite (spec, &ctx, &rep, &err), 0);
  assert_true (rep.lock_mounts);
  spec_report_free (&rep);
  json_decref (spec);
  spec = load ("default.in.json");
  json_object_set_new (json_object_get (spec, "linux"), "seccomp",
                       json_pack ("{s:s, s:[{s:[s], s:s}]}", "defaultAction",
                                  "SCMP_ACT_ERRNO", "syscalls", "names",
                                  "umount2", "action", "SCMP_ACT_ALLOW"));
  assert_int_equal (spec_rewrite (spec, &ctx, &rep, &err), 0);
  assert_true (rep.lock_mounts);
  spec_report_free (&rep);
  json_decref (spec);
}

static void
probes_host (void **state)
{
  struct spec_ctx ctx = test_ctx ();
  cleanup_error moat_error_t err = NULL;
  assert_int_equal (spec_ctx_probe_host (&ctx, &err), 0);
  assert_true (ctx.host_ns[SPEC_NS_PID][1].valid);
  assert_true (ctx.host_ns[SPEC_NS_USER][2].valid);
  assert_true (ctx.cap_bound & 1);
  assert_int_equal (spec_cap_number ("CAP_SYS_ADMIN"), 21);
  assert_int_equal (spec_cap_number ("CAP_NOPE"), -1);
}

/* Rules of the filter for name, as "ACTION errno idx:mask:value ..." */
static int
count_rules (json_t *spec, const char *name, const char *action)
{
  json_t *rules = json_object_get (
      json_object_get (json_object_get (spec, "linux"), "seccomp"),
      "syscalls");
  size_t i, k;
  json_t *r, *n;
  int c = 0;
  json_array_foreach (rules, i, r)
  {
    const char *a = json_string_value (json_object_get (r, "action"));
    json_array_foreach (json_object_get (r, "names"), k, n)
    {
      if (strcmp (json_string_value (n), name) == 0 && a != NULL
          && strcmp (a, action) == 0)
        c++;
    }
  }
  return c;
}

/* The set-id guard: Docker's profile (default deny) keeps chmod only
 * without set-id bits; no filter becomes moat's default-allow filter
 * refusing them; CAP_SETFCAP goes. */
static void
guards_setid (void **state)
{
  cleanup_error moat_error_t err = NULL;
  json_t *spec = json_pack (
      "{s:{s:{s:[s, s]}}, s:{s:{s:s, s:[{s:[s, s, s, s], s:s}]}}}", "process",
      "capabilities", "bounding", "CAP_CHOWN", "CAP_SETFCAP", "linux",
      "seccomp", "defaultAction", "SCMP_ACT_ERRNO", "syscalls", "names",
      "read", "chmod", "openat", "openat2", "action", "SCMP_ACT_ALLOW");
  json_t *r0, *names;
  assert_int_equal (spec_guard_setid (spec, &err), 0);
  r0 = json_array_get (
      json_object_get (
          json_object_get (json_object_get (spec, "linux"), "seccomp"),
          "syscalls"),
      0);
  names = json_object_get (r0, "names");
  assert_int_equal (json_array_size (names), 1);
  assert_string_equal (json_string_value (json_array_get (names, 0)), "read");
  /* chmod: allowed when mode & 06000 == 0; openat: also without O_CREAT */
  assert_int_equal (count_rules (spec, "chmod", "SCMP_ACT_ALLOW"), 1);
  assert_int_equal (count_rules (spec, "openat", "SCMP_ACT_ALLOW"), 2);
  assert_int_equal (count_rules (spec, "openat2", "SCMP_ACT_ERRNO"), 1);
  /* not allowed before, not allowed now */
  assert_int_equal (count_rules (spec, "fchmod", "SCMP_ACT_ALLOW"), 0);
  assert_int_equal (
      json_array_size (json_object_get (
          json_object_get (json_object_get (spec, "process"), "capabilities"),
          "bounding")),
      1);
  json_decref (spec);

  /* --privileged / seccomp=unconfined: no filter */
  spec = json_pack ("{s:{}, s:{}}", "process", "linux");
  assert_int_equal (spec_guard_setid (spec, &err), 0);
  assert_string_equal (
      json_string_value (json_object_get (
          json_object_get (json_object_get (spec, "linux"), "seccomp"),
          "defaultAction")),
      "SCMP_ACT_ALLOW");
  /* S_ISUID and S_ISGID, each */
  assert_int_equal (count_rules (spec, "fchmodat2", "SCMP_ACT_ERRNO"), 2);
  /* x O_CREAT and O_TMPFILE */
  assert_int_equal (count_rules (spec, "open", "SCMP_ACT_ERRNO"), 4);
  assert_int_equal (count_rules (spec, "io_uring_setup", "SCMP_ACT_ERRNO"), 1);
  assert_int_equal (count_rules (spec, "read", "SCMP_ACT_ALLOW"), 0);
  json_decref (spec);
}

/* spec_drop_cap: the capability leaves every set, the others stay */
static void
drops_cap (void **state)
{
  (void)state;
  json_t *spec = json_loads (
      "{\"process\":{\"capabilities\":{"
      "\"bounding\":[\"CAP_CHOWN\",\"CAP_NET_RAW\"],"
      "\"effective\":[\"CAP_NET_RAW\",\"CAP_CHOWN\",\"CAP_NET_RAW\"],"
      "\"permitted\":[\"CAP_NET_RAW\"],\"inheritable\":[]}}}",
      0, NULL);
  cleanup_error moat_error_t err = NULL;
  char *out;
  assert_non_null (spec);
  assert_int_equal (spec_drop_cap (spec, "CAP_NET_RAW", &err), 0);
  out = json_dumps (json_object_get (spec, "process"), JSON_COMPACT);
  assert_string_equal (out, "{\"capabilities\":{\"bounding\":[\"CAP_CHOWN\"],"
                            "\"effective\":[\"CAP_CHOWN\"],"
                            "\"permitted\":[],\"inheritable\":[]}}");
  free (out);
  json_decref (spec);
  /* a spec without capabilities is left as it is */
  spec = json_loads ("{\"process\":{}}", 0, NULL);
  assert_int_equal (spec_drop_cap (spec, "CAP_NET_RAW", &err), 0);
  json_decref (spec);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (rewrites_default_spec),
    cmocka_unit_test (rewrites_privileged_spec),
    cmocka_unit_test (refuses_missing_namespaces),
    cmocka_unit_test (refuses_host_namespace_paths),
    cmocka_unit_test (refuses_host_id_zero),
    cmocka_unit_test (refuses_binds_exposing_the_engine_socket),
    cmocka_unit_test (adds_lock_shim),
    cmocka_unit_test (probes_host),
    cmocka_unit_test (guards_setid),
    cmocka_unit_test (drops_cap),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
