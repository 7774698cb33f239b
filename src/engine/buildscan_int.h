/* Shared by engine/buildscan.c (the tar stream) and engine/dockerfile.c
 * (the Dockerfile's text).  Not for other files: engine/buildscan.h is
 * the interface. */
#ifndef MOAT_ENGINE_BUILDSCAN_INT_H
#define MOAT_ENGINE_BUILDSCAN_INT_H

#include <stdbool.h>
#include <stddef.h>

/* The images a Dockerfile builds FROM (not its own stages, nor scratch):
 * their ONBUILD triggers run in this build. */
struct bases
{
  char **refs;
  size_t n;
  char **stages;
  size_t n_stages;
  bool oom;
};

void buildscan_bases_free (struct bases *b);

/* build_dockerfile_check, also collecting the FROM images into b (NULL:
 * not collected). */
int buildscan_df_check (const char *text, size_t len, char **message,
                        struct bases *b);

#endif
