/* SQLite implementation of the id-range allocator (see idpool.h). */
#include "idpool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"

struct idpool
{
  sqlite3 *db;
  struct idpool_config cfg;
};

/* The state store's migration 2 owns this table; moat-runc still creates
 * it on demand (same definition) so that it works on a state database that
 * moatd has not opened yet. */
static const char schema[] = "CREATE TABLE IF NOT EXISTS runtime_id_ranges ("
                             " container_id TEXT PRIMARY KEY NOT NULL,"
                             " base INTEGER NOT NULL UNIQUE,"
                             " size INTEGER NOT NULL,"
                             " created_at INTEGER NOT NULL)";

static int
db_error (struct idpool *p, moat_error_t *err, const char *what)
{
  return moat_error (err, 0, "%s: %s", what, sqlite3_errmsg (p->db));
}

static int
exec_sql (struct idpool *p, const char *sql, moat_error_t *err)
{
  char *msg = NULL;
  if (sqlite3_exec (p->db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      moat_error (err, 0, "sqlite `%s`: %s", sql, msg ? msg : "?");
      sqlite3_free (msg);
      return -1;
    }
  return 0;
}

/* WAL with synchronous=NORMAL: one fsync-free commit per allocation
 * instead of two fsyncs (create measured 30 ms in rollback mode on the
 * test VM).  A commit lost to a power cut loses a range whose container
 * died with the machine; reconciliation at start-up covers it.  Switching
 * the journal mode is not retried by the busy handler, so concurrent first
 * openers retry here. */
static int
use_wal (struct idpool *p, moat_error_t *err)
{
  for (int attempt = 0;; attempt++)
    {
      sqlite3_stmt *st = NULL;
      int rc = sqlite3_prepare_v2 (p->db, "PRAGMA journal_mode=WAL", -1, &st,
                                   NULL);
      if (rc == SQLITE_OK)
        rc = sqlite3_step (st);
      sqlite3_finalize (st);
      if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        break;
      if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || attempt >= 200)
        return db_error (p, err, "set journal mode");
      usleep (5000);
    }
  return exec_sql (p, "PRAGMA synchronous=NORMAL", err);
}

int
idpool_open (struct idpool **out, const char *db_path,
             const struct idpool_config *cfg, moat_error_t *err)
{
  struct idpool *p;
  uint64_t end = (uint64_t)cfg->start + cfg->count;

  if (cfg->size == 0)
    return moat_error (err, EINVAL, "id range size is 0");
  if (cfg->start == 0)
    return moat_error (err, EINVAL,
                       "id pool starts at host id 0; refusing to map root");
  if (cfg->count < cfg->size)
    return moat_error (err, EINVAL,
                       "id pool of %" PRIu32 " ids is smaller "
                       "than one range of %" PRIu32,
                       cfg->count, cfg->size);
  if (end > UINT32_MAX)
    return moat_error (err, EINVAL, "id pool ends past the 32-bit id space");

  p = calloc (1, sizeof *p);
  if (p == NULL)
    return moat_error (err, ENOMEM, "allocate id pool");
  p->cfg = *cfg;
  if (sqlite3_open_v2 (db_path, &p->db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                           | SQLITE_OPEN_FULLMUTEX,
                       NULL)
      != SQLITE_OK)
    {
      moat_error (err, 0, "open state db `%s`: %s", db_path,
                  p->db ? sqlite3_errmsg (p->db) : "out of memory");
      idpool_close (p);
      return -1;
    }
  /* Concurrent creates wait for each other instead of failing. */
  sqlite3_busy_timeout (p->db, 10000);
  if (use_wal (p, err) < 0)
    {
      idpool_close (p);
      return moat_error_wrap (err, "open state db `%s`", db_path);
    }
  *out = p;
  return 0;
}

void
idpool_close (struct idpool *p)
{
  if (p == NULL)
    return;
  sqlite3_close (p->db);
  free (p);
}

static int
begin (struct idpool *p, moat_error_t *err)
{
  /* IMMEDIATE takes the write lock now: two allocators cannot both read the
   * same free slot and then both insert it. */
  if (exec_sql (p, "BEGIN IMMEDIATE", err) < 0)
    return -1;
  if (exec_sql (p, schema, err) < 0)
    {
      exec_sql (p, "ROLLBACK", NULL);
      return -1;
    }
  return 0;
}

