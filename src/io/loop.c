/* The I/O core's event loop (see loop.h for the triggering rule and the
 * ownership model).  Deadlines are a binary min-heap of io_timer pointers,
 * serviced by the epoll_wait timeout. */
#include "io/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define IO_EVENTS 256

struct io_loop
{
  struct io_loop_config cfg;
  int epfd;
  int stop_fd, wake_fd;
  struct io_handle stop_h, wake_h;
  bool stopped;
  uint64_t batch;
  struct io_timer **heap;
  size_t n_timers, cap_timers;
  struct io_grave *graves;
};

uint64_t
io_now_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void
drain_eventfd (int fd)
{
  uint64_t v;
  ssize_t r = read (fd, &v, sizeof v);
  (void)r; /* EAGAIN: another batch drained it already */
}

static void
on_stop (struct io_loop *l, struct io_handle *h, uint32_t events)
{
  drain_eventfd (h->fd);
  l->stopped = true;
}

static void
on_wake (struct io_loop *l, struct io_handle *h, uint32_t events)
{
  drain_eventfd (h->fd);
  if (l->cfg.on_wake != NULL)
    l->cfg.on_wake (l, l->cfg.ctx);
}

int
io_loop_new (const struct io_loop_config *cfg, struct io_loop **out,
             moat_error_t *err)
{
  struct io_loop *l = calloc (1, sizeof *l);
  int fd;

  if (l == NULL)
    return moat_error (err, ENOMEM, "event loop");
  if (cfg != NULL)
    l->cfg = *cfg;
  l->stop_fd = l->wake_fd = -1;
  io_handle_init (&l->stop_h, IO_EVENT, on_stop, l);
  io_handle_init (&l->wake_h, IO_EVENT, on_wake, l);
  l->epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (l->epfd < 0)
    {
      moat_error (err, errno, "epoll_create1");
      goto fail;
    }
  /* 1 so that no event is mistaken for one of a handle added this batch */
  l->batch = 1;
  l->stop_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  l->wake_fd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (l->stop_fd < 0 || l->wake_fd < 0)
    {
      moat_error (err, errno, "eventfd");
      goto fail;
    }
  fd = l->stop_fd;
  if (io_handle_add (l, &l->stop_h, fd, EPOLLIN) < 0)
    {
      moat_error (err, errno, "epoll_ctl");
      goto fail;
    }
  l->stop_fd = -1; /* the handle owns it */
  fd = l->wake_fd;
  if (io_handle_add (l, &l->wake_h, fd, EPOLLIN) < 0)
    {
      moat_error (err, errno, "epoll_ctl");
      goto fail;
    }
  l->wake_fd = -1;
  *out = l;
  return 0;
fail:
  if (l->stop_fd >= 0)
    close (l->stop_fd);
  if (l->wake_fd >= 0)
    close (l->wake_fd);
  io_loop_free (l);
  return -1;
}

static void
bury (struct io_loop *l)
{
  while (l->graves != NULL)
    {
      struct io_grave *g = l->graves;
      l->graves = g->next;
      g->next = NULL;
      g->fn (g->ptr);
    }
}

void
io_loop_free (struct io_loop *l)
{
  if (l == NULL)
    return;
  bury (l);
  io_handle_close (l, &l->stop_h);
  io_handle_close (l, &l->wake_h);
  if (l->epfd >= 0)
    close (l->epfd);
  free (l->heap);
  free (l);
}

void
io_loop_stop (struct io_loop *l)
{
  uint64_t one = 1;
  ssize_t r = write (l->stop_h.fd, &one, sizeof one);
  (void)r; /* EAGAIN: the counter is already non-zero */
}

void
io_loop_wake (struct io_loop *l)
{
  uint64_t one = 1;
  ssize_t r = write (l->wake_h.fd, &one, sizeof one);
  (void)r;
}

bool
io_loop_stopped_p (const struct io_loop *l)
{
  return l->stopped;
}

int
io_loop_fd (const struct io_loop *l)
{
  return l->epfd;
}

uint64_t
io_loop_batch (const struct io_loop *l)
{
  return l->batch;
}

/* ---- handles ---- */

void
io_handle_init (struct io_handle *h, enum io_kind kind, io_event_fn fn,
                void *owner)
{
  memset (h, 0, sizeof *h);
  h->fd = -1;
  h->kind = kind;
  h->fn = fn;
  h->owner = owner;
}

static int
ctl (struct io_loop *l, struct io_handle *h, uint32_t mask)
{
  struct epoll_event ev = { .events = mask, .data.ptr = h };
  int op = mask == 0       ? EPOLL_CTL_DEL
           : h->registered ? EPOLL_CTL_MOD
                           : EPOLL_CTL_ADD;
  if (mask == 0 && !h->registered)
    return 0;
  if (epoll_ctl (l->epfd, op, h->fd, &ev) < 0)
    return -1;
  if (op == EPOLL_CTL_ADD)
    h->added = l->batch;
  h->registered = mask != 0;
  h->mask = mask;
  return 0;
}

int
io_handle_add (struct io_loop *l, struct io_handle *h, int fd, uint32_t mask)
{
  if (fd < 0 || h->fd >= 0)
    {
      errno = EINVAL;
      return -1;
    }
  h->fd = fd;
  h->mask = 0;
  h->registered = false;
  /* even an unregistered handle drops this batch's stale events */
  h->added = l->batch;
  if (ctl (l, h, mask) < 0)
    {
      h->fd = -1;
      return -1;
    }
  return 0;
}

int
io_handle_set (struct io_loop *l, struct io_handle *h, uint32_t mask)
{
  if (h->fd < 0)
    {
      errno = EBADF;
      return -1;
    }
  if (mask == h->mask && h->registered == (mask != 0))
    return 0;
  return ctl (l, h, mask);
}

