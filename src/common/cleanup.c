#include "cleanup.h"

#include <errno.h>
#include <unistd.h>

void
moat_cleanup_freep (void *p)
{
  void **pp = (void **) p;
  free (*pp);
  *pp = NULL;
}

void
moat_cleanup_closep (int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close (*fd);
      errno = saved;
    }
  *fd = -1;
}

void
moat_cleanup_fclosep (FILE **f)
{
  if (*f != NULL)
    fclose (*f);
  *f = NULL;
}
