/* The I/O core's splice relay: bytes between two sockets through a pipe
 * per direction, never through user space, with half-closes forwarded
 * and at most one pipe of data held per direction (backpressure).
 *
 * Level-triggered (loop.h): after io_relay_run the caller sets each
 * socket's interest to io_relay_mask_a / io_relay_mask_b.  A direction
 * reads its source only while its pipe is empty and writes its
 * destination only while the pipe holds bytes, so the masks change only
 * at those transitions, not per chunk.
 *
 * Bytes received before the relay started (a sniffed ClientHello, the
 * bytes after a proxy's reply, a request head) go into a direction's
 * `pre` buffer: they are sent before anything spliced.
 *
 * Pipes come from an io_pipe_pool: creating, sizing and closing a pipe
 * pair costs about ten system calls, more than the rest of a connection's
 * setup.  The pool holds only pipes that existed at the same time, so it
 * never raises the peak number of descriptors; a pipe that still holds
 * bytes (an aborted relay) is closed, never pooled, so its data cannot
 * reach another connection. */
#ifndef MOAT_IO_RELAY_H
#define MOAT_IO_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include "io/buf.h"

/* Bytes moved per splice call; also the pipes' size. */
#define IO_RELAY_CHUNK (256 * 1024)
/* A direction whose read fills its whole pipe is a bulk transfer: its pipe
 * grows to IO_RELAY_BULK (fewer splices and socket lock cycles per byte;
 * 1 MB is the default fs.pipe-max-size).  At most bulk_max pipes grow at a
 * time, which bounds the extra memory held. */
#define IO_RELAY_BULK (1024 * 1024)

struct io_pipe_pool
{
  int (*pipes)[2];
  unsigned n, max;
  unsigned n_bulk, bulk_max;
  size_t chunk; /* IO_RELAY_CHUNK unless set before first use */
  size_t bulk;  /* IO_RELAY_BULK unless set; 0: never grow */
};

/* max pipes kept, bulk_max pipes grown at a time. */
int io_pipe_pool_init (struct io_pipe_pool *p, unsigned max,
                       unsigned bulk_max) IO_MUST_CHECK;
void io_pipe_pool_free (struct io_pipe_pool *p);

struct io_relay_dir
{
  int pipe[2];
  size_t pending; /* bytes in the pipe */
  bool bulk;      /* the pipe was grown */
  bool eof;       /* the source said EOF */
  bool shut;      /* SHUT_WR sent to the destination */
  uint64_t bytes; /* read from the source (pre not counted) */
  struct io_buf pre;
};

/* a: one socket, b: the other.  ab carries a -> b, ba carries b -> a. */
struct io_relay
{
  int a, b;
  struct io_relay_dir ab, ba;
};

/* Set up r between a and b (the descriptors stay the caller's); pipes
 * are taken lazily from the pool.  Fill r->ab.pre / r->ba.pre after. */
void io_relay_init (struct io_relay *r, int a, int b);
/* Give the pipes back to the pool (or close them) and free pre. */
void io_relay_release (struct io_pipe_pool *p, struct io_relay *r);

/* Move what can be moved in each direction named (ab, ba) until a write
 * says EAGAIN, a read says EAGAIN, or a read came short and its bytes are
 * out (the socket is most likely empty: level-triggered, it is reported
 * again if not, and the EAGAIN read is saved).  Returns 0, or -1 with
 * errno on a socket or pipe error (the caller resets both sides). */
int io_relay_run (struct io_pipe_pool *p, struct io_relay *r, bool ab,
                  bool ba) IO_MUST_CHECK;
/* Both directions ended: close both sockets now.  The direction that
 * ended last does not shutdown() its destination; the close sends that
 * FIN (one system call less per connection). */
bool io_relay_done_p (const struct io_relay *r);
/* What one direction waits for: its source readable (its pipe and pre
 * are empty, no EOF yet) or its destination writable (bytes held). */
bool io_relay_dir_wants_read_p (const struct io_relay_dir *d);
bool io_relay_dir_wants_write_p (const struct io_relay_dir *d);
/* The interest the relay needs on a and on b now. */
uint32_t io_relay_mask_a (const struct io_relay *r);
uint32_t io_relay_mask_b (const struct io_relay *r);

#endif
