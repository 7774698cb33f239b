/* moat-runc's bind source policy (src/runtime/bindpol.c) on a scratch
 * tree: shared directory, symlinks out of it, engine files in a data
 * root, named volumes, filtered and other sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "runtime/bindpol.h"

#define HEX64                                                                 \
  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX32 "0123456789abcdef0123456789abcdef"

struct fx
{
  char root[64];
  char share[PATH_MAX];
  char data[PATH_MAX];
  char run[PATH_MAX];
  char sock[PATH_MAX];
  char *shared[1];
  char *protect[2];
  char *sockets[1];
  char *roots[1];
  struct bindpol bp;
};

static void
mkp (struct fx *f, const char *rel, int kind, const char *target)
{
  char p[PATH_MAX + 64];
  snprintf (p, sizeof p, "%s/%s", f->root, rel);
  if (kind == 'd')
    assert_int_equal (mkdir (p, 0755), 0);
  else if (kind == 'f')
    {
      int fd = open (p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      assert_true (fd >= 0);
      close (fd);
    }
  else if (kind == 's')
    {
      struct sockaddr_un sa = { .sun_family = AF_UNIX };
      int fd = socket (AF_UNIX, SOCK_STREAM, 0);
      assert_true (strlen (p) < sizeof sa.sun_path);
      memcpy (sa.sun_path, p, strlen (p) + 1);
      assert_int_equal (bind (fd, (struct sockaddr *)&sa, sizeof sa), 0);
      close (fd);
    }
  else
    assert_int_equal (symlink (target, p), 0);
}

static int
setup (void **state)
{
  struct fx *f = calloc (1, sizeof *f);
  strcpy (f->root, "/tmp/moat-bindpol-XXXXXX");
  assert_non_null (mkdtemp (f->root));
  mkp (f, "share", 'd', NULL);
  mkp (f, "share/ok", 'd', NULL);
  mkp (f, "share/to-etc", 'l', "/etc");
  mkp (f, "share/to-data", 'l', "../data");
  mkp (f, "share/x.sock", 's', NULL);
  mkp (f, "data", 'd', NULL);
  mkp (f, "data/containers", 'd', NULL);
  mkp (f, "data/containers/" HEX64, 'd', NULL);
  mkp (f, "data/containers/" HEX64 "/hostname", 'f', NULL);
  mkp (f, "data/containers/" HEX64 "/config.v2.json", 'f', NULL);
  mkp (f, "data/volumes", 'd', NULL);
  mkp (f, "data/volumes/v1", 'd', NULL);
  mkp (f, "data/volumes/v1/_data", 'd', NULL);
  mkp (f, "run", 'd', NULL);
  mkp (f, "run/engine.sock", 's', NULL);
  mkp (f, "run/sockets", 'd', NULL);
  mkp (f, "run/sockets/" HEX32 ".sock", 's', NULL);
  mkp (f, "run/sockets/other.sock", 's', NULL);
  snprintf (f->share, sizeof f->share, "%s/share", f->root);
  snprintf (f->data, sizeof f->data, "%s/data", f->root);
  snprintf (f->run, sizeof f->run, "%s/run", f->root);
  snprintf (f->sock, sizeof f->sock, "%s/run/engine.sock", f->root);
  f->shared[0] = f->share;
  f->protect[0] = f->data;
  f->protect[1] = f->run;
  f->sockets[0] = f->sock;
  f->roots[0] = f->data;
  f->bp = (struct bindpol){ .eci = true,
                            .shared = f->shared,
                            .n_shared = 1,
                            .protect = f->protect,
                            .n_protect = 2,
                            .sockets = f->sockets,
                            .n_sockets = 1,
                            .data_roots = f->roots,
                            .n_data_roots = 1,
                            .image = "app:1" };
  char fd_dir[PATH_MAX + 16];
  snprintf (fd_dir, sizeof fd_dir, "%s/run/sockets", f->root);
  f->bp.filtered_dir = strdup (fd_dir);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fx *f = *state;
  char cmd[PATH_MAX + 16];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", f->root);
  assert_int_equal (system (cmd), 0);
  free (f->bp.filtered_dir);
  free (f->bp.init_real);
  free (f);
  return 0;
}

/* 0 = passes, 1 = shared-directories refusal, 2 = socket refusal. */
static int
verdict (struct fx *f, const char *rel, const char *dest)
{
  char p[PATH_MAX + 64];
  char want[PATH_MAX + 256];
  cleanup_error moat_error_t err = NULL;
  cleanup_close int fd = -1;
  snprintf (p, sizeof p, "%s%s%s", rel[0] == '/' ? "" : f->root,
            rel[0] == '/' ? "" : "/", rel);
  fd = open (p, O_PATH | O_CLOEXEC);
  assert_true (fd >= 0);
  if (bindpol_check_fd (&f->bp, fd, p, dest, &err) == 0)
    return 0;
  assert_true (bindpol_refusal_p (&err));
  snprintf (want, sizeof want,
            "enhanced container isolation: bind mount of \"%s\" denied; it "
            "is outside the shared directories",
            p);
  if (strcmp (moat_error_msg (&err), want) == 0)
    return 1;
  assert_string_equal (moat_error_msg (&err),
                       "enhanced container isolation: docker socket mount "
                       "denied for container with image \"app:1\"; image is "
                       "not in the allowed list; if you wish to allow it, "
                       "configure the docker socket image list in the moat "
                       "admin settings.");
  return 2;
}

