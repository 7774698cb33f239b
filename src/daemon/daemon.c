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

int64_t
moatd_now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
  if (bind (fd, (struct sockaddr *)&addr, sizeof addr) < 0)
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
    log_info ("audit log: %lld old records pruned", (long long)n);
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
  d->epfd = d->listen_fd = d->inotify_fd = d->signal_fd = d->timer_fd
      = d->audit_efd = -1;
  d->started_ms = moatd_now_ms ();
  pthread_mutex_init (&d->audit_mu, NULL);
  policy_snap_holder_init (&d->snaps);
  d->engine_sock
      = strdup (cfg != NULL && cfg->engine_sock != NULL ? cfg->engine_sock
                                                        : paths->engine_sock);
  if (d->engine_sock == NULL)
    {
      moatd_free (d);
      return moat_error (err, ENOMEM, "moatd");
    }
  if (fs_mkdir_p (paths->run_dir, 0755, err) < 0
      || fs_mkdir_p (paths->etc_dir, 0755, err) < 0
      || state_open (paths->state_db, &d->state, err) < 0
      || audit_export_new (&d->export, err) < 0
      || moatd_policy_init (d, err) < 0 || moatd_fleet_start (d, err) < 0
      || moatd_signin_init (d, err) < 0 || moatd_session_start (d, err) < 0
      || bind_control (d, err) < 0
      || setup_fds (d, err) < 0 || audit_prune (d, err) < 0
      || moatd_guard_start (d, err) < 0
      || moatd_net_start (d, err) < 0
      || moatd_web_start (d, err) < 0
      || moatd_ext_start (d, err) < 0)
    {
      moatd_free (d);
      return -1;
    }
  *out = d;
  return 0;
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

  log_info ("moatd %d serving control socket %s (engine %s)", (int)getpid (),
            d->paths->control_sock, d->engine_sock);
  while (!d->stop)
    {
      int n = epoll_wait (d->epfd, events, 32, moatd_clients_wait_ms (d));
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
              moatd_clients_accept (d);
              break;
            case SRC_CLIENT:
              moatd_client_event (d, (struct client *)src, events[i].events);
              break;
            case SRC_INOTIFY:
              drain_inotify (d);
              moatd_policy_check (d, false);
              moatd_signin_check (d, false);
              break;
            case SRC_TIMER:
              {
                uint64_t x;
                if (read (d->timer_fd, &x, sizeof x) < 0)
                  (void)0;
                moatd_policy_check (d, false);
                moatd_fleet_poll (d);
                moatd_signin_check (d, false);
                moatd_pac_refresh (d);
                moatd_clients_idle (d);
                moatd_session_tick (d);
                moatd_web_tick (d);
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
            case SRC_WEB:
              moatd_web_turn (d);
              break;
            case SRC_EXT:
              moatd_ext_drain (d);
              break;
            case SRC_SIGNIN:
              moatd_session_results (d);
              break;
            case SRC_SIGNAL:
              {
                struct signalfd_siginfo si;
                while (read (d->signal_fd, &si, sizeof si) == sizeof si)
                  {
                    if (si.ssi_signo == SIGHUP)
                      {
                        moatd_policy_check (d, true);
                        moatd_fleet_kick (d);
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
      moatd_clients_turn (d);
    }
  return 0;
}

void
moatd_free (struct moatd *d)
{
  if (d == NULL)
    return;
  moatd_ext_stop (d);
  moatd_web_stop (d);
  moatd_guard_stop (d);
  moatd_session_stop (d);
  moatd_net_stop (d);
  moatd_fleet_stop (d);
  moatd_clients_close_all (d);
  if (d->audit_efd >= 0 && d->state != NULL)
    moatd_audit_drain (d);
  audit_export_free (d->export);
  if (d->listen_fd >= 0)
    {
      close (d->listen_fd);
      unlink (d->paths->control_sock);
    }
  int fds[]
      = { d->epfd, d->inotify_fd, d->signal_fd, d->timer_fd, d->audit_efd };
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
