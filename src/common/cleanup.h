/* Scope-bound cleanup (gcc/clang `cleanup` attribute) and explicit hand-off.
 *
 *   cleanup_free char *path = NULL;
 *   cleanup_close int fd = -1;
 *   return steal_fd (&fd);   // ownership leaves the scope
 */
#ifndef MOAT_COMMON_CLEANUP_H
#define MOAT_COMMON_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>

void moat_cleanup_freep (void *p);
void moat_cleanup_closep (int *fd);
void moat_cleanup_fclosep (FILE **f);

#define cleanup_free __attribute__ ((cleanup (moat_cleanup_freep)))
#define cleanup_close __attribute__ ((cleanup (moat_cleanup_closep)))
#define cleanup_file __attribute__ ((cleanup (moat_cleanup_fclosep)))

static inline int
steal_fd (int *fd)
{
  int r = *fd;
  *fd = -1;
  return r;
}

static inline void *
steal_pointer (void *pp)
{
  void **p = (void **) pp;
  void *r = *p;
  *p = NULL;
  return r;
}

#endif
