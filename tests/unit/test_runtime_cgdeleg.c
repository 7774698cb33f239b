/* Unit tests of src/runtime/cgdeleg: which host directories a privileged
 * container's cgroups are, on a hybrid (v1 + empty v2) host and a v2-only
 * host, and which are never delegated. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "runtime/cgdeleg.h"

static const char hybrid_mi[]
    = "25 30 0:23 / /sys ro,nosuid shared:7 - sysfs sysfs rw\n"
      "26 25 0:24 / /sys/fs/cgroup rw shared:8 - tmpfs tmpfs rw,mode=755\n"
      "27 26 0:25 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup "
      "rw,cpu\n"
      "28 26 0:26 / /sys/fs/cgroup/memory rw,relatime shared:10 - cgroup "
      "cgroup rw,memory\n"
      "29 26 0:27 / /sys/fs/cgroup/systemd rw,relatime shared:11 - cgroup "
      "cgroup rw,xattr,name=systemd\n"
      "30 26 0:28 / /sys/fs/cgroup/unified rw,relatime shared:12 - cgroup2 "
      "cgroup2 rw\n";

static const char self_cg[]
    = "4:memory:/system.slice/containerd.service\n"
      "3:name=systemd:/system.slice/containerd.service\n"
      "2:cpu:/system.slice/containerd.service\n"
      "0::/system.slice/containerd.service\n";

static void
hybrid_every_hierarchy (void **state)
{
  (void)state;
  const char *cg = "4:memory:/docker/abc\n"
                   "3:name=systemd:/docker/abc\n"
                   "2:cpu:/docker/abc\n"
                   "0::/docker/abc\n";
  struct cgdeleg_dir *d = NULL;
  size_t n = 0;
  unsigned skipped = 9;
  moat_error_t err = NULL;
  assert_int_equal (
      cgdeleg_plan (cg, self_cg, hybrid_mi, &d, &n, &skipped, &err), 0);
  assert_int_equal (n, 4);
  assert_int_equal (skipped, 0);
  assert_string_equal (d[0].path, "/sys/fs/cgroup/memory/docker/abc");
  assert_int_equal (d[0].v2, 0);
  assert_string_equal (d[1].path, "/sys/fs/cgroup/systemd/docker/abc");
  assert_string_equal (d[2].path, "/sys/fs/cgroup/cpu/docker/abc");
  assert_string_equal (d[3].path, "/sys/fs/cgroup/unified/docker/abc");
  assert_int_equal (d[3].v2, 1);
  cgdeleg_dirs_free (d, n);
}

static void
v2_only_and_mount_root (void **state)
{
  (void)state;
  /* a cgroup2 mount whose root is below the hierarchy's root (moat-runc
   * in a cgroup namespace, or a bind of a subtree) */
  const char *mi = "40 1 0:30 /outer /sys/fs/cgroup rw - cgroup2 cgroup2 "
                   "rw,nsdelegate\n";
  struct cgdeleg_dir *d = NULL;
  size_t n = 0;
  unsigned skipped = 0;
  moat_error_t err = NULL;
  assert_int_equal (cgdeleg_plan ("0::/outer/moat/c1\n", "0::/init\n", mi, &d,
                                  &n, &skipped, &err),
                    0);
  assert_int_equal (n, 1);
  assert_string_equal (d[0].path, "/sys/fs/cgroup/moat/c1");
  assert_int_equal (d[0].v2, 1);
  cgdeleg_dirs_free (d, n);
}

static void
never_root_nor_own_nor_unmounted (void **state)
{
  (void)state;
  /* the hierarchy's root; moat-runc's own cgroup's ancestor; a hierarchy
   * not mounted (blkio); a path with ".." */
  const char *cg = "4:memory:/\n"
                   "3:name=systemd:/system.slice\n"
                   "7:blkio:/docker/abc\n"
                   "2:cpu:/docker/../x\n"
                   "0::/docker/abc\n";
  struct cgdeleg_dir *d = NULL;
  size_t n = 0;
  unsigned skipped = 0;
  moat_error_t err = NULL;
  assert_int_equal (
      cgdeleg_plan (cg, self_cg, hybrid_mi, &d, &n, &skipped, &err), 0);
  assert_int_equal (skipped, 4);
  assert_int_equal (n, 1);
  assert_string_equal (d[0].path, "/sys/fs/cgroup/unified/docker/abc");
  cgdeleg_dirs_free (d, n);
}

static void
controllers_must_all_match (void **state)
{
  (void)state;
  /* "cpu,cpuacct" joined on the host: both must be in the mount's options;
   * "cpu" alone is not that hierarchy */
  const char *mi = "27 26 0:25 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup "
                   "cgroup rw,cpu,cpuacct\n"
                   "28 26 0:26 / /sys/fs/cgroup/cpuset rw - cgroup cgroup "
                   "rw,cpuset\n";
  struct cgdeleg_dir *d = NULL;
  size_t n = 0;
  unsigned skipped = 0;
  moat_error_t err = NULL;
  assert_int_equal (cgdeleg_plan ("2:cpu,cpuacct:/c\n3:cpuset:/c\n", "", mi,
                                  &d, &n, &skipped, &err),
                    0);
  assert_int_equal (n, 2);
  assert_string_equal (d[0].path, "/sys/fs/cgroup/cpu,cpuacct/c");
  assert_string_equal (d[1].path, "/sys/fs/cgroup/cpuset/c");
  cgdeleg_dirs_free (d, n);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (hybrid_every_hierarchy),
    cmocka_unit_test (v2_only_and_mount_root),
    cmocka_unit_test (never_root_nor_own_nor_unmounted),
    cmocka_unit_test (controllers_must_all_match),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
