/* Unit tests of src/stack: dockerd configuration, /proc parsing, stale pid
 * detection. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "stack/stack.h"

static struct stack_engine_config
base_config (void)
{
  struct stack_engine_config c = {
    .data_root = "/r/var/lib/moat/engine",
    .exec_root = "/r/run/moat/engine",
    .engine_sock = "/r/run/moat/engine.sock",
    .pidfile = "/r/run/moat/dockerd.pid",
    .key_path = "/r/var/lib/moat/engine/key.json",
    .bridge = "moat0",
    .pool_base = "10.214.0.0/16",
    .pool_size = 24,
    .cgroup_parent = "/moat",
    .containerd_ns = "moat",
  };
  return c;
}

static void
config_has_private_paths (void **state)
{
  cleanup_error moat_error_t err = NULL;
  struct stack_engine_config c = base_config ();
  json_t *cfg = stack_engine_config_build (&c, &err);
  json_t *pool;

  assert_non_null (cfg);
  assert_string_equal (json_string_value (json_object_get (cfg, "data-root")),
                       c.data_root);
  assert_string_equal (json_string_value (json_object_get (cfg, "exec-root")),
                       c.exec_root);
  assert_string_equal (
      json_string_value (json_array_get (json_object_get (cfg, "hosts"), 0)),
      "unix:///r/run/moat/engine.sock");
  assert_int_equal (json_array_size (json_object_get (cfg, "hosts")), 1);
  assert_string_equal (json_string_value (json_object_get (cfg, "pidfile")),
                       c.pidfile);
  /* Never /etc/docker/key.json. */
  assert_string_equal (
      json_string_value (json_object_get (cfg, "deprecated-key-path")),
      c.key_path);
  assert_string_equal (json_string_value (json_object_get (cfg, "group")),
                       "root");
  assert_string_equal (json_string_value (json_object_get (cfg, "bridge")),
                       "moat0");
  assert_string_equal (
      json_string_value (json_object_get (cfg, "cgroup-parent")), "/moat");
  assert_string_equal (
      json_string_value (json_object_get (cfg, "containerd-namespace")),
      "moat");
  assert_string_equal (json_string_value (json_object_get (
                           cfg, "containerd-plugins-namespace")),
                       "moat-plugins");
  pool = json_array_get (json_object_get (cfg, "default-address-pools"), 0);
  assert_string_equal (json_string_value (json_object_get (pool, "base")),
                       "10.214.0.0/16");
  assert_int_equal (json_integer_value (json_object_get (pool, "size")), 24);
  assert_true (json_is_false (json_object_get (cfg, "userland-proxy")));
  /* No runtime given: dockerd keeps runc. */
  assert_null (json_object_get (cfg, "runtimes"));
  assert_null (json_object_get (cfg, "default-runtime"));
  json_decref (cfg);
}

static void
config_registers_moat_runc (void **state)
{
  cleanup_error moat_error_t err = NULL;
  struct stack_engine_config c = base_config ();
  json_t *cfg;

  c.runtime_path = "/usr/local/sbin/moat-runc";
  cfg = stack_engine_config_build (&c, &err);
  assert_non_null (cfg);
  assert_string_equal (
      json_string_value (json_object_get (cfg, "default-runtime")),
      "moat-runc");
  assert_string_equal (
      json_string_value (json_object_get (
          json_object_get (json_object_get (cfg, "runtimes"), "moat-runc"),
          "path")),
      "/usr/local/sbin/moat-runc");
  json_decref (cfg);
}

static void
config_refuses_bad_input (void **state)
{
  struct
  {
    const char *field;
    struct stack_engine_config c;
  } cases[6];
  for (size_t i = 0; i < 6; i++)
    cases[i].c = base_config ();
  cases[0].c.engine_sock = "run/engine.sock";
  cases[1].c.pool_base = "10.214.0.0";
  cases[2].c.pool_size = 8; /* wider than the pool */
  cases[3].c.pool_size = 31;
  cases[4].c.bridge = "";
  cases[5].c.pool_base = "300.1.1.0/16";
  for (size_t i = 0; i < 6; i++)
    {
      cleanup_error moat_error_t err = NULL;
      json_t *cfg = stack_engine_config_build (&cases[i].c, &err);
      assert_null (cfg);
      assert_non_null (err);
    }
}

static void
cidr_parses (void **state)
{
  cleanup_error moat_error_t err = NULL;
  unsigned int a;
  int prefix;

  assert_int_equal (stack_cidr_parse ("10.213.0.1/24", &a, &prefix, &err), 0);
  assert_int_equal (a, 0x0ad50001u);
  assert_int_equal (prefix, 24);
  assert_int_equal (stack_cidr_parse ("10.213.0.1/33", &a, &prefix, &err), -1);
  moat_error_release (&err);
  assert_int_equal (stack_cidr_parse ("10.213.0.1/", &a, &prefix, &err), -1);
  moat_error_release (&err);
  assert_int_equal (stack_cidr_parse ("10.213.0.1/2x", &a, &prefix, &err), -1);
}

