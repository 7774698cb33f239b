/* A growing byte buffer with a hard cap, shaped as a libcurl write
 * callback (the callback's type needs no curl header):
 *
 *   struct capbuf b = CAPBUF_INIT (PAC_FETCH_MAX);
 *   curl_easy_setopt (c, CURLOPT_WRITEFUNCTION, capbuf_write);
 *   curl_easy_setopt (c, CURLOPT_WRITEDATA, &b);
 *   ...
 *   if (b.over) ... refuse: the server sent more than the cap
 *   body = capbuf_steal (&b, &len);
 *   capbuf_release (&b);
 *
 * A server is not trusted to say how much it sends: the cap is checked on
 * every write, before any memory is taken for it. */
#ifndef MOAT_COMMON_CAPBUF_H
#define MOAT_COMMON_CAPBUF_H

#include <stdbool.h>
#include <stddef.h>

struct capbuf
{
  char *p;     /* NUL-terminated once anything was written; else NULL */
  size_t len;  /* bytes held, not counting the NUL */
  size_t size; /* bytes allocated at p */
  size_t max;  /* the cap: len never exceeds it */
  bool over;   /* a write would have passed the cap (or size*n overflowed) */
};

#define CAPBUF_INIT(cap)                                                      \
  {                                                                           \
    .max = (cap)                                                              \
  }

/* Append size*n bytes at data to the capbuf at ud.  Returns size*n, or 0
 * (which makes libcurl abort the transfer) when they would pass the cap
 * (b->over is set, nothing is kept of that write) or memory runs out (the
 * bytes held so far stay).  Never fails on an empty write. */
size_t capbuf_write (char *data, size_t size, size_t n, void *ud);

/* Hand the bytes over: a NUL-terminated string ("" when nothing was
 * written) that the caller frees, its length in *len (may be NULL); b is
 * empty afterwards.  NULL only when out of memory. */
char *capbuf_steal (struct capbuf *b, size_t *len);

/* Free what b holds; b stays usable (empty, same cap). */
void capbuf_release (struct capbuf *b);

#endif
