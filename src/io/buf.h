/* The I/O core's one byte buffer: a queue of bytes with a read offset.
 *
 * Every call that adds bytes returns 0, or -1 with errno (ENOMEM when
 * memory runs out or a size overflows, ENOBUFS past the buffer's limit),
 * and is warn_unused_result: on failure the buffer is exactly as before
 * the call (never a truncated line, never half a head).  Out of memory is
 * an error the caller answers (closes the connection), never a silent
 * truncation and never an abort. */
#ifndef MOAT_IO_BUF_H
#define MOAT_IO_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "io/loop.h"

struct io_buf
{
  char *d;
  size_t off; /* first unconsumed byte */
  size_t len; /* unconsumed bytes */
  size_t cap;
  size_t limit; /* most bytes held at once; 0: no limit but memory */
};

static inline const char *
io_buf_data (const struct io_buf *b)
{
  return b->d + b->off;
}
static inline size_t
io_buf_len (const struct io_buf *b)
{
  return b->len;
}
static inline bool
io_buf_empty_p (const struct io_buf *b)
{
  return b->len == 0;
}

void io_buf_free (struct io_buf *b);  /* keeps the limit */
void io_buf_clear (struct io_buf *b); /* drops the bytes, keeps memory */

int io_buf_append (struct io_buf *b, const void *p, size_t n) IO_MUST_CHECK;
int io_buf_puts (struct io_buf *b, const char *s) IO_MUST_CHECK;
int io_buf_printf (struct io_buf *b, const char *fmt, ...) IO_MUST_CHECK
    __attribute__ ((format (printf, 2, 3)));
int io_buf_vprintf (struct io_buf *b, const char *fmt,
                    va_list ap) IO_MUST_CHECK
    __attribute__ ((format (printf, 2, 0)));

/* Room for at least n more bytes after the data: returns where to write
 * them (then io_buf_commit the count written), or NULL with errno. */
char *io_buf_reserve (struct io_buf *b, size_t n) IO_MUST_CHECK;
void io_buf_commit (struct io_buf *b, size_t n);

/* Drop n bytes from the front (n <= len).  An emptied buffer larger than
 * 64 KB gives its memory back (idle connections hold none). */
void io_buf_consume (struct io_buf *b, size_t n);

/* recv at most max bytes from fd onto the end.  Returns the count, 0 on
 * EOF, -1 with errno (EAGAIN: nothing now). */
ssize_t io_buf_recv (struct io_buf *b, int fd, size_t max);
/* send the buffer to fd until done or EAGAIN (MSG_NOSIGNAL).  Returns 0
 * (check io_buf_len for what is left) or -1 with errno on a socket error.
 * EINTR is retried. */
int io_buf_send (struct io_buf *b, int fd);

#endif
