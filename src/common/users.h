/* A user's ids from the passwd and group databases, for code that acts as
 * that user (a child that drops to them, a connection made as them). */
#ifndef MOAT_COMMON_USERS_H
#define MOAT_COMMON_USERS_H

#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

/* uid's primary gid (*gid) and supplementary groups (*groups, malloc'd,
 * *ngroups of them; the primary one included).  -1 with *err when uid has
 * no passwd entry (EPERM) or its groups cannot be read. */
int moat_user_ids (uid_t uid, gid_t *gid, gid_t **groups, size_t *ngroups,
                   moat_error_t *err);

#endif
