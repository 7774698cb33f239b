#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

int
fs_read_file (const char *path, size_t max, char **out, size_t *len,
              moat_error_t *err)
{
  cleanup_close int fd = -1;
  cleanup_free char *buf = NULL;
  struct stat st;
  size_t used = 0;

  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return moat_error (err, errno, "open `%s`", path);
  if (fstat (fd, &st) < 0)
    return moat_error (err, errno, "stat `%s`", path);
  if (!S_ISREG (st.st_mode))
    return moat_error (err, EINVAL, "`%s` is not a regular file", path);
  if ((size_t) st.st_size > max)
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
      used += (size_t) n;
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
fs_write_file_atomic (const char *path, const void *data, size_t len,
                      mode_t mode, moat_error_t *err)
{
  cleanup_free char *tmp = NULL;
  cleanup_free char *dir = NULL;
  cleanup_close int fd = -1;
  cleanup_close int dfd = -1;
  const char *p = data;

  if (asprintf (&tmp, "%s.tmp.%d", path, (int) getpid ()) < 0)
    return moat_error (err, ENOMEM, "write `%s`", path);
  fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
             mode);
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
      len -= (size_t) n;
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
    (void) fsync (dfd);
  return 0;
}

int
fs_mkdir_p (const char *path, mode_t mode, moat_error_t *err)
{
  cleanup_free char *copy = strdup (path);
  char *s;

  if (copy == NULL)
    return moat_error (err, ENOMEM, "mkdir `%s`", path);
  for (s = copy + 1; *s != '\0'; s++)
    {
      if (*s != '/')
        continue;
      *s = '\0';
      if (mkdir (copy, mode) < 0 && errno != EEXIST)
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
                       path, (unsigned) st->st_uid);
  if ((st->st_mode & S_IWOTH) != 0 && !S_ISDIR (st->st_mode))
    return moat_error (err, EPERM, "`%s` is writable by all users", path);
  /* A world-writable directory is only safe with the sticky bit (/tmp). */
  if ((st->st_mode & S_IWOTH) != 0 && (st->st_mode & S_ISVTX) == 0)
    return moat_error (err, EPERM, "`%s` is writable by all users", path);
  if ((st->st_mode & S_IWGRP) != 0 && st->st_gid != 0)
    return moat_error (err, EPERM,
                       "`%s` is writable by group %u, which is not root",
                       path, (unsigned) st->st_gid);
  return 0;
}

int
fs_check_root_owned (const char *path, const char *stop_at, moat_error_t *err)
{
  cleanup_free char *cur = strdup (path);
  struct stat st;
  size_t stop_len = stop_at != NULL ? strlen (stop_at) : 0;

  if (cur == NULL)
    return moat_error (err, ENOMEM, "check `%s`", path);
  if (lstat (cur, &st) < 0)
    return moat_error (err, errno, "stat `%s`", cur);
  if (S_ISLNK (st.st_mode))
    {
      /* A symlink is as safe as its target and the link's own directory. */
      if (stat (cur, &st) < 0)
        return moat_error (err, errno, "stat `%s`", cur);
    }
  if (check_one (cur, &st, err) < 0)
    return -1;
  for (;;)
    {
      char *slash = strrchr (cur, '/');
      if (slash == NULL)
        break;
      if (slash == cur)
        slash[1] = '\0';
      else
        *slash = '\0';
      if (stop_len > 0 && strlen (cur) <= stop_len
          && strncmp (cur, stop_at, strlen (cur)) == 0)
        break;
      if (lstat (cur, &st) < 0)
        return moat_error (err, errno, "stat `%s`", cur);
      if (check_one (cur, &st, err) < 0)
        return -1;
      if (strcmp (cur, "/") == 0)
        break;
    }
  return 0;
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
