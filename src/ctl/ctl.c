#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"

int
ctl_connect (const struct moat_paths *paths, moat_error_t *err)
{
  cleanup_close int fd = -1;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };

  if (strlen (paths->control_sock) >= sizeof addr.sun_path)
    return moat_error (err, ENAMETOOLONG, "control socket path `%s`",
                       paths->control_sock);
  strcpy (addr.sun_path, paths->control_sock);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return moat_error (err, errno, "socket");
  if (connect (fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    return moat_error (err, errno,
                       "cannot reach moatd at `%s` (is `moat up` running?)",
                       paths->control_sock);
  return steal_fd (&fd);
}

int
ctl_send (int fd, json_t *msg, moat_error_t *err)
{
  cleanup_free char *body = json_dumps (msg, JSON_COMPACT);
  cleanup_free char *line = NULL;
  size_t len, off = 0;

  if (body == NULL || asprintf (&line, "%s\n", body) < 0)
    return moat_error (err, ENOMEM, "encode control message");
  len = strlen (line);
  while (off < len)
    {
      ssize_t n = send (fd, line + off, len - off, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return moat_error (err, errno, "send to moatd");
      off += (size_t)n;
    }
  return 0;
}

int
ctl_recv (int fd, int timeout_ms, json_t **msg, moat_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t used = 0, cap = 0;
  json_error_t jerr;

  for (;;)
    {
      char c;
      ssize_t n;
      if (timeout_ms >= 0)
        {
          struct pollfd pfd = { .fd = fd, .events = POLLIN };
          int r = poll (&pfd, 1, timeout_ms);
          if (r < 0 && errno == EINTR)
            continue;
          if (r < 0)
            return moat_error (err, errno, "wait for moatd");
          if (r == 0)
            return moat_error (err, ETIMEDOUT, "moatd did not answer");
        }
      /* Byte-wise reads keep the framing simple and never consume the next
       * message; control traffic is small. */
      n = read (fd, &c, 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return moat_error (err, errno, "read from moatd");
      if (n == 0)
        {
          if (used == 0)
            return 1;
          return moat_error (err, EPROTO, "moatd closed mid-message");
        }
      if (c == '\n')
        break;
      if (used + 2 > cap)
        {
          size_t ncap = cap == 0 ? 4096 : cap * 2;
          char *nb;
          if (ncap > CTL_MAX_LINE + 1)
            ncap = CTL_MAX_LINE + 1;
          if (used + 2 > ncap)
            return moat_error (err, EMSGSIZE,
                               "control message longer than %d bytes",
                               CTL_MAX_LINE);
          nb = realloc (buf, ncap);
          if (nb == NULL)
            return moat_error (err, ENOMEM, "read from moatd");
          buf = nb;
          cap = ncap;
        }
      buf[used++] = c;
    }
  if (buf == NULL)
    return moat_error (err, EPROTO, "empty control message");
  buf[used] = '\0';
  *msg = json_loads (buf, JSON_REJECT_DUPLICATES, &jerr);
  if (*msg == NULL || !json_is_object (*msg))
    {
      json_decref (*msg);
      *msg = NULL;
      return moat_error (err, EPROTO, "malformed control message: %s",
                         jerr.text);
    }
  return 0;
}

int
ctl_call (const struct moat_paths *paths, json_t *req, json_t **resp,
          moat_error_t *err)
{
  return ctl_call_timeout (paths, req, 30000, resp, err);
}

int
ctl_call_timeout (const struct moat_paths *paths, json_t *req, int timeout_ms,
                  json_t **resp, moat_error_t *err)
{
  cleanup_close int fd = -1;
  json_t *r = NULL;
  int ret;

  fd = ctl_connect (paths, err);
  if (fd < 0)
    return -1;
  if (ctl_send (fd, req, err) < 0)
    return -1;
  ret = ctl_recv (fd, timeout_ms, &r, err);
  if (ret < 0)
    return -1;
  if (ret == 1)
    return moat_error (err, EPROTO, "moatd closed the connection");
  if (!json_is_true (json_object_get (r, "ok")))
    {
      const char *e = json_string_value (json_object_get (r, "error"));
      moat_error (err, 0, "%s", e != NULL ? e : "moatd refused the request");
      json_decref (r);
      return -1;
    }
  *resp = r;
  return 0;
}
