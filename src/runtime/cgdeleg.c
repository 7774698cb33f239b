/* cgroup delegation for privileged containers (see cgdeleg.h). */
#include "cgdeleg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"

#define CG_TEXT_MAX (1u << 16)
#define MOUNTINFO_MAX (4u << 20)

/* One mounted hierarchy from mountinfo. */
struct cg_mount
{
  char *root;  /* root of the mount within the hierarchy */
  char *point; /* mount point */
  char *opts;  /* super options ("rw,cpu") for v1; NULL for cgroup2 */
};

static void
mounts_free (struct cg_mount *m, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (m[i].root);
      free (m[i].point);
      free (m[i].opts);
    }
  free (m);
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static char *
unescape (const char *s, size_t len)
{
  char *o = malloc (len + 1);
  size_t j = 0;
  if (o == NULL)
    return NULL;
  for (size_t i = 0; i < len; i++)
    {
      if (s[i] == '\\' && i + 3 < len && s[i + 1] >= '0' && s[i + 1] <= '3'
          && s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0'
          && s[i + 3] <= '7')
        {
          o[j++] = (char)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3)
                          | (s[i + 3] - '0'));
          i += 3;
        }
      else
        o[j++] = s[i];
    }
  o[j] = '\0';
  return o;
}

/* Fields of a mountinfo line, split on spaces: at most 64. */
static size_t
split_fields (const char *line, size_t len, const char **f, size_t *fl,
              size_t max)
{
  size_t n = 0, i = 0;
  while (i < len && n < max)
    {
      while (i < len && line[i] == ' ')
        i++;
      if (i >= len)
        break;
      f[n] = line + i;
      while (i < len && line[i] != ' ')
        i++;
      fl[n] = (size_t)(line + i - f[n]);
      n++;
    }
  return n;
}

static int
parse_mounts (const char *mountinfo, struct cg_mount **out, size_t *nout,
              moat_error_t *err)
{
  struct cg_mount *m = NULL;
  size_t n = 0;
  const char *p = mountinfo;

  while (*p != '\0')
    {
      const char *nl = strchr (p, '\n');
      size_t len = nl ? (size_t)(nl - p) : strlen (p);
      const char *f[64];
      size_t fl[64], nf, dash;

      nf = split_fields (p, len, f, fl, 64);
      for (dash = 6; dash < nf; dash++)
        if (fl[dash] == 1 && f[dash][0] == '-')
          break;
      if (dash + 3 < nf)
        {
          const char *type = f[dash + 1];
          size_t tl = fl[dash + 1];
          int v1 = tl == 6 && strncmp (type, "cgroup", 6) == 0;
          int v2 = tl == 7 && strncmp (type, "cgroup2", 7) == 0;
          if (v1 || v2)
            {
              struct cg_mount *nm = realloc (m, (n + 1) * sizeof *m);
              if (nm == NULL)
                goto nomem;
              m = nm;
              memset (&m[n], 0, sizeof m[n]);
              n++;
              m[n - 1].root = unescape (f[3], fl[3]);
              m[n - 1].point = unescape (f[4], fl[4]);
              if (v1)
                m[n - 1].opts = strndup (f[dash + 3], fl[dash + 3]);
              if (m[n - 1].root == NULL || m[n - 1].point == NULL
                  || (v1 && m[n - 1].opts == NULL))
                goto nomem;
            }
        }
      p += len;
      if (*p == '\n')
        p++;
    }
  *out = m;
  *nout = n;
  return 0;
nomem:
  mounts_free (m, n);
  return moat_error (err, ENOMEM, "parse mountinfo");
}

/* Is every comma-separated controller of CTRLS among the super options
 * OPTS ("rw,cpu,cpuacct", "rw,name=systemd")? */
static int
ctrls_match (const char *ctrls, size_t cl, const char *opts)
{
  size_t i = 0;
  if (cl == 0)
    return 0;
  while (i < cl)
    {
      size_t j = i;
      int found = 0;
      while (j < cl && ctrls[j] != ',')
        j++;
      for (const char *o = opts; *o != '\0';)
        {
          size_t ol = strcspn (o, ",");
          if (ol == j - i && strncmp (o, ctrls + i, ol) == 0)
            found = 1;
          o += ol;
          if (*o == ',')
            o++;
        }
      if (!found)
        return 0;
      i = j + 1;
    }
  return 1;
}

/* The path of the hierarchy CTRLS (empty: v2) in a /proc/PID/cgroup text,
 * or NULL. */
static const char *
find_line (const char *text, const char *ctrls, size_t cl, size_t *plen)
{
  const char *p = text;
  while (*p != '\0')
    {
      const char *nl = strchr (p, '\n');
      size_t len = nl ? (size_t)(nl - p) : strlen (p);
      const char *c1 = memchr (p, ':', len);
      const char *c2
          = c1 ? memchr (c1 + 1, ':', len - (size_t)(c1 + 1 - p)) : NULL;
      if (c2 != NULL && (size_t)(c2 - c1 - 1) == cl
          && strncmp (c1 + 1, ctrls, cl) == 0)
        {
          *plen = len - (size_t)(c2 + 1 - p);
          return c2 + 1;
        }
      p += len;
      if (*p == '\n')
        p++;
    }
  return NULL;
}

/* Is A (length al) equal to B or an ancestor of it, as cgroup paths? */
static int
path_at_or_above (const char *a, size_t al, const char *b, size_t bl)
{
  if (al == 1 && a[0] == '/')
    return 1;
  if (al > bl || strncmp (a, b, al) != 0)
    return 0;
  return al == bl || b[al] == '/';
}

