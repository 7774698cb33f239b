/* The local directory: SQLite + Argon2id (local.h, directory.h). */
#include "local.h"

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
#include "internal.h"

struct directory_local
{
  char *path;
  sqlite3 *db;
};

static const char schema[]
    = "CREATE TABLE IF NOT EXISTS users ("
      "  name TEXT PRIMARY KEY NOT NULL,"
      "  hash TEXT NOT NULL,"
      "  created INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS orgs ("
      "  name TEXT PRIMARY KEY NOT NULL,"
      "  created INTEGER NOT NULL);"
      "CREATE TABLE IF NOT EXISTS members ("
      "  org TEXT NOT NULL REFERENCES orgs(name) ON DELETE CASCADE,"
      "  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
      "  PRIMARY KEY (org, user));"
      "PRAGMA user_version = 1;";

static int
sql_error (moat_error_t *err, sqlite3 *db, const char *what)
{
  return moat_error (err, EIO, "directory database: %s: %s", what,
                     db != NULL ? sqlite3_errmsg (db) : "no memory");
}

static int
exec_sql (sqlite3 *db, const char *sql, moat_error_t *err)
{
  char *msg = NULL;
  if (sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK)
    {
      moat_error (err, EIO, "directory database: %s",
                  msg != NULL ? msg : "error");
      sqlite3_free (msg);
      return -1;
    }
  return 0;
}

/* The file holds password hashes: only its owner (root) may read it. */
static int
check_file (int fd, const char *path, moat_error_t *err)
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    return moat_error (err, errno, "stat `%s`", path);
  if (!S_ISREG (st.st_mode))
    return moat_error (err, EINVAL, "`%s` is not a regular file", path);
  if (st.st_uid != geteuid () || (st.st_mode & 077) != 0)
    return moat_error (err, EPERM,
                       "`%s` must be owned by uid %u with mode 0600 (it "
                       "holds password hashes)",
                       path, (unsigned)geteuid ());
  return 0;
}

int
local_db_open (const char *path, bool create, sqlite3 **out, moat_error_t *err)
{
  cleanup_close int fd = -1;
  sqlite3 *db = NULL;
  int version = 0;
  sqlite3_stmt *st = NULL;

  *out = NULL;
  if (create)
    {
      cleanup_free char *dir = strdup (path);
      if (dir == NULL)
        return moat_error (err, ENOMEM, "directory database");
      if (fs_mkdir_p (dirname (dir), 0700, err) < 0)
        return moat_error_wrap (err, "directory database `%s`", path);
    }
  /* Create the file ourselves so its mode is 0600 whatever the umask. */
  fd = open (path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0),
             0600);
  if (fd < 0)
    return moat_error (err, errno, "open directory database `%s`", path);
  if (check_file (fd, path, err) < 0)
    return -1;
  if (sqlite3_open_v2 (path, &db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
                           | SQLITE_OPEN_NOFOLLOW,
                       NULL)
      != SQLITE_OK)
    {
      sql_error (err, db, path);
      sqlite3_close_v2 (db);
      return -1;
    }
  sqlite3_busy_timeout (db, 5000);
  if (exec_sql (db, "PRAGMA foreign_keys = ON;", err) < 0)
    goto fail;
  if (sqlite3_prepare_v2 (db, "PRAGMA user_version", -1, &st, NULL)
          != SQLITE_OK
      || sqlite3_step (st) != SQLITE_ROW)
    {
      sql_error (err, db, path);
      goto fail;
    }
  version = sqlite3_column_int (st, 0);
  sqlite3_finalize (st);
  st = NULL;
  if (version > 1)
    {
      moat_error (err, EINVAL,
                  "directory database `%s` has schema %d, newer than this "
                  "moat knows (1)",
                  path, version);
      goto fail;
    }
  if (version == 0
      && (exec_sql (db, "PRAGMA journal_mode = WAL;", err) < 0
          || exec_sql (db, schema, err) < 0))
    goto fail;
  *out = db;
  return 0;
fail:
  sqlite3_finalize (st);
  sqlite3_close_v2 (db);
  return -1;
}

/* Open the database when it has appeared since the last call.  0 with
 * dir->db NULL when there is none yet. */
static int
ensure_db (struct directory *dir, moat_error_t *err)
{
  if (dir->db != NULL)
    return 0;
  if (local_db_open (dir->db_path, false, &dir->db, err) < 0)
    {
      if (moat_error_status (err) != ENOENT)
        return -1;
      moat_error_release (err);
    }
  return 0;
}

