/* The engine guard's byte buffer: a queue of bytes with a read offset.
 * Every call that adds bytes is all-or-nothing and must be checked: on
 * failure (-1, errno ENOMEM, or ENOBUFS past the limit) the buffer is as
 * before the call, so that no caller can forward half a head.
 *
 * Same contract as src/io's io_buf, which replaces it once the engine guard
 * runs on src/io (the names map one to one). */
#ifndef MOAT_ENGINE_GBUF_H
#define MOAT_ENGINE_GBUF_H

#include <stddef.h>

#define GBUF_MUST_CHECK __attribute__ ((warn_unused_result))

struct gbuf
{
  char *d;
  size_t off, len, cap;
  size_t limit; /* most bytes held; 0: no limit but memory */
};

/* Frees the memory; keeps the limit. */
void gbuf_free (struct gbuf *b);
int gbuf_append (struct gbuf *b, const void *p, size_t n) GBUF_MUST_CHECK;
int gbuf_printf (struct gbuf *b, const char *fmt, ...) GBUF_MUST_CHECK
    __attribute__ ((format (printf, 2, 3)));
/* Drop n bytes from the front (n <= len).  An emptied buffer larger than
 * 64 KB gives its memory back (idle connections hold none). */
void gbuf_consume (struct gbuf *b, size_t n);

#endif