int
io_handle_release (struct io_loop *l, struct io_handle *h)
{
  int fd = h->fd;
  if (fd < 0)
    return -1;
  /* Out of the epoll set before the descriptor may be closed: a copy of
   * it (a forked child's) would keep the registration, and its events
   * would name freed memory. */
  if (h->registered)
    epoll_ctl (l->epfd, EPOLL_CTL_DEL, fd, NULL);
  h->registered = false;
  h->mask = 0;
  h->fd = -1;
  return fd;
}

void
io_handle_close (struct io_loop *l, struct io_handle *h)
{
  int fd = io_handle_release (l, h);
  if (fd >= 0)
    close (fd);
}

/* ---- timers: a binary min-heap on when_us; t->slot is index + 1 ---- */

static void
heap_put (struct io_loop *l, size_t i, struct io_timer *t)
{
  l->heap[i] = t;
  t->slot = i + 1;
}

static void
sift_up (struct io_loop *l, size_t i)
{
  struct io_timer *t = l->heap[i];
  while (i > 0)
    {
      size_t parent = (i - 1) / 2;
      if (l->heap[parent]->when_us <= t->when_us)
        break;
      heap_put (l, i, l->heap[parent]);
      i = parent;
    }
  heap_put (l, i, t);
}

static void
sift_down (struct io_loop *l, size_t i)
{
  struct io_timer *t = l->heap[i];
  for (;;)
    {
      size_t c = 2 * i + 1;
      if (c >= l->n_timers)
        break;
      if (c + 1 < l->n_timers && l->heap[c + 1]->when_us < l->heap[c]->when_us)
        c++;
      if (t->when_us <= l->heap[c]->when_us)
        break;
      heap_put (l, i, l->heap[c]);
      i = c;
    }
  heap_put (l, i, t);
}

void
io_timer_cancel (struct io_loop *l, struct io_timer *t)
{
  size_t i;
  if (t->slot == 0)
    return;
  i = t->slot - 1;
  t->slot = 0;
  l->n_timers--;
  if (i == l->n_timers)
    return;
  struct io_timer *m = l->heap[l->n_timers];
  heap_put (l, i, m);
  sift_up (l, i);
  sift_down (l, m->slot - 1);
}

int
io_timer_set (struct io_loop *l, struct io_timer *t, uint64_t when_us,
              io_timer_fn fn, void *owner)
{
  if (t->slot == 0 && l->n_timers == l->cap_timers)
    {
      size_t nc = l->cap_timers ? l->cap_timers * 2 : 64;
      struct io_timer **nh = reallocarray (l->heap, nc, sizeof *nh);
      if (nh == NULL)
        {
          errno = ENOMEM;
          return -1;
        }
      l->heap = nh;
      l->cap_timers = nc;
    }
  t->fn = fn;
  t->owner = owner;
  if (t->slot != 0)
    {
      size_t i = t->slot - 1;
      uint64_t old = t->when_us;
      t->when_us = when_us;
      if (when_us < old)
        sift_up (l, i);
      else
        sift_down (l, i);
      return 0;
    }
  t->when_us = when_us;
  heap_put (l, l->n_timers++, t);
  sift_up (l, l->n_timers - 1);
  return 0;
}

/* Fire the timers due at now, earliest first.  A handler may arm or
 * cancel any timer; one re-armed for now or earlier fires in the next
 * batch, so a handler cannot keep this loop going forever. */
static void
fire_timers (struct io_loop *l, uint64_t now)
{
  size_t budget = l->n_timers;
  while (budget-- > 0 && l->n_timers > 0 && l->heap[0]->when_us <= now)
    {
      struct io_timer *t = l->heap[0];
      io_timer_cancel (l, t);
      t->fn (l, t);
    }
}

/* ---- dispatch ---- */

void
io_loop_defer_free (struct io_loop *l, struct io_grave *g,
                    void (*fn) (void *ptr), void *ptr)
{
  g->fn = fn;
  g->ptr = ptr;
  g->next = l->graves;
  l->graves = g;
}

static int
timeout_for (struct io_loop *l, int timeout_ms)
{
  uint64_t now, when;
  int t;
  if (l->n_timers == 0)
    return timeout_ms;
  when = l->heap[0]->when_us;
  now = io_now_us ();
  /* round up: waking before the deadline would only wait again */
  t = when <= now                ? 0
      : when - now > 3600000000u ? 3600000
                                 : (int)((when - now + 999) / 1000);
  return timeout_ms < 0 || t < timeout_ms ? t : timeout_ms;
}

int
io_loop_once (struct io_loop *l, int timeout_ms, moat_error_t *err)
{
  struct epoll_event evs[IO_EVENTS];
  int n = epoll_wait (l->epfd, evs, IO_EVENTS, timeout_for (l, timeout_ms));

  l->batch++;
  if (n < 0 && errno != EINTR)
    return moat_error (err, errno, "epoll_wait");
  for (int i = 0; i < n; i++)
    {
      struct io_handle *h = evs[i].data.ptr;
      /* closed in this batch, or registered in it (the event is for the
       * descriptor the handle held before) */
      if (h->fd < 0 || h->added >= l->batch)
        continue;
      h->fn (l, h, evs[i].events);
    }
  if (l->n_timers > 0)
    fire_timers (l, io_now_us ());
  bury (l);
  return l->stopped ? 1 : 0;
}

int
io_loop_run (struct io_loop *l, moat_error_t *err)
{
  while (!l->stopped)
    if (io_loop_once (l, -1, err) < 0)
      return -1;
  return 0;
}