static void
shared_and_symlinks (void **state)
{
  struct fx *f = *state;
  assert_int_equal (verdict (f, "share", "/x"), 0);
  assert_int_equal (verdict (f, "share/ok", "/x"), 0);
  /* the descriptor is judged, whatever path led to it */
  assert_int_equal (verdict (f, "share/to-etc", "/x"), 1);
  assert_int_equal (verdict (f, "share/to-data", "/x"), 1);
  assert_int_equal (verdict (f, "/etc", "/x"), 1);
  assert_int_equal (
      verdict (f, "data/containers/" HEX64 "/config.v2.json", "/x"), 1);
  /* ECI off: only sockets are refused */
  f->bp.eci = false;
  assert_int_equal (verdict (f, "/etc", "/x"), 0);
  assert_int_equal (verdict (f, "run", "/x"), 2);
  f->bp.eci = true;
}

static void
engine_files_and_sockets (void **state)
{
  struct fx *f = *state;
  assert_int_equal (
      verdict (f, "data/containers/" HEX64 "/hostname", "/etc/hostname"), 0);
  assert_int_equal (verdict (f, "data/volumes/v1/_data", "/v"), 0);
  assert_int_equal (verdict (f, "data/volumes/v1", "/v"), 1);
  assert_int_equal (verdict (f, "data", "/v"), 1);
  /* a filtered socket moatd hands out, and nothing else of run/ */
  assert_int_equal (verdict (f, "run/sockets/" HEX32 ".sock", "/s"), 0);
  assert_int_equal (verdict (f, "run/sockets/other.sock", "/s"), 2);
  assert_int_equal (verdict (f, "run/engine.sock", "/s"), 2);
  assert_int_equal (verdict (f, "run", "/s"), 2);
  assert_int_equal (verdict (f, "/", "/s"), 2);
  /* a socket inside the shared directory is still a socket mount */
  assert_int_equal (verdict (f, "share/x.sock", "/s"), 2);
  /* not the init binary: wrong name, or not where docker-init goes */
  assert_int_equal (verdict (f, "/bin/sh", "/sbin/docker-init"), 1);
}

/* --init on Debian: the engine's docker-init is a symlink to tini-static,
 * so the real path's name is not docker-init.  It passes because it is
 * what the system's docker-init resolves to; a docker-init symlink of the
 * user's pointing elsewhere does not. */
