/* A reader of the tar streams the engine's archive endpoint returns (GET
 * /containers/{id}/archive): ustar with PAX ('x') and GNU long-name ('L')
 * headers.  Pure: reads a buffer, never touches the file system. */
#ifndef MOAT_EXT_TAR_H
#define MOAT_EXT_TAR_H

#include <stddef.h>

#include "common/error.h"

struct ext_tar_entry
{
  char *name; /* malloc'd, as in the archive */
  char type;  /* '0' file, '5' directory, '1' hard link, '2' symlink, ... */
  const char *data;
  size_t size;
};

/* Next entry from buf at *off.  Returns 1 with *e (free e->name), 0 at the
 * end of the archive, -1 with *err on a malformed or truncated one. */
int ext_tar_next (const char *buf, size_t len, size_t *off,
                  struct ext_tar_entry *e, moat_error_t *err);

#endif