static void
routes_overlap_detected (void **state)
{
  cleanup_error moat_error_t err = NULL;
  const char *routes
      = "default via 192.0.2.1 dev eth0 \n"
        "192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2 \n"
        "local 127.0.0.0/8 dev lo table local proto kernel scope host\n"
        "broadcast 10.99.255.255 dev eth1 table local\n"
        "10.200.0.0/16 dev eth2\n";
  char conflict[128];

  assert_int_equal (stack_routes_overlap (routes, "10.213.0.1/24", conflict,
                                          sizeof conflict, &err),
                    0);
  assert_int_equal (stack_routes_overlap (routes, "192.0.2.128/25", conflict,
                                          sizeof conflict, &err),
                    1);
  assert_non_null (strstr (conflict, "192.0.2.0/24 dev eth0"));
  /* A wider pool around an existing network overlaps too. */
  assert_int_equal (stack_routes_overlap (routes, "10.0.0.0/8", conflict,
                                          sizeof conflict, &err),
                    1);
  assert_int_equal (stack_routes_overlap (routes, "127.0.0.5/24", conflict,
                                          sizeof conflict, &err),
                    1);
  assert_non_null (strstr (conflict, "local 127.0.0.0/8"));
  /* A host route (no prefix) counts as /32. */
  assert_int_equal (stack_routes_overlap (routes, "10.99.255.0/24", conflict,
                                          sizeof conflict, &err),
                    1);
  assert_int_equal (
      stack_routes_overlap ("", "10.0.0.0/8", conflict, sizeof conflict, &err),
      0);
  assert_int_equal (
      stack_routes_overlap (routes, "bogus", conflict, sizeof conflict, &err),
      -1);
}

static void
stat_line_parses_hostile_comm (void **state)
{
  cleanup_error moat_error_t err = NULL;
  /* comm holds ") " and spaces: fields count from the last ')'. */
  const char *line
      = "4242 (evil) 1 2 3 (x) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 "
        "0 20 0 1 0 987654 1000 100 18446744073709551615\n";
  unsigned long long t = 0;
  pid_t ppid = 0;
  char st = 0;

  assert_int_equal (stack_proc_stat_parse (line, &st, &ppid, &t, &err), 0);
  assert_int_equal (st, 'S');
  assert_int_equal (ppid, 17);
  assert_int_equal (t, 987654ull);
  assert_int_equal (
      stack_proc_stat_parse ("12 (x) S 1 2", NULL, NULL, &t, &err), -1);
  moat_error_release (&err);
  assert_int_equal (stack_proc_stat_parse ("garbage", NULL, NULL, &t, &err),
                    -1);
}

static void
proc_identity_by_start_time (void **state)
{
  cleanup_error moat_error_t err = NULL;
  struct stack_proc self = { .pid = getpid () };
  struct stack_proc other;
  pid_t child;

  assert_int_equal (stack_proc_start_time (self.pid, &self.start_time, &err),
                    0);
  assert_int_equal (stack_proc_check (&self), STACK_PROC_ALIVE);
  /* Same pid, different start time: a recycled pid, never ours. */
  other = self;
  other.start_time++;
  assert_int_equal (stack_proc_check (&other), STACK_PROC_REUSED);

  child = fork ();
  assert_true (child >= 0);
  if (child == 0)
    _exit (0);
  assert_int_equal (waitpid (child, NULL, 0), child);
  other.pid = child;
  assert_int_equal (stack_proc_check (&other), STACK_PROC_GONE);
}

static char *
write_tmp (const char *content)
{
  char *path = strdup ("/tmp/moat-test-pid-XXXXXX");
  int fd = mkstemp (path);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, content, strlen (content)),
                    (ssize_t)strlen (content));
  close (fd);
  return path;
}

static void
pidfile_stale_detection (void **state)
{
  cleanup_error moat_error_t err = NULL;
  char buf[32];
  cleanup_free char *live = NULL;
  cleanup_free char *dead = NULL;
  cleanup_free char *bad = NULL;
  pid_t child, pid;

  snprintf (buf, sizeof buf, "%d\n", (int)getpid ());
  live = write_tmp (buf);
  assert_int_equal (stack_pidfile_check (live, &pid), STACK_PROC_ALIVE);
  assert_int_equal (pid, getpid ());

  child = fork ();
  assert_true (child >= 0);
  if (child == 0)
    _exit (0);
  waitpid (child, NULL, 0);
  snprintf (buf, sizeof buf, "%d", (int)child);
  dead = write_tmp (buf);
  assert_int_equal (stack_pidfile_check (dead, &pid), STACK_PROC_GONE);
  assert_int_equal (pid, child);

  bad = write_tmp ("12abc\n");
  assert_int_equal (stack_pidfile_read (bad, &pid, &err), -1);
  moat_error_release (&err);
  assert_int_equal (stack_pidfile_check (bad, &pid), STACK_PROC_GONE);
  assert_int_equal (pid, 0);
  assert_int_equal (stack_pidfile_read ("/nonexistent/x.pid", &pid, &err), 1);

  unlink (live);
  unlink (dead);
  unlink (bad);
}

