/* SQLite implementation of the id-range allocator (see idpool.h). */
#include "idpool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"

/* WAL pages after which a commit checkpoints (idpool_open). */
#define IDPOOL_WAL_PAGES 100

struct idpool
{
  sqlite3 *db; /* the root's state.db, the registry attached as `reg` */
  struct idpool_config cfg;
  char *db_path; /* real path of state.db, recorded in the registry */
  dev_t dev;     /* with ino: this root's identity in the registry */
  ino_t ino;
  sqlite3_int64 root_id; /* its row in reg.id_roots, set by begin () */
};

/* One interval [lo, hi) of ids that a candidate slot must not overlap,
 * in uid space. */
struct span
{
  int64_t lo, hi;
};

/* The state store's migration 2 owns this table; moat-runc still creates
 * it on demand (same definition) so that it works on a state database that
 * moatd has not opened yet. */
static const char schema[] = "CREATE TABLE IF NOT EXISTS runtime_id_ranges ("
                             " container_id TEXT PRIMARY KEY NOT NULL,"
                             " base INTEGER NOT NULL UNIQUE,"
                             " size INTEGER NOT NULL,"
                             " created_at INTEGER NOT NULL)";

/* The host-wide registry (idpool.h): one row per root, one claim per
 * range. */
static const char reg_schema[] = "CREATE TABLE IF NOT EXISTS reg.id_roots ("
                                 " id INTEGER PRIMARY KEY,"
                                 " db_path TEXT NOT NULL,"
                                 " dev INTEGER NOT NULL,"
                                 " ino INTEGER NOT NULL,"
                                 " uid_start INTEGER NOT NULL,"
                                 " gid_start INTEGER NOT NULL,"
                                 " count INTEGER NOT NULL,"
                                 " seen_at INTEGER NOT NULL,"
                                 " UNIQUE (dev, ino));"
                                 "CREATE TABLE IF NOT EXISTS reg.id_claims ("
                                 " root INTEGER NOT NULL,"
                                 " key TEXT NOT NULL,"
                                 " uid_base INTEGER NOT NULL,"
                                 " gid_base INTEGER NOT NULL,"
                                 " size INTEGER NOT NULL,"
                                 " created_at INTEGER NOT NULL,"
                                 " PRIMARY KEY (root, key))";

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
use_wal (struct idpool *p, const char *schema_name, moat_error_t *err)
{
  char sql[64];
  snprintf (sql, sizeof sql, "PRAGMA %s.journal_mode=WAL", schema_name);
  for (int attempt = 0;; attempt++)
    {
      sqlite3_stmt *st = NULL;
      int rc = sqlite3_prepare_v2 (p->db, sql, -1, &st, NULL);
      if (rc == SQLITE_OK)
        rc = sqlite3_step (st);
      sqlite3_finalize (st);
      if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        break;
      if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || attempt >= 200)
        return db_error (p, err, "set journal mode");
      usleep (5000);
    }
  snprintf (sql, sizeof sql, "PRAGMA %s.synchronous=NORMAL", schema_name);
  return exec_sql (p, sql, err);
}

/* Owned by root (or by us: unit tests as a user) and not writable by
 * group or others: nobody else can replace or edit it. */
static int
trusted_stat (const struct stat *st, const char *path, moat_error_t *err)
{
  if (st->st_uid != 0 && st->st_uid != geteuid ())
    return moat_error (err, EPERM, "id registry: `%s` is not owned by root",
                       path);
  if ((st->st_mode & 022) != 0)
    return moat_error (
        err, EPERM, "id registry: `%s` is writable by group or others", path);
  return 0;
}

/* Check the registry's directory and file before SQLite opens them by
 * name: the directory is a real one nobody but root can write to, the
 * file no link.  SQLite's -wal and -shm files sit in the same
 * directory. */
