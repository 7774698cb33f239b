/* moatd's main thread: one epoll loop over the control socket, its
 * clients, inotify on /etc/moat, signals, a periodic timer and the audit
 * queue. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"
#include "ctl/ctl.h"
#include "internal.h"

/* A follower that falls this far behind is dropped rather than letting its
 * backlog grow without bound. */
#define CLIENT_MAX_OUT (8 * 1024 * 1024)
#define MAX_CLIENTS 256

int64_t
moatd_now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
ep_add (struct moatd *d, int fd, uint32_t events, struct source *src,
        moat_error_t *err)
{
  struct epoll_event ev = { .events = events, .data.ptr = src };
  if (epoll_ctl (d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
    return moat_error (err, errno, "epoll_ctl");
  return 0;
}

/* Bind the control socket.  A socket file that still answers belongs to a
 * running moatd: refuse.  One that does not is stale: replace it. */
static int
bind_control (struct moatd *d, moat_error_t *err)
{
  const char *path = d->paths->control_sock;
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  cleanup_close int fd = -1;
  struct group *gr;

  if (strlen (path) >= sizeof addr.sun_path)
    return moat_error (err, ENAMETOOLONG, "control socket `%s`", path);
  strcpy (addr.sun_path, path);
  {
    moat_error_t probe_err = NULL;
    int probe = ctl_connect (d->paths, &probe_err);
    moat_error_release (&probe_err);
    if (probe >= 0)
      {
        close (probe);
        return moat_error (err, EADDRINUSE,
                           "another moatd already serves `%s`", path);
      }
  }
  if (unlink (path) < 0 && errno != ENOENT)
    return moat_error (err, errno, "remove stale `%s`", path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return moat_error (err, errno, "socket");
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    return moat_error (err, errno, "bind `%s`", path);
  /* Readable by the docker group, like the Docker socket itself. */
  gr = getgrnam ("docker");
  if (chown (path, 0, gr != NULL ? gr->gr_gid : 0) < 0
      || chmod (path, 0660) < 0)
    return moat_error (err, errno, "set owner of `%s`", path);
  if (listen (fd, 64) < 0)
    return moat_error (err, errno, "listen `%s`", path);
  d->listen_fd = steal_fd (&fd);
  return 0;
}

/* The audit log keeps the newest AUDIT_KEEP records: enough for months of
 * refusals, and a bound on the file (and on the integrity check at open). */
#define AUDIT_KEEP 200000

static int
audit_prune (struct moatd *d, moat_error_t *err)
{
  int64_t n = state_audit_prune (d->state, AUDIT_KEEP, err);
  if (n < 0)
    return moat_error_wrap (err, "prune the audit log");
  if (n > 0)
    log_info ("audit log: %lld old records pruned", (long long) n);
  d->audit_pruned_ms = moatd_now_ms ();
  return 0;
}

static int
setup_fds (struct moatd *d, moat_error_t *err)
{
  sigset_t mask;
  struct itimerspec its = { .it_interval = { 2, 0 }, .it_value = { 2, 0 } };

  d->epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (d->epfd < 0)
    return moat_error (err, errno, "epoll_create1");

  sigemptyset (&mask);
  sigaddset (&mask, SIGTERM);
  sigaddset (&mask, SIGINT);
  sigaddset (&mask, SIGHUP);
  if (pthread_sigmask (SIG_BLOCK, &mask, NULL) != 0)
    return moat_error (err, errno, "block signals");
  signal (SIGPIPE, SIG_IGN);
  d->signal_fd = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (d->signal_fd < 0)
    return moat_error (err, errno, "signalfd");

  d->inotify_fd = inotify_init1 (IN_CLOEXEC | IN_NONBLOCK);
  if (d->inotify_fd < 0)
    return moat_error (err, errno, "inotify_init1");
  if (inotify_add_watch (d->inotify_fd, d->paths->etc_dir,
                         IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM
                             | IN_CREATE | IN_DELETE | IN_ATTRIB
                             | IN_DELETE_SELF | IN_MOVE_SELF)
      < 0)
    log_warn ("cannot watch `%s` (%s); changes are seen by the periodic "
              "check only",
              d->paths->etc_dir, strerror (errno));

  /* The periodic check catches what inotify cannot (a replaced directory,
   * a watch that could not be set). */
  d->timer_fd = timerfd_create (CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (d->timer_fd < 0 || timerfd_settime (d->timer_fd, 0, &its, NULL) < 0)
    return moat_error (err, errno, "timerfd");

  d->audit_efd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (d->audit_efd < 0)
    return moat_error (err, errno, "eventfd");

  d->src_listen.kind = SRC_LISTEN;
  d->src_signal.kind = SRC_SIGNAL;
  d->src_inotify.kind = SRC_INOTIFY;
  d->src_timer.kind = SRC_TIMER;
  d->src_audit.kind = SRC_AUDIT;
  if (ep_add (d, d->listen_fd, EPOLLIN, &d->src_listen, err) < 0
      || ep_add (d, d->signal_fd, EPOLLIN, &d->src_signal, err) < 0
      || ep_add (d, d->inotify_fd, EPOLLIN, &d->src_inotify, err) < 0
      || ep_add (d, d->timer_fd, EPOLLIN, &d->src_timer, err) < 0
      || ep_add (d, d->audit_efd, EPOLLIN, &d->src_audit, err) < 0)
    return -1;
  return 0;
}

int
moatd_new (const struct moat_paths *paths, const struct moatd_config *cfg,
           struct moatd **out, moat_error_t *err)
{
  struct moatd *d = calloc (1, sizeof *d);

  if (d == NULL)
    return moat_error (err, ENOMEM, "moatd");
  d->paths = paths;
  if (cfg != NULL)
    d->cfg = *cfg;
  d->net_nsfd = d->host_nsfd = -1;
  d->epfd = d->listen_fd = d->inotify_fd = d->signal_fd = d->timer_fd
      = d->audit_efd = -1;
  d->started_ms = moatd_now_ms ();
  pthread_mutex_init (&d->audit_mu, NULL);
  policy_snap_holder_init (&d->snaps);
  d->engine_sock = strdup (cfg != NULL && cfg->engine_sock != NULL
                               ? cfg->engine_sock
                               : paths->engine_sock);
  if (d->engine_sock == NULL)
    {
      moatd_free (d);
      return moat_error (err, ENOMEM, "moatd");
    }
  if (fs_mkdir_p (paths->run_dir, 0755, err) < 0
      || fs_mkdir_p (paths->etc_dir, 0755, err) < 0
      || state_open (paths->state_db, &d->state, err) < 0
      || moatd_policy_init (d, err) < 0 || moatd_signin_init (d, err) < 0
      || bind_control (d, err) < 0
      || setup_fds (d, err) < 0 || audit_prune (d, err) < 0
      || moatd_guard_start (d, err) < 0
      || moatd_net_start (d, err) < 0)
    {
      moatd_free (d);
      return -1;
    }
  *out = d;
  return 0;
}

/* Closing only marks the client dead: events for it may still sit in the
 * current epoll batch.  client_sweep frees the dead after each batch. */
static void
client_close (struct moatd *d, struct client *c)
{
  if (c->dead)
    return;
  c->dead = true;
  epoll_ctl (d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close (c->fd);
  c->fd = -1;
}

static void
client_sweep (struct moatd *d)
{
  struct client **pp = &d->clients;
  while (*pp != NULL)
    {
      struct client *c = *pp;
      if (!c->dead)
        {
          pp = &c->next;
          continue;
        }
      *pp = c->next;
      free (c->in);
      free (c->out);
      free (c);
    }
}

static void
client_update_events (struct moatd *d, struct client *c)
{
  struct epoll_event ev = { .data.ptr = &c->src };
  ev.events = (c->closing ? 0 : EPOLLIN)
              | (c->out_len > c->out_off ? EPOLLOUT : 0);
  epoll_ctl (d->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Returns false when the client was closed. */
static bool
client_flush (struct moatd *d, struct client *c)
{
  while (c->out_off < c->out_len)
    {
      ssize_t n = send (c->fd, c->out + c->out_off, c->out_len - c->out_off,
                        MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        break;
      if (n <= 0)
        {
          client_close (d, c);
          return false;
        }
      c->out_off += (size_t) n;
    }
  if (c->out_off == c->out_len)
    {
      c->out_off = c->out_len = 0;
      if (c->closing)
        {
          client_close (d, c);
          return false;
        }
    }
  client_update_events (d, c);
  return true;
}

void
moatd_client_send (struct moatd *d, struct client *c, json_t *msg)
{
  cleanup_free char *s = json_dumps (msg, JSON_COMPACT);
  size_t len;

  if (s == NULL || c->dead)
    return;
  len = strlen (s);
  if (c->out_len - c->out_off + len + 1 > CLIENT_MAX_OUT)
    {
      log_warn ("control client pid %d is not reading; dropping it",
                (int) c->pid);
      c->closing = true;
      c->out_len = c->out_off = 0;
      client_update_events (d, c);
      return;
    }
  if (c->out_off > 0)
    {
      memmove (c->out, c->out + c->out_off, c->out_len - c->out_off);
      c->out_len -= c->out_off;
      c->out_off = 0;
    }
  {
    char *nb = realloc (c->out, c->out_len + len + 1);
    if (nb == NULL)
      {
        c->closing = true;
        return;
      }
    c->out = nb;
  }
  memcpy (c->out + c->out_len, s, len);
  c->out[c->out_len + len] = '\n';
  c->out_len += len + 1;
  client_update_events (d, c);
}

static void
client_accept (struct moatd *d)
{
  for (;;)
    {
      int fd = accept4 (d->listen_fd, NULL, NULL,
                        SOCK_CLOEXEC | SOCK_NONBLOCK);
      struct ucred cred;
      socklen_t len = sizeof cred;
      struct client *c;
      size_t n = 0;
      moat_error_t err = NULL;

      if (fd < 0)
        return;
      for (c = d->clients; c != NULL; c = c->next)
        n++;
      if (n >= MAX_CLIENTS
          || getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        {
          close (fd);
          continue;
        }
      c = calloc (1, sizeof *c);
      if (c == NULL)
        {
          close (fd);
          continue;
        }
      c->src.kind = SRC_CLIENT;
      c->fd = fd;
      c->uid = cred.uid;
      c->pid = cred.pid;
      if (ep_add (d, fd, EPOLLIN, &c->src, &err) < 0)
        {
          moat_error_release (&err);
          close (fd);
          free (c);
          continue;
        }
      c->next = d->clients;
      d->clients = c;
    }
}

static void
client_read (struct moatd *d, struct client *c)
{
  for (;;)
    {
      ssize_t n;
      char *nl;
      if (c->in_cap - c->in_len < 4096)
        {
          size_t ncap = c->in_cap == 0 ? 8192 : c->in_cap * 2;
          char *nb;
          if (ncap > CTL_MAX_LINE + 4096)
            {
              /* Bound what one client can make us hold. */
              json_t *r = json_pack ("{s:b, s:s}", "ok", 0, "error",
                                     "request too large");
              moatd_client_send (d, c, r);
              json_decref (r);
              c->closing = true;
              client_flush (d, c);
              return;
            }
          nb = realloc (c->in, ncap);
          if (nb == NULL)
            {
              client_close (d, c);
              return;
            }
          c->in = nb;
          c->in_cap = ncap;
        }
      n = read (c->fd, c->in + c->in_len, c->in_cap - c->in_len - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return;
      if (n <= 0)
        {
          /* The client may half-close after its request: answer first. */
          if (n == 0 && c->out_len > c->out_off && !c->follow)
            {
              c->closing = true;
              client_flush (d, c);
            }
          else
            client_close (d, c);
          return;
        }
      c->in_len += (size_t) n;
      c->in[c->in_len] = '\0';
      while ((nl = memchr (c->in, '\n', c->in_len)) != NULL)
        {
          json_error_t jerr;
          size_t line_len = (size_t) (nl - c->in);
          json_t *req = json_loadb (c->in, line_len, JSON_REJECT_DUPLICATES,
                                    &jerr);
          memmove (c->in, nl + 1, c->in_len - line_len - 1);
          c->in_len -= line_len + 1;
          if (req == NULL || !json_is_object (req))
            {
              json_t *r = json_pack ("{s:b, s:s}", "ok", 0, "error",
                                     "malformed request");
              moatd_client_send (d, c, r);
              json_decref (r);
            }
          else
            moatd_handle_request (d, c, req);
          json_decref (req);
        }
    }
}

static void
drain_inotify (struct moatd *d)
{
  char buf[4096] __attribute__ ((aligned (8)));
  while (read (d->inotify_fd, buf, sizeof buf) > 0)
    ;
}

int
moatd_run (struct moatd *d, moat_error_t *err)
{
  struct epoll_event events[32];

  log_info ("moatd %d serving control socket %s (engine %s)",
            (int) getpid (), d->paths->control_sock, d->engine_sock);
  while (!d->stop)
    {
      int n = epoll_wait (d->epfd, events, 32, -1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return moat_error (err, errno, "epoll_wait");
      for (int i = 0; i < n; i++)
        {
          struct source *src = events[i].data.ptr;
          switch (src->kind)
            {
            case SRC_LISTEN:
              client_accept (d);
              break;
            case SRC_CLIENT:
              {
                struct client *c = (struct client *) src;
                if (c->dead)
                  break;
                if ((events[i].events & EPOLLOUT) && !client_flush (d, c))
                  break;
                if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
                  client_read (d, c);
                else if (c->out_len > c->out_off)
                  client_flush (d, c);
                break;
              }
            case SRC_INOTIFY:
              drain_inotify (d);
              moatd_policy_check (d, false);
              moatd_signin_check (d, false);
              break;
            case SRC_TIMER:
              {
                uint64_t x;
                if (read (d->timer_fd, &x, sizeof x) < 0)
                  (void) 0;
                moatd_policy_check (d, false);
                moatd_signin_check (d, false);
                moatd_pac_refresh (d);
                if (moatd_now_ms () - d->audit_pruned_ms > 3600 * 1000)
                  {
                    moat_error_t perr = NULL;
                    if (audit_prune (d, &perr) < 0)
                      {
                        log_warn ("%s", moat_error_msg (&perr));
                        moat_error_release (&perr);
                      }
                  }
                break;
              }
            case SRC_AUDIT:
              moatd_audit_drain (d);
              break;
            case SRC_SIGNAL:
              {
                struct signalfd_siginfo si;
                while (read (d->signal_fd, &si, sizeof si) == sizeof si)
                  {
                    if (si.ssi_signo == SIGHUP)
                      {
                        moatd_policy_check (d, true);
                        moatd_signin_check (d, true);
                      }
                    else
                      {
                        log_info ("signal %u: stopping", si.ssi_signo);
                        d->stop = true;
                      }
                  }
                break;
              }
            }
        }
      client_sweep (d);
    }
  return 0;
}

void
moatd_free (struct moatd *d)
{
  if (d == NULL)
    return;
  moatd_guard_stop (d);
  moatd_net_stop (d);
  for (struct client *c = d->clients; c != NULL; c = c->next)
    client_close (d, c);
  client_sweep (d);
  if (d->audit_efd >= 0 && d->state != NULL)
    moatd_audit_drain (d);
  if (d->listen_fd >= 0)
    {
      close (d->listen_fd);
      unlink (d->paths->control_sock);
    }
  int fds[] = { d->epfd, d->inotify_fd, d->signal_fd, d->timer_fd,
                d->audit_efd };
  for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
    if (fds[i] >= 0)
      close (fds[i]);
  policy_snap_release (d->snap);
  policy_snap_holder_destroy (&d->snaps);
  policy_admin_free (d->admin);
  state_close (d->state);
  free (d->policy_error);
  signin_policy_free (&d->signin);
  free (d->signin_error);
  free (d->engine_sock);
  pthread_mutex_destroy (&d->audit_mu);
  free (d);
}
