#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "schema.h"

struct moat_state
{
  sqlite3 *db;
};

static int
sql_error (moat_error_t *err, sqlite3 *db, const char *what)
{
  return moat_error (err, EIO, "%s: %s", what, sqlite3_errmsg (db));
}

static int
exec_sql (sqlite3 *db, const char *sql, moat_error_t *err)
{
  char *msg = NULL;
  if (sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      moat_error (err, EIO, "%s", msg != NULL ? msg : sqlite3_errmsg (db));
      sqlite3_free (msg);
      return -1;
    }
  return 0;
}

static int
pragma_int (sqlite3 *db, const char *sql, int *out, moat_error_t *err)
{
  sqlite3_stmt *stmt = NULL;
  int rc;
  if (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL) != SQLITE_OK)
    return sql_error (err, db, sql);
  rc = sqlite3_step (stmt);
  if (rc != SQLITE_ROW)
    {
      sqlite3_finalize (stmt);
      return sql_error (err, db, sql);
    }
  *out = sqlite3_column_int (stmt, 0);
  sqlite3_finalize (stmt);
  return 0;
}

/* quick_check walks every page like integrity_check but skips the costly
 * index-content comparison; it catches the torn or truncated files a crash
 * or a bad disk produce. */
static int
check_integrity (sqlite3 *db, const char *path, moat_error_t *err)
{
  sqlite3_stmt *stmt = NULL;
  const char *res;
  int ret = 0;

  if (sqlite3_prepare_v2 (db, "PRAGMA quick_check", -1, &stmt, NULL)
      != SQLITE_OK)
    return sql_error (err, db, "integrity check");
  if (sqlite3_step (stmt) != SQLITE_ROW)
    ret = sql_error (err, db, "integrity check");
  else
    {
      res = (const char *)sqlite3_column_text (stmt, 0);
      if (res == NULL || strcmp (res, "ok") != 0)
        ret = moat_error (err, EIO,
                          "state database `%s` failed its integrity check "
                          "(%s); restore it from a backup or move it away",
                          path, res != NULL ? res : "no result");
    }
  sqlite3_finalize (stmt);
  return ret;
}

static int
migrate (struct moat_state *st, const char *path, moat_error_t *err)
{
  int version;
  size_t latest = schema_n_migrations ();

  if (state_begin (st, err) < 0)
    return -1;
  if (pragma_int (st->db, "PRAGMA user_version", &version, err) < 0)
    goto fail;
  if (version < 0 || (size_t)version > latest)
    {
      moat_error (err, EPROTO,
                  "state database `%s` has schema version %d; this moat "
                  "knows up to %zu (was it written by a newer moat?)",
                  path, version, latest);
      goto fail;
    }
  for (size_t i = (size_t)version; i < latest; i++)
    {
      char pragma[64];
      if (exec_sql (st->db, schema_migration (i), err) < 0)
        {
          moat_error_wrap (err, "migrate state to version %zu", i + 1);
          goto fail;
        }
      snprintf (pragma, sizeof pragma, "PRAGMA user_version = %zu", i + 1);
      if (exec_sql (st->db, pragma, err) < 0)
        goto fail;
    }
  return state_commit (st, err);
fail:
  state_rollback (st);
  return -1;
}

int
state_open (const char *path, struct moat_state **out, moat_error_t *err)
{
  cleanup_free char *dir = strdup (path);
  struct moat_state *st;
  int fd;

  if (dir == NULL)
    return moat_error (err, ENOMEM, "open state");
  if (fs_mkdir_p (dirname (dir), 0700, err) < 0)
    return moat_error_wrap (err, "open state `%s`", path);
  /* Create the file ourselves so its mode is 0600 whatever the umask. */
  fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return moat_error (err, errno, "open state `%s`", path);
  close (fd);

  st = calloc (1, sizeof *st);
  if (st == NULL)
    return moat_error (err, ENOMEM, "open state");
  if (sqlite3_open_v2 (path, &st->db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
                           | SQLITE_OPEN_NOFOLLOW,
                       NULL)
      != SQLITE_OK)
    {
      moat_error (err, EIO, "open state `%s`: %s", path,
                  st->db != NULL ? sqlite3_errmsg (st->db) : "no memory");
      state_close (st);
      return -1;
    }
  sqlite3_busy_timeout (st->db, 5000);
  if (check_integrity (st->db, path, err) < 0
      || exec_sql (st->db,
                   "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                   "PRAGMA foreign_keys = ON;",
                   err)
             < 0
      || migrate (st, path, err) < 0)
    {
      state_close (st);
      return -1;
    }
  *out = st;
  return 0;
}

void
state_close (struct moat_state *st)
{
  if (st == NULL)
    return;
  sqlite3_close_v2 (st->db);
  free (st);
}

int
state_schema_latest (void)
{
  return (int)schema_n_migrations ();
}

int
state_schema_version (struct moat_state *st)
{
  int v = -1;
  moat_error_t err = NULL;
  if (pragma_int (st->db, "PRAGMA user_version", &v, &err) < 0)
    moat_error_release (&err);
  return v;
}

