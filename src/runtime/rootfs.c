/* Id-mapped root file system (see rootfs.h); the bind mounts are in
 * binds.c. */
#include "rootfs.h"
#include "rootfs_internal.h"

#include <dirent.h>
#include <fts.h>
#include <sys/xattr.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strutil.h"
#include "common/fs.h"
#include "common/log.h"
#include "runtime/runtime.h"

#define MAX_LAYERS 256

/* Find the last mount at `path`; fill fstype and super options.  Returns 1
 * if found, 0 if not, -1 on error. */
static int
find_mount (const char *path, char **fstype, char **opts, moat_error_t *err)
{
  cleanup_file FILE *f = fopen ("/proc/self/mountinfo", "re");
  cleanup_free char *line = NULL;
  size_t cap = 0;
  int found = 0;

  if (f == NULL)
    return moat_error (err, errno, "open /proc/self/mountinfo");
  while (getline (&line, &cap, f) > 0)
    {
      char *save = NULL, *tok, *mnt = NULL, *sep;
      int field = 0;
      line[strcspn (line, "\n")] = '\0';
      sep = strstr (line, " - ");
      if (sep == NULL)
        continue;
      *sep = '\0';
      for (tok = strtok_r (line, " ", &save); tok;
           tok = strtok_r (NULL, " ", &save))
        if (++field == 5)
          mnt = tok;
      if (mnt == NULL)
        continue;
      mountinfo_unescape (mnt);
      if (strcmp (mnt, path) != 0)
        continue;
      save = NULL;
      tok = strtok_r (sep + 3, " ", &save);
      {
        char *src = strtok_r (NULL, " ", &save);
        char *sopts = strtok_r (NULL, " ", &save);
        if (tok == NULL || src == NULL || sopts == NULL)
          continue;
        free (*fstype);
        free (*opts);
        *fstype = strdup (tok);
        *opts = strdup (sopts);
        if (*fstype == NULL || *opts == NULL)
          return moat_error (err, ENOMEM, "read mountinfo");
        found = 1;
      }
    }
  return found;
}

/* Value of key=... in a comma-separated option list (malloc'd). */
static char *
opt_value (const char *opts, const char *key)
{
  size_t klen = strlen (key);
  const char *p = opts;
  while (p && *p)
    {
      const char *end = strchr (p, ',');
      size_t n = end ? (size_t)(end - p) : strlen (p);
      if (n > klen && strncmp (p, key, klen) == 0 && p[klen] == '=')
        {
          char *v = strndup (p + klen + 1, n - klen - 1);
          if (v != NULL)
            mountinfo_unescape (v);
          return v;
        }
      p = end ? end + 1 : NULL;
    }
  return NULL;
}

static char *
dir_of (const char *path)
{
  char *d = strdup (path);
  char *slash;
  if (d == NULL)
    return NULL;
  slash = strrchr (d, '/');
  if (slash == NULL)
    {
      free (d);
      return NULL;
    }
  if (slash == d)
    slash[1] = '\0';
  else
    *slash = '\0';
  return d;
}

/* Attach the detached tree fd (a clone of src) at target, created as a
 * directory or an empty file like the tree's root. */
