/* moat's persistent state: one SQLite database ($MOAT_ROOT/var/lib/moat/
 * state.db) in WAL mode with synchronous=FULL, a versioned schema migrated
 * forward on open inside one transaction, and an integrity check on open.
 * A crash at any point leaves it consistent: every change is a transaction.
 *
 * One `struct moat_state` per thread (SQLite connections are not shared). */
#ifndef MOAT_STATE_STATE_H
#define MOAT_STATE_STATE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

struct moat_state;

/* Open (creating parent directory 0700 and the file 0600 if needed), check
 * integrity, migrate.  Refuses a database whose schema is newer than this
 * build knows, or one that fails the integrity check (never recreated
 * silently: state holds id-range reservations and policy overrides). */
int state_open (const char *path, struct moat_state **out, moat_error_t *err);
void state_close (struct moat_state *st);

/* Schema version this build migrates to, and the one on disk. */
int state_schema_latest (void);
int state_schema_version (struct moat_state *st);

/* The raw connection, for a module's own prepared statements. */
sqlite3 *state_db (struct moat_state *st);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int state_begin (struct moat_state *st, moat_error_t *err);
int state_commit (struct moat_state *st, moat_error_t *err);
void state_rollback (struct moat_state *st);

/* User overrides of unlocked settings: {"dotted.key": value}. */
int state_overrides_load (struct moat_state *st, json_t **out,
                          moat_error_t *err);
/* The overrides of the database at path, read without moatd: opened
 * read-only, never created or migrated (an older schema is read as it is,
 * a newer one refused).  Returns 1 with an empty *out when there is no
 * database. */
int state_overrides_read (const char *path, json_t **out, moat_error_t *err);
int state_override_set (struct moat_state *st, const char *key, json_t *value,
                        uid_t by_uid, moat_error_t *err);

/* The decisions log. */
struct audit_record
{
  int64_t id;            /* set by state_audit_append */
  int64_t time_ms;       /* 0 = now */
  const char *component; /* "engine", "net", "policy", "runtime", ... */
  int64_t caller_uid;    /* -1 when unknown */
  int64_t caller_pid;    /* -1 when unknown */
  const char *endpoint;  /* request URI, destination, file ... */
  const char *container; /* id, name or image; may be NULL */
  const char *rule;      /* which rule decided */
  const char *outcome;   /* "refused", "rewritten", "allowed", "applied",
                            "rejected", ... */
  const char *detail;    /* free text or JSON; may be NULL */
};

int state_audit_append (struct moat_state *st, struct audit_record *r,
                        moat_error_t *err);

/* Records with id > since_id, oldest first, at most limit (<= 0: 1000).
 * Each as {"id","time","component","caller_uid","caller_pid","endpoint",
 * "container","rule","outcome","detail"}. */
int state_audit_list (struct moat_state *st, int64_t since_id, int limit,
                      json_t **out, moat_error_t *err);

/* Latest records (newest last), at most limit. */
int state_audit_tail (struct moat_state *st, int limit, json_t **out,
                      moat_error_t *err);

/* Keep the newest `keep` records, delete the older ones (bounds the file
 * and the integrity check on open).  Returns how many were deleted. */
int64_t state_audit_prune (struct moat_state *st, int64_t keep,
                           moat_error_t *err);

/* One record as JSON (the format of state_audit_list). */
json_t *state_audit_record_json (const struct audit_record *r);

/* Image name provenance (state/images.c, engine/imgprov.h): uid (-1: a
 * registry pull) bound name to image id. */
int state_image_note (struct moat_state *st, const char *name, const char *id,
                      int64_t uid, moat_error_t *err);
/* The latest binding of name to id by a uid other than 0, -1 and caller
 * since the last pull that bound it: 1 with *other, 0 none, -1 error. */
int state_image_namer (struct moat_state *st, const char *name, const char *id,
                       int64_t caller, int64_t *other, moat_error_t *err);

#endif
