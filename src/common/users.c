/* users.h. */
#include "common/users.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>

int
moat_user_ids (uid_t uid, gid_t *gid, gid_t **groups, size_t *ngroups,
               moat_error_t *err)
{
  struct passwd pw, *res = NULL;
  char buf[4096];
  int n = 32;
  gid_t *g = NULL;

  if (getpwuid_r (uid, &pw, buf, sizeof buf, &res) != 0 || res == NULL)
    return moat_error (err, EPERM, "uid %u has no passwd entry",
                       (unsigned)uid);
  for (int tries = 0; tries < 4; tries++)
    {
      int want = n;
      gid_t *ng = realloc (g, (size_t)n * sizeof *g);
      if (ng == NULL)
        break;
      g = ng;
      if (getgrouplist (pw.pw_name, pw.pw_gid, g, &n) >= 0)
        {
          *gid = pw.pw_gid;
          *groups = g;
          *ngroups = (size_t)n;
          return 0;
        }
      if (n <= want)
        n = want * 2;
    }
  free (g);
  return moat_error (err, EIO, "the groups of uid %u", (unsigned)uid);
}
