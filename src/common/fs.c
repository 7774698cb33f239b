#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

/* Read the regular file open on fd (at most max bytes). */
static int
read_fd (int fd, const char *path, size_t max, char **out, size_t *len,
         moat_error_t *err)
{
  cleanup_free char *buf = NULL;
  struct stat st;
  size_t used = 0;

  if (fstat (fd, &st) < 0)
    return moat_error (err, errno, "stat `%s`", path);
  if (!S_ISREG (st.st_mode))
    return moat_error (err, EINVAL, "`%s` is not a regular file", path);
  if ((size_t)st.st_size > max)
    return moat_error (err, EFBIG, "`%s` is larger than %zu bytes", path, max);
  buf = malloc (max + 1);
  if (buf == NULL)
    return moat_error (err, ENOMEM, "read `%s`", path);
  for (;;)
    {
      ssize_t n = read (fd, buf + used, max + 1 - used);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return moat_error (err, errno, "read `%s`", path);
      if (n == 0)
        break;
      used += (size_t)n;
      if (used > max)
        return moat_error (err, EFBIG, "`%s` is larger than %zu bytes", path,
                           max);
    }
  buf[used] = '\0';
  *out = steal_pointer (&buf);
  if (len != NULL)
    *len = used;
  return 0;
}

int
fs_read_file (const char *path, size_t max, char **out, size_t *len,
              moat_error_t *err)
{
  cleanup_close int fd = -1;

  /* O_NONBLOCK: opening a FIFO for reading must not wait for a writer;
   * read_fd refuses it before any read. */
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return moat_error (err, errno, "open `%s`", path);
  return read_fd (fd, path, max, out, len, err);
}

int
fs_write_file_atomic (const char *path, const void *data, size_t len,
                      mode_t mode, moat_error_t *err)
{
  cleanup_free char *tmp = NULL;
  cleanup_free char *dir = NULL;
  cleanup_close int fd = -1;
  cleanup_close int dfd = -1;
  const char *p = data;

  if (asprintf (&tmp, "%s.tmp.%d", path, (int)getpid ()) < 0)
    return moat_error (err, ENOMEM, "write `%s`", path);
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0)
    return moat_error (err, errno, "create `%s`", tmp);
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          unlink (tmp);
          return moat_error (err, e, "write `%s`", tmp);
        }
      p += n;
      len -= (size_t)n;
    }
  if (fchmod (fd, mode) < 0 || fsync (fd) < 0)
    {
      int e = errno;
      unlink (tmp);
      return moat_error (err, e, "sync `%s`", tmp);
    }
  if (rename (tmp, path) < 0)
    {
      int e = errno;
      unlink (tmp);
      return moat_error (err, e, "rename `%s` to `%s`", tmp, path);
    }
  dir = strdup (path);
  if (dir == NULL)
    return moat_error (err, ENOMEM, "write `%s`", path);
  dfd = open (dirname (dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0)
    (void)fsync (dfd);
  return 0;
}

int
fs_mkdir_p (const char *path, mode_t mode, moat_error_t *err)
{
  cleanup_free char *copy = strdup (path);
  char *s;

  if (copy == NULL)
    return moat_error (err, ENOMEM, "mkdir `%s`", path);
  /* A parent it creates gets mode plus search for all.  With mode alone
   * (0750 for the log directory), a new $MOAT_ROOT/var hid everything
   * later made below it (the extensions' per-user homes) from the users
   * those deeper directories let in; search alone lists nothing. */
  mode_t parent = mode | S_IXUSR | S_IXGRP | S_IXOTH;

  for (s = copy + 1; *s != '\0'; s++)
    {
      if (*s != '/')
        continue;
      *s = '\0';
      if (mkdir (copy, parent) < 0 && errno != EEXIST)
        return moat_error (err, errno, "mkdir `%s`", copy);
      *s = '/';
    }
  if (mkdir (copy, mode) < 0 && errno != EEXIST)
    return moat_error (err, errno, "mkdir `%s`", copy);
  return 0;
}

static int
check_one (const char *path, const struct stat *st, moat_error_t *err)
{
  if (st->st_uid != 0)
    return moat_error (err, EPERM,
                       "`%s` is owned by uid %u, not root; a non-root user "
                       "could change it",
                       path, (unsigned)st->st_uid);
  if ((st->st_mode & S_IWOTH) != 0 && !S_ISDIR (st->st_mode))
    return moat_error (err, EPERM, "`%s` is writable by all users", path);
  /* A world-writable directory is only safe with the sticky bit (/tmp). */
  if ((st->st_mode & S_IWOTH) != 0 && (st->st_mode & S_ISVTX) == 0)
    return moat_error (err, EPERM, "`%s` is writable by all users", path);
  if ((st->st_mode & S_IWGRP) != 0 && st->st_gid != 0)
    return moat_error (err, EPERM,
                       "`%s` is writable by group %u, which is not root", path,
                       (unsigned)st->st_gid);
  return 0;
}

/* The next component of *rest ("" at the end); advances *rest. */
static size_t
next_component (const char **rest, const char **name)
{
  const char *p = *rest;
  size_t n;

  while (*p == '/')
    p++;
  n = strcspn (p, "/");
  *name = p;
  *rest = p + n;
  return n;
}