sqlite3 *
state_db (struct moat_state *st)
{
  return st->db;
}

int
state_begin (struct moat_state *st, moat_error_t *err)
{
  return exec_sql (st->db, "BEGIN IMMEDIATE", err);
}

int
state_commit (struct moat_state *st, moat_error_t *err)
{
  return exec_sql (st->db, "COMMIT", err);
}

void
state_rollback (struct moat_state *st)
{
  moat_error_t err = NULL;
  if (!sqlite3_get_autocommit (st->db)
      && exec_sql (st->db, "ROLLBACK", &err) < 0)
    moat_error_release (&err);
}

static int64_t
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
state_overrides_load (struct moat_state *st, json_t **out, moat_error_t *err)
{
  sqlite3_stmt *stmt = NULL;
  json_t *obj = json_object ();
  int rc;

  if (obj == NULL)
    return moat_error (err, ENOMEM, "load overrides");
  if (sqlite3_prepare_v2 (st->db,
                          "SELECT key, value_json FROM settings_override", -1,
                          &stmt, NULL)
      != SQLITE_OK)
    {
      json_decref (obj);
      return sql_error (err, st->db, "load overrides");
    }
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      const char *key = (const char *)sqlite3_column_text (stmt, 0);
      const char *val = (const char *)sqlite3_column_text (stmt, 1);
      json_t *v = val != NULL ? json_loads (val, JSON_DECODE_ANY, NULL) : NULL;
      if (key == NULL || v == NULL)
        {
          json_decref (v);
          continue; /* unreadable rows are ignored: defaults apply */
        }
      json_object_set_new (obj, key, v);
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      json_decref (obj);
      return sql_error (err, st->db, "load overrides");
    }
  *out = obj;
  return 0;
}

int
state_overrides_read (const char *path, json_t **out, moat_error_t *err)
{
  struct moat_state st = { NULL };
  int version, ret;

  *out = NULL;
  if (access (path, F_OK) < 0)
    {
      if (errno != ENOENT)
        return moat_error (err, errno, "state `%s`", path);
      *out = json_object ();
      return *out != NULL ? 1 : moat_error (err, ENOMEM, "load overrides");
    }
  if (sqlite3_open_v2 (path, &st.db,
                       SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX
                           | SQLITE_OPEN_NOFOLLOW,
                       NULL)
      != SQLITE_OK)
    {
      moat_error (err, EIO, "open state `%s`: %s", path,
                  st.db != NULL ? sqlite3_errmsg (st.db) : "no memory");
      sqlite3_close (st.db);
      return -1;
    }
  sqlite3_busy_timeout (st.db, 5000);
  ret = pragma_int (st.db, "PRAGMA user_version", &version, err);
  if (ret == 0 && (version < 0 || (size_t)version > schema_n_migrations ()))
    ret = moat_error (err, EPROTO,
                      "state database `%s` has schema version %d; this moat "
                      "knows up to %zu (was it written by a newer moat?)",
                      path, version, schema_n_migrations ());
  else if (ret == 0 && version == 0)
    {
      /* created, never migrated: no overrides yet */
      *out = json_object ();
      ret = *out != NULL ? 0 : moat_error (err, ENOMEM, "load overrides");
    }
  else if (ret == 0)
    ret = state_overrides_load (&st, out, err);
  sqlite3_close (st.db);
  return ret;
}

int
state_override_set (struct moat_state *st, const char *key, json_t *value,
                    uid_t by_uid, moat_error_t *err)
{
  sqlite3_stmt *stmt = NULL;
  cleanup_free char *text = json_dumps (value, JSON_ENCODE_ANY | JSON_COMPACT);
  int rc;

  if (text == NULL)
    return moat_error (err, ENOMEM, "store override");
  if (sqlite3_prepare_v2 (
          st->db,
          "INSERT INTO settings_override(key, value_json, set_by_uid, "
          "set_at_ms) VALUES(?1, ?2, ?3, ?4) ON CONFLICT(key) DO UPDATE SET "
          "value_json = excluded.value_json, set_by_uid = excluded.set_by_uid,"
          " set_at_ms = excluded.set_at_ms",
          -1, &stmt, NULL)
      != SQLITE_OK)
    return sql_error (err, st->db, "store override");
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, text, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 3, (sqlite3_int64)by_uid);
  sqlite3_bind_int64 (stmt, 4, now_ms ());
  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return sql_error (err, st->db, "store override");
  return 0;
}

