/* The engine guard's byte buffer (gbuf.h). */
#include "gbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* keeps the limit */
void
gbuf_free (struct gbuf *b)
{
  size_t limit = b->limit;
  free (b->d);
  memset (b, 0, sizeof *b);
  b->limit = limit;
}

/* Adds all n bytes or none: on failure (-1, errno ENOMEM or ENOBUFS past
 * the limit) the buffer is as before the call. */
int
gbuf_append (struct gbuf *b, const void *p, size_t n)
{
  if (n == 0)
    return 0;
  if (b->limit != 0 && (n > b->limit || b->len > b->limit - n))
    {
      errno = ENOBUFS;
      return -1;
    }
  if (b->off + b->len + n > b->cap)
    {
      if (b->off > 0)
        {
          memmove (b->d, b->d + b->off, b->len);
          b->off = 0;
        }
      if (b->len + n > b->cap)
        {
          size_t nc = b->cap ? b->cap : 4096;
          while (nc < b->len + n)
            nc *= 2;
          char *nd = realloc (b->d, nc);
          if (nd == NULL)
            return -1;
          b->d = nd;
          b->cap = nc;
        }
    }
  memcpy (b->d + b->off + b->len, p, n);
  b->len += n;
  return 0;
}

int
gbuf_printf (struct gbuf *b, const char *fmt, ...)
{
  char tmp[512];
  va_list ap;
  int n;
  va_start (ap, fmt);
  n = vsnprintf (tmp, sizeof tmp, fmt, ap);
  va_end (ap);
  if (n < 0 || (size_t)n >= sizeof tmp)
    {
      errno = ENOBUFS;
      return -1;
    }
  return gbuf_append (b, tmp, (size_t)n);
}

void
gbuf_consume (struct gbuf *b, size_t n)
{
  b->off += n;
  b->len -= n;
  if (b->len == 0)
    {
      b->off = 0;
      /* idle connections hold no buffers */
      if (b->cap > 64 * 1024)
        gbuf_free (b);
    }
}