static int
lookup (struct idpool *p, const char *id, uint32_t *base, moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  int rc, found = 0;
  if (sqlite3_prepare_v2 (p->db,
                          "SELECT base FROM runtime_id_ranges"
                          " WHERE container_id = ?",
                          -1, &st, NULL)
      != SQLITE_OK)
    return db_error (p, err, "prepare lookup");
  sqlite3_bind_text (st, 1, id, -1, SQLITE_STATIC);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    {
      *base = (uint32_t)sqlite3_column_int64 (st, 0);
      found = 1;
    }
  else if (rc != SQLITE_DONE)
    found = db_error (p, err, "lookup range");
  sqlite3_finalize (st);
  return found;
}

/* Lowest free slot, or ENOSPC.  Rows outside the configured pool (the pool
 * was moved) do not block slots inside it. */
static int
first_free (struct idpool *p, uint32_t *base, moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  uint64_t next = p->cfg.start;
  uint64_t end = (uint64_t)p->cfg.start + p->cfg.count;
  int rc;

  if (sqlite3_prepare_v2 (p->db,
                          "SELECT base, size FROM runtime_id_ranges"
                          " ORDER BY base",
                          -1, &st, NULL)
      != SQLITE_OK)
    return db_error (p, err, "prepare scan");
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      uint64_t b = (uint64_t)sqlite3_column_int64 (st, 0);
      uint64_t s = (uint64_t)sqlite3_column_int64 (st, 1);
      if (b + s <= next)
        continue;
      if (b >= next + p->cfg.size)
        break; /* the gap before this row fits a range */
      /* Overlaps the candidate: next candidate slot after this row. */
      next = b + s;
      if ((next - p->cfg.start) % p->cfg.size != 0)
        next += p->cfg.size - (next - p->cfg.start) % p->cfg.size;
    }
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    {
      sqlite3_finalize (st);
      return db_error (p, err, "scan ranges");
    }
  sqlite3_finalize (st);
  if (next + p->cfg.size > end)
    return moat_error (err, ENOSPC,
                       "id pool exhausted: every range of %" PRIu32
                       " ids in %" PRIu32 "-%" PRIu64
                       " is in use; delete containers or enlarge the `moat`"
                       " entry in /etc/subuid and /etc/subgid",
                       p->cfg.size, p->cfg.start, end - 1);
  *base = (uint32_t)next;
  return 0;
}

int
idpool_alloc (struct idpool *p, const char *container_id, uint32_t *base,
              moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  int found;

  if (container_id == NULL || *container_id == '\0')
    return moat_error (err, EINVAL, "empty container id");
  if (begin (p, err) < 0)
    return moat_error_wrap (err, "reserve id range");
  found = lookup (p, container_id, base, err);
  if (found != 0)
    goto done;
  if (first_free (p, base, err) < 0)
    goto fail;
  if (sqlite3_prepare_v2 (p->db,
                          "INSERT INTO runtime_id_ranges"
                          " (container_id, base, size, created_at)"
                          " VALUES (?, ?, ?, ?)",
                          -1, &st, NULL)
      != SQLITE_OK)
    {
      db_error (p, err, "prepare insert");
      goto fail;
    }
  sqlite3_bind_text (st, 1, container_id, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 2, *base);
  sqlite3_bind_int64 (st, 3, p->cfg.size);
  sqlite3_bind_int64 (st, 4, (sqlite3_int64)time (NULL));
  if (sqlite3_step (st) != SQLITE_DONE)
    {
      db_error (p, err, "insert range");
      sqlite3_finalize (st);
      goto fail;
    }
  sqlite3_finalize (st);
done:
  if (found < 0)
    goto fail;
  if (exec_sql (p, "COMMIT", err) < 0)
    goto fail;
  return 0;
fail:
  exec_sql (p, "ROLLBACK", NULL);
  return moat_error_wrap (err, "reserve id range for `%s`", container_id);
}

int
idpool_release (struct idpool *p, const char *container_id, int *released,
                moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  if (begin (p, err) < 0)
    return moat_error_wrap (err, "release id range");
  if (sqlite3_prepare_v2 (p->db,
                          "DELETE FROM runtime_id_ranges"
                          " WHERE container_id = ?",
                          -1, &st, NULL)
      != SQLITE_OK)
    {
      db_error (p, err, "prepare delete");
      goto fail;
    }
  sqlite3_bind_text (st, 1, container_id, -1, SQLITE_STATIC);
  if (sqlite3_step (st) != SQLITE_DONE)
    {
      db_error (p, err, "delete range");
      sqlite3_finalize (st);
      goto fail;
    }
  sqlite3_finalize (st);
  if (released != NULL)
    *released = sqlite3_changes (p->db) > 0;
  if (exec_sql (p, "COMMIT", err) < 0)
    goto fail;
  return 0;
fail:
  exec_sql (p, "ROLLBACK", NULL);
  return moat_error_wrap (err, "release id range of `%s`", container_id);
}

