/* Unit tests of src/common: the error convention and file helpers. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/paths.h"
#include "common/strutil.h"

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
  assert_string_equal (p.admin_settings,
                       "/tmp/r/etc/moat/admin-settings.json");
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

/* fs_open_trusted refuses with status want and a message holding frag. */
static void
refused (const char *path, const char *stop_at, int want, const char *frag)
{
  cleanup_error moat_error_t err = NULL;
  int fd = fs_open_trusted (path, stop_at, &err);
  if (fd >= 0)
    close (fd);
  assert_int_equal (fd, -1);
  if (moat_error_status (&err) != want
      || strstr (moat_error_msg (&err), frag) == NULL)
    fail_msg ("`%s`: got \"%s\" (%d), want \"%s\" (%d)", path,
              moat_error_msg (&err), moat_error_status (&err), frag, want);
}

static void
accepted (const char *path, const char *stop_at)
{
  cleanup_error moat_error_t err = NULL;
  int fd = fs_open_trusted (path, stop_at, &err);
  if (fd < 0)
    fail_msg ("`%s` refused: %s", path, moat_error_msg (&err));
  close (fd);
}

static void
trusted_open_refusals (void **state)
{
  char dir[] = "/tmp/moat-test-XXXXXX";
  cleanup_free char *file = NULL, *sub = NULL, *sfile = NULL, *link = NULL,
                    *dlink = NULL, *fifo = NULL, *dots = NULL, *cmd = NULL;
  cleanup_free char *buf = NULL;
  cleanup_error moat_error_t err = NULL;
  struct timespec t0, t1;
  size_t len;

  if (geteuid () != 0)
    skip ();
  assert_non_null (mkdtemp (dir));
  assert_int_equal (chmod (dir, 0755), 0);
  assert_true (asprintf (&file, "%s/f.json", dir) > 0);
  assert_true (asprintf (&sub, "%s/sub", dir) > 0);
  assert_true (asprintf (&sfile, "%s/sub/g.json", dir) > 0);
  assert_true (asprintf (&link, "%s/link.json", dir) > 0);
  assert_true (asprintf (&dlink, "%s/dlink/g.json", dir) > 0);
  assert_true (asprintf (&fifo, "%s/fifo.json", dir) > 0);
  assert_true (asprintf (&dots, "%s/sub/../f.json", dir) > 0);
  assert_int_equal (fs_write_file_atomic (file, "{}", 2, 0644, &err), 0);
  assert_int_equal (mkdir (sub, 0755), 0);
  assert_int_equal (fs_write_file_atomic (sfile, "{}", 2, 0644, &err), 0);

  /* Walked from "/" (no stop_at): /tmp is root's and sticky. */
  accepted (file, NULL);
  accepted (sfile, dir);
  assert_int_equal (fs_read_trusted (file, NULL, 10, &buf, &len, &err), 0);
  assert_string_equal (buf, "{}");
  assert_int_equal (fs_read_trusted (file, NULL, 1, &buf, &len, &err), -1);
  assert_int_equal (moat_error_status (&err), EFBIG);
  moat_error_release (&err);

  /* The file: mode and owner. */
  chmod (file, 0666);
  refused (file, dir, EPERM, "writable by all users");
  chmod (file, 0664);
  assert_int_equal (chown (file, 0, 65534), 0);
  refused (file, dir, EPERM, "writable by group 65534, which is not root");
  assert_int_equal (chown (file, 0, 0), 0);
  accepted (file, dir); /* group root may write */
  chmod (file, 0644);
  assert_int_equal (chown (file, 65534, 0), 0);
  refused (file, dir, EPERM, "owned by uid 65534, not root");
  assert_int_equal (chown (file, 0, 0), 0);

  /* A directory on the way: owner and mode, sticky or not. */
  assert_int_equal (chown (sub, 65534, 0), 0);
  refused (sfile, NULL, EPERM, "/sub` is owned by uid 65534");
  assert_int_equal (chown (sub, 0, 0), 0);
  chmod (sub, 0777);
  refused (sfile, NULL, EPERM, "/sub` is writable by all users");
  chmod (sub, 01777);
  accepted (sfile, NULL);
  chmod (sub, 0755);
  /* Above stop_at is the caller's business (a test's private root). */
  assert_int_equal (chown (dir, 65534, 0), 0);
  refused (sfile, NULL, EPERM, "is owned by uid 65534");
  accepted (sfile, dir);
  assert_int_equal (chown (dir, 0, 0), 0);

  /* No symbolic link anywhere, whatever it points to. */
  assert_int_equal (symlink (file, link), 0);
  refused (link, NULL, EPERM, "link.json` is a symbolic link");
  refused (link, dir, EPERM, "is a symbolic link");
  assert_true (asprintf (&cmd, "ln -s sub '%s/dlink'", dir) > 0);
  assert_int_equal (system (cmd), 0);
  refused (dlink, NULL, EPERM, "/dlink` is a symbolic link");

  /* Not a regular file: refused at once, a FIFO never blocks. */
  assert_int_equal (mkfifo (fifo, 0644), 0);
  clock_gettime (CLOCK_MONOTONIC, &t0);
  refused (fifo, NULL, EINVAL, "is not a regular file (it is a FIFO)");
  assert_int_equal (fs_read_file (fifo, 10, &buf, &len, &err), -1);
  assert_int_equal (moat_error_status (&err), EINVAL);
  moat_error_release (&err);
  clock_gettime (CLOCK_MONOTONIC, &t1);
  assert_true (t1.tv_sec - t0.tv_sec < 2);
  refused (sub, NULL, EINVAL, "(it is a directory)");

  /* Missing, relative, dot-dot. */
  refused ("/tmp/moat-test-no-such-dir/x.json", NULL, ENOENT, "no-such-dir");
  refused ("tmp/x.json", NULL, EINVAL, "not an absolute path");
  refused (dots, NULL, EINVAL, "are not allowed");
  refused (sfile + 1, NULL, EINVAL, "not an absolute path");

  free (cmd);
  assert_true (asprintf (&cmd, "rm -rf '%s'", dir) > 0);
  assert_int_equal (system (cmd), 0);
}

