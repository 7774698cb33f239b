/* The I/O core's splice relay (relay.h). */
#include "io/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int
io_pipe_pool_init (struct io_pipe_pool *p, unsigned max, unsigned bulk_max)
{
  memset (p, 0, sizeof *p);
  p->max = max;
  p->bulk_max = bulk_max;
  p->chunk = IO_RELAY_CHUNK;
  p->bulk = IO_RELAY_BULK;
  if (max > 0 && (p->pipes = calloc (max, sizeof *p->pipes)) == NULL)
    {
      errno = ENOMEM;
      return -1;
    }
  return 0;
}

void
io_pipe_pool_free (struct io_pipe_pool *p)
{
  while (p->n > 0)
    {
      p->n--;
      close (p->pipes[p->n][0]);
      close (p->pipes[p->n][1]);
    }
  free (p->pipes);
  p->pipes = NULL;
}

static int
get_pipe (struct io_pipe_pool *p, struct io_relay_dir *d)
{
  if (p->n > 0)
    {
      memcpy (d->pipe, p->pipes[--p->n], sizeof d->pipe);
      return 0;
    }
  if (pipe2 (d->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
    return -1;
  /* Best effort: a smaller pipe only means more, smaller splices. */
  if (p->chunk > 0)
    (void)fcntl (d->pipe[1], F_SETPIPE_SZ, (int)p->chunk);
  return 0;
}

static void
put_pipe (struct io_pipe_pool *p, struct io_relay_dir *d)
{
  if (d->pipe[0] < 0)
    return;
  if (d->bulk)
    {
      /* not pooled: the next connection is most likely a small one */
      p->n_bulk--;
      d->bulk = false;
    }
  else if (d->pending == 0 && p->n < p->max)
    {
      memcpy (p->pipes[p->n++], d->pipe, sizeof d->pipe);
      d->pipe[0] = d->pipe[1] = -1;
      return;
    }
  close (d->pipe[0]);
  close (d->pipe[1]);
  d->pipe[0] = d->pipe[1] = -1;
}

static void
dir_init (struct io_relay_dir *d)
{
  memset (d, 0, sizeof *d);
  d->pipe[0] = d->pipe[1] = -1;
}

void
io_relay_init (struct io_relay *r, int a, int b)
{
  r->a = a;
  r->b = b;
  dir_init (&r->ab);
  dir_init (&r->ba);
}

void
io_relay_release (struct io_pipe_pool *p, struct io_relay *r)
{
  put_pipe (p, &r->ab);
  put_pipe (p, &r->ba);
  io_buf_free (&r->ab.pre);
  io_buf_free (&r->ba.pre);
}

/* One direction, src -> dst, until EAGAIN.  other: the opposite
 * direction (when it is already shut, close() sends this side's FIN and
 * shutdown is not needed: both sockets are closed next). */
static int
pump (struct io_pipe_pool *p, struct io_relay_dir *d,
      const struct io_relay_dir *other, int src, int dst)
{
  if (io_buf_send (&d->pre, dst) < 0)
    return -1;
  if (!io_buf_empty_p (&d->pre))
    return 0;
  if (d->pipe[0] < 0 && !d->eof && get_pipe (p, d) < 0)
    return -1;
  /* A read shorter than asked most likely emptied the socket: once its
   * bytes are out, stop instead of reading again for an EAGAIN.  If more
   * came meanwhile, the level-triggered loop reports the socket again. */
  bool drained = false;
  for (;;)
    {
      if (d->pending > 0)
        {
          ssize_t n = splice (d->pipe[0], NULL, dst, NULL, d->pending,
                              SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
          if (n < 0)
            {
              if (errno == EINTR)
                continue;
              return errno == EAGAIN ? 0 : -1;
            }
          d->pending -= (size_t)n;
          continue;
        }
      if (d->eof)
        {
          if (!d->shut)
            {
              if (!other->shut)
                shutdown (dst, SHUT_WR);
              d->shut = true;
            }
          return 0;
        }
      if (drained)
        return 0;
      size_t want = d->bulk ? p->bulk : p->chunk;
      ssize_t n = splice (src, NULL, d->pipe[1], NULL, want,
                          SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n == 0)
        d->eof = true;
      else if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return errno == EAGAIN ? 0 : -1;
        }
      else
        {
          d->pending += (size_t)n;
          d->bytes += (uint64_t)n;
          drained = (size_t)n < want;
          if ((size_t)n == want && !d->bulk && p->bulk > p->chunk
              && p->n_bulk < p->bulk_max
              && fcntl (d->pipe[1], F_SETPIPE_SZ, (int)p->bulk) >= 0)
            {
              d->bulk = true;
              p->n_bulk++;
            }
        }
    }
}

int
io_relay_run (struct io_pipe_pool *p, struct io_relay *r, bool ab, bool ba)
{
  if (ab && pump (p, &r->ab, &r->ba, r->a, r->b) < 0)
    return -1;
  if (ba && pump (p, &r->ba, &r->ab, r->b, r->a) < 0)
    return -1;
  return 0;
}

bool
io_relay_done_p (const struct io_relay *r)
{
  return r->ab.shut && r->ba.shut;
}

bool
io_relay_dir_wants_read_p (const struct io_relay_dir *d)
{
  return !d->eof && d->pending == 0 && io_buf_empty_p (&d->pre);
}

bool
io_relay_dir_wants_write_p (const struct io_relay_dir *d)
{
  return d->pending > 0 || !io_buf_empty_p (&d->pre);
}

uint32_t
io_relay_mask_a (const struct io_relay *r)
{
  return (io_relay_dir_wants_read_p (&r->ab) ? EPOLLIN : 0)
         | (io_relay_dir_wants_write_p (&r->ba) ? EPOLLOUT : 0);
}

uint32_t
io_relay_mask_b (const struct io_relay *r)
{
  return (io_relay_dir_wants_read_p (&r->ba) ? EPOLLIN : 0)
         | (io_relay_dir_wants_write_p (&r->ab) ? EPOLLOUT : 0);
}