static int
orgs_of (sqlite3 *db, const char *user, char ***orgs, moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  char **v = NULL;
  size_t n = 0;
  int rc;

  v = calloc (1, sizeof *v);
  if (v == NULL)
    return moat_error (err, ENOMEM, "directory");
  if (db == NULL)
    {
      *orgs = v;
      return 0;
    }
  if (sqlite3_prepare_v2 (db,
                          "SELECT org FROM members WHERE user = ?1 "
                          "ORDER BY org",
                          -1, &st, NULL)
          != SQLITE_OK
      || sqlite3_bind_text (st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK)
    goto sqlfail;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    if (strv_add (&v, &n, (const char *)sqlite3_column_text (st, 0)) < 0)
      {
        sqlite3_finalize (st);
        directory_strv_free (v);
        return moat_error (err, ENOMEM, "directory");
      }
  if (rc != SQLITE_DONE)
    goto sqlfail;
  sqlite3_finalize (st);
  strv_sort (v, n);
  *orgs = v;
  return 0;
sqlfail:
  sql_error (err, db, "memberships");
  sqlite3_finalize (st);
  directory_strv_free (v);
  return -1;
}

/* The stored hash of user, or NULL (no such user, or no database). */
static int
stored_hash (sqlite3 *db, const char *user, char **out, moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  int rc;

  *out = NULL;
  if (db == NULL)
    return 0;
  if (sqlite3_prepare_v2 (db, "SELECT hash FROM users WHERE name = ?1", -1,
                          &st, NULL)
          != SQLITE_OK
      || sqlite3_bind_text (st, 1, user, -1, SQLITE_STATIC) != SQLITE_OK)
    {
      sqlite3_finalize (st);
      return sql_error (err, db, "users");
    }
  rc = sqlite3_step (st);
  if (rc == SQLITE_ROW)
    {
      *out = strdup ((const char *)sqlite3_column_text (st, 0));
      sqlite3_finalize (st);
      return *out == NULL ? moat_error (err, ENOMEM, "directory") : 0;
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    return sql_error (err, db, "users");
  return 0;
}

int
local_authenticate (struct directory *dir, const char *user,
                    const char *password, char ***orgs, moat_error_t *err)
{
  cleanup_free char *hash = NULL;
  size_t len = strnlen (password, DIRECTORY_PASSWORD_MAX + 1);
  int r;

  if (ensure_db (dir, err) < 0)
    return -1;
  if (user != NULL && directory_user_name_p (user, false)
      && stored_hash (dir->db, user, &hash, err) < 0)
    return -1;
  if (len == 0 || len > DIRECTORY_PASSWORD_MAX)
    return directory_badcred (err);
  if (hash == NULL)
    {
      /* An unknown user costs the same Argon2id work as a known one: the
       * time of the answer does not say whether the name exists. */
      cleanup_free char *dummy = NULL;
      if (hash_password (password, len, &dummy, err) < 0)
        return -1;
      return directory_badcred (err);
    }
  r = hash_verify (hash, password, len, err);
  if (r < 0)
    return moat_error_wrap (err, "user `%s`", user);
  if (r == 0)
    return directory_badcred (err);
  return orgs_of (dir->db, user, orgs, err);
}

int
local_user_orgs (struct directory *dir, const char *user, char ***orgs,
                 moat_error_t *err)
{
  if (ensure_db (dir, err) < 0)
    return -1;
  return orgs_of (dir->db, user, orgs, err);
}

int
local_probe (struct directory *dir, moat_error_t *err)
{
  return ensure_db (dir, err);
}

/* Administration. */

int
directory_local_open (const struct moat_paths *paths, bool create,
                      struct directory_local **out, moat_error_t *err)
{
  struct directory_local *l = calloc (1, sizeof *l);

  *out = NULL;
  if (l == NULL)
    return moat_error (err, ENOMEM, "directory");
  l->path = moat_paths_join (paths, "/var/lib/moat/directory.db");
  if (l->path == NULL)
    {
      free (l);
      return moat_error (err, ENOMEM, "directory");
    }
  if (local_db_open (l->path, create, &l->db, err) < 0)
    {
      directory_local_close (l);
      return -1;
    }
  *out = l;
  return 0;
}

void
directory_local_close (struct directory_local *l)
{
  if (l == NULL)
    return;
  sqlite3_close_v2 (l->db);
  free (l->path);
  free (l);
}

const char *
directory_local_path (const struct directory_local *l)
{
  return l->path;
}

/* Run one statement with up to two text parameters; *changes gets the
 * number of rows changed.  A constraint failure is `constraint_errno`. */
static int
run (struct directory_local *l, const char *sql, const char *a, const char *b,
     int constraint_errno, int *changes, moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  int rc;

  if (sqlite3_prepare_v2 (l->db, sql, -1, &st, NULL) != SQLITE_OK
      || (a != NULL
          && sqlite3_bind_text (st, 1, a, -1, SQLITE_STATIC) != SQLITE_OK)
      || (b != NULL
          && sqlite3_bind_text (st, 2, b, -1, SQLITE_STATIC) != SQLITE_OK))
    {
      sqlite3_finalize (st);
      return sql_error (err, l->db, "prepare");
    }
  rc = sqlite3_step (st);
  sqlite3_finalize (st);
  if (rc == SQLITE_CONSTRAINT)
    return moat_error (err, constraint_errno, "constraint");
  if (rc != SQLITE_DONE)
    return sql_error (err, l->db, "write");
  if (changes != NULL)
    *changes = sqlite3_changes (l->db);
  return 0;
}

static int
check_user (const char *user, moat_error_t *err)
{
  if (!directory_user_name_p (user, false))
    return moat_error (err, EINVAL,
                       "invalid user name `%s`: use a-z, 0-9, '.', '_', "
                       "'-', starting with a letter or digit, at most 64",
                       user);
  return 0;
}

static int
check_org (const char *org, moat_error_t *err)
{
  if (!directory_org_name_p (org))
    return moat_error (err, EINVAL,
                       "invalid organization name `%s`: use a-z, 0-9, '.', "
                       "'_', '-', at most 64 (the rules of allowedOrgs)",
                       org);
  return 0;
}

static int
check_password (size_t len, moat_error_t *err)
{
  if (len == 0)
    return moat_error (err, EINVAL, "empty password");
  if (len > DIRECTORY_PASSWORD_MAX)
    return moat_error (err, EINVAL, "password longer than %d bytes",
                       DIRECTORY_PASSWORD_MAX);
  return 0;
}

static int
set_user (struct directory_local *l, const char *user, const char *pw,
          size_t len, bool add, moat_error_t *err)
{
  cleanup_free char *hash = NULL;
  int changes = 0;

  if (check_user (user, err) < 0 || check_password (len, err) < 0)
    return -1;
  if (memchr (pw, '\0', len) != NULL)
    return moat_error (err, EINVAL, "password contains a NUL byte");
  if (hash_password (pw, len, &hash, err) < 0)
    return -1;
  if (add)
    {
      if (run (l,
               "INSERT INTO users (name, hash, created) "
               "VALUES (?1, ?2, strftime('%s','now'))",
               user, hash, EEXIST, NULL, err)
          < 0)
        return moat_error_status (err) == EEXIST
                   ? moat_error (err, EEXIST, "user `%s` exists", user)
                   : -1;
      return 0;
    }
  if (run (l, "UPDATE users SET hash = ?2 WHERE name = ?1", user, hash, EIO,
           &changes, err)
      < 0)
    return -1;
  if (changes == 0)
    return moat_error (err, ENOENT, "no user `%s`", user);
  return 0;
}

int
directory_local_user_add (struct directory_local *l, const char *user,
                          const char *pw, size_t len, moat_error_t *err)
{
  return set_user (l, user, pw, len, true, err);
}

int
directory_local_user_passwd (struct directory_local *l, const char *user,
                             const char *pw, size_t len, moat_error_t *err)
{
  return set_user (l, user, pw, len, false, err);
}

int
directory_local_user_rm (struct directory_local *l, const char *user,
                         moat_error_t *err)
{
  int changes = 0;
  if (check_user (user, err) < 0
      || run (l, "DELETE FROM users WHERE name = ?1", user, NULL, EIO,
              &changes, err)
             < 0)
    return -1;
  if (changes == 0)
    return moat_error (err, ENOENT, "no user `%s`", user);
  return 0;
}

int
directory_local_org_add (struct directory_local *l, const char *org,
                         moat_error_t *err)
{
  if (check_org (org, err) < 0)
    return -1;
  if (run (l,
           "INSERT INTO orgs (name, created) "
           "VALUES (?1, strftime('%s','now'))",
           org, NULL, EEXIST, NULL, err)
      < 0)
    return moat_error_status (err) == EEXIST
               ? moat_error (err, EEXIST, "organization `%s` exists", org)
               : -1;
  return 0;
}

int
directory_local_org_rm (struct directory_local *l, const char *org,
                        moat_error_t *err)
{
  int changes = 0;
  if (check_org (org, err) < 0
      || run (l, "DELETE FROM orgs WHERE name = ?1", org, NULL, EIO, &changes,
              err)
             < 0)
    return -1;
  if (changes == 0)
    return moat_error (err, ENOENT, "no organization `%s`", org);
  return 0;
}

static int
exists (struct directory_local *l, const char *table, const char *name)
{
  sqlite3_stmt *st = NULL;
  char sql[64];
  int rc;

  snprintf (sql, sizeof sql, "SELECT 1 FROM %s WHERE name = ?1", table);
  if (sqlite3_prepare_v2 (l->db, sql, -1, &st, NULL) != SQLITE_OK
      || sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC) != SQLITE_OK)
    {
      sqlite3_finalize (st);
      return -1;
    }
  rc = sqlite3_step (st);
  sqlite3_finalize (st);
  return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int
check_pair (struct directory_local *l, const char *org, const char *user,
            moat_error_t *err)
{
  int e;
  if (check_org (org, err) < 0 || check_user (user, err) < 0)
    return -1;
  if ((e = exists (l, "orgs", org)) <= 0)
    return e < 0 ? sql_error (err, l->db, "orgs")
                 : moat_error (err, ENOENT, "no organization `%s`", org);
  if ((e = exists (l, "users", user)) <= 0)
    return e < 0 ? sql_error (err, l->db, "users")
                 : moat_error (err, ENOENT, "no user `%s`", user);
  return 0;
}

int
directory_local_member_add (struct directory_local *l, const char *org,
                            const char *user, moat_error_t *err)
{
  if (check_pair (l, org, user, err) < 0)
    return -1;
  if (run (l, "INSERT INTO members (org, user) VALUES (?1, ?2)", org, user,
           EEXIST, NULL, err)
      < 0)
    return moat_error_status (err) == EEXIST ? moat_error (
               err, EEXIST, "`%s` is already a member of `%s`", user, org)
                                             : -1;
  return 0;
}

int
directory_local_member_rm (struct directory_local *l, const char *org,
                           const char *user, moat_error_t *err)
{
  int changes = 0;
  if (check_pair (l, org, user, err) < 0
      || run (l, "DELETE FROM members WHERE org = ?1 AND user = ?2", org, user,
              EIO, &changes, err)
             < 0)
    return -1;
  if (changes == 0)
    return moat_error (err, ENOENT, "`%s` is not a member of `%s`", user, org);
  return 0;
}

/* [{"name": N, key: [...]}] from a query of (name, other-or-NULL) rows
 * ordered by name. */
static json_t *
grouped (sqlite3 *db, const char *sql, const char *key)
{
  sqlite3_stmt *st = NULL;
  json_t *arr = json_array (), *cur = NULL;
  const char *last = NULL;
  int rc;

  if (arr == NULL || sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK)
    goto fail;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      const char *name = (const char *)sqlite3_column_text (st, 0);
      const char *other = (const char *)sqlite3_column_text (st, 1);
      if (cur == NULL || strcmp (last, name) != 0)
        {
          cur = json_pack ("{s:s, s:[]}", "name", name, key);
          if (cur == NULL || json_array_append_new (arr, cur) < 0)
            goto fail;
          last = json_string_value (json_object_get (cur, "name"));
        }
      if (other != NULL
          && json_array_append_new (json_object_get (cur, key),
                                    json_string (other))
                 < 0)
        goto fail;
    }
  if (rc != SQLITE_DONE)
    goto fail;
  sqlite3_finalize (st);
  return arr;
fail:
  sqlite3_finalize (st);
  json_decref (arr);
  return NULL;
}

int
directory_local_list (struct directory_local *l, json_t **out,
                      moat_error_t *err)
{
  json_t *users = grouped (l->db,
                           "SELECT u.name, m.org FROM users u LEFT JOIN "
                           "members m ON m.user = u.name "
                           "ORDER BY u.name, m.org",
                           "orgs");
  json_t *orgs = grouped (l->db,
                          "SELECT o.name, m.user FROM orgs o LEFT JOIN "
                          "members m ON m.org = o.name "
                          "ORDER BY o.name, m.user",
                          "members");
  if (users == NULL || orgs == NULL)
    {
      json_decref (users);
      json_decref (orgs);
      return sql_error (err, l->db, "list");
    }
  *out = json_pack ("{s:o, s:o}", "users", users, "orgs", orgs);
  return *out == NULL ? moat_error (err, ENOMEM, "directory") : 0;
}