static void
init_binary_symlink (void **state)
{
  struct fx *f = *state;
  char d1[PATH_MAX + 16], d2[PATH_MAX + 16], want[PATH_MAX + 32];
  const char *dirs[3] = { d1, d2, NULL };
  cleanup_free char *real = NULL;
  mkp (f, "sys", 'd', NULL);
  mkp (f, "sys/sbin", 'd', NULL);
  mkp (f, "sys/bin", 'd', NULL);
  mkp (f, "sys/bin/tini-static", 'f', NULL);
  mkp (f, "sys/bin/docker-init", 'l', "tini-static");
  mkp (f, "elsewhere", 'f', NULL);
  mkp (f, "share/docker-init", 'l', "../elsewhere");
  snprintf (d1, sizeof d1, "%s/sys/sbin", f->root);
  snprintf (d2, sizeof d2, "%s/sys/bin", f->root);
  snprintf (want, sizeof want, "%s/sys/bin/tini-static", f->root);
  real = realpath (want, NULL);
  assert_non_null (real);
  f->bp.init_real = bindpol_engine_init (dirs);
  assert_non_null (f->bp.init_real);
  assert_string_equal (f->bp.init_real, real);

  /* the files are root's (the unit tests run as root) */
  assert_int_equal (verdict (f, "sys/bin/docker-init", "/sbin/docker-init"),
                    0);
  assert_int_equal (verdict (f, "sys/bin/tini-static", "/sbin/docker-init"),
                    0);
  /* only as the init binary */
  assert_int_equal (verdict (f, "sys/bin/docker-init", "/x"), 1);
  /* a docker-init of the user's, pointing elsewhere */
  assert_int_equal (verdict (f, "share/docker-init", "/sbin/docker-init"), 1);
  /* writable by others: not the engine's */
  assert_int_equal (chmod (real, 0775), 0);
  assert_int_equal (verdict (f, "sys/bin/docker-init", "/sbin/docker-init"),
                    1);
  assert_int_equal (chmod (real, 0755), 0);

  /* no docker-init in the directories: nothing but the name passes */
  dirs[1] = NULL;
  assert_null (bindpol_engine_init (dirs));
  free (f->bp.init_real);
  f->bp.init_real = NULL;
  assert_int_equal (verdict (f, "sys/bin/docker-init", "/sbin/docker-init"),
                    1);

  /* the system's own, when this host has one */
  if (access ("/usr/bin/docker-init", F_OK) == 0)
    {
      cleanup_free char *sys = bindpol_engine_init (NULL);
      cleanup_free char *r = realpath ("/usr/bin/docker-init", NULL);
      assert_non_null (sys);
      assert_non_null (r);
      if (access ("/usr/local/sbin/docker-init", F_OK) != 0
          && access ("/usr/local/bin/docker-init", F_OK) != 0
          && access ("/usr/sbin/docker-init", F_OK) != 0)
        assert_string_equal (sys, r);
    }
}

/* The path check (spec.c's early pass) agrees, and lets a missing source
 * through for the mount to fail on. */
static void
path_check (void **state)
{
  struct fx *f = *state;
  char p[PATH_MAX + 32];
  cleanup_error moat_error_t err = NULL;
  snprintf (p, sizeof p, "%s/share/to-etc", f->root);
  assert_int_equal (bindpol_check_path (&f->bp, p, "/x", &err), -1);
  assert_true (bindpol_refusal_p (&err));
  moat_error_release (&err);
  snprintf (p, sizeof p, "%s/share/missing", f->root);
  assert_int_equal (bindpol_check_path (&f->bp, p, "/x", &err), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (shared_and_symlinks, setup, teardown),
    cmocka_unit_test_setup_teardown (engine_files_and_sockets, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (path_check, setup, teardown),
    cmocka_unit_test_setup_teardown (init_binary_symlink, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
