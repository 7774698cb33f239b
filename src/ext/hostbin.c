/* hostexec.h: an installed extension's host binaries.  The binary is found
 * through the record (what the metadata listed at install) and resolved
 * inside <name>/host without following any link; nothing else runs. */
#include "ext/hostexec.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "ext/files.h"
#include "ext/metadata.h"

#define RECORD "extension.json"

/* The environment a host binary may get from its caller: locale and
 * terminal only.  Anything else is dropped (docs/extensions.md). */
static const char *const passed_env[] = {
  "LANG", "LC_ALL",   "LC_CTYPE", "LC_MESSAGES", "TZ",
  "TERM", "NO_COLOR", "COLUMNS",  "LINES",
};

static int
check_name (const char *name, moat_error_t *err)
{
  char buf[EXT_NAME_MAX + 1];
  if (name == NULL || strchr (name, '/') || strchr (name, ':')
      || strchr (name, '@')
      || ext_name_from_image (name, buf, sizeof buf, err) < 0
      || strcmp (buf, name) != 0)
    {
      moat_error_release (err);
      return moat_error (err, EINVAL, "`%s` is not an extension name",
                         name ? name : "");
    }
  return 0;
}

static int
open_ext (const char *ext_dir, const char *name, moat_error_t *err)
{
  cleanup_close int dfd
      = open (ext_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int fd;
  if (dfd < 0)
    return moat_error (err, errno, "open `%s`", ext_dir);
  fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return moat_error (err, errno == ENOENT ? 0 : errno,
                       "no installed extension `%s`", name);
  return fd;
}

/* The homes live outside moat's state directory (root's, 0700, and it
 * must stay so): <ext_dir>/../../moat-extension-home, that is
 * $MOAT_ROOT/var/lib/moat-extension-home.  Every level there is root's
 * and 0711, so a caller reaches its own <uid> directory by path (HOME) and
 * lists nothing. */
static char *
homes_root (const char *ext_dir)
{
  char *r = NULL;
  const char *end = ext_dir + strlen (ext_dir);
  for (int up = 0; up < 2; up++)
    {
      while (end > ext_dir && end[-1] == '/')
        end--;
      while (end > ext_dir && end[-1] != '/')
        end--;
    }
  while (end > ext_dir && end[-1] == '/')
    end--;
  if (asprintf (&r, "%.*s/moat-extension-home", (int)(end - ext_dir), ext_dir)
      < 0)
    return NULL;
  return r;
}

/* mkdir name under dfd (mode, root's) unless there, and open it; it must
 * be a directory, not a link. */
static int
sub_dir (int dfd, const char *name, mode_t mode, moat_error_t *err)
{
  int fd;
  if (mkdirat (dfd, name, mode) < 0 && errno != EEXIST)
    return moat_error (err, errno, "mkdir `%s`", name);
  fd = openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return moat_error (err, errno, "open `%s`", name);
  return fd;
}

char *
ext_host_home (const char *ext_dir, const char *name, uid_t uid, gid_t gid,
               moat_error_t *err)
{
  cleanup_free char *root = homes_root (ext_dir);
  cleanup_close int efd = -1;
  cleanup_close int rfd = -1;
  cleanup_close int nfd = -1;
  cleanup_close int ufd = -1;
  char uname[32];
  char *path = NULL;
  struct stat st;

  if (check_name (name, err) < 0)
    return NULL;
  if (root == NULL)
    {
      moat_error (err, ENOMEM, "home");
      return NULL;
    }
  efd = open_ext (ext_dir, name, err); /* installed */
  if (efd < 0)
    return NULL;
  if (mkdir (root, 0711) < 0 && errno != EEXIST)
    {
      moat_error (err, errno, "mkdir `%s`", root);
      return NULL;
    }
  rfd = open (root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (rfd < 0 || fstat (rfd, &st) < 0)
    {
      moat_error (err, errno, "open `%s`", root);
      return NULL;
    }
  /* Root's, and nobody else may write it (else a user could swap a home
   * for a link before moatd chowns it). */
  if (st.st_uid != 0 || (st.st_mode & 0022) != 0)
    {
      moat_error (err, EPERM, "`%s` is not root's alone", root);
      return NULL;
    }
  /* 0711 whatever moatd's umask: a caller must traverse it. */
  if ((st.st_mode & 07777) != 0711 && fchmod (rfd, 0711) < 0)
    {
      moat_error (err, errno, "chmod `%s`", root);
      return NULL;
    }
  nfd = sub_dir (rfd, name, 0711, err);
  if (nfd < 0 || fstat (nfd, &st) < 0)
    return NULL;
  if (st.st_uid != 0 || (st.st_mode & 0022) != 0)
    {
      moat_error (err, EPERM, "`%s/%s` is not root's alone", root, name);
      return NULL;
    }
  if ((st.st_mode & 07777) != 0711 && fchmod (nfd, 0711) < 0)
    {
      moat_error (err, errno, "chmod `%s/%s`", root, name);
      return NULL;
    }
  snprintf (uname, sizeof uname, "%u", (unsigned)uid);
  ufd = sub_dir (nfd, uname, 0700, err);
  if (ufd < 0 || fstat (ufd, &st) < 0)
    return NULL;
  if ((st.st_uid != uid || st.st_gid != gid) && fchown (ufd, uid, gid) < 0)
    {
      moat_error (err, errno, "chown `%s/%s/%s`", root, name, uname);
      return NULL;
    }
  if ((st.st_mode & 07777) != 0700 && fchmod (ufd, 0700) < 0)
    {
      moat_error (err, errno, "chmod `%s/%s/%s`", root, name, uname);
      return NULL;
    }
  if (asprintf (&path, "%s/%s/%s", root, name, uname) < 0)
    {
      moat_error (err, ENOMEM, "home");
      return NULL;
    }
  return path;
}

int
ext_host_home_remove (const char *ext_dir, const char *name, moat_error_t *err)
{
  cleanup_free char *root = homes_root (ext_dir);
  cleanup_close int rfd = -1;
  if (check_name (name, err) < 0)
    return -1;
  if (root == NULL)
    return moat_error (err, ENOMEM, "home");
  rfd = open (root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (rfd < 0)
    return errno == ENOENT ? 0 : moat_error (err, errno, "open `%s`", root);
  return ext_rm_tree_at (rfd, name, err);
}

/* The record's host binary that `binary` names: its full path in the image
 * (with or without the leading '/') or, when unambiguous, its last
 * component.  Returns the image path (without '/') or NULL. */
static char *
find_binary (int efd, const char *name, const char *binary, moat_error_t *err)
{
  cleanup_close int fd
      = openat (efd, RECORD, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_file FILE *f = NULL;
  json_t *rec, *bins;
  const char *want = binary[0] == '/' ? binary + 1 : binary;
  char *found = NULL;
  size_t i, matches = 0;
  json_t *v;

  if (fd < 0 || (f = fdopen (fd, "r")) == NULL)
    {
      moat_error (err, errno, "read the record of `%s`", name);
      return NULL;
    }
  fd = -1; /* owned by f */
  rec = json_loadf (f, JSON_REJECT_DUPLICATES, NULL);
  bins = json_object_get (rec, "host_binaries");
  json_array_foreach (bins, i, v)
  {
    const char *p = json_string_value (v);
    const char *base;
    if (p == NULL)
      continue;
    base = strrchr (p, '/') ? strrchr (p, '/') + 1 : p;
    if (strcmp (p, want) == 0)
      {
        free (found);
        found = strdup (p);
        matches = 1;
        break;
      }
    if (strcmp (base, binary) == 0 && matches++ == 0)
      found = strdup (p);
  }
  json_decref (rec);
  if (matches == 1 && found != NULL)
    return found;
  free (found);
  if (matches > 1)
    moat_error (err, 0,
                "extension `%s` lists more than one host binary named `%s`: "
                "give its path",
                name, binary);
  else
    moat_error (err, 0,
                "extension `%s` lists no host binary `%s` (only what its "
                "metadata's host.binaries names runs)",
                name, binary);
  return NULL;
}

bool
ext_host_env_passed (const char *entry)
{
  for (size_t k = 0; k < sizeof passed_env / sizeof passed_env[0]; k++)
    {
      size_t l = strlen (passed_env[k]);
      if (strncmp (entry, passed_env[k], l) == 0 && entry[l] == '=')
        return true;
    }
  return false;
}

int
ext_host_exec (const char *ext_dir, const char *name, const char *binary,
               char *const *args, char *const *env, uid_t uid, gid_t gid,
               const gid_t *groups, size_t ngroups, unsigned timeout_ms,
               struct ext_exec_result *res, moat_error_t *err)
{
  return ext_host_exec_opts (ext_dir, name, binary, args, env, uid, gid,
                             groups, ngroups, timeout_ms, NULL, res, err);
}

int
ext_host_exec_opts (const char *ext_dir, const char *name, const char *binary,
                    char *const *args, char *const *env, uid_t uid, gid_t gid,
                    const gid_t *groups, size_t ngroups, unsigned timeout_ms,
                    const struct ext_exec_req *opts,
                    struct ext_exec_result *res, moat_error_t *err)
{
  cleanup_close int efd = -1;
  cleanup_close int bfd = -1;
  cleanup_free char *rel = NULL;
  cleanup_free char *home = NULL;
  cleanup_free char *host_dir = NULL;
  cleanup_free char *ui_dir = NULL;
  cleanup_free char *exe = NULL;
  cleanup_free char *env_home = NULL;
  cleanup_free char *env_tmp = NULL;
  cleanup_free char **argv = NULL;
  char *envp[4 + sizeof passed_env / sizeof passed_env[0] + 1];
  const char *read_dirs[3], *write_dirs[2];
  struct open_how how = { 0 };
  struct stat st;
  size_t n = 0, ne = 0;
  struct ext_exec_req req = { 0 };

  memset (res, 0, sizeof *res);
  res->exit_code = -1;
  if (check_name (name, err) < 0)
    return -1;
  if (binary == NULL || binary[0] == '\0' || strlen (binary) > 255)
    return moat_error (err, EINVAL, "no binary named");
  efd = open_ext (ext_dir, name, err);
  if (efd < 0)
    return -1;
  rel = find_binary (efd, name, binary, err);
  if (rel == NULL)
    return -1;
  /* Inside host/, as installed: no link, no other mount, no "..". */
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS
                | RESOLVE_NO_XDEV;
  {
    cleanup_close int hfd = openat (
        efd, "host", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (hfd < 0)
      return moat_error (err, errno, "open the host binaries of `%s`", name);
    bfd = (int)syscall (SYS_openat2, hfd, rel, &how, sizeof how);
  }
  if (bfd < 0)
    return moat_error (err, errno, "host binary `/%s` of `%s`", rel, name);
  if (fstat (bfd, &st) < 0 || !S_ISREG (st.st_mode))
    return moat_error (err, EACCES, "host binary `/%s` of `%s` is not a file",
                       rel, name);

  home = ext_host_home (ext_dir, name, uid, gid, err);
  if (home == NULL)
    return -1;
  if (asprintf (&host_dir, "%s/%s/host", ext_dir, name) < 0
      || asprintf (&ui_dir, "%s/%s/ui", ext_dir, name) < 0
      || asprintf (&exe, "/proc/self/fd/%d", bfd) < 0
      || asprintf (&env_home, "HOME=%s", home) < 0
      || asprintf (&env_tmp, "TMPDIR=%s", home) < 0)
    return moat_error (err, ENOMEM, "host binary");

  for (n = 0; args && args[n]; n++)
    if (n >= EXT_EXEC_MAX_ARGS)
      return moat_error (err, E2BIG, "too many arguments");
  argv = calloc (n + 2, sizeof *argv);
  if (argv == NULL)
    return moat_error (err, ENOMEM, "host binary");
  argv[0] = strrchr (rel, '/') ? strrchr (rel, '/') + 1 : rel;
  for (size_t i = 0; i < n; i++)
    argv[i + 1] = args[i];

  envp[ne++] = (char *)"PATH=/usr/local/bin:/usr/bin:/bin";
  envp[ne++] = env_home;
  envp[ne++] = env_tmp;
  for (size_t k = 0; k < sizeof passed_env / sizeof passed_env[0]; k++)
    for (size_t i = 0; env && env[i]; i++)
      {
        size_t l = strlen (passed_env[k]);
        if (strncmp (env[i], passed_env[k], l) == 0 && env[i][l] == '=')
          {
            envp[ne++] = env[i];
            break;
          }
      }
  envp[ne] = NULL;

  read_dirs[0] = host_dir;
  read_dirs[1]
      = fstatat (efd, "ui", &st, AT_SYMLINK_NOFOLLOW) == 0 ? ui_dir : NULL;
  read_dirs[2] = NULL;
  write_dirs[0] = home;
  write_dirs[1] = NULL;
  req.path = exe;
  req.argv = argv;
  req.envp = envp;
  req.uid = uid;
  req.gid = gid;
  req.groups = groups;
  req.ngroups = ngroups;
  req.read_dirs = read_dirs;
  req.write_dirs = write_dirs;
  req.timeout_ms = timeout_ms;
  if (opts != NULL)
    {
      req.cwd = opts->cwd;
      if (opts->timeout_ms != 0)
        req.timeout_ms = opts->timeout_ms;
      req.max_output = opts->max_output;
      req.on_output = opts->on_output;
      req.output_ud = opts->output_ud;
      req.cancel_fd = opts->cancel_fd;
    }
  return ext_exec_confined (&req, res, err);
}
