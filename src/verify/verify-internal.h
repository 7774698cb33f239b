#ifndef MOAT_VERIFY_INTERNAL_H
#define MOAT_VERIFY_INTERNAL_H

#include <stddef.h>

#include "common/error.h"

struct tarbuf
{
  char *buf;
  size_t len, cap;
};

int verify_tar_busybox (const char *busybox, struct tarbuf *t,
                        moat_error_t *err);

#endif
