/* Can a container start on this root?  runc (under moat-runc) mounts a
 * container's root file system from inside the container's user namespace,
 * where its root is an unprivileged host uid: every directory on the way
 * to moat's run directory must be searchable by others (o+x), or every
 * `docker run` fails.  `moat up` makes moat's own directories so (as
 * dockerd does for its data root) and refuses, naming it, a directory it
 * does not own; `moat status` and `moat verify` report the same check. */
#include "stack.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"

/* Is dir (resolved) inside `own` (resolved), or `own` itself? */
static bool
inside_p (const char *dir, const char *own)
{
  size_t n = strlen (own);
  if (strcmp (own, "/") == 0)
    return true;
  return strncmp (dir, own, n) == 0 && (dir[n] == '\0' || dir[n] == '/');
}

/* One directory on the way: searchable by others, or made so (fix, moat's
 * own, owned by root), or refused by name. */
static int
check_dir (const char *dir, const char *target, const char *own, bool fix,
           moat_error_t *err)
{
  struct stat st;
  if (stat (dir, &st) < 0)
    return moat_error (err, errno, "stat `%s`", dir);
  if (st.st_mode & S_IXOTH)
    return 0;
  if (fix && own != NULL && inside_p (dir, own) && st.st_uid == 0
      && S_ISDIR (st.st_mode))
    {
      mode_t mode = (st.st_mode & 07777) | S_IXGRP | S_IXOTH;
      if (chmod (dir, mode) < 0)
        return moat_error (err, errno, "chmod `%s`", dir);
      log_info ("made `%s` searchable by others (mode %04o): containers' "
                "root file systems are mounted below it",
                dir, (unsigned)mode);
      return 0;
    }
  return moat_error (err, EACCES,
                     "`%s` is not searchable by others (mode %04o, owner "
                     "uid %u): no container could start, as runc mounts a "
                     "container's root file system below `%s` from inside "
                     "the container's user namespace; chmod o+x `%s`, or "
                     "use a MOAT_ROOT that others may reach",
                     dir, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid,
                     target, dir);
}

/* Every directory from "/" down to target (resolved). */
static int
walk (const char *target, const char *own, bool fix, moat_error_t *err)
{
  char dir[PATH_MAX];
  size_t len = strlen (target);

  if (len >= sizeof dir)
    return moat_error (err, ENAMETOOLONG, "check `%s`", target);
  if (check_dir ("/", target, own, fix, err) < 0)
    return -1;
  for (size_t end = 1; end <= len; end++)
    {
      if (end < len && target[end] != '/')
        continue;
      memcpy (dir, target, end);
      dir[end] = '\0';
      if (check_dir (dir, target, own, fix, err) < 0)
        return -1;
    }
  return 0;
}

int
stack_root_check (const struct moat_paths *paths, bool fix, moat_error_t *err)
{
  cleanup_free char *runc_dir = NULL;
  cleanup_free char *target = NULL;
  cleanup_free char *own = NULL;

  if (asprintf (&runc_dir, "%s/runc", paths->run_dir) < 0)
    {
      runc_dir = NULL;
      return moat_error (err, ENOMEM, "check `%s`", paths->run_dir);
    }
  /* moat-runc makes runc/ itself (0711) at the first create. */
  target = realpath (runc_dir, NULL);
  if (target == NULL)
    target = realpath (paths->run_dir, NULL);
  if (target == NULL)
    return moat_error (err, errno, "resolve `%s`", paths->run_dir);
  /* moat's own: its MOAT_ROOT and everything below; with the root "/",
   * its run directory and below (/run is the system's). */
  own = realpath (paths->root[0] != '\0' ? paths->root : paths->run_dir, NULL);
  return walk (target, own, fix, err);
}
