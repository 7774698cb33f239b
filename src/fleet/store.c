/* The last good copy: what moatd applies while the server is unreachable
 * or serves something that does not verify, and at start before the first
 * fetch.  Root-only (0700 directory, 0600 files): it is the policy in
 * force, so only root may change it, and it is re-verified when read. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "fleet.h"
#include "policy/policy.h"

static int
names (const struct moat_paths *paths, char **dir, char **body, char **sig)
{
  *dir = fleet_store_dir (paths);
  *body = NULL;
  *sig = NULL;
  if (*dir == NULL || asprintf (body, "%s/admin-settings.json", *dir) < 0)
    return -1;
  if (asprintf (sig, "%s/admin-settings.json.sig", *dir) < 0)
    {
      free (*body);
      *body = NULL;
      return -1;
    }
  return 0;
}

int
fleet_store_save (const struct moat_paths *paths, const char *body, size_t len,
                  const void *sig, size_t sig_len, moat_error_t *err)
{
  cleanup_free char *dir = NULL, *bpath = NULL, *spath = NULL;
  struct stat st;

  if (names (paths, &dir, &bpath, &spath) < 0)
    return moat_error (err, ENOMEM, "fleet store");
  if (fs_mkdir_p (dir, 0700, err) < 0)
    return moat_error_wrap (err, "fleet store");
  /* An existing directory keeps its mode through mkdir -p: tighten it. */
  if (lstat (dir, &st) < 0)
    return moat_error (err, errno, "`%s`", dir);
  if (!S_ISDIR (st.st_mode))
    return moat_error (err, ENOTDIR, "`%s`", dir);
  if ((st.st_mode & 07777) != 0700 && chmod (dir, 0700) < 0)
    return moat_error (err, errno, "chmod `%s`", dir);
  /* The signature first: a crash between the two leaves a pair that does
   * not verify, which is refused at load, never a wrong pair applied. */
  if (fs_write_file_atomic (spath, sig, sig_len, 0600, err) < 0
      || fs_write_file_atomic (bpath, body, len, 0600, err) < 0)
    return moat_error_wrap (err, "save the last good fleet copy");
  return 0;
}

int
fleet_store_load (const struct moat_paths *paths, char **body, size_t *len,
                  char **sig, size_t *sig_len, moat_error_t *err)
{
  cleanup_free char *dir = NULL, *bpath = NULL, *spath = NULL;

  *body = NULL;
  *sig = NULL;
  if (names (paths, &dir, &bpath, &spath) < 0)
    return moat_error (err, ENOMEM, "fleet store");
  if (fs_read_trusted (bpath, paths->root, POLICY_MAX_FILE_SIZE, body, len,
                       err)
      < 0)
    return -1;
  if (fs_read_trusted (spath, paths->root, FLEET_SIG_MAX, sig, sig_len, err)
      < 0)
    {
      free (*body);
      *body = NULL;
      return -1;
    }
  return 0;
}
