/* tar.h.  Every length comes from the archive: each is checked against
 * what is left of the buffer before use. */
#include "tar.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 512

static int
octal (const char *f, size_t n, size_t *out)
{
  size_t v = 0;
  size_t i = 0;

  while (i < n && f[i] == ' ')
    i++;
  if (i == n || f[i] < '0' || f[i] > '7')
    return -1;
  for (; i < n && f[i] >= '0' && f[i] <= '7'; i++)
    {
      if (v > (SIZE_MAX >> 3))
        return -1;
      v = v * 8 + (size_t)(f[i] - '0');
    }
  *out = v;
  return 0;
}

static bool
zero_block_p (const char *b)
{
  for (size_t i = 0; i < BLOCK; i++)
    if (b[i] != 0)
      return false;
  return true;
}

/* "path=" of a PAX record set ("<len> key=value\n" ...), or NULL. */
static char *
pax_path (const char *d, size_t n)
{
  size_t off = 0;

  while (off < n)
    {
      size_t rl = 0, i = off;
      while (i < n && d[i] >= '0' && d[i] <= '9' && rl < n)
        rl = rl * 10 + (size_t)(d[i++] - '0');
      if (i >= n || d[i] != ' ' || rl == 0 || rl > n - off)
        return NULL;
      i++;
      if (off + rl - i > 5 && memcmp (d + i, "path=", 5) == 0)
        {
          size_t vl = off + rl - (i + 5);
          if (vl == 0 || d[off + rl - 1] != '\n')
            return NULL;
          return strndup (d + i + 5, vl - 1);
        }
      off += rl;
    }
  return NULL;
}

int
ext_tar_next (const char *buf, size_t len, size_t *off,
              struct ext_tar_entry *e, moat_error_t *err)
{
  char *long_name = NULL;

  memset (e, 0, sizeof *e);
  for (;;)
    {
      const char *h;
      size_t size, padded;
      char type;

      if (*off + BLOCK > len)
        {
          free (long_name);
          if (*off == len)
            return 0;
          return moat_error (err, EINVAL, "archive: truncated header");
        }
      h = buf + *off;
      if (zero_block_p (h))
        {
          free (long_name);
          return 0;
        }
      if (octal (h + 124, 12, &size) < 0)
        {
          free (long_name);
          return moat_error (err, EINVAL, "archive: bad size field");
        }
      padded = (size + BLOCK - 1) / BLOCK * BLOCK;
      if (padded < size || padded > len - *off - BLOCK)
        {
          free (long_name);
          return moat_error (err, EINVAL, "archive: truncated entry");
        }
      type = h[156] == '\0' ? '0' : h[156];
      *off += BLOCK;
      if (type == 'x' || type == 'L')
        {
          char *n = type == 'x' ? pax_path (buf + *off, size)
                                : strndup (buf + *off, size);
          if (n != NULL)
            {
              free (long_name);
              long_name = n;
            }
          *off += padded;
          continue;
        }
      if (type == 'g')
        {
          *off += padded;
          continue;
        }
      if (long_name != NULL)
        e->name = long_name;
      else
        {
          char nm[256];
          size_t pl = strnlen (h + 345, 155), nl = strnlen (h, 100);
          /* ustar: prefix "/" name when the prefix is set. */
          if (pl > 0 && memcmp (h + 257, "ustar", 5) == 0)
            {
              memcpy (nm, h + 345, pl);
              nm[pl] = '/';
              memcpy (nm + pl + 1, h, nl);
              nm[pl + 1 + nl] = '\0';
            }
          else
            {
              memcpy (nm, h, nl);
              nm[nl] = '\0';
            }
          e->name = strdup (nm);
          if (e->name == NULL)
            return moat_error (err, ENOMEM, "archive");
        }
      e->type = type;
      e->data = buf + *off;
      e->size = size;
      *off += padded;
      return 1;
    }
}
