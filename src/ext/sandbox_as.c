/* The docker scope's connection to the guarded engine, made as the user a
 * sandbox call serves (sandbox_int.h).  The guard knows its caller by
 * SO_PEERCRED, which is the credentials of the process that called
 * connect(): a short-lived child becomes the user and connects a socket
 * moatd made, then exits; moatd's own threads never change identity. */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/strutil.h"
#include "common/users.h"
#include "ext/sandbox.h"
#include "ext/sandbox_int.h"

#define NOBODY_FALLBACK 65534

/* (child, after fork of a threaded moatd: system calls only) become
 * uid:gid with groups, connect fd; the exit status is connect's errno (0
 * connected, 126: the ids could not be taken). */
static _Noreturn void
child (int fd, const struct sockaddr_un *sa, uid_t uid, gid_t gid,
       const gid_t *groups, size_t ng)
{
  if (syscall (SYS_setgroups, ng, groups) != 0
      || syscall (SYS_setresgid, gid, gid, gid) != 0
      || syscall (SYS_setresuid, uid, uid, uid) != 0)
    _exit (126);
  if (connect (fd, (const struct sockaddr *)sa, sizeof *sa) == 0)
    _exit (0);
  _exit (errno > 0 && errno < 126 ? errno : EIO);
}

/* `nobody` (or 65534), its primary group, and the socket's group only:
 * enough to reach the guarded socket (0660 root:<group>), nothing of any
 * user's. */
static int
nobody_ids (const char *sock, uid_t *uid, gid_t *gid, gid_t **groups,
            size_t *ng, moat_error_t *err)
{
  struct passwd pw, *res = NULL;
  char buf[1024];
  struct stat st;

  if (stat (sock, &st) < 0)
    return moat_error (err, errno, "stat `%s`", sock);
  *uid = NOBODY_FALLBACK;
  *gid = NOBODY_FALLBACK;
  if (getpwnam_r ("nobody", &pw, buf, sizeof buf, &res) == 0 && res != NULL
      && pw.pw_uid != 0)
    {
      *uid = pw.pw_uid;
      *gid = pw.pw_gid;
    }
  *groups = malloc (sizeof **groups);
  if (*groups == NULL)
    return moat_error (err, ENOMEM, "out of memory");
  (*groups)[0] = st.st_gid;
  *ng = 1;
  return 0;
}

int
ext_sandbox_connect_as (const char *sock, uid_t as_uid, moat_error_t *err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  cleanup_free gid_t *groups = NULL;
  cleanup_close int fd = -1;
  size_t ng = 0;
  uid_t uid = as_uid;
  gid_t gid;
  pid_t pid;
  int st = 0;

  if (strlen (sock) >= sizeof sa.sun_path)
    return moat_error (err, ENAMETOOLONG, "the guarded socket path");
  memcpy (sa.sun_path, sock, strlen (sock) + 1);
  if (as_uid == EXT_SANDBOX_NO_USER
          ? nobody_ids (sock, &uid, &gid, &groups, &ng, err) < 0
          : moat_user_ids (as_uid, &gid, &groups, &ng, err) < 0)
    return moat_error_wrap (err, "docker: act as the user");
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return moat_error (err, errno, "socket");
  pid = fork ();
  if (pid < 0)
    return moat_error (err, errno, "fork");
  if (pid == 0)
    child (fd, &sa, uid, gid, groups, ng);
  while (waitpid (pid, &st, 0) < 0)
    if (errno != EINTR)
      return moat_error (err, errno, "waitpid");
  if (!WIFEXITED (st) || WEXITSTATUS (st) == 126)
    return moat_error (err, EPERM, "docker: could not become uid %u",
                       (unsigned)uid);
  if (WEXITSTATUS (st) != 0)
    return moat_error (err, WEXITSTATUS (st),
                       "docker: connect to the guarded engine as uid %u: %s",
                       (unsigned)uid, strerror (WEXITSTATUS (st)));
  return steal_fd (&fd);
}

int
ext_sandbox_docker_get (const char *sock, uid_t as_uid, const char *path,
                        long timeout_ms, size_t max, int *status, char **body,
                        size_t *blen, moat_error_t *err)
{
  cleanup_close int fd = -1;
  cleanup_free char *req = NULL;
  cleanup_free char *raw = NULL;
  size_t len = 0, cap = max + 64 * 1024;
  int64_t deadline = moat_mono_ms () + (timeout_ms > 0 ? timeout_ms : 1);
  int n;

  *body = NULL;
  n = asprintf (&req,
                "GET %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: moat\r\n"
                "Connection: close\r\n\r\n",
                path);
  if (n < 0)
    {
      req = NULL;
      return moat_error (err, ENOMEM, "out of memory");
    }
  fd = ext_sandbox_connect_as (sock, as_uid, err);
  if (fd < 0)
    return -1;
  raw = malloc (cap + 1);
  if (raw == NULL)
    return moat_error (err, ENOMEM, "out of memory");
  for (size_t off = 0; off < (size_t)n;)
    {
      ssize_t w = send (fd, req + off, (size_t)n - off, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        return moat_error (err, errno, "docker: send");
      off += (size_t)w;
    }
  for (;;)
    {
      struct pollfd pf = { .fd = fd, .events = POLLIN };
      int64_t left = deadline - moat_mono_ms ();
      ssize_t got;
      if (left <= 0)
        return moat_error (err, ETIMEDOUT,
                           "docker: no answer within the call's time limit");
      if (poll (&pf, 1, (int)left) < 0)
        {
          if (errno == EINTR)
            continue;
          return moat_error (err, errno, "docker: poll");
        }
      if (len == cap)
        return moat_error (err, E2BIG, "docker: answer over %zu bytes", max);
      got = read (fd, raw + len, cap - len);
      if (got < 0 && (errno == EINTR || errno == EAGAIN))
        continue;
      if (got < 0)
        return moat_error (err, errno, "docker: read");
      if (got == 0)
        break;
      len += (size_t)got;
    }
  raw[len] = '\0';
  {
    char *b;
    if (http_answer_split (raw, len, status, &b, blen) < 0)
      return moat_error (err, EPROTO, "docker: not an HTTP answer");
    if (*blen > max)
      return moat_error (err, E2BIG, "docker: answer over %zu bytes", max);
    *body = malloc (*blen + 1);
    if (*body == NULL)
      return moat_error (err, ENOMEM, "out of memory");
    memcpy (*body, b, *blen);
    (*body)[*blen] = '\0';
  }
  return 0;
}