int
state_audit_append (struct moat_state *st, struct audit_record *r,
                    moat_error_t *err)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  if (r->time_ms == 0)
    r->time_ms = now_ms ();
  if (sqlite3_prepare_v2 (
          st->db,
          "INSERT INTO audit(time_ms, component, caller_uid, caller_pid, "
          "endpoint, container, rule, outcome, detail) "
          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
          -1, &stmt, NULL)
      != SQLITE_OK)
    return sql_error (err, st->db, "append audit record");
  sqlite3_bind_int64 (stmt, 1, r->time_ms);
  sqlite3_bind_text (stmt, 2, r->component ? r->component : "", -1,
                     SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 3, r->caller_uid);
  sqlite3_bind_int64 (stmt, 4, r->caller_pid);
  sqlite3_bind_text (stmt, 5, r->endpoint ? r->endpoint : "", -1,
                     SQLITE_TRANSIENT);
  if (r->container != NULL)
    sqlite3_bind_text (stmt, 6, r->container, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, 6);
  sqlite3_bind_text (stmt, 7, r->rule ? r->rule : "", -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 8, r->outcome ? r->outcome : "", -1,
                     SQLITE_TRANSIENT);
  if (r->detail != NULL)
    sqlite3_bind_text (stmt, 9, r->detail, -1, SQLITE_TRANSIENT);
  else
    sqlite3_bind_null (stmt, 9);
  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return sql_error (err, st->db, "append audit record");
  r->id = sqlite3_last_insert_rowid (st->db);
  return 0;
}

static json_t *
row_json (sqlite3_stmt *stmt)
{
  struct audit_record r = {
    .id = sqlite3_column_int64 (stmt, 0),
    .time_ms = sqlite3_column_int64 (stmt, 1),
    .component = (const char *)sqlite3_column_text (stmt, 2),
    .caller_uid = sqlite3_column_int64 (stmt, 3),
    .caller_pid = sqlite3_column_int64 (stmt, 4),
    .endpoint = (const char *)sqlite3_column_text (stmt, 5),
    .container = (const char *)sqlite3_column_text (stmt, 6),
    .rule = (const char *)sqlite3_column_text (stmt, 7),
    .outcome = (const char *)sqlite3_column_text (stmt, 8),
    .detail = (const char *)sqlite3_column_text (stmt, 9),
  };
  return state_audit_record_json (&r);
}

json_t *
state_audit_record_json (const struct audit_record *r)
{
  char ts[64];
  time_t secs = (time_t)(r->time_ms / 1000);
  struct tm tm;

  gmtime_r (&secs, &tm);
  snprintf (ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
            tm.tm_min, tm.tm_sec, (int)(r->time_ms % 1000));
  return json_pack ("{s:I, s:s, s:s, s:I, s:I, s:s, s:s?, s:s, s:s, s:s?}",
                    "id", (json_int_t)r->id, "time", ts, "component",
                    r->component ? r->component : "", "caller_uid",
                    (json_int_t)r->caller_uid, "caller_pid",
                    (json_int_t)r->caller_pid, "endpoint",
                    r->endpoint ? r->endpoint : "", "container", r->container,
                    "rule", r->rule ? r->rule : "", "outcome",
                    r->outcome ? r->outcome : "", "detail", r->detail);
}

static int
audit_query (struct moat_state *st, const char *sql, int64_t a, int limit,
             json_t **out, moat_error_t *err)
{
  sqlite3_stmt *stmt = NULL;
  json_t *arr = json_array ();
  int rc;

  if (arr == NULL)
    return moat_error (err, ENOMEM, "list audit");
  if (limit <= 0 || limit > 100000)
    limit = 1000;
  if (sqlite3_prepare_v2 (st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
    {
      json_decref (arr);
      return sql_error (err, st->db, "list audit");
    }
  sqlite3_bind_int64 (stmt, 1, a);
  sqlite3_bind_int (stmt, 2, limit);
  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    json_array_append_new (arr, row_json (stmt));
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    {
      json_decref (arr);
      return sql_error (err, st->db, "list audit");
    }
  *out = arr;
  return 0;
}

#define AUDIT_COLS                                                            \
  "id, time_ms, component, caller_uid, caller_pid, endpoint, container, "     \
  "rule, outcome, detail"

int
state_audit_list (struct moat_state *st, int64_t since_id, int limit,
                  json_t **out, moat_error_t *err)
{
  return audit_query (st,
                      "SELECT " AUDIT_COLS " FROM audit WHERE id > ?1 "
                      "ORDER BY id LIMIT ?2",
                      since_id, limit, out, err);
}

int
state_audit_tail (struct moat_state *st, int limit, json_t **out,
                  moat_error_t *err)
{
  return audit_query (st,
                      "SELECT * FROM (SELECT " AUDIT_COLS " FROM audit "
                      "WHERE id > ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id",
                      0, limit, out, err);
}

int64_t
state_audit_prune (struct moat_state *st, int64_t keep, moat_error_t *err)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  if (sqlite3_prepare_v2 (st->db,
                          "DELETE FROM audit WHERE id <= "
                          "(SELECT coalesce(max(id), 0) FROM audit) - ?1",
                          -1, &stmt, NULL)
      != SQLITE_OK)
    return sql_error (err, st->db, "prune audit");
  sqlite3_bind_int64 (stmt, 1, keep);
  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return sql_error (err, st->db, "prune audit");
  return sqlite3_changes (st->db);
}
