/* files.h. */
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "dockerapi/dockerapi.h"
#include "ext/metadata.h"
#include "ext/tar.h"

#define ARCHIVE_TIMEOUT_MS 60000

/* The directory holding rel's last component, made as needed; *leaf
 * points into rel.  Each component is opened with O_NOFOLLOW: the tree
 * is ours and new, but a link must never be walked through. */
static int
open_parent (int dirfd, char *rel, const char **leaf, moat_error_t *err)
{
  int fd = dup (dirfd);
  char *s = rel, *slash;

  if (fd < 0)
    return moat_error (err, errno, "dup");
  while ((slash = strchr (s, '/')) != NULL)
    {
      int nfd;
      *slash = '\0';
      if (mkdirat (fd, s, 0755) < 0 && errno != EEXIST)
        {
          close (fd);
          return moat_error (err, errno, "mkdir `%s`", s);
        }
      nfd = openat (fd, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      *slash = '/';
      close (fd);
      if (nfd < 0)
        return moat_error (err, errno, "open `%s`", rel);
      fd = nfd;
      s = slash + 1;
    }
  *leaf = s;
  return fd;
}

static int
write_file_at (int dirfd, const char *rel, const char *data, size_t size,
               moat_error_t *err)
{
  cleanup_free char *copy = strdup (rel);
  cleanup_close int pfd = -1;
  cleanup_close int fd = -1;
  const char *leaf;

  if (copy == NULL)
    return moat_error (err, ENOMEM, "unpack");
  pfd = open_parent (dirfd, copy, &leaf, err);
  if (pfd < 0)
    return -1;
  fd = openat (pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
               0644);
  if (fd < 0)
    return moat_error (err, errno, "create `%s`", rel);
  /* The dashboard serves these files: readable whatever moatd's umask. */
  if (fchmod (fd, 0644) < 0)
    return moat_error (err, errno, "chmod `%s`", rel);
  while (size > 0)
    {
      ssize_t n = write (fd, data, size);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return moat_error (err, n < 0 ? errno : EIO, "write `%s`", rel);
      data += n;
      size -= (size_t)n;
    }
  return 0;
}

static int
mkdir_at (int dirfd, const char *rel, moat_error_t *err)
{
  cleanup_free char *copy = NULL;
  cleanup_close int pfd = -1;
  const char *leaf;

  if (asprintf (&copy, "%s/", rel) < 0)
    return moat_error (err, ENOMEM, "unpack");
  pfd = open_parent (dirfd, copy, &leaf, err);
  return pfd < 0 ? -1 : 0;
}

int
ext_unpack_at (int dirfd, const char *tar, size_t len, const char *what,
               const char *leaf, moat_error_t *err)
{
  size_t off = 0;
  int r, n = 0;
  struct ext_tar_entry e;

  while ((r = ext_tar_next (tar, len, &off, &e, err)) == 1)
    {
      cleanup_free char *name = e.name;
      cleanup_free char *rest = NULL;
      const char *slash = strchr (name, '/');
      const char *tail = slash != NULL ? slash + 1 : "";
      bool top = tail[strspn (tail, "/")] == '\0';

      n++;
      if (e.type != '0' && e.type != '5')
        return moat_error (err, 0,
                           "%s: `%s` is a %s; only regular files and "
                           "directories are installed (a link could lead out "
                           "of the image)",
                           what, name,
                           e.type == '2'   ? "symbolic link"
                           : e.type == '1' ? "hard link"
                                           : "special file");
      if (leaf != NULL)
        {
          /* One file asked for: the archive holds that file alone. */
          if (n > 1 || e.type != '0')
            return moat_error (err, 0, "%s: not a regular file", what);
          if (write_file_at (dirfd, leaf, e.data, e.size, err) < 0)
            return -1;
          continue;
        }
      if (top)
        {
          if (e.type != '5')
            return moat_error (err, 0, "%s: not a directory", what);
          continue;
        }
      rest = ext_image_path (tail);
      if (rest == NULL)
        return moat_error (err, 0, "%s: `%s` leaves the directory", what,
                           name);
      if (e.type == '5')
        r = mkdir_at (dirfd, rest, err);
      else
        r = write_file_at (dirfd, rest, e.data, e.size, err);
      if (r < 0)
        return moat_error_wrap (err, "%s", what);
    }
  if (r < 0)
    return moat_error_wrap (err, "%s", what);
  if (n == 0)
    return moat_error (err, 0, "%s: empty archive", what);
  return 0;
}

int
ext_rm_tree_at (int dirfd, const char *name, moat_error_t *err)
{
  int fd;
  DIR *d;
  struct dirent *de;
  int ret = 0;

  if (unlinkat (dirfd, name, 0) == 0 || errno == ENOENT)
    return 0;
  if (errno != EISDIR && errno != EPERM)
    return moat_error (err, errno, "remove `%s`", name);
  fd = openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return moat_error (err, errno, "open `%s`", name);
  d = fdopendir (fd);
  if (d == NULL)
    {
      close (fd);
      return moat_error (err, errno, "read `%s`", name);
    }
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (ext_rm_tree_at (fd, de->d_name, err) < 0)
        {
          ret = -1;
          break;
        }
    }
  closedir (d);
  if (ret == 0 && unlinkat (dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return moat_error (err, errno, "remove `%s`", name);
  return ret;
}

/* ---- reading an image through a never-started container ---- */

/* GET an archive; the raw tar in *tar / *len; 404 gives 1. */
int
ext_get_archive (const char *sock, const char *id, const char *path,
                 char **tar, size_t *len, moat_error_t *err)
{
  struct dockerapi_response r;
  cleanup_free char *url = NULL;

  if (asprintf (&url, "/containers/%s/archive?path=/%s", id, path) < 0)
    return moat_error (err, ENOMEM, "archive");
  if (dockerapi_call (sock, "GET", url, NULL, 0, false, ARCHIVE_TIMEOUT_MS, &r,
                      err)
      < 0)
    return moat_error_wrap (err, "read /%s from the image", path);
  if (r.status == 404)
    {
      dockerapi_response_free (&r);
      return 1;
    }
  if (r.status != 200)
    {
      char m[512];
      dockerapi_error_message (&r, m, sizeof m);
      dockerapi_response_free (&r);
      return moat_error (err, 0, "read /%s from the image: %s", path, m);
    }
  *tar = r.body;
  *len = r.len;
  return 0;
}

/* A host binary (host.binaries[*].linux[*].path, inside the image) into
 * sfd/host/<path>, 0755.  Read like the UI: a link is refused (it could
 * lead out of the image), so is anything but one regular file. */
int
ext_stage_binary (const char *sock, int sfd, const char *probe_id,
                  const char *path, moat_error_t *err)
{
  cleanup_free char *tar = NULL;
  cleanup_free char *leaf = NULL;
  cleanup_close int fd = -1;
  size_t len = 0;
  struct stat st;
  int r;

  if (asprintf (&leaf, "host/%s", path) < 0)
    return moat_error (err, ENOMEM, "host binary");
  if (fstatat (sfd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0)
    return 0; /* listed twice */
  r = ext_get_archive (sock, probe_id, path, &tar, &len, err);
  if (r < 0)
    return -1;
  if (r == 1)
    return moat_error (err, 0, "host.binaries: `/%s` is not in the image",
                       path);
  if (ext_unpack_at (sfd, tar, len, "host.binaries", leaf, err) < 0)
    return -1;
  fd = openat (sfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fchmod (fd, 0755) < 0)
    return moat_error (err, errno, "chmod `%s`", leaf);
  return 0;
}

/* The sandbox script (moat.sandbox.script, inside the image) into
 * sfd/sandbox.js: one regular file of at most 1 MiB. */
int
ext_stage_sandbox (const char *sock, int sfd, const char *probe_id,
                   const char *script, moat_error_t *err)
{
  cleanup_free char *tar = NULL;
  size_t len = 0;
  struct stat st;
  int r;
  r = ext_get_archive (sock, probe_id, script, &tar, &len, err);
  if (r < 0)
    return -1;
  if (r == 1)
    return moat_error (
        err, 0, "moat.sandbox.script: `/%s` is not in the image", script);
  if (ext_unpack_at (sfd, tar, len, "moat.sandbox.script", "sandbox.js", err)
      < 0)
    return -1;
  if (fstatat (sfd, "sandbox.js", &st, AT_SYMLINK_NOFOLLOW) < 0
      || !S_ISREG (st.st_mode) || st.st_size > (1 << 20))
    return moat_error (err, 0,
                       "moat.sandbox.script: `/%s` is not a regular file of "
                       "at most 1 MiB",
                       script);
  return 0;
}