static int
registry_check (const char *path, moat_error_t *err)
{
  char dir[PATH_MAX];
  cleanup_close int fd = -1;
  char *slash;
  struct stat st;

  if (strlen (path) >= sizeof dir)
    return moat_error (err, ENAMETOOLONG, "id registry");
  strcpy (dir, path);
  slash = strrchr (dir, '/');
  if (slash == NULL || path[0] != '/')
    return moat_error (err, EINVAL, "id registry: `%s` is not absolute", path);
  *slash = '\0';
  if (strcmp (path, IDPOOL_REGISTRY) == 0 && mkdir (dir, 0700) < 0
      && errno != EEXIST)
    return moat_error (err, errno, "id registry: create `%s`", dir);
  if (lstat (*dir ? dir : "/", &st) < 0)
    return moat_error (err, errno, "id registry: `%s`", dir);
  if (!S_ISDIR (st.st_mode))
    return moat_error (err, ENOTDIR, "id registry: `%s` is not a directory",
                       dir);
  if (trusted_stat (&st, dir, err) < 0)
    return -1;
  fd = open (path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return moat_error (err, errno, "id registry: open `%s`", path);
  if (fstat (fd, &st) < 0)
    return moat_error (err, errno, "id registry: `%s`", path);
  if (!S_ISREG (st.st_mode))
    return moat_error (err, EINVAL, "id registry: `%s` is not a file", path);
  return trusted_stat (&st, path, err);
}

static int
attach_registry (struct idpool *p, const char *path, moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  struct stat sb;
  int rc;

  if (registry_check (path, err) < 0)
    return -1;
  if (sqlite3_prepare_v2 (p->db, "ATTACH DATABASE ?1 AS reg", -1, &st, NULL)
      != SQLITE_OK)
    return db_error (p, err, "prepare attach");
  sqlite3_bind_text (st, 1, path, -1, SQLITE_STATIC);
  rc = sqlite3_step (st);
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return db_error (p, err, "attach id registry");
  if (use_wal (p, "reg", err) < 0)
    return moat_error_wrap (err, "id registry `%s`", path);
  if (stat (p->db_path, &sb) < 0)
    return moat_error (err, errno, "state db `%s`", p->db_path);
  p->dev = sb.st_dev;
  p->ino = sb.st_ino;
  return 0;
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
  if (end > UINT32_MAX
      || (uint64_t)(cfg->gid_start ? cfg->gid_start : cfg->start) + cfg->count
             > UINT32_MAX)
    return moat_error (err, EINVAL, "id pool ends past the 32-bit id space");

  p = calloc (1, sizeof *p);
  if (p == NULL)
    return moat_error (err, ENOMEM, "allocate id pool");
  p->cfg = *cfg;
  if (p->cfg.gid_start == 0)
    p->cfg.gid_start = p->cfg.start;
  p->cfg.registry = NULL; /* not owned; only used here */
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
  /* Each moat-runc call is a short-lived connection, most often the
   * last one on both databases: by default its close would checkpoint
   * and delete both WALs (two fdatasyncs each, and one of the directory
   * when the next call makes the WAL anew), 20-50 ms a call on a busy
   * disk.  The WAL (and its index, -shm) stay instead, and a commit
   * checkpoints once the WAL passes IDPOOL_WAL_PAGES pages, so that the
   * next opener rebuilds at most that much index.  Durability is the
   * same as synchronous=NORMAL's (use_wal): a commit survives a crash
   * of the process at once, of the machine from the next checkpoint
   * on. */
  if (sqlite3_db_config (p->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL)
          != SQLITE_OK
      || sqlite3_wal_autocheckpoint (p->db, IDPOOL_WAL_PAGES) != SQLITE_OK)
    {
      db_error (p, err, "configure state db");
      idpool_close (p);
      return moat_error_wrap (err, "open state db `%s`", db_path);
    }
  if (use_wal (p, "main", err) < 0)
    {
      idpool_close (p);
      return moat_error_wrap (err, "open state db `%s`", db_path);
    }
  p->db_path = realpath (db_path, NULL);
  if (p->db_path == NULL)
    {
      moat_error (err, errno, "state db `%s`", db_path);
      idpool_close (p);
      return -1;
    }
  if (attach_registry (p, cfg->registry ? cfg->registry : IDPOOL_REGISTRY, err)
      < 0)
    {
      idpool_close (p);
      return -1;
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
  free (p->db_path);
  free (p);
}

/* Record this root (path, pool) in the registry; sets p->root_id.  A
 * root recorded as it is is not written again (seen_at: when its record
 * last changed), so that a call that changes nothing writes nothing. */
/* ?1..?6 of a statement on reg.id_roots: this root as it is now */
static void
bind_root (sqlite3_stmt *st, const struct idpool *p)
{
  sqlite3_bind_text (st, 1, p->db_path, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64)p->dev);
  sqlite3_bind_int64 (st, 3, (sqlite3_int64)p->ino);
  sqlite3_bind_int64 (st, 4, p->cfg.start);
  sqlite3_bind_int64 (st, 5, p->cfg.gid_start);
  sqlite3_bind_int64 (st, 6, p->cfg.count);
}

static int
register_root (struct idpool *p, moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  int rc;
  if (sqlite3_prepare_v2 (p->db,
                          "SELECT id FROM reg.id_roots WHERE dev = ?2 AND"
                          " ino = ?3 AND db_path = ?1 AND uid_start = ?4 AND"
                          " gid_start = ?5 AND count = ?6",
                          -1, &st, NULL)
      != SQLITE_OK)
    return db_error (p, err, "prepare look up root");
  bind_root (st, p);
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    p->root_id = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  st = NULL;
  if (rc == SQLITE_ROW)
    return 0;
  if (rc != SQLITE_DONE)
    return db_error (p, err, "look up root");
  if (sqlite3_prepare_v2 (
          p->db,
          "INSERT INTO reg.id_roots (db_path, dev, ino, uid_start,"
          " gid_start, count, seen_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
          " ON CONFLICT (dev, ino) DO UPDATE SET db_path = excluded.db_path,"
          " uid_start = excluded.uid_start, gid_start = excluded.gid_start,"
          " count = excluded.count, seen_at = excluded.seen_at"
          " RETURNING id",
          -1, &st, NULL)
      != SQLITE_OK)
    return db_error (p, err, "prepare register root");
  bind_root (st, p);
  sqlite3_bind_int64 (st, 7, (sqlite3_int64)time (NULL));
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    p->root_id = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  if (rc != SQLITE_ROW)
    return db_error (p, err, "register root");
  return 0;
}

/* Is the root whose state db was at `path` (dev, ino) still there? */
static int
root_live_p (const char *path, sqlite3_int64 dev, sqlite3_int64 ino)
{
  struct stat st;
  if (stat (path, &st) < 0)
    return !(errno == ENOENT || errno == ENOTDIR);
  return (sqlite3_int64)st.st_dev == dev && (sqlite3_int64)st.st_ino == ino;
}

static int
run_id (struct idpool *p, const char *sql, sqlite3_int64 id, moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  int rc;
  if (sqlite3_prepare_v2 (p->db, sql, -1, &st, NULL) != SQLITE_OK)
    return db_error (p, err, "prepare registry update");
  sqlite3_bind_int64 (st, 1, id);
  rc = sqlite3_step (st);
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return db_error (p, err, "registry update");
  return 0;
}

/* Drop the rows and claims of roots whose state db is gone. */
static int
drop_dead_roots (struct idpool *p, moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  sqlite3_int64 dead[64];
  size_t nd = 0;
  int rc;

  if (sqlite3_prepare_v2 (p->db,
                          "SELECT id, db_path, dev, ino FROM reg.id_roots"
                          " WHERE id != ?1",
                          -1, &st, NULL)
      != SQLITE_OK)
    return db_error (p, err, "prepare scan roots");
  sqlite3_bind_int64 (st, 1, p->root_id);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW && nd < 64)
    if (!root_live_p ((const char *)sqlite3_column_text (st, 1),
                      sqlite3_column_int64 (st, 2),
                      sqlite3_column_int64 (st, 3)))
      dead[nd++] = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return db_error (p, err, "scan roots");
  /* at most 64 a call: the rest go on the next one */
  for (size_t i = 0; i < nd; i++)
    if (run_id (p, "DELETE FROM reg.id_claims WHERE root = ?1", dead[i], err)
            < 0
        || run_id (p, "DELETE FROM reg.id_roots WHERE id = ?1", dead[i], err)
               < 0)
      return -1;
  return 0;
}

