/* The I/O core's byte buffer (buf.h). */
#include "io/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* An emptied buffer larger than this gives its memory back. */
#define IO_BUF_KEEP (64 * 1024)

void
io_buf_free (struct io_buf *b)
{
  size_t limit = b->limit;
  free (b->d);
  memset (b, 0, sizeof *b);
  b->limit = limit;
}

void
io_buf_clear (struct io_buf *b)
{
  b->off = b->len = 0;
}

char *
io_buf_reserve (struct io_buf *b, size_t n)
{
  if (n > SIZE_MAX / 2 - b->len)
    {
      errno = ENOMEM;
      return NULL;
    }
  if (b->limit != 0 && b->len + n > b->limit)
    {
      errno = ENOBUFS;
      return NULL;
    }
  if (b->off + b->len + n > b->cap)
    {
      if (b->len + n <= b->cap)
        {
          /* room enough once the consumed front is reclaimed */
          memmove (b->d, b->d + b->off, b->len);
          b->off = 0;
        }
      else
        {
          size_t nc = b->cap ? b->cap : 4096;
          char *nd;
          while (nc < b->len + n)
            nc *= 2;
          nd = malloc (nc);
          if (nd == NULL)
            {
              errno = ENOMEM;
              return NULL;
            }
          if (b->len > 0)
            memcpy (nd, b->d + b->off, b->len);
          free (b->d);
          b->d = nd;
          b->cap = nc;
          b->off = 0;
        }
    }
  return b->d + b->off + b->len;
}

void
io_buf_commit (struct io_buf *b, size_t n)
{
  b->len += n;
}

int
io_buf_append (struct io_buf *b, const void *p, size_t n)
{
  char *at;
  if (n == 0)
    return 0;
  at = io_buf_reserve (b, n);
  if (at == NULL)
    return -1;
  memcpy (at, p, n);
  b->len += n;
  return 0;
}

int
io_buf_puts (struct io_buf *b, const char *s)
{
  return io_buf_append (b, s, strlen (s));
}

int
io_buf_vprintf (struct io_buf *b, const char *fmt, va_list ap)
{
  va_list aq;
  char *at;
  int n;

  va_copy (aq, ap);
  n = vsnprintf (NULL, 0, fmt, aq);
  va_end (aq);
  if (n < 0)
    {
      errno = EINVAL;
      return -1;
    }
  /* + 1: vsnprintf writes its terminating NUL, which is not committed */
  at = io_buf_reserve (b, (size_t)n + 1);
  if (at == NULL)
    return -1;
  if (vsnprintf (at, (size_t)n + 1, fmt, ap) != n)
    {
      errno = EINVAL;
      return -1;
    }
  b->len += (size_t)n;
  return 0;
}

int
io_buf_printf (struct io_buf *b, const char *fmt, ...)
{
  va_list ap;
  int r;
  va_start (ap, fmt);
  r = io_buf_vprintf (b, fmt, ap);
  va_end (ap);
  return r;
}

void
io_buf_consume (struct io_buf *b, size_t n)
{
  if (n > b->len)
    n = b->len;
  b->off += n;
  b->len -= n;
  if (b->len == 0)
    {
      b->off = 0;
      if (b->cap > IO_BUF_KEEP)
        io_buf_free (b);
    }
}

ssize_t
io_buf_recv (struct io_buf *b, int fd, size_t max)
{
  char *at;
  ssize_t n;
  if (b->limit != 0 && max > b->limit - b->len)
    max = b->limit - b->len;
  if (max == 0)
    {
      errno = ENOBUFS;
      return -1;
    }
  at = io_buf_reserve (b, max);
  if (at == NULL)
    return -1;
  do
    n = recv (fd, at, max, 0);
  while (n < 0 && errno == EINTR);
  if (n > 0)
    b->len += (size_t)n;
  return n;
}

int
io_buf_send (struct io_buf *b, int fd)
{
  while (b->len > 0)
    {
      ssize_t n = send (fd, b->d + b->off, b->len, MSG_NOSIGNAL);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return errno == EAGAIN ? 0 : -1;
        }
      io_buf_consume (b, (size_t)n);
    }
  return 0;
}
