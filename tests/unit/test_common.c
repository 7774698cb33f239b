/* Unit tests of src/common: the error convention and file helpers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/paths.h"

static int
fail_open (moat_error_t *err)
{
  errno = ENOENT;
  return moat_error (err, errno, "open `%s`", "x");
}

static void
error_wraps_context (void **state)
{
  cleanup_error moat_error_t err = NULL;
  assert_int_equal (fail_open (&err), -1);
  assert_int_equal (moat_error_wrap (&err, "load `%s`", "cfg"), -1);
  assert_int_equal (moat_error_status (&err), ENOENT);
  assert_string_equal (moat_error_msg (&err),
                       "load `cfg`: open `x`: No such file or directory");
}

static void
paths_honour_root (void **state)
{
  struct moat_paths p;
  moat_error_t err = NULL;
  assert_int_equal (moat_paths_init (&p, "/tmp/r/", &err), 0);
  assert_string_equal (p.admin_settings, "/tmp/r/etc/moat/admin-settings.json");
  assert_string_equal (p.engine_sock, "/tmp/r/run/moat/engine.sock");
  moat_paths_free (&p);
  assert_int_equal (moat_paths_init (&p, NULL, &err), 0);
  assert_string_equal (p.state_db, "/var/lib/moat/state.db");
  moat_paths_free (&p);
  assert_int_equal (moat_paths_init (&p, "relative", &err), -1);
  moat_error_release (&err);
}

static void
read_file_caps_size (void **state)
{
  char tmpl[] = "/tmp/moat-test-XXXXXX";
  int fd = mkstemp (tmpl);
  cleanup_free char *buf = NULL;
  cleanup_error moat_error_t err = NULL;
  size_t len;
  assert_true (fd >= 0);
  assert_int_equal (write (fd, "0123456789", 10), 10);
  close (fd);
  assert_int_equal (fs_read_file (tmpl, 10, &buf, &len, &err), 0);
  assert_int_equal (len, 10);
  assert_int_equal (fs_read_file (tmpl, 9, &buf, &len, &err), -1);
  assert_int_equal (moat_error_status (&err), EFBIG);
  unlink (tmpl);
}

static void
root_owned_refuses_writable (void **state)
{
  char dir[] = "/tmp/moat-test-XXXXXX";
  cleanup_free char *file = NULL;
  cleanup_error moat_error_t err = NULL;
  assert_non_null (mkdtemp (dir));
  assert_true (asprintf (&file, "%s/f.json", dir) > 0);
  assert_int_equal (fs_write_file_atomic (file, "{}", 2, 0644, &err), 0);
  assert_int_equal (fs_check_root_owned (file, dir, &err), 0);
  chmod (file, 0666);
  assert_int_equal (fs_check_root_owned (file, dir, &err), -1);
  assert_non_null (strstr (moat_error_msg (&err), "writable by all users"));
  chmod (file, 0644);
  assert_int_equal (chown (file, 65534, 0), 0);
  assert_int_equal (fs_check_root_owned (file, dir, &err), -1);
  assert_non_null (strstr (moat_error_msg (&err), "not root"));
  unlink (file);
  rmdir (dir);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (error_wraps_context),
    cmocka_unit_test (paths_honour_root),
    cmocka_unit_test (read_file_caps_size),
    cmocka_unit_test (root_owned_refuses_writable),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
