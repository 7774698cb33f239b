#include "common/capbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t
capbuf_write (char *data, size_t size, size_t n, void *ud)
{
  struct capbuf *b = ud;
  size_t add, need, want, limit;
  char *np;

  if (size == 0 || n == 0)
    return 0;
  /* size*n wrapping around would let a huge write pass the cap check. */
  if (size > SIZE_MAX / n)
    {
      b->over = true;
      return 0;
    }
  add = size * n;
  /* len <= max always holds, so max - len cannot wrap; the NUL after the
   * bytes must fit in a size_t too. */
  if (add > b->max - b->len || b->len + add == SIZE_MAX)
    {
      b->over = true;
      return 0;
    }
  need = b->len + add + 1;
  if (need > b->size)
    {
      /* Doubling keeps a body that arrives in many small writes from
       * costing a realloc each; never more than the cap needs. */
      limit = b->max < SIZE_MAX ? b->max + 1 : SIZE_MAX;
      want = b->size > SIZE_MAX / 2 ? SIZE_MAX : b->size * 2;
      if (want < need)
        want = need;
      if (want > limit)
        want = limit;
      np = realloc (b->p, want);
      if (np == NULL)
        return 0;
      b->p = np;
      b->size = want;
    }
  memcpy (b->p + b->len, data, add);
  b->len += add;
  b->p[b->len] = '\0';
  return add;
}

char *
capbuf_steal (struct capbuf *b, size_t *len)
{
  char *r = b->p;

  if (r == NULL && (r = calloc (1, 1)) == NULL)
    return NULL;
  if (len != NULL)
    *len = b->len;
  b->p = NULL;
  b->len = 0;
  b->size = 0;
  return r;
}

void
capbuf_release (struct capbuf *b)
{
  free (b->p);
  b->p = NULL;
  b->len = 0;
  b->size = 0;
}
