/* The I/O core's event loop, shared by the engine guard and the net guard.
 *
 * TRIGGERING RULE (the one rule of the whole loop): every descriptor is
 * registered LEVEL-TRIGGERED.  A handler does as much as it can, and then
 * says through its interest mask what it waits for; a descriptor that is
 * readable but not wanted must have EPOLLIN off, or the loop spins.  So:
 *   - never MSG_PEEK and wait for more with EPOLLIN on: consume the bytes
 *     into an io_buf instead (the bytes stay readable, the loop spins);
 *   - a direction held back (its destination full) turns EPOLLIN off on its
 *     source until the destination drains.
 * The recorded mask (h->mask) changes only when epoll_ctl succeeded.  A
 * failed epoll_ctl is returned to the caller (-1, errno set), who closes
 * that connection: its recorded mask is then still what the kernel has.
 * A mask of 0 takes the descriptor out of epoll altogether (EPOLLHUP and
 * EPOLLERR cannot be masked, so a hung-up peer whose unread tail is held
 * back would otherwise be reported forever).
 *
 * OWNERSHIP: the loop owns none of the descriptors or objects it watches.
 * An io_handle lives inside its owner (a connection, a listener); the
 * owner closes it with io_handle_close() and gives itself back with
 * io_loop_defer_free(): the memory is freed after the current dispatch
 * batch, so an event later in the same batch that names the closed handle
 * is dropped, never delivered to freed memory.  An event for a handle
 * registered during the current batch is dropped too: it belongs to an
 * earlier descriptor that the handle held (closed and replaced, e.g. the
 * next proxy hop), not to the new one.
 *
 * Single-threaded: everything but io_loop_stop() and io_loop_wake() is
 * called from the loop's thread.  Errors follow common/error.h. */
#ifndef MOAT_IO_LOOP_H
#define MOAT_IO_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define IO_MUST_CHECK __attribute__ ((warn_unused_result))

/* What a descriptor is, for the owner's dispatch and for diagnostics. */
enum io_kind
{
  IO_LISTEN,   /* a listening socket */
  IO_CLIENT,   /* the client side of a connection */
  IO_UPSTREAM, /* the side a guard connects to (engine, proxy, dest) */
  IO_EVENT,    /* an eventfd of the owner's (e.g. a worker pool's) */
};

struct io_loop;
struct io_handle;

/* Called with the epoll events of h (EPOLLIN, EPOLLOUT, EPOLLHUP,
 * EPOLLERR, EPOLLRDHUP).  Never called for a closed handle. */
typedef void (*io_event_fn) (struct io_loop *l, struct io_handle *h,
                             uint32_t events);

/* One registered descriptor.  Embedded in its owner; zero-initialise, then
 * io_handle_init(). */
struct io_handle
{
  int fd;            /* -1 when closed */
  enum io_kind kind; /* free for the owner's dispatch */
  uint32_t mask;     /* interest the kernel has (0: not registered) */
  bool registered;   /* in the epoll set */
  uint64_t added;    /* the batch in which it was registered */
  io_event_fn fn;
  void *owner;
};

/* A deadline.  Embedded in its owner; zero-initialised it is unarmed. */
struct io_timer;
typedef void (*io_timer_fn) (struct io_loop *l, struct io_timer *t);
struct io_timer
{
  uint64_t when_us; /* CLOCK_MONOTONIC, microseconds */
  size_t slot;      /* index in the loop's heap + 1; 0: not armed */
  io_timer_fn fn;
  void *owner;
};

/* A deferred free: fn(ptr) runs after the current batch. */
struct io_grave
{
  struct io_grave *next;
  void (*fn) (void *ptr);
  void *ptr;
};

struct io_loop_config
{
  /* io_loop_wake() was called (once per batch however often it was). */
  void (*on_wake) (struct io_loop *l, void *ctx);
  void *ctx;
};

/* The current time (CLOCK_MONOTONIC) in microseconds. */
uint64_t io_now_us (void);

int io_loop_new (const struct io_loop_config *cfg, struct io_loop **out,
                 moat_error_t *err);
/* Frees pending graves and the loop's own descriptors; the owners must
 * have closed their handles (their memory is theirs). */
void io_loop_free (struct io_loop *l);

/* Dispatch until io_loop_stop(): events first, then the timers that are
 * due, then the deferred frees.  Returns 0 after a stop, -1 with *err if
 * epoll_wait failed. */
int io_loop_run (struct io_loop *l, moat_error_t *err);
/* One batch: wait at most timeout_ms (-1: until an event or the next
 * timer), dispatch, fire due timers, free graves.  Returns 1 after a stop,
 * 0 otherwise, -1 with *err.  For tests and for callers with their own
 * loop around it. */
int io_loop_once (struct io_loop *l, int timeout_ms, moat_error_t *err);

/* Safe from any thread and from a signal handler (an eventfd write). */
void io_loop_stop (struct io_loop *l);
void io_loop_wake (struct io_loop *l);
bool io_loop_stopped_p (const struct io_loop *l);

/* The loop's epoll descriptor, readable when an event is pending: an
 * owner with an epoll loop of its own (moatd's main thread) watches it and
 * runs io_loop_once (l, 0).  Timers then fire only when that owner turns
 * the loop (moatd: at least every 2 s). */
int io_loop_fd (const struct io_loop *l);

/* The number of epoll_wait calls made so far. */
uint64_t io_loop_batch (const struct io_loop *l);

void io_handle_init (struct io_handle *h, enum io_kind kind, io_event_fn fn,
                     void *owner);
/* Take fd and register it with mask (level-triggered; mask 0: owned but
 * not registered).  On failure the handle does NOT own fd (the caller
 * still closes it) and -1 is returned with errno. */
int io_handle_add (struct io_loop *l, struct io_handle *h, int fd,
                   uint32_t mask) IO_MUST_CHECK;
/* Change the interest.  No system call when it is what the kernel has.
 * On failure h->mask is unchanged and -1 is returned with errno: close
 * the connection. */
int io_handle_set (struct io_loop *l, struct io_handle *h,
                   uint32_t mask) IO_MUST_CHECK;
/* Out of epoll (if registered) and closed; h->fd becomes -1.  Pending
 * events of this batch for h are dropped.  Safe on a closed handle. */
void io_handle_close (struct io_loop *l, struct io_handle *h);
/* Out of epoll but not closed: the descriptor is returned to the caller
 * (h->fd becomes -1). */
int io_handle_release (struct io_loop *l, struct io_handle *h);

/* Arm t to fire at when_us (re-arming moves it).  Timers fire in deadline
 * order, after the events of a batch.  Returns -1 (ENOMEM) if the heap
 * cannot grow. */
int io_timer_set (struct io_loop *l, struct io_timer *t, uint64_t when_us,
                  io_timer_fn fn, void *owner) IO_MUST_CHECK;
void io_timer_cancel (struct io_loop *l, struct io_timer *t);
static inline bool
io_timer_armed_p (const struct io_timer *t)
{
  return t->slot != 0;
}

/* fn(ptr) after the current batch (g is embedded in *ptr's object, or
 * anywhere that lives until then). */
void io_loop_defer_free (struct io_loop *l, struct io_grave *g,
                         void (*fn) (void *ptr), void *ptr);

#endif