void
idpool_entries_free (struct idpool_entry *e, size_t n)
{
  for (size_t i = 0; e != NULL && i < n; i++)
    free (e[i].container_id);
  free (e);
}

int
idpool_list (struct idpool *p, struct idpool_entry **out, size_t *n,
             moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  struct idpool_entry *v = NULL;
  size_t len = 0, cap = 0;
  int rc;

  if (begin (p, err) < 0)
    return moat_error_wrap (err, "list id ranges");
  if (sqlite3_prepare_v2 (p->db,
                          "SELECT container_id, base, size"
                          " FROM runtime_id_ranges ORDER BY base",
                          -1, &st, NULL)
      != SQLITE_OK)
    {
      db_error (p, err, "prepare list");
      goto fail;
    }
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      if (len == cap)
        {
          size_t ncap = cap ? cap * 2 : 8;
          struct idpool_entry *nv = realloc (v, ncap * sizeof *nv);
          if (nv == NULL)
            {
              moat_error (err, ENOMEM, "list id ranges");
              goto fail;
            }
          v = nv;
          cap = ncap;
        }
      v[len].container_id = strdup ((const char *)sqlite3_column_text (st, 0));
      v[len].base = (uint32_t)sqlite3_column_int64 (st, 1);
      v[len].size = (uint32_t)sqlite3_column_int64 (st, 2);
      if (v[len++].container_id == NULL)
        {
          moat_error (err, ENOMEM, "list id ranges");
          goto fail;
        }
    }
  if (rc != SQLITE_DONE)
    {
      db_error (p, err, "list id ranges");
      goto fail;
    }
  sqlite3_finalize (st);
  exec_sql (p, "COMMIT", NULL);
  *out = v;
  *n = len;
  return 0;
fail:
  sqlite3_finalize (st);
  exec_sql (p, "ROLLBACK", NULL);
  idpool_entries_free (v, len);
  return -1;
}

int
subid_lookup (const char *path, const char *name, uint32_t *start,
              uint32_t *count, moat_error_t *err)
{
  cleanup_file FILE *f = fopen (path, "re");
  char line[512];
  size_t nlen = strlen (name);

  if (f == NULL)
    {
      if (errno == ENOENT)
        return 1;
      return moat_error (err, errno, "open `%s`", path);
    }
  while (fgets (line, sizeof line, f) != NULL)
    {
      unsigned long long s, c;
      char *end;
      if (strncmp (line, name, nlen) != 0 || line[nlen] != ':')
        continue;
      errno = 0;
      s = strtoull (line + nlen + 1, &end, 10);
      if (errno != 0 || *end != ':')
        return moat_error (err, EINVAL, "`%s`: bad entry for `%s`", path,
                           name);
      c = strtoull (end + 1, &end, 10);
      if (errno != 0 || (*end != '\n' && *end != '\0') || s + c > UINT32_MAX
          || c == 0)
        return moat_error (err, EINVAL, "`%s`: bad entry for `%s`", path,
                           name);
      *start = (uint32_t)s;
      *count = (uint32_t)c;
      return 0;
    }
  return 1;
}

int
subid_ensure (const char *path, const char *name, uint32_t def_start,
              uint32_t def_count, uint32_t *start, uint32_t *count,
              moat_error_t *err)
{
  cleanup_close int fd = -1;
  char line[128];
  int n, r;

  /* Serialise first-time creation between concurrent moat-runc processes. */
  fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return moat_error (err, errno, "open `%s`", path);
  if (flock (fd, LOCK_EX) < 0)
    return moat_error (err, errno, "lock `%s`", path);
  r = subid_lookup (path, name, start, count, err);
  if (r <= 0)
    return r;
  n = snprintf (line, sizeof line, "%s:%" PRIu32 ":%" PRIu32 "\n", name,
                def_start, def_count);
  if (n < 0 || (size_t)n >= sizeof line)
    return moat_error (err, EINVAL, "subid entry too long");
  if (write (fd, line, (size_t)n) != n)
    return moat_error (err, errno, "append to `%s`", path);
  *start = def_start;
  *count = def_count;
  return 0;
}
