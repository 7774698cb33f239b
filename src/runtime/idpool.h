/* Exclusive id ranges for containers.
 *
 * Every container gets a contiguous range of `size` host uids (and the same
 * gids) that no other live container holds: container id 0 maps to `base`.
 * Ranges are carved from the `moat` entry of /etc/subuid and /etc/subgid
 * (under $MOAT_ROOT) in slots of `size`, never including host id 0.
 *
 * The allocator is an interface so that the state store can take it over:
 * today's implementation keeps its own table in $MOAT_ROOT/var/lib/moat/
 * state.db and reserves inside a BEGIN IMMEDIATE transaction, so concurrent
 * moat-runc processes never hand out the same slot and a crash between
 * reserving and using a range leaves a row that idpool_release (on delete)
 * or reconciliation removes.
 *
 * Host-wide claims.  Roots (MOAT_ROOTs) do not see each other's state.db,
 * so every reservation is also a claim in one registry per host,
 * IDPOOL_REGISTRY, attached to the same connection and locked by the same
 * BEGIN IMMEDIATE: a slot is free only when no row of this root and no
 * claim of another live root overlaps it, as intervals (uid or gid), since
 * roots may configure different pools.  A root is identified by the
 * device and inode of its state.db; it is live while its recorded path
 * still names that file.  Claims of a dead root (its directory deleted)
 * are dropped by the next allocation of any root; a root that crashed
 * keeps its claims.  This root's claims follow its rows: every
 * allocation, release and idpool_sync adds the claims of rows that lack
 * one and drops claims without a row.  The registry persists across
 * reboots like the rows it mirrors (docs/moat-runc.md, "Two roots, one
 * host"). */
#ifndef MOAT_RUNTIME_IDPOOL_H
#define MOAT_RUNTIME_IDPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define IDPOOL_RANGE 65536u

struct idpool;

struct idpool_entry
{
  char *container_id;
  uint32_t base;
  uint32_t size;
};

/* The pool: host ids [start, start + count).  Refuses start 0 (host root
 * must never be mapped) and pools smaller than one range. */
struct idpool_config
{
  uint32_t start;
  uint32_t count;
  uint32_t size;      /* ids per container, IDPOOL_RANGE unless a test says */
  uint32_t gid_start; /* gid pool start, 0: the same as start; a range's
                         gids are gid_start + (base - start) */
  const char *registry; /* host-wide claims, NULL: IDPOOL_REGISTRY; tests
                           name a private one */
};

/* The registry lives outside every MOAT_ROOT, at a fixed path: no
 * environment variable moves it.  Its directory and file must be owned by
 * root (or the caller's euid, for unit tests run as a user) and not
 * writable by group or others; the file is opened with O_NOFOLLOW.
 * idpool_open creates IDPOOL_REGISTRY_DIR (0700, as moat makes it for
 * MOAT_ROOT=/, whose state.db sits beside) when missing. */
#define IDPOOL_REGISTRY_DIR "/var/lib/moat"
#define IDPOOL_REGISTRY IDPOOL_REGISTRY_DIR "/id-claims.db"

int idpool_open (struct idpool **out, const char *db_path,
                 const struct idpool_config *cfg, moat_error_t *err);
void idpool_close (struct idpool *p);

/* Reserve a range for container_id, or return the one it already holds
 * (create is retried by the shim after some failures; a held range that
 * another root has claimed meanwhile is replaced by a fresh one).  ENOSPC when
 * every slot is taken. */
int idpool_alloc (struct idpool *p, const char *container_id, uint32_t *base,
                  moat_error_t *err);

/* The same for a key whose range a running container may hold already
 * (a pod's sandbox, shared by its containers): an existing range is
 * returned as it is, even if another root claims it too (only after the
 * registry was lost; idpool_peers reports it), since moving it would
 * leave the running container's ids without a row. */
int idpool_alloc_held (struct idpool *p, const char *key, uint32_t *base,
                       moat_error_t *err);

/* Release the range of container_id; releasing an unknown id is not an
 * error (delete may run twice).  Sets *released to 1 if a row went away. */
int idpool_release (struct idpool *p, const char *container_id, int *released,
                    moat_error_t *err);

/* Every range held, ordered by base.  Free with idpool_entries_free. */
int idpool_list (struct idpool *p, struct idpool_entry **out, size_t *n,
                 moat_error_t *err);
void idpool_entries_free (struct idpool_entry *e, size_t n);

/* Bring this root's claims in line with its rows and drop the claims of
 * dead roots (reconciliation). */
int idpool_sync (struct idpool *p, moat_error_t *err);

/* Another live root whose pool (or one of whose ranges) overlaps this
 * one's. */
struct idpool_peer
{
  char *db_path;                        /* its state.db */
  uint32_t uid_start, gid_start, count; /* its pool, as last recorded */
  unsigned claims;                      /* ranges it holds now */
  unsigned conflicts; /* of those, overlapping a range of this root (only
                         rows made before the registry existed, or
                         with the registry deleted, can) */
};

/* Every live root whose uid or gid pool overlaps this root's, or that
 * holds a range overlapping one of this root's, ordered by path.  Free with
 * idpool_peers_free. */
int idpool_peers (struct idpool *p, struct idpool_peer **out, size_t *n,
                  moat_error_t *err);
void idpool_peers_free (struct idpool_peer *v, size_t n);

/* A default pool start for a root without a `moat` entry: the first of
 * def_start, def_start + count, ... whose [start, start + count) overlaps
 * the uid and gid pools of no live root recorded in `registry` (NULL:
 * IDPOOL_REGISTRY) other than the one whose state db is `self_db`;
 * def_start when none fits or the registry does not exist yet.  Only
 * spreads roots out: the claims keep ranges exclusive either way. */
int idpool_pick_start (const char *registry, const char *self_db,
                       uint32_t def_start, uint32_t count, uint32_t *start,
                       moat_error_t *err);

/* Find `name:start:count` in a subuid/subgid file.  Returns 0 and fills the
 * values, 1 if there is no such entry, -1 on error. */
int subid_lookup (const char *path, const char *name, uint32_t *start,
                  uint32_t *count, moat_error_t *err);

/* Make sure `name` has an entry; append `name:start:count` if missing
 * (creating the file 0644).  Returns the entry's values. */
int subid_ensure (const char *path, const char *name, uint32_t def_start,
                  uint32_t def_count, uint32_t *start, uint32_t *count,
                  moat_error_t *err);

#endif