/* mkdir -p: the leaf gets the mode asked for; a parent it creates gets
 * that mode plus search for all (a 0750 leaf must not make a new parent
 * hide a path below it that others may use); existing ones are kept. */
static void
mkdir_p_parents_searchable (void **state)
{
  char dir[] = "/tmp/moat-test-XXXXXX";
  cleanup_free char *leaf = NULL;
  cleanup_free char *mid = NULL;
  cleanup_free char *top = NULL;
  cleanup_free char *cmd = NULL;
  cleanup_error moat_error_t err = NULL;
  struct stat st;
  mode_t old = umask (022);

  assert_non_null (mkdtemp (dir));
  assert_int_equal (chmod (dir, 0700), 0);
  assert_true (asprintf (&top, "%s/var", dir) > 0);
  assert_true (asprintf (&mid, "%s/var/log", dir) > 0);
  assert_true (asprintf (&leaf, "%s/var/log/moat", dir) > 0);
  assert_int_equal (fs_mkdir_p (leaf, 0750, &err), 0);
  assert_int_equal (stat (leaf, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0750);
  assert_int_equal (stat (mid, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0751);
  assert_int_equal (stat (top, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0751);
  /* The existing top directory keeps its mode. */
  assert_int_equal (stat (dir, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0700);
  /* A 0700 leaf: parents are searchable, not listable. */
  free (leaf);
  assert_true (asprintf (&leaf, "%s/a/b", dir) > 0);
  assert_int_equal (fs_mkdir_p (leaf, 0700, &err), 0);
  assert_int_equal (stat (leaf, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0700);
  free (mid);
  assert_true (asprintf (&mid, "%s/a", dir) > 0);
  assert_int_equal (stat (mid, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0711);
  /* Again: nothing changes. */
  assert_int_equal (fs_mkdir_p (leaf, 0755, &err), 0);
  assert_int_equal (stat (leaf, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0700);

  umask (old);
  assert_true (asprintf (&cmd, "rm -rf '%s'", dir) > 0);
  assert_int_equal (system (cmd), 0);
}

/* The monotonic clock in ms: agrees with CLOCK_MONOTONIC, never goes back. */
static void
mono_ms_is_monotonic (void **state)
{
  struct timespec ts;
  int64_t a = moat_mono_ms (), b;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  b = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  assert_true (b >= a && b - a < 1000);
  for (int i = 0; i < 1000; i++)
    {
      b = moat_mono_ms ();
      assert_true (b >= a);
      a = b;
    }
}

static void
http_answer_split_decodes (void **state)
{
  char plain[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
  char chunked[] = "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n"
                   "\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  char overrun[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "ff\r\nabc\r\n0\r\n\r\n";
  char nohead[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n";
  char notit[] = "SSH-2.0-x\r\n\r\n";
  char *body;
  size_t blen;
  int status;
  (void)state;
  assert_int_equal (
      http_answer_split (plain, sizeof plain - 1, &status, &body, &blen), 0);
  assert_int_equal (status, 200);
  assert_int_equal (blen, 2);
  assert_memory_equal (body, "{}", 2);
  assert_int_equal (
      http_answer_split (chunked, sizeof chunked - 1, &status, &body, &blen),
      0);
  assert_int_equal (status, 404);
  assert_int_equal (blen, 5);
  assert_memory_equal (body, "abcde", 5);
  assert_int_equal (
      http_answer_split (overrun, sizeof overrun - 1, &status, &body, &blen),
      -1);
  assert_int_equal (
      http_answer_split (nohead, sizeof nohead - 1, &status, &body, &blen),
      -1);
  assert_int_equal (
      http_answer_split (notit, sizeof notit - 1, &status, &body, &blen), -1);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (error_wraps_context),
    cmocka_unit_test (paths_honour_root),
    cmocka_unit_test (read_file_caps_size),
    cmocka_unit_test (trusted_open_refusals),
    cmocka_unit_test (mkdir_p_parents_searchable),
    cmocka_unit_test (mono_ms_is_monotonic),
    cmocka_unit_test (http_answer_split_decodes),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