int
cgdeleg_plan (const char *cgroup, const char *self_cgroup,
              const char *mountinfo, struct cgdeleg_dir **dirs, size_t *n,
              unsigned *skipped, moat_error_t *err)
{
  struct cg_mount *m = NULL;
  struct cgdeleg_dir *d = NULL;
  size_t nm = 0, nd = 0;
  const char *p = cgroup;

  *dirs = NULL;
  *n = 0;
  *skipped = 0;
  if (parse_mounts (mountinfo, &m, &nm, err) < 0)
    return -1;
  while (*p != '\0')
    {
      const char *nl = strchr (p, '\n');
      size_t len = nl ? (size_t)(nl - p) : strlen (p);
      const char *c1 = memchr (p, ':', len);
      const char *c2
          = c1 ? memchr (c1 + 1, ':', len - (size_t)(c1 + 1 - p)) : NULL;
      if (c2 != NULL)
        {
          const char *ctrls = c1 + 1, *path = c2 + 1, *self;
          size_t cl = (size_t)(c2 - ctrls);
          size_t pl = len - (size_t)(path - p), sl = 0;
          struct cg_mount *mt = NULL;
          int v2 = cl == 0;

          for (size_t i = 0; i < nm && mt == NULL; i++)
            {
              size_t rl = strlen (m[i].root);
              if ((v2 ? m[i].opts != NULL
                      : m[i].opts == NULL
                            || !ctrls_match (ctrls, cl, m[i].opts)))
                continue;
              /* the mount shows the path: its root is at or above it */
              if (path_at_or_above (m[i].root, rl, path, pl))
                mt = &m[i];
            }
          self = find_line (self_cgroup, ctrls, cl, &sl);
          if (mt == NULL || pl == 0 || path[0] != '/'
              || (pl == 1 && path[0] == '/')
              || (self != NULL && path_at_or_above (path, pl, self, sl))
              || memmem (path, pl, "/..", 3) != NULL)
            (*skipped)++;
          else
            {
              size_t rl = strlen (mt->root);
              const char *rest = path + (rl == 1 ? 0 : rl);
              size_t restl = pl - (size_t)(rest - path);
              struct cgdeleg_dir *nd2 = realloc (d, (nd + 1) * sizeof *d);
              if (nd2 == NULL)
                goto nomem;
              d = nd2;
              d[nd].v2 = v2;
              if (asprintf (&d[nd].path, "%s%.*s", mt->point, (int)restl, rest)
                  < 0)
                goto nomem;
              nd++;
            }
        }
      p += len;
      if (*p == '\n')
        p++;
    }
  mounts_free (m, nm);
  *dirs = d;
  *n = nd;
  return 0;
nomem:
  mounts_free (m, nm);
  cgdeleg_dirs_free (d, nd);
  return moat_error (err, ENOMEM, "cgroup delegation");
}

void
cgdeleg_dirs_free (struct cgdeleg_dir *dirs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (dirs[i].path);
  free (dirs);
}

static int
chown_dir (const struct cgdeleg_dir *d, uint32_t uid, uint32_t gid,
           moat_error_t *err)
{
  static const char *const v1_files[] = { "cgroup.procs", "tasks", NULL };
  static const char *const v2_files[]
      = { "cgroup.procs", "cgroup.threads", "cgroup.subtree_control", NULL };
  const char *const *files = d->v2 ? v2_files : v1_files;
  cleanup_close int fd
      = open (d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

  if (fd < 0)
    return moat_error (err, errno, "open `%s`", d->path);
  if (fchown (fd, uid, gid) < 0)
    return moat_error (err, errno, "chown `%s`", d->path);
  for (size_t i = 0; files[i] != NULL; i++)
    if (fchownat (fd, files[i], uid, gid, AT_SYMLINK_NOFOLLOW) < 0
        && errno != ENOENT)
      return moat_error (err, errno, "chown `%s/%s`", d->path, files[i]);
  return 0;
}

int
cgdeleg_delegate (long pid, uint32_t uid, uint32_t gid, unsigned *ndirs,
                  unsigned *skipped, moat_error_t *err)
{
  cleanup_free char *cg = NULL;
  cleanup_free char *self = NULL;
  cleanup_free char *mi = NULL;
  struct cgdeleg_dir *dirs = NULL;
  char path[64];
  size_t len, n = 0;
  int rc = 0;

  *ndirs = 0;
  snprintf (path, sizeof path, "/proc/%ld/cgroup", pid);
  if (fs_read_file (path, CG_TEXT_MAX, &cg, &len, err) < 0
      || fs_read_file ("/proc/self/cgroup", CG_TEXT_MAX, &self, &len, err) < 0
      || fs_read_file ("/proc/self/mountinfo", MOUNTINFO_MAX, &mi, &len, err)
             < 0)
    return moat_error_wrap (err, "cgroup delegation");
  if (cgdeleg_plan (cg, self, mi, &dirs, &n, skipped, err) < 0)
    return -1;
  for (size_t i = 0; i < n && rc == 0; i++)
    {
      rc = chown_dir (&dirs[i], uid, gid, err);
      if (rc == 0)
        (*ndirs)++;
    }
  cgdeleg_dirs_free (dirs, n);
  if (rc < 0)
    return moat_error_wrap (err, "cgroup delegation");
  return 0;
}
