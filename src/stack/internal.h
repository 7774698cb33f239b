/* What the files of src/stack share and nobody outside needs. */
#ifndef MOAT_STACK_INTERNAL_H
#define MOAT_STACK_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "common/error.h"
#include "common/paths.h"
#include "net/nft.h"

/* The interception rules of the private engine on `bridge`: the same
 * interfaces moatd intercepts (src/daemon/net_role.c). */
void stack_intercept_for (const char *bridge, const char *netns,
                          struct net_intercept *ic);

/* The stack's name in its interception rules: MOAT_ROOT, "/" for the
 * default. */
const char *stack_owner (const struct moat_paths *paths);

/* Before `moat up` loads its rules in netns (NULL: this one): refused
 * while they would replace those of another stack that has a record (a
 * table whose comment names another MOAT_ROOT with a stack.json), or of a
 * stack that names none (unless own_record: this root had a record, of a
 * stack just cleaned up, maybe an older moat's).  A table of this root's,
 * or of a root without a record, is replaced (netns_owner.c). */
int stack_netns_owner_check (const struct moat_paths *paths, const char *netns,
                             const char *bridge, bool own_record,
                             moat_error_t *err);

/* A string member of the record, or NULL. */
const char *stack_record_str (json_t *record, const char *key);

/* unlink, a warning unless the file was already gone. */
void stack_unlink_quiet (const char *path);

/* A pid file moat finds without a record of its process: removed when its
 * process is gone, refused (never signalled) when one is alive. */
int stack_check_orphan_pidfile (const char *path, moat_error_t *err);

/* Serialise `moat up` and `moat down`: the locked descriptor (CLOEXEC), or
 * -1. */
int stack_lock (const struct moat_paths *paths, moat_error_t *err);

/* Stop everything a record names (moatd first, then dockerd, then a
 * containerd dockerd left behind), remove the bridge moat created and the
 * run-time files.  Data is kept.  Keeps going after a failure and reports
 * the first one; the record is removed unless a process refused to die.
 * `restarting` (moat up cleaning up after a crash) keeps the interception
 * rules: it loads its own at once. */
int stack_teardown (const struct moat_paths *paths, json_t *record,
                    bool restarting, moat_error_t *err);

#endif