/* This root's claims = its rows: drop claims without a row or that
 * differ from it (a crash between the two commits, a reused inode, a row
 * moved off another root's claim, a moved pool), add the rows without a claim
 * (made before the registry existed, or the registry was deleted). */
static int
sync_claims (struct idpool *p, moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  int rc;
  if (sqlite3_prepare_v2 (
          p->db,
          "DELETE FROM reg.id_claims WHERE root = ?1 AND NOT EXISTS"
          " (SELECT 1 FROM main.runtime_id_ranges m WHERE m.container_id ="
          " key AND m.base = uid_base AND m.size = size"
          " AND ?2 + (m.base - ?3) = gid_base)",
          -1, &st, NULL)
      != SQLITE_OK)
    return db_error (p, err, "prepare sync claims");
  sqlite3_bind_int64 (st, 1, p->root_id);
  sqlite3_bind_int64 (st, 2, p->cfg.gid_start);
  sqlite3_bind_int64 (st, 3, p->cfg.start);
  rc = sqlite3_step (st);
  sqlite3_finalize (st);
  st = NULL;
  if (rc != SQLITE_DONE)
    return db_error (p, err, "sync claims");
  if (sqlite3_prepare_v2 (
          p->db,
          "INSERT OR IGNORE INTO reg.id_claims (root, key, uid_base,"
          " gid_base, size, created_at) SELECT ?1, container_id, base,"
          " ?2 + (base - ?3), size, created_at FROM main.runtime_id_ranges",
          -1, &st, NULL)
      != SQLITE_OK)
    return db_error (p, err, "prepare sync claims");
  sqlite3_bind_int64 (st, 1, p->root_id);
  sqlite3_bind_int64 (st, 2, p->cfg.gid_start);
  sqlite3_bind_int64 (st, 3, p->cfg.start);
  rc = sqlite3_step (st);
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return db_error (p, err, "sync claims");
  return 0;
}

