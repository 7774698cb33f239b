/* `moat verify`: the isolation checks an administrator would run by hand,
 * run against the guarded Docker API the way a user reaches it. */
#ifndef MOAT_VERIFY_VERIFY_H
#define MOAT_VERIFY_VERIFY_H

#include <jansson.h>
#include <stdbool.h>

#include "common/error.h"
#include "common/paths.h"

struct verify_opts
{
  const char *docker_sock; /* the socket users talk to */
  const char *image;       /* image to run; imported from busybox if absent */
};

/* Run every check.  *out is [{"check","passed","detail"}...]; *all_passed
 * tells whether every check passed.  -1 only when nothing could be checked
 * (the socket does not answer). */
int verify_run (const struct moat_paths *paths, const struct verify_opts *o,
                json_t **out, bool *all_passed, moat_error_t *err);

#endif
