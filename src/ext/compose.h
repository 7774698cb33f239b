/* vm.composefile backends: Debian's docker-compose run against the
 * guarded socket, so every service is created under ECI.  Project
 * `moat-ext-<name>`; every service labelled com.moat.extension=<name>;
 * the first service (the file's order, as Docker's SDK) is the backend and
 * gets the /run/guest-services tmpfs.  src/ext only. */
#ifndef MOAT_EXT_COMPOSE_H
#define MOAT_EXT_COMPOSE_H

#include <stdbool.h>

#include "common/error.h"
#include "ext/ext.h"

#define EXT_COMPOSE_BIN "/usr/bin/docker-compose"

/* Bring the project up from dir/compose.yml (dir absolute, root's);
 * *backend: the first service's container id. */
int ext_compose_up (const struct ext_ctx *c, const char *name,
                    const char *image, const char *dir, char **backend,
                    moat_error_t *err);

/* Remove every container of the project (with their anonymous volumes
 * when volumes) and its networks, through the raw engine. */
void ext_compose_down (const struct ext_ctx *c, const char *name,
                       bool volumes);

#endif