static int
begin (struct idpool *p, moat_error_t *err)
{
  /* IMMEDIATE takes the write lock now, on the state db and the registry
   * (attached databases are locked in order: main, then reg, in every
   * process, so two roots cannot deadlock): two allocators cannot both
   * read the same free slot and then both insert it. */
  if (exec_sql (p, "BEGIN IMMEDIATE", err) < 0)
    return -1;
  if (exec_sql (p, schema, err) < 0 || exec_sql (p, reg_schema, err) < 0
      || register_root (p, err) < 0)
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

/* v (len used of *cap elements of size elem) with room for one more:
 * v itself, or a larger copy (capacity doubling from first).  NULL when
 * out of memory (v is then unchanged). */
static void *
grow (void *v, size_t len, size_t *cap, size_t elem, size_t first)
{
  if (len < *cap)
    return v;
  size_t ncap = *cap ? *cap * 2 : first;
  void *nv = realloc (v, ncap * elem);
  if (nv != NULL)
    *cap = ncap;
  return nv;
}

static int
add_span (struct span **v, size_t *n, size_t *cap, int64_t lo, int64_t hi)
{
  struct span *nv = grow (*v, *n, cap, sizeof *nv, 32);
  if (nv == NULL)
    return -1;
  *v = nv;
  (*v)[(*n)++] = (struct span){ lo, hi };
  return 0;
}

/* Every interval a slot must not overlap, in uid space: this root's rows,
 * other live roots' uid claims, and their gid claims moved into uid space
 * (a slot's gids are gid_start + (base - start)). */
static int
blocked_spans (struct idpool *p, struct span **out, size_t *n,
               moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  struct span *v = NULL;
  size_t cap = 0;
  int64_t shift = (int64_t)p->cfg.start - (int64_t)p->cfg.gid_start;
  int rc;

  *n = 0;
  if (sqlite3_prepare_v2 (p->db,
                          "SELECT base, size, 0 FROM main.runtime_id_ranges"
                          " UNION ALL SELECT uid_base, size, gid_base"
                          " FROM reg.id_claims WHERE root != ?1",
                          -1, &st, NULL)
      != SQLITE_OK)
    return db_error (p, err, "prepare scan ranges");
  sqlite3_bind_int64 (st, 1, p->root_id);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      int64_t b = sqlite3_column_int64 (st, 0);
      int64_t sz = sqlite3_column_int64 (st, 1);
      int64_t g = sqlite3_column_int64 (st, 2);
      if (add_span (&v, n, &cap, b, b + sz) < 0
          || (g != 0 && add_span (&v, n, &cap, g + shift, g + shift + sz) < 0))
        {
          sqlite3_finalize (st);
          free (v);
          return moat_error (err, ENOMEM, "scan ranges");
        }
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    {
      free (v);
      return db_error (p, err, "scan ranges");
    }
  *out = v;
  return 0;
}

static int
overlaps_p (const struct span *v, size_t n, int64_t lo, int64_t hi)
{
  for (size_t i = 0; i < n; i++)
    if (v[i].lo < hi && lo < v[i].hi)
      return 1;
  return 0;
}

/* Lowest free slot, or ENOSPC.  Rows outside the configured pool (the pool
 * was moved) block only the slots they overlap. */
static int
first_free (struct idpool *p, uint32_t *base, moat_error_t *err)
{
  cleanup_free struct span *v = NULL;
  uint64_t end = (uint64_t)p->cfg.start + p->cfg.count;
  size_t n = 0;

  if (blocked_spans (p, &v, &n, err) < 0)
    return -1;
  for (uint64_t b = p->cfg.start; b + p->cfg.size <= end; b += p->cfg.size)
    if (!overlaps_p (v, n, (int64_t)b, (int64_t)(b + p->cfg.size)))
      {
        *base = (uint32_t)b;
        return 0;
      }
  return moat_error (err, ENOSPC,
                     "id pool exhausted: every range of %" PRIu32
                     " ids in %" PRIu32 "-%" PRIu64
                     " is in use (by this root or another root on this"
                     " host); delete containers or enlarge the `moat`"
                     " entry in /etc/subuid and /etc/subgid",
                     p->cfg.size, p->cfg.start, end - 1);
}

/* Does a claim of another root overlap the range at base (uids or gids)? */
static int
claimed_elsewhere (struct idpool *p, uint32_t base, moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  int64_t g = (int64_t)p->cfg.gid_start + ((int64_t)base - p->cfg.start);
  int rc;
  if (sqlite3_prepare_v2 (
          p->db,
          "SELECT 1 FROM reg.id_claims WHERE root != ?1 AND"
          " ((uid_base < ?2 + ?4 AND ?2 < uid_base + size)"
          " OR (gid_base < ?3 + ?4 AND ?3 < gid_base + size)) LIMIT 1",
          -1, &st, NULL)
      != SQLITE_OK)
    return db_error (p, err, "prepare claim check");
  sqlite3_bind_int64 (st, 1, p->root_id);
  sqlite3_bind_int64 (st, 2, base);
  sqlite3_bind_int64 (st, 3, g);
  sqlite3_bind_int64 (st, 4, p->cfg.size);
  rc = sqlite3_step (st);
  sqlite3_finalize (st);
  if (rc == SQLITE_ROW)
    return 1;
  if (rc != SQLITE_DONE)
    return db_error (p, err, "claim check");
  return 0;
}

static int
bind_key_run (struct idpool *p, const char *sql, const char *key,
              moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  int rc;
  if (sqlite3_prepare_v2 (p->db, sql, -1, &st, NULL) != SQLITE_OK)
    return db_error (p, err, "prepare");
  sqlite3_bind_text (st, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 2, p->root_id);
  rc = sqlite3_step (st);
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return db_error (p, err, "update ranges");
  return 0;
}

static const char del_row[]
    = "DELETE FROM main.runtime_id_ranges WHERE container_id = ?1";

static int
alloc (struct idpool *p, const char *container_id, int may_move,
       uint32_t *base, moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  int found;

  if (container_id == NULL || *container_id == '\0')
    return moat_error (err, EINVAL, "empty container id");
  if (begin (p, err) < 0)
    return moat_error_wrap (err, "reserve id range");
  if (drop_dead_roots (p, err) < 0)
    goto fail;
  found = lookup (p, container_id, base, err);
  if (found > 0)
    {
      /* A retried create keeps its range, unless another root claimed it
       * meanwhile (the registry was lost): then it takes a fresh one.  A
       * range a running container holds (a pod's) never moves: the
       * container would keep its ids without a row. */
      int other = may_move ? claimed_elsewhere (p, *base, err) : 0;
      if (other < 0)
        goto fail;
      if (other == 0)
        goto done;
      if (bind_key_run (p, del_row, container_id, err) < 0)
        goto fail;
      found = 0;
    }
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
  /* the claim of the new row (or of a row that lacked one) */
  if (sync_claims (p, err) < 0)
    goto fail;
  if (exec_sql (p, "COMMIT", err) < 0)
    goto fail;
  return 0;
fail:
  exec_sql (p, "ROLLBACK", NULL);
  return moat_error_wrap (err, "reserve id range for `%s`", container_id);
}

int
idpool_alloc (struct idpool *p, const char *container_id, uint32_t *base,
              moat_error_t *err)
{
  return alloc (p, container_id, 1, base, err);
}

int
idpool_alloc_held (struct idpool *p, const char *key, uint32_t *base,
                   moat_error_t *err)
{
  return alloc (p, key, 0, base, err);
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
  if (sync_claims (p, err) < 0)
    goto fail;
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
      struct idpool_entry *nv = grow (v, len, &cap, sizeof *nv, 8);
      if (nv == NULL)
        {
          moat_error (err, ENOMEM, "list id ranges");
          goto fail;
        }
      v = nv;
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
idpool_sync (struct idpool *p, moat_error_t *err)
{
  if (begin (p, err) < 0)
    return moat_error_wrap (err, "sync id claims");
  if (drop_dead_roots (p, err) < 0 || sync_claims (p, err) < 0
      || exec_sql (p, "COMMIT", err) < 0)
    {
      exec_sql (p, "ROLLBACK", NULL);
      return moat_error_wrap (err, "sync id claims");
    }
  return 0;
}

void
idpool_peers_free (struct idpool_peer *v, size_t n)
{
  for (size_t i = 0; v != NULL && i < n; i++)
    free (v[i].db_path);
  free (v);
}

int
idpool_peers (struct idpool *p, struct idpool_peer **out, size_t *n,
              moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  struct idpool_peer *v = NULL;
  size_t len = 0, cap = 0;
  int rc;

  *out = NULL;
  *n = 0;
  if (begin (p, err) < 0)
    return moat_error_wrap (err, "list pool peers");
  if (drop_dead_roots (p, err) < 0 || sync_claims (p, err) < 0)
    goto fail;
  /* ?2 uid start, ?3 gid start, ?4 count of this root */
  if (sqlite3_prepare_v2 (
          p->db,
          "SELECT * FROM (SELECT r.db_path, r.dev, r.ino, r.uid_start,"
          " r.gid_start, r.count,"
          " (SELECT count(*) FROM reg.id_claims c WHERE c.root = r.id),"
          " (SELECT count(*) FROM reg.id_claims c WHERE c.root = r.id AND"
          "  EXISTS (SELECT 1 FROM main.runtime_id_ranges m WHERE"
          "   (m.base < c.uid_base + c.size AND c.uid_base < m.base + m.size)"
          "   OR (?3 + m.base - ?2 < c.gid_base + c.size"
          "       AND c.gid_base < ?3 + m.base - ?2 + m.size))) AS conflicts,"
          " ((r.uid_start < ?2 + ?4 AND ?2 < r.uid_start + r.count)"
          "   OR (r.gid_start < ?3 + ?4 AND ?3 < r.gid_start + r.count))"
          "  AS pool_overlap"
          " FROM reg.id_roots r WHERE r.id != ?1)"
          " WHERE pool_overlap OR conflicts > 0 ORDER BY db_path",
          -1, &st, NULL)
      != SQLITE_OK)
    {
      db_error (p, err, "prepare peers");
      goto fail;
    }
  sqlite3_bind_int64 (st, 1, p->root_id);
  sqlite3_bind_int64 (st, 2, p->cfg.start);
  sqlite3_bind_int64 (st, 3, p->cfg.gid_start);
  sqlite3_bind_int64 (st, 4, p->cfg.count);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      const char *path = (const char *)sqlite3_column_text (st, 0);
      if (!root_live_p (path, sqlite3_column_int64 (st, 1),
                        sqlite3_column_int64 (st, 2)))
        continue;
      struct idpool_peer *nv = grow (v, len, &cap, sizeof *nv, 4);
      if (nv == NULL)
        {
          moat_error (err, ENOMEM, "list pool peers");
          goto fail;
        }
      v = nv;
      v[len] = (struct idpool_peer){
        .db_path = strdup (path),
        .uid_start = (uint32_t)sqlite3_column_int64 (st, 3),
        .gid_start = (uint32_t)sqlite3_column_int64 (st, 4),
        .count = (uint32_t)sqlite3_column_int64 (st, 5),
        .claims = (unsigned)sqlite3_column_int64 (st, 6),
        .conflicts = (unsigned)sqlite3_column_int64 (st, 7),
      };
      if (v[len++].db_path == NULL)
        {
          moat_error (err, ENOMEM, "list pool peers");
          goto fail;
        }
    }
  if (rc != SQLITE_DONE)
    {
      db_error (p, err, "list pool peers");
      goto fail;
    }
  sqlite3_finalize (st);
  if (exec_sql (p, "COMMIT", err) < 0)
    {
      idpool_peers_free (v, len);
      return moat_error_wrap (err, "list pool peers");
    }
  *out = v;
  *n = len;
  return 0;
fail:
  sqlite3_finalize (st);
  exec_sql (p, "ROLLBACK", NULL);
  idpool_peers_free (v, len);
  return moat_error_wrap (err, "list pool peers");
}

int
idpool_pick_start (const char *registry, const char *self_db,
                   uint32_t def_start, uint32_t count, uint32_t *start,
                   moat_error_t *err)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  cleanup_free struct span *v = NULL;
  size_t n = 0, cap = 0;
  struct stat self, rs;
  int have_self, rc;

  (void)err; /* a registry that cannot be read leaves the default */
  *start = def_start;
  if (registry == NULL)
    registry = IDPOOL_REGISTRY;
  if (count == 0 || lstat (registry, &rs) < 0 || !S_ISREG (rs.st_mode))
    return 0;
  have_self = stat (self_db, &self) == 0;
  if (sqlite3_open_v2 (registry, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    goto out;
  sqlite3_busy_timeout (db, 10000);
  if (sqlite3_prepare_v2 (db,
                          "SELECT db_path, dev, ino, uid_start, gid_start,"
                          " count FROM id_roots",
                          -1, &st, NULL)
      != SQLITE_OK)
    goto out;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      sqlite3_int64 dev = sqlite3_column_int64 (st, 1);
      sqlite3_int64 ino = sqlite3_column_int64 (st, 2);
      int64_t c = sqlite3_column_int64 (st, 5);
      int64_t u = sqlite3_column_int64 (st, 3);
      int64_t g = sqlite3_column_int64 (st, 4);
      if (have_self && (sqlite3_int64)self.st_dev == dev
          && (sqlite3_int64)self.st_ino == ino)
        continue;
      if (!root_live_p ((const char *)sqlite3_column_text (st, 0), dev, ino))
        continue;
      if (add_span (&v, &n, &cap, u, u + c) < 0
          || add_span (&v, &n, &cap, g, g + c) < 0)
        goto out;
    }
  if (rc != SQLITE_DONE)
    goto out;
  for (uint64_t s = def_start; s + count <= UINT32_MAX; s += count)
    if (!overlaps_p (v, n, (int64_t)s, (int64_t)(s + count)))
      {
        *start = (uint32_t)s;
        break;
      }
out:
  sqlite3_finalize (st);
  sqlite3_close (db);
  return 0;
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