static void
stop_refuses_reused_pid (void **state)
{
  cleanup_error moat_error_t err = NULL;
  struct stack_proc self = { .pid = getpid () };

  assert_int_equal (stack_proc_start_time (self.pid, &self.start_time, &err),
                    0);
  self.start_time += 1;
  /* Must refuse rather than SIGTERM this test process. */
  assert_int_equal (stack_proc_stop ("test", &self, 100, &err), -1);
  assert_non_null (strstr (moat_error_msg (&err), "another process"));
}

static void
spawn_and_stop (void **state)
{
  cleanup_error moat_error_t err = NULL;
  char *const argv[] = { "/bin/sleep", "30", NULL };
  char *const bad[] = { "/nonexistent/prog", NULL };
  struct stack_proc p;
  char log[] = "/tmp/moat-test-log-XXXXXX";
  int fd = mkstemp (log);

  assert_true (fd >= 0);
  close (fd);
  assert_int_equal (stack_spawn (argv, log, NULL, &p, &err), 0);
  assert_int_equal (stack_proc_check (&p), STACK_PROC_ALIVE);
  assert_int_equal (getsid (p.pid), p.pid);
  assert_int_equal (stack_proc_stop ("sleep", &p, 5000, &err), 0);
  assert_int_equal (stack_proc_check (&p), STACK_PROC_GONE);

  assert_int_equal (stack_spawn (bad, log, NULL, &p, &err), -1);
  assert_int_equal (moat_error_status (&err), ENOENT);
  unlink (log);
}

static void
log_tail_from_offset (void **state)
{
  cleanup_free char *path = write_tmp ("old 1\nold 2\nnew 1\nnew 2\nnew 3\n");
  cleanup_free char *t1 = stack_log_tail (path, 12, 2);
  cleanup_free char *t2 = stack_log_tail (path, 12, 10);
  cleanup_free char *t3 = stack_log_tail (path, 30, 10);

  assert_string_equal (t1, "new 2\nnew 3");
  assert_string_equal (t2, "new 1\nnew 2\nnew 3");
  assert_null (t3);
  unlink (path);
}

static void
iptables_rules_of_the_engine (void **state)
{
  json_t *ifaces = json_pack ("[s, s]", "moat0", "br-0123456789ab");
  json_t *subnets = json_pack ("[s]", "10.213.0.0/24");
  (void)state;
  assert_true (stack_iptables_rule_ours ("-A FORWARD -o moat0 -j DOCKER",
                                         ifaces, subnets));
  assert_true (stack_iptables_rule_ours (
      "-A DOCKER-ISOLATION-STAGE-1 -i br-0123456789ab ! -o br-0123456789ab "
      "-j DOCKER-ISOLATION-STAGE-2",
      ifaces, subnets));
  assert_true (stack_iptables_rule_ours (
      "-A DOCKER ! -i moat0 -p tcp -m tcp --dport 8080 -j DNAT "
      "--to-destination 10.213.0.2:80",
      ifaces, subnets));
  assert_true (stack_iptables_rule_ours (
      "-A POSTROUTING -s 10.213.0.0/24 ! -o docker0 -j MASQUERADE", ifaces,
      subnets));
  /* another engine's bridge, the shared jumps, a prefix of a name */
  assert_false (stack_iptables_rule_ours ("-A FORWARD -o docker0 -j DOCKER",
                                          ifaces, subnets));
  assert_false (
      stack_iptables_rule_ours ("-A FORWARD -j DOCKER-USER", ifaces, subnets));
  assert_false (stack_iptables_rule_ours ("-A FORWARD -o moat0x -j ACCEPT",
                                          ifaces, subnets));
  /* a subnet outside POSTROUTING is not enough */
  assert_false (stack_iptables_rule_ours (
      "-A INPUT -s 10.213.0.0/24 -j ACCEPT", ifaces, subnets));
  json_decref (ifaces);
  json_decref (subnets);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (config_has_private_paths),
    cmocka_unit_test (config_registers_moat_runc),
    cmocka_unit_test (config_refuses_bad_input),
    cmocka_unit_test (cidr_parses),
    cmocka_unit_test (routes_overlap_detected),
    cmocka_unit_test (stat_line_parses_hostile_comm),
    cmocka_unit_test (proc_identity_by_start_time),
    cmocka_unit_test (pidfile_stale_detection),
    cmocka_unit_test (stop_refuses_reused_pid),
    cmocka_unit_test (spawn_and_stop),
    cmocka_unit_test (log_tail_from_offset),
    cmocka_unit_test (iptables_rules_of_the_engine),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
