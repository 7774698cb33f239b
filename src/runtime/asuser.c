/* Paths reached with a user's rights (asuser.h). */
#include "asuser.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/refusal.h"

int
fdpass_send (int sock, int fd, int data)
{
  struct msghdr mh = { 0 };
  struct iovec iov = { &data, sizeof data };
  union
  {
    char b[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } cm;

  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (fd >= 0)
    {
      struct cmsghdr *h;
      memset (&cm, 0, sizeof cm);
      mh.msg_control = cm.b;
      mh.msg_controllen = sizeof cm.b;
      h = CMSG_FIRSTHDR (&mh);
      h->cmsg_level = SOL_SOCKET;
      h->cmsg_type = SCM_RIGHTS;
      h->cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (h), &fd, sizeof (int));
    }
  return sendmsg (sock, &mh, 0) == (ssize_t)sizeof data ? 0 : -1;
}

int
fdpass_recv (int sock, int *data)
{
  struct msghdr mh = { 0 };
  struct iovec iov = { data, sizeof *data };
  union
  {
    char b[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } cm;
  int fd = -1;

  *data = -1;
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = cm.b;
  mh.msg_controllen = sizeof cm.b;
  if (recvmsg (sock, &mh, MSG_CMSG_CLOEXEC) != (ssize_t)sizeof *data)
    {
      *data = -1;
      return -1;
    }
  for (struct cmsghdr *h = CMSG_FIRSTHDR (&mh); h != NULL;
       h = CMSG_NXTHDR (&mh, h))
    if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
      memcpy (&fd, CMSG_DATA (h), sizeof fd);
  return fd;
}

/* uid's groups as the system knows them (its passwd name's group list),
 * or gid alone; *n set.  Never fails: at worst, fewer rights. */
static gid_t *
user_groups (uid_t uid, gid_t gid, int *n)
{
  struct passwd pw, *res = NULL;
  char buf[4096];
  gid_t *g = NULL;
  int want = 64;

  *n = 1;
  if (getpwuid_r (uid, &pw, buf, sizeof buf, &res) == 0 && res != NULL)
    for (int tries = 0; tries < 2; tries++)
      {
        gid_t *ng = realloc (g, (size_t)want * sizeof *g);
        int have = want;
        if (ng == NULL)
          break;
        g = ng;
        if (getgrouplist (res->pw_name, gid, g, &have) >= 0)
          {
            *n = have;
            return g;
          }
        want = have;
      }
  free (g);
  g = malloc (sizeof *g);
  if (g != NULL)
    g[0] = gid;
  else
    *n = 0;
  return g;
}

/* mkdir -p of path, as whoever runs it; 0 or an errno. */
static int
make_parents (const char *path)
{
  char p[PATH_MAX];
  size_t l = strlen (path);
  if (l >= sizeof p)
    return ENAMETOOLONG;
  memcpy (p, path, l + 1);
  for (char *s = p + 1;; s++)
    if (*s == '/' || *s == '\0')
      {
        char c = *s;
        *s = '\0';
        if (mkdir (p, 0755) < 0 && errno != EEXIST)
          return errno;
        *s = c;
        if (c == '\0')
          return 0;
      }
}

/* The child: become the user, make, open, send.  Never returns. */
static void
child (int sock, uid_t uid, gid_t gid, const gid_t *groups, int n,
       const char *path, bool create)
{
  int fd, e = 0;
  if (setgroups ((size_t)n, groups) < 0 || setresgid (gid, gid, gid) < 0
      || setresuid (uid, uid, uid) < 0)
    _exit (2);
  umask (022);
  /* 1000 + errno: creating failed; errno: opening failed */
  if (create && access (path, F_OK) < 0 && errno == ENOENT)
    e = make_parents (path);
  if (e != 0)
    _exit (fdpass_send (sock, -1, 1000 + e) == 0 ? 0 : 3);
  fd = open (path, O_PATH | O_CLOEXEC);
  _exit (fdpass_send (sock, fd, fd < 0 ? errno : 0) == 0 ? 0 : 3);
}

int
asuser_open (uid_t uid, gid_t gid, const char *path, bool create,
             moat_error_t *err)
{
  int sv[2], status, data, fd, n;
  gid_t *groups = user_groups (uid, gid, &n);
  pid_t pid;

  if (groups == NULL)
    return moat_error (err, ENOMEM, "groups of uid %u", (unsigned)uid);
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    {
      free (groups);
      return moat_error (err, errno, "socketpair");
    }
  pid = fork ();
  if (pid == 0)
    {
      close (sv[0]);
      child (sv[1], uid, gid, groups, n, path, create);
    }
  free (groups);
  close (sv[1]);
  if (pid < 0)
    {
      close (sv[0]);
      return moat_error (err, errno, "fork");
    }
  fd = fdpass_recv (sv[0], &data);
  close (sv[0]);
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (fd >= 0)
    return fd;
  if (data < 0)
    return moat_error (err, EIO, "open `%s` as uid %u: the child failed (%d)",
                       path, (unsigned)uid,
                       WIFEXITED (status) ? WEXITSTATUS (status) : -1);
  if (data >= 1000)
    return moat_error (err, 0, REFUSAL_BIND_NO_CREATE, path);
  if (data == ENOENT)
    return moat_error (err, 0, REFUSAL_BIND_MISSING, path);
  return moat_error (err, 0, REFUSAL_BIND_NO_ACCESS, path);
}