int
rootfs_attach_at (int fd, const char *src, const char *target,
                  moat_error_t *err)
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    return moat_error (err, errno, "stat `%s`", src);
  if (S_ISDIR (st.st_mode))
    {
      if (mkdir (target, 0700) < 0 && errno != EEXIST)
        return moat_error (err, errno, "mkdir `%s`", target);
    }
  else
    {
      int t = open (target, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (t < 0)
        return moat_error (err, errno, "create `%s`", target);
      close (t);
    }
  if (sys_move_mount (fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return moat_error (err, errno, "attach `%s` at `%s`", src, target);
  return 0;
}

/* Clone src, id-map it through userns_fd and attach it at target (created
 * as a directory or an empty file like src).  Returns 0, or -1 with errno
 * of the failing step in the error. */
static int
idmap_into (const char *src, const char *target, int userns_fd, int recursive,
            int rdonly, moat_error_t *err)
{
  cleanup_close int fd = -1;
  struct mount_attr attr = { 0 };

  fd = sys_open_tree (AT_FDCWD, src,
                      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC
                          | (recursive ? AT_RECURSIVE : 0));
  if (fd < 0)
    return moat_error (err, errno, "open_tree `%s`", src);
  attr.attr_set = MOUNT_ATTR_IDMAP | (rdonly ? MOUNT_ATTR_RDONLY : 0);
  attr.userns_fd = (uint64_t)userns_fd;
  if (sys_mount_setattr (fd, "",
                         AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr)
      < 0)
    return moat_error (err, errno, "id-map `%s`", src);
  return rootfs_attach_at (fd, src, target, err);
}

static void
child_fail (int sock, const char *what)
{
  char msg[256];
  int n = snprintf (msg, sizeof msg, "E%d %s", errno, what);
  if (n > 0)
    (void)!write (sock, msg, (size_t)n);
  _exit (1);
}

static void __attribute__ ((noreturn))
helper_child (int sock, const struct overlay_args *ov)
{
  char c;
  int fsfd, mfd;
  struct msghdr mh = { 0 };
  struct iovec iov;
  union
  {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } cm;
  struct cmsghdr *h;

  if (unshare (CLONE_NEWUSER) < 0)
    child_fail (sock, "unshare user namespace");
  if (write (sock, "u", 1) != 1)
    _exit (1);
  /* Parent writes the maps and attaches the id-mapped layers, then says
   * whether to mount the overlay ('o') or just exit ('x'). */
  if (read (sock, &c, 1) != 1 || c != 'o')
    _exit (0);
  /* The run dir may sit below directories only host root can traverse:
   * enter it while our fsuid is still host root's. */
  if (chdir (ov->dir) < 0)
    child_fail (sock, "enter run dir");
  if (unshare (CLONE_NEWNS) < 0)
    child_fail (sock, "unshare mount namespace");
  if (mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
    child_fail (sock, "make mounts slave");
  if (setgroups (0, NULL) < 0 || setresgid (0, 0, 0) < 0
      || setresuid (0, 0, 0) < 0)
    child_fail (sock, "become root of the user namespace");
  fsfd = sys_fsopen ("overlay", FSOPEN_CLOEXEC);
  if (fsfd < 0)
    child_fail (sock, "fsopen overlay");
  if (sys_fsconfig (fsfd, FSCONFIG_SET_STRING, "lowerdir", ov->lowerdir, 0)
      < 0)
    child_fail (sock, "overlay lowerdir");
  if (sys_fsconfig (fsfd, FSCONFIG_SET_STRING, "upperdir", ov->upperdir, 0)
      < 0)
    child_fail (sock, "overlay upperdir");
  if (sys_fsconfig (fsfd, FSCONFIG_SET_STRING, "workdir", ov->workdir, 0) < 0)
    child_fail (sock, "overlay workdir");
  if (sys_fsconfig (fsfd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
    child_fail (sock, "overlay userxattr");
  if (sys_fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    child_fail (sock, "create overlay");
  mfd = sys_fsmount (fsfd, FSMOUNT_CLOEXEC, 0);
  if (mfd < 0)
    child_fail (sock, "fsmount overlay");

  c = 'm';
  iov.iov_base = &c;
  iov.iov_len = 1;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cm.buf;
  mh.msg_controllen = sizeof cm.buf;
  h = CMSG_FIRSTHDR (&mh);
  h->cmsg_level = SOL_SOCKET;
  h->cmsg_type = SCM_RIGHTS;
  h->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (h), &mfd, sizeof (int));
  if (sendmsg (sock, &mh, 0) != 1)
    _exit (1);
  _exit (0);
}

/* One line "INSIDE OUTSIDE COUNT" into /proc/PID/{uid,gid}_map. */
static int
write_map (pid_t pid, const char *file, uint32_t inside, uint32_t outside,
           uint32_t size, moat_error_t *err)
{
  char path[64], buf[64];
  cleanup_close int fd = -1;
  int n;
  snprintf (path, sizeof path, "/proc/%d/%s", (int)pid, file);
  n = snprintf (buf, sizeof buf, "%" PRIu32 " %" PRIu32 " %" PRIu32 "\n",
                inside, outside, size);
  fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return moat_error (err, errno, "open `%s`", path);
  if (write (fd, buf, (size_t)n) != n)
    return moat_error (err, errno, "write `%s`", path);
  return 0;
}

void
rootfs_helper_end (struct helper *h)
{
  int status;
  if (h->sock >= 0)
    close (h->sock);
  if (h->userns_fd >= 0)
    close (h->userns_fd);
  if (h->pid > 0)
    {
      kill (h->pid, SIGKILL);
      while (waitpid (h->pid, &status, 0) < 0 && errno == EINTR)
        ;
    }
  h->sock = h->userns_fd = -1;
  h->pid = 0;
}

int
rootfs_helper_start (struct helper *h, const struct overlay_args *ov,
                     const struct idmap *map, moat_error_t *err)
{
  int sv[2];
  char c, path[64];

  h->pid = 0;
  h->sock = h->userns_fd = -1;
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return moat_error (err, errno, "socketpair");
  h->pid = fork ();
  if (h->pid < 0)
    {
      close (sv[0]);
      close (sv[1]);
      return moat_error (err, errno, "fork");
    }
  if (h->pid == 0)
    {
      close (sv[0]);
      helper_child (sv[1], ov);
    }
  close (sv[1]);
  h->sock = sv[0];
  if (read (h->sock, &c, 1) != 1 || c != 'u')
    {
      rootfs_helper_end (h);
      return moat_error (err, EIO, "user namespace helper failed to start");
    }
  if (write_map (h->pid, "uid_map", map->uid_in, map->uid_out, map->size, err)
          < 0
      || write_map (h->pid, "gid_map", map->gid_in, map->gid_out, map->size,
                    err)
             < 0)
    {
      rootfs_helper_end (h);
      return -1;
    }
  snprintf (path, sizeof path, "/proc/%d/ns/user", (int)h->pid);
  h->userns_fd = open (path, O_RDONLY | O_CLOEXEC);
  if (h->userns_fd < 0)
    {
      moat_error (err, errno, "open `%s`", path);
      rootfs_helper_end (h);
      return -1;
    }
  return 0;
}

/* Ask the helper for the overlay; returns the detached mount's fd. */
static int
helper_mount_overlay (struct helper *h, moat_error_t *err)
{
  char buf[256];
  struct msghdr mh = { 0 };
  struct iovec iov = { buf, sizeof buf - 1 };
  union
  {
    char b[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } cm;
  struct cmsghdr *c;
  ssize_t n;
  int fd = -1;

  if (write (h->sock, "o", 1) != 1)
    return moat_error (err, errno, "talk to user namespace helper");
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cm.b;
  mh.msg_controllen = sizeof cm.b;
  n = recvmsg (h->sock, &mh, MSG_CMSG_CLOEXEC);
  if (n <= 0)
    return moat_error (err, EIO, "user namespace helper died");
  buf[n] = '\0';
  for (c = CMSG_FIRSTHDR (&mh); c != NULL; c = CMSG_NXTHDR (&mh, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
      memcpy (&fd, CMSG_DATA (c), sizeof fd);
  if (fd >= 0)
    return fd;
  if (buf[0] == 'E')
    {
      char *sp = strchr (buf, ' ');
      return moat_error (err, atoi (buf + 1),
                         "mount overlay as container "
                         "root: %s",
                         sp ? sp + 1 : buf);
    }
  return moat_error (err, EIO, "mount overlay: no mount from helper");
}

#define XATTR_TRUSTED_OPAQUE "trusted.overlay.opaque"
#define XATTR_USER_OPAQUE "user.overlay.opaque"
#define XATTR_SYNCED "user.moat.opaque-synced"

/* An overlay mounted in a user namespace reads and writes opaque markers
 * as user.overlay.opaque; Docker's layers and its diff/commit use
 * trusted.overlay.opaque.  Copy the marker of every directory under dir
 * from one name to the other (adding only).  Walks directories, not file
 * data.  Returns the number of markers copied, or -1. */
static int
sync_opaque (const char *dir, const char *from, const char *to,
             moat_error_t *err)
{
  char *const roots[] = { (char *)dir, NULL };
  FTS *fts = fts_open (roots, FTS_PHYSICAL | FTS_XDEV | FTS_NOCHDIR, NULL);
  FTSENT *e;
  int copied = 0;
  char v[8];

  if (fts == NULL)
    return moat_error (err, errno, "walk `%s`", dir);
  while ((e = fts_read (fts)) != NULL)
    {
      ssize_t n;
      if (e->fts_info != FTS_D)
        continue;
      n = lgetxattr (e->fts_accpath, from, v, sizeof v);
      if (n <= 0 || v[0] != 'y')
        continue;
      if (lsetxattr (e->fts_accpath, to, "y", 1, 0) < 0)
        {
          moat_error (err, errno, "set %s on `%s`", to, e->fts_path);
          fts_close (fts);
          return -1;
        }
      copied++;
    }
  fts_close (fts);
  return copied;
}

/* Image layers never change once written: sync each once, and mark it. */
static int
sync_layer_once (const char *layer, moat_error_t *err)
{
  char v[2];
  if (lgetxattr (layer, XATTR_SYNCED, v, sizeof v) > 0)
    return 0;
  if (sync_opaque (layer, XATTR_TRUSTED_OPAQUE, XATTR_USER_OPAQUE, err) < 0)
    return -1;
  if (lsetxattr (layer, XATTR_SYNCED, "1", 1, 0) < 0)
    return moat_error (err, errno, "mark `%s`", layer);
  return 0;
}

static int
has_bad_chars (const char *s)
{
  return strpbrk (s, ":,\\") != NULL;
}

/* What the overlay rebuild will mount, computed before the helper forks so
 * that the child has the strings. */
struct overlay_plan
{
  char *src[MAX_LAYERS]; /* resolved lower dirs, top first */
  unsigned n;
  char *lowers; /* "l0:l1..." relative to the run dir */
  char *updir;  /* Docker's layer dir holding diff/ and work/ */
  char *mywork; /* <updir>/moat-work */
  char *u_mnt, *u_upper, *u_work, *target;
};

static void
plan_free (struct overlay_plan *p)
{
  for (unsigned i = 0; i < p->n; i++)
    free (p->src[i]);
  free (p->lowers);
  free (p->updir);
  free (p->mywork);
  free (p->u_mnt);
  free (p->u_upper);
  free (p->u_work);
  free (p->target);
  memset (p, 0, sizeof *p);
}

static int
plan_overlay (const char *run_dir, const char *root_path, const char *opts,
              struct overlay_plan *p, moat_error_t *err)
{
  cleanup_free char *lower = opt_value (opts, "lowerdir");
  cleanup_free char *upper = opt_value (opts, "upperdir");
  cleanup_free char *work = opt_value (opts, "workdir");
  cleanup_free char *workparent = NULL, *layer_root = NULL;
  size_t lcap = 0, llen = 0;
  char *save = NULL, *tok;

  if (lower == NULL || upper == NULL || work == NULL)
    return moat_error (err, EINVAL,
                       "overlay at `%s` lacks lowerdir/upperdir/workdir",
                       root_path);
  p->updir = dir_of (upper);
  workparent = dir_of (work);
  if (p->updir == NULL || workparent == NULL
      || strcmp (p->updir, workparent) != 0)
    return moat_error (err, EINVAL,
                       "upper and work dirs of `%s` do not "
                       "share a parent",
                       root_path);
  /* Docker mounts with lowerdir=l/XXX relative to its overlay2 directory,
   * the parent of the container's layer directory. */
  layer_root = dir_of (p->updir);
  if (layer_root == NULL)
    return moat_error (err, EINVAL, "no layer root for `%s`", upper);

  for (tok = strtok_r (lower, ":", &save); tok != NULL;
       tok = strtok_r (NULL, ":", &save))
    {
      cleanup_free char *src = NULL, *tgt = NULL;
      size_t need;
      if (p->n >= MAX_LAYERS)
        return moat_error (err, E2BIG, "more than %d layers", MAX_LAYERS);
      if (asprintf (&src, "%s%s%s", tok[0] == '/' ? "" : layer_root,
                    tok[0] == '/' ? "" : "/", tok)
              < 0
          || asprintf (&tgt, "l%u", p->n) < 0)
        return moat_error (err, ENOMEM, "layer paths");
      p->src[p->n] = realpath (src, NULL);
      if (p->src[p->n] == NULL)
        return moat_error (err, errno, "resolve layer `%s`", src);
      p->n++;
      need = llen + strlen (tgt) + 2;
      if (need > lcap)
        {
          char *nl = realloc (p->lowers, need * 2);
          if (nl == NULL)
            return moat_error (err, ENOMEM, "layer list");
          p->lowers = nl;
          lcap = need * 2;
        }
      llen += (size_t)sprintf (p->lowers + llen, "%s%s", llen ? ":" : "", tgt);
    }
  if (p->n == 0)
    return moat_error (err, EINVAL, "overlay at `%s` has no lower dir",
                       root_path);
  if (asprintf (&p->mywork, "%s/moat-work", p->updir) < 0
      || asprintf (&p->u_mnt, "%s/u", run_dir) < 0
      || asprintf (&p->u_upper, "u/%s", strrchr (upper, '/') + 1) < 0
      || asprintf (&p->u_work, "u/moat-work") < 0
      || asprintf (&p->target, "%s/rootfs", run_dir) < 0)
    return moat_error (err, ENOMEM, "overlay paths");
  if (has_bad_chars (run_dir) || has_bad_chars (p->u_upper))
    return moat_error (err, EINVAL, "layer path contains `:`, `,` or `\\`");
  return 0;
}

/* Attach the id-mapped layers, have the helper mount the overlay, attach
 * it at p->target. */
static int
build_overlay (const char *run_dir, struct overlay_plan *p, struct helper *h,
               struct rootfs_report *rep, moat_error_t *err)
{
  cleanup_close int mfd = -1;

  for (unsigned i = 0; i < p->n; i++)
    if (sync_layer_once (p->src[i], err) < 0)
      return -1;
  {
    cleanup_free char *upper = NULL, *note = NULL;
    if (asprintf (&upper, "%s/%s", p->updir, p->u_upper + 2) < 0
        || asprintf (&note, "%s/upper", run_dir) < 0)
      return moat_error (err, ENOMEM, "upper path");
    if (sync_opaque (upper, XATTR_TRUSTED_OPAQUE, XATTR_USER_OPAQUE, err) < 0)
      return -1;
    /* delete turns the container's markers back into Docker's. */
    if (runtime_write_file (note, upper, err) < 0)
      return -1;
  }
  for (unsigned i = 0; i < p->n; i++)
    {
      cleanup_free char *tgt = NULL;
      if (asprintf (&tgt, "%s/l%u", run_dir, i) < 0)
        return moat_error (err, ENOMEM, "layer path");
      if (idmap_into (p->src[i], tgt, h->userns_fd, 0, 1, err) < 0)
        return -1;
      rep->layers++;
    }
  /* Our own work dir beside Docker's upper dir: sharing Docker's would let
   * this mount reset the work dir under Docker's merged mount.  Owned by
   * host root on disk, so the container's root through the id map. */
  if (mkdir (p->mywork, 0700) < 0 && errno != EEXIST)
    return moat_error (err, errno, "mkdir `%s`", p->mywork);
  if (idmap_into (p->updir, p->u_mnt, h->userns_fd, 0, 0, err) < 0)
    return -1;
  mfd = helper_mount_overlay (h, err);
  if (mfd < 0)
    return -1;
  if (mkdir (p->target, 0711) < 0 && errno != EEXIST)
    return moat_error (err, errno, "mkdir `%s`", p->target);
  if (sys_move_mount (mfd, "", AT_FDCWD, p->target, MOVE_MOUNT_F_EMPTY_PATH)
      < 0)
    return moat_error (err, errno, "attach overlay at `%s`", p->target);
  return 0;
}

/* The container's process user (spec process.user, 0 by default). */
static int
process_ids (json_t *spec, uint32_t size, uint32_t *uid, uint32_t *gid,
             moat_error_t *err)
{
  json_t *user = json_object_get (json_object_get (spec, "process"), "user");
  json_t *ju = json_object_get (user, "uid"),
         *jg = json_object_get (user, "gid");
  json_int_t u = ju ? json_integer_value (ju) : 0;
  json_int_t g = jg ? json_integer_value (jg) : 0;
  if ((ju != NULL && !json_is_integer (ju))
      || (jg != NULL && !json_is_integer (jg)) || u < 0 || g < 0
      || u >= (json_int_t)size || g >= (json_int_t)size)
    return moat_error (err, EINVAL,
                       "process.user %lld:%lld is outside the container's "
                       "%" PRIu32 " ids",
                       (long long)u, (long long)g, size);
  *uid = (uint32_t)u;
  *gid = (uint32_t)g;
  return 0;
}

/* runc mounts root.path and the bind sources from inside the container's
 * user namespace: every directory above run_dir must be searchable by
 * others.  Say so instead of letting runc fail with EACCES. */
static int
check_searchable (const char *run_dir, moat_error_t *err)
{
  cleanup_free char *p = strdup (run_dir);
  char *slash;
  if (p == NULL)
    return moat_error (err, ENOMEM, "check `%s`", run_dir);
  while ((slash = strrchr (p, '/')) != NULL)
    {
      struct stat st;
      if (slash == p)
        slash[1] = '\0';
      else
        *slash = '\0';
      if (stat (p, &st) < 0)
        return moat_error (err, errno, "stat `%s`", p);
      if (!(st.st_mode & S_IXOTH))
        return moat_error (err, EACCES,
                           "`%s` is not searchable by others; "
                           "the container's root could not reach its root "
                           "file system (chmod o+x it)",
                           p);
      if (slash == p)
        break;
    }
  return 0;
}

/* Open `path` (absolute, as in the container) below rfd, every symlink
 * resolved as if rfd were "/": an image's link cannot lead out. */
static int
open_in_root (int rfd, const char *path, int flags)
{
  struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
                          .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  return (int)syscall (SYS_openat2, rfd, path, &how, sizeof how);
}

/* Make `dest` and its missing parents below rfd (directories 0755, the
 * last one an empty 0644 file when is_file).  A dangling symlink on the
 * way has its target made, inside the root too (depth bounds link
 * chains).  0, or -1 with errno. */
static int
make_mountpoint (int rfd, const char *dest, bool is_file, int depth)
{
  cleanup_free char *path = NULL;
  char *p;
  if (depth > 8)
    {
      errno = ELOOP;
      return -1;
    }
  path = strdup (dest);
  if (path == NULL)
    return -1;
  for (p = path; *p == '/'; p++)
    ;
  while (*p != '\0')
    {
      char *end = strchr (p, '/');
      bool last;
      int fd;
      if (end != NULL)
        *end = '\0';
      last = end == NULL || end[1] == '\0';
      fd = open_in_root (rfd, path, O_PATH);
      if (fd >= 0)
        close (fd);
      else if (errno != ENOENT)
        return -1;
      else
        {
          cleanup_close int link
              = open_in_root (rfd, path, O_PATH | O_NOFOLLOW);
          struct stat st;
          if (link >= 0 && fstat (link, &st) == 0 && S_ISLNK (st.st_mode))
            {
              /* its target, resolved in the root: absolute as is, relative
               * from the link's directory */
              char target[PATH_MAX];
              cleanup_free char *full = NULL;
              ssize_t n = readlinkat (link, "", target, sizeof target - 1);
              char *slash = strrchr (path, '/');
              if (n <= 0)
                return -1;
              target[n] = '\0';
              if (target[0] == '/')
                full = strdup (target);
              else if (asprintf (&full, "%.*s/%s", (int)(slash - path), path,
                                 target)
                       < 0)
                full = NULL;
              if (full == NULL
                  || make_mountpoint (rfd, full, last && is_file, depth + 1)
                         < 0)
                return -1;
            }
          else
            {
              /* the parent exists (made or found on the previous turn) */
              char *slash = strrchr (path, '/');
              cleanup_close int parent = -1;
              const char *name = slash + 1;
              *slash = '\0';
              parent = open_in_root (rfd, slash != path ? path : "/",
                                     O_PATH | O_DIRECTORY);
              *slash = '/';
              if (parent < 0)
                return -1;
              if (last && is_file)
                {
                  fd = openat (parent, name,
                               O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW
                                   | O_CLOEXEC,
                               0644);
                  if (fd < 0)
                    return -1;
                  close (fd);
                }
              else if (mkdirat (parent, name, 0755) < 0)
                return -1;
            }
        }
      if (end == NULL)
        break;
      *end = '/';
      p = end + 1;
    }
  return 0;
}

/* --read-only.  runc makes the mountpoints a spec needs and only then the
 * root read-only; moat makes the root read-only first (in the host's mount
 * namespace, so that the kernel locks it), so the missing mountpoints are
 * made here, owned by the container's root (fsuid/fsgid: what runc would
 * have made from inside).  One that cannot be made is left to runc, which
 * then says why. */
static void
make_mountpoints (const char *rootfs, json_t *spec, uint32_t uid, uint32_t gid)
{
  cleanup_close int rfd = open (rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  json_t *m;
  size_t i;
  if (rfd < 0)
    return;
  json_array_foreach (json_object_get (spec, "mounts"), i, m)
  {
    const char *dest = json_string_value (json_object_get (m, "destination"));
    const char *src = json_string_value (json_object_get (m, "source"));
    struct stat st;
    int rc, e;
    /* the source is looked at as root, the mountpoint made as the
     * container's root */
    bool is_file = binds_is_bind (m) && src != NULL && stat (src, &st) == 0
                   && !S_ISDIR (st.st_mode);
    if (dest == NULL || dest[0] != '/')
      continue;
    setfsgid (gid);
    setfsuid (uid);
    rc = make_mountpoint (rfd, dest, is_file, 0);
    e = errno;
    setfsuid (0);
    setfsgid (0);
    if (rc < 0)
      log_warn ("mountpoint `%s` not made in the read-only root: %s", dest,
                strerror (e));
  }
}

/* A root that is not an overlay: a directory (containerd's native
 * snapshotter bind-mounts one at the bundle's rootfs; a vfs-style
 * engine hands the directory itself).  Its whole tree is cloned, id-mapped
 * through userns_fd and attached at target: what the container's root
 * writes lands on disk as container-relative ids, as with the overlay.
 * Returns 1 when mapped, 0 when the root's file system cannot be
 * id-mapped (left as it is, with a warning, like such a bind source), -1
 * on error. */
static int
idmap_root_dir (const char *root_path, const char *target, int userns_fd,
                moat_error_t *err)
{
  cleanup_close int fd = -1;
  struct mount_attr attr = { 0 };
  struct stat st;

  if (stat (root_path, &st) < 0)
    return moat_error (err, errno, "stat root `%s`", root_path);
  if (!S_ISDIR (st.st_mode))
    return moat_error (err, ENOTDIR, "root `%s`", root_path);
  fd = sys_open_tree (AT_FDCWD, root_path,
                      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (fd < 0)
    return moat_error (err, errno, "open_tree `%s`", root_path);
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = (uint64_t)userns_fd;
  if (sys_mount_setattr (fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) < 0)
    {
      if (errno == EINVAL || errno == EPERM || errno == EOPNOTSUPP)
        {
          log_warn ("root `%s`: its file system cannot be id-mapped (%s); "
                    "its ownership is left as it is",
                    root_path, strerror (errno));
          return 0;
        }
      return moat_error (err, errno, "id-map `%s`", root_path);
    }
  if (mkdir (target, 0711) < 0 && errno != EEXIST)
    return moat_error (err, errno, "mkdir `%s`", target);
  if (sys_move_mount (fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return moat_error (err, errno, "attach root at `%s`", target);
  return 1;
}

int
rootfs_prepare (const char *run_dir, json_t *spec, uint32_t uid_base,
                uint32_t gid_base, uint32_t size, const struct bindpol *bp,
                struct rootfs_report *rep, moat_error_t *err)
{
  json_t *root = json_object_get (spec, "root");
  const char *root_path = json_string_value (json_object_get (root, "path"));
  cleanup_free char *fstype = NULL, *opts = NULL, *parent = NULL;
  struct overlay_plan plan = { 0 };
  struct overlay_args ov = { 0 };
  struct helper h = { .pid = 0, .sock = -1, .userns_fd = -1 };
  struct idmap cmap
      = { 0, uid_base, 0, gid_base, size }; /* the container's mapping */
  struct idmap pmap = { 0, uid_base, 0, gid_base, 1 }; /* its process user */
  int overlay = 0, ret = -1;

  memset (rep, 0, sizeof *rep);
  if (process_ids (spec, size, &pmap.uid_in, &pmap.gid_in, err) < 0)
    return -1;
  parent = dir_of (run_dir);
  if (parent == NULL || fs_mkdir_p (parent, 0711, err) < 0)
    return moat_error_wrap (err, "prepare `%s`", run_dir);
  /* A leftover of a crashed create of the same id goes first. */
  if (rootfs_cleanup (run_dir, err) < 0)
    return -1;
  /* Only the container's root group may enter: the root file system and
   * bind mounts below are readable by it, not by other host users. */
  if (mkdir (run_dir, 0700) < 0)
    return moat_error (err, errno, "mkdir `%s`", run_dir);
  if (chown (run_dir, 0, (gid_t)gid_base) < 0 || chmod (run_dir, 0710) < 0)
    return moat_error (err, errno, "restrict `%s`", run_dir);
  if (check_searchable (run_dir, err) < 0)
    return -1;

  if (root_path != NULL && root_path[0] == '/')
    {
      int r = find_mount (root_path, &fstype, &opts, err);
      if (r < 0)
        return -1;
      overlay = r == 1 && strcmp (fstype, "overlay") == 0;
    }
  if (overlay)
    {
      if (plan_overlay (run_dir, root_path, opts, &plan, err) < 0)
        goto out;
      ov.dir = run_dir;
      ov.lowerdir = plan.lowers;
      ov.upperdir = plan.u_upper;
      ov.workdir = plan.u_work;
    }
  if (rootfs_helper_start (&h, &ov, &cmap, err) < 0)
    goto out;
  if (overlay || (root_path != NULL && root_path[0] == '/'))
    {
      int mapped = 0;
      if (overlay && build_overlay (run_dir, &plan, &h, rep, err) < 0)
        goto out;
      if (!overlay)
        {
          /* containerd's native snapshots (and any root that is a plain
           * directory or bind mount): one id-mapped clone of it */
          if (asprintf (&plan.target, "%s/rootfs", run_dir) < 0)
            {
              moat_error (err, ENOMEM, "rootfs path");
              goto out;
            }
          mapped = idmap_root_dir (root_path, plan.target, h.userns_fd, err);
          if (mapped < 0)
            goto out;
          if (mapped == 0)
            goto binds;
          rep->layers++;
        }
      /* --read-only: same locking as read-only binds. */
      if (json_is_true (json_object_get (root, "readonly")))
        {
          struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
          make_mountpoints (plan.target, spec, uid_base, gid_base);
          if (sys_mount_setattr (AT_FDCWD, plan.target, 0, &ro) < 0)
            {
              moat_error (err, errno, "make `%s` read-only", plan.target);
              goto out;
            }
        }
      if (json_object_set_new (root, "path", json_string (plan.target)) < 0)
        {
          moat_error (err, ENOMEM, "rewrite root.path");
          goto out;
        }
    }
  else
    log_warn ("root.path `%s` is not absolute; its ownership is left as "
              "it is",
              root_path ? root_path : "(none)");
binds:
  if (binds_idmap (run_dir, spec, &h, bp, &pmap, rep, err) < 0)
    goto out;
  if (binds_share_netns_sysfs (run_dir, spec, err) < 0)
    goto out;
  ret = 0;
out:
  rootfs_helper_end (&h);
  /* The overlay holds private clones of its layers: the attached layer
   * mounts are not needed once it exists (or if it failed). */
  for (unsigned i = 0; i < plan.n; i++)
    {
      cleanup_free char *tgt = NULL;
      if (asprintf (&tgt, "%s/l%u", run_dir, i) >= 0)
        if (umount2 (tgt, MNT_DETACH) == 0)
          rmdir (tgt);
    }
  if (plan.u_mnt != NULL && umount2 (plan.u_mnt, MNT_DETACH) == 0)
    rmdir (plan.u_mnt);
  plan_free (&plan);
  if (ret < 0)
    {
      cleanup_error moat_error_t e2 = NULL;
      rootfs_cleanup (run_dir, &e2);
    }
  return ret;
}

int
rootfs_cleanup (const char *run_dir, moat_error_t *err)
{
  cleanup_file FILE *f = NULL;
  cleanup_free char *line = NULL;
  size_t cap = 0, dlen = strlen (run_dir);
  char *mnts[4096];
  size_t n = 0;
  DIR *d;
  struct dirent *de;

  if (access (run_dir, F_OK) < 0)
    return 0;
  {
    /* Opaque directories the container made, in the names Docker's diff
     * (commit, build) reads. */
    cleanup_free char *note = NULL, *upper = NULL;
    size_t ulen;
    cleanup_error moat_error_t e = NULL;
    if (asprintf (&note, "%s/upper", run_dir) >= 0
        && fs_read_file (note, 4096, &upper, &ulen, &e) == 0
        && sync_opaque (upper, XATTR_USER_OPAQUE, XATTR_TRUSTED_OPAQUE, &e)
               < 0)
      log_warn ("%s", moat_error_msg (&e));
  }
  /* Detach deepest first: every mount point below run_dir. */
  f = fopen ("/proc/self/mountinfo", "re");
  if (f == NULL)
    return moat_error (err, errno, "open /proc/self/mountinfo");
  while (getline (&line, &cap, f) > 0 && n < sizeof mnts / sizeof mnts[0])
    {
      char *save = NULL, *tok, *mnt = NULL;
      int field = 0;
      for (tok = strtok_r (line, " ", &save); tok && field < 5;
           tok = strtok_r (NULL, " ", &save))
        if (++field == 5)
          mnt = tok;
      if (mnt == NULL)
        continue;
      mountinfo_unescape (mnt);
      if (strncmp (mnt, run_dir, dlen) == 0 && mnt[dlen] == '/')
        mnts[n++] = strdup (mnt);
    }
  while (n-- > 0)
    {
      if (mnts[n] != NULL && umount2 (mnts[n], MNT_DETACH) < 0
          && errno != EINVAL && errno != ENOENT)
        log_warn ("umount `%s`: %s", mnts[n], strerror (errno));
      free (mnts[n]);
    }
  d = opendir (run_dir);
  if (d != NULL)
    {
      while ((de = readdir (d)) != NULL)
        if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
          if (unlinkat (dirfd (d), de->d_name, 0) < 0
              && unlinkat (dirfd (d), de->d_name, AT_REMOVEDIR) < 0)
            log_warn ("remove `%s/%s`: %s", run_dir, de->d_name,
                      strerror (errno));
      closedir (d);
    }
  if (rmdir (run_dir) < 0 && errno != ENOENT)
    return moat_error (err, errno, "remove `%s`", run_dir);
  return 0;
}
