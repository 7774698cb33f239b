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
 * or reconciliation removes. */
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
  uint32_t size; /* ids per container, IDPOOL_RANGE unless a test says */
};

int idpool_open (struct idpool **out, const char *db_path,
                 const struct idpool_config *cfg, moat_error_t *err);
void idpool_close (struct idpool *p);

/* Reserve a range for container_id, or return the one it already holds
 * (create is retried by the shim after some failures).  ENOSPC when every
 * slot is taken. */
int idpool_alloc (struct idpool *p, const char *container_id, uint32_t *base,
                  moat_error_t *err);

/* Release the range of container_id; releasing an unknown id is not an
 * error (delete may run twice).  Sets *released to 1 if a row went away. */
int idpool_release (struct idpool *p, const char *container_id, int *released,
                    moat_error_t *err);

/* Every range held, ordered by base.  Free with idpool_entries_free. */
int idpool_list (struct idpool *p, struct idpool_entry **out, size_t *n,
                 moat_error_t *err);
void idpool_entries_free (struct idpool_entry *e, size_t n);

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
