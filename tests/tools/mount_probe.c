/* mount-probe: escape attempts through the new mount API, for
 * tests/escape/attempts.sh.  Built static: it runs inside a busybox
 * container, bind-mounted from the build directory.
 *
 *   mount-probe fsmount TYPE   fsopen + fsmount a fresh TYPE (proc, sysfs)
 *   mount-probe clone PATH     open_tree(OPEN_TREE_CLONE) of PATH without
 *                              AT_RECURSIVE (would drop the masks below it)
 *
 * Exits 0 when the operation succeeded (the escape worked), 1 when the
 * kernel refused it, 2 on a usage error; prints what happened. */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int
fresh (const char *type)
{
  int fs = (int)syscall (SYS_fsopen, type, FSOPEN_CLOEXEC);
  int m;
  if (fs < 0)
    {
      printf ("fsopen %s: %s\n", type, strerror (errno));
      return 1;
    }
  if (syscall (SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    {
      printf ("fsconfig %s: %s\n", type, strerror (errno));
      return 1;
    }
  m = (int)syscall (SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
  if (m < 0)
    {
      printf ("fsmount %s: %s\n", type, strerror (errno));
      return 1;
    }
  printf ("fsmount %s: mounted\n", type);
  return 0;
}

static int
clone_tree (const char *path)
{
  int t = (int)syscall (SYS_open_tree, AT_FDCWD, path,
                        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (t < 0)
    {
      printf ("open_tree %s: %s\n", path, strerror (errno));
      return 1;
    }
  printf ("open_tree %s: cloned\n", path);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc == 3 && strcmp (argv[1], "fsmount") == 0)
    return fresh (argv[2]);
  if (argc == 3 && strcmp (argv[1], "clone") == 0)
    return clone_tree (argv[2]);
  fprintf (stderr, "usage: mount-probe fsmount TYPE | clone PATH\n");
  return 2;
}