/* Is the rest of a path only slashes? */
static bool
last_component_p (const char *rest)
{
  return rest[strspn (rest, "/")] == '\0';
}

int
fs_open_trusted (const char *path, const char *stop_at, moat_error_t *err)
{
  cleanup_close int dfd = -1;
  cleanup_free char *shown = NULL;
  const char *rest = path;
  size_t shown_len, stop_len;
  struct stat st;

  if (path[0] != '/')
    return moat_error (err, EINVAL, "`%s` is not an absolute path", path);
  shown = malloc (strlen (path) + 2);
  if (shown == NULL)
    return moat_error (err, ENOMEM, "open `%s`", path);
  stop_len = stop_at != NULL ? strlen (stop_at) : 0;
  while (stop_len > 1 && stop_at[stop_len - 1] == '/')
    stop_len--;
  if (stop_len > 1 && strncmp (path, stop_at, stop_len) == 0
      && path[stop_len] == '/')
    {
      /* Tests put moat under a private root; what lies above it is theirs. */
      memcpy (shown, path, stop_len);
      shown[stop_len] = '\0';
      dfd = open (shown, O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (dfd < 0)
        return moat_error (err, errno, "open `%s`", shown);
      rest = path + stop_len;
    }
  else
    {
      strcpy (shown, "/");
      dfd = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (dfd < 0 || fstat (dfd, &st) < 0)
        return moat_error (err, errno, "open `/`");
      if (check_one ("/", &st, err) < 0)
        return -1;
    }
  shown_len = strlen (shown);
  for (;;)
    {
      const char *name;
      size_t n = next_component (&rest, &name);
      bool last = last_component_p (rest);
      int fd;

      if (n == 0)
        return moat_error (err, EINVAL, "`%s` names a directory", path);
      if ((n == 1 && name[0] == '.')
          || (n == 2 && name[0] == '.' && name[1] == '.'))
        return moat_error (err, EINVAL,
                           "`%s`: \".\" and \"..\" are not allowed in the "
                           "path of a file only root may change",
                           path);
      if (shown_len > 1)
        shown[shown_len++] = '/';
      memcpy (shown + shown_len, name, n);
      shown_len += n;
      shown[shown_len] = '\0';
      {
        char comp[NAME_MAX + 1];
        if (n > NAME_MAX)
          return moat_error (err, ENAMETOOLONG, "open `%s`", shown);
        memcpy (comp, name, n);
        comp[n] = '\0';
        /* O_NOFOLLOW on every component: a link's target could sit in a
         * directory a user controls and be swapped at will.  O_NONBLOCK:
         * a FIFO must not wedge the caller; fstat below refuses it. */
        fd = last ? openat (dfd, comp,
                            O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY
                                | O_CLOEXEC)
                  : openat (dfd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      }
      if (fd < 0 && errno == ELOOP)
        return moat_error (err, EPERM,
                           "`%s` is a symbolic link; moat follows no "
                           "symbolic link to a file only root may change",
                           shown);
      if (fd < 0)
        return moat_error (err, errno, "open `%s`", shown);
      close (dfd);
      dfd = fd;
      if (fstat (dfd, &st) < 0)
        return moat_error (err, errno, "stat `%s`", shown);
      if (S_ISLNK (st.st_mode))
        return moat_error (err, EPERM,
                           "`%s` is a symbolic link; moat follows no "
                           "symbolic link to a file only root may change",
                           shown);
      if (!last && !S_ISDIR (st.st_mode))
        return moat_error (err, ENOTDIR, "open `%s`", shown);
      if (last && !S_ISREG (st.st_mode))
        return moat_error (err, EINVAL,
                           "`%s` is not a regular file (it is a %s)", shown,
                           S_ISFIFO (st.st_mode)   ? "FIFO"
                           : S_ISDIR (st.st_mode)  ? "directory"
                           : S_ISSOCK (st.st_mode) ? "socket"
                                                   : "device");
      if (check_one (shown, &st, err) < 0)
        return -1;
      if (last)
        return steal_fd (&dfd);
    }
}

int
fs_read_trusted (const char *path, const char *stop_at, size_t max, char **out,
                 size_t *len, moat_error_t *err)
{
  cleanup_close int fd = fs_open_trusted (path, stop_at, err);

  if (fd < 0)
    return -1;
  return read_fd (fd, path, max, out, len, err);
}

char *
fs_find_helper (const char *name, const char *env)
{
  char exe[4096];
  const char *over = env != NULL ? getenv (env) : NULL;
  const char *const rel[] = { "", "../sbin/" };
  ssize_t n;
  char *slash, *path = NULL;

  if (over != NULL && over[0] != '\0')
    return strdup (over);
  n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0)
    return NULL;
  exe[n] = '\0';
  slash = strrchr (exe, '/');
  if (slash == NULL)
    return NULL;
  *slash = '\0';
  for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++)
    {
      if (asprintf (&path, "%s/%s%s", exe, rel[i], name) < 0)
        return NULL;
      if (access (path, X_OK) == 0)
        return path;
      free (path);
      path = NULL;
    }
  return NULL;
}
