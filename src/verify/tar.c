/* A minimal ustar writer, enough to import a one-binary image (busybox and
 * links to it) when `moat verify` finds no image to run. */
#include "verify-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fs.h"

static int
append (struct tarbuf *t, const void *p, size_t n)
{
  if (t->len + n > t->cap)
    {
      size_t cap = t->cap ? t->cap : 65536;
      char *nb;
      while (cap < t->len + n)
        cap *= 2;
      nb = realloc (t->buf, cap);
      if (nb == NULL)
        return -1;
      t->buf = nb;
      t->cap = cap;
    }
  memcpy (t->buf + t->len, p, n);
  t->len += n;
  return 0;
}

static int
header (struct tarbuf *t, const char *name, char type, unsigned mode,
        size_t size, const char *link)
{
  unsigned char h[512];
  unsigned sum = 0;

  if (strlen (name) >= 100 || (link != NULL && strlen (link) >= 100))
    return -1;
  memset (h, 0, sizeof h);
  memcpy (h, name, strlen (name));
  snprintf ((char *) h + 100, 8, "%07o", mode);
  snprintf ((char *) h + 108, 8, "%07o", 0);
  snprintf ((char *) h + 116, 8, "%07o", 0);
  snprintf ((char *) h + 124, 12, "%011zo", size);
  snprintf ((char *) h + 136, 12, "%011o", 0);
  memset (h + 148, ' ', 8);
  h[156] = (unsigned char) type;
  if (link != NULL)
    memcpy (h + 157, link, strlen (link));
  memcpy (h + 257, "ustar", 6);
  memcpy (h + 263, "00", 2);
  for (size_t i = 0; i < sizeof h; i++)
    sum += h[i];
  snprintf ((char *) h + 148, 8, "%06o", sum);
  h[155] = ' ';
  return append (t, h, sizeof h);
}

int
verify_tar_busybox (const char *busybox, struct tarbuf *t, moat_error_t *err)
{
  static const char *const applets[] = { "sh", "cat", "true", "sleep",
                                         "id", "ls", "echo" };
  char *data = NULL;
  size_t len = 0;
  static const char zeros[1024];

  if (fs_read_file (busybox, 16 * 1024 * 1024, &data, &len, err) < 0)
    return moat_error_wrap (err, "read busybox to build a test image");
  if (header (t, "bin/", '5', 0755, 0, NULL) < 0
      || header (t, "bin/busybox", '0', 0755, len, NULL) < 0
      || append (t, data, len) < 0
      || append (t, zeros, (512 - len % 512) % 512) < 0)
    {
      free (data);
      return moat_error (err, ENOMEM, "build test image");
    }
  free (data);
  for (size_t i = 0; i < sizeof applets / sizeof applets[0]; i++)
    {
      char name[64];
      snprintf (name, sizeof name, "bin/%s", applets[i]);
      if (header (t, name, '2', 0777, 0, "busybox") < 0)
        return moat_error (err, ENOMEM, "build test image");
    }
  if (header (t, "proc/", '5', 0755, 0, NULL) < 0
      || header (t, "tmp/", '5', 01777, 0, NULL) < 0
      || append (t, zeros, sizeof zeros) < 0)
    return moat_error (err, ENOMEM, "build test image");
  return 0;
}
