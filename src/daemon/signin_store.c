/* Sign-in sessions in the state database, and the gate table built from
 * them (signin.h). */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "signin.h"

static const char schema[] = "CREATE TABLE IF NOT EXISTS signin_sessions ("
                             " uid INTEGER PRIMARY KEY,"
                             " user TEXT NOT NULL,"
                             " orgs TEXT NOT NULL," /* JSON array of strings */
                             " created INTEGER NOT NULL,"
                             " expires INTEGER NOT NULL)";

static int
sql_error (sqlite3 *db, moat_error_t *err, const char *what)
{
  return moat_error (err, EIO, "%s: %s", what, sqlite3_errmsg (db));
}

int
signin_store_init (sqlite3 *db, moat_error_t *err)
{
  if (sqlite3_exec (db, schema, NULL, NULL, NULL) != SQLITE_OK)
    return sql_error (db, err, "create the sign-in sessions table");
  return 0;
}

char **
signin_strv_dup (char *const *v)
{
  size_t n = 0;
  char **out;
  while (v != NULL && v[n] != NULL)
    n++;
  out = calloc (n + 1, sizeof *out);
  if (out == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++)
    if ((out[i] = strdup (v[i])) == NULL)
      {
        signin_strv_free (out);
        return NULL;
      }
  return out;
}

void
signin_strv_free (char **v)
{
  for (size_t i = 0; v != NULL && v[i] != NULL; i++)
    free (v[i]);
  free (v);
}

int
signin_store_put (sqlite3 *db, const struct signin_session *s,
                  moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  json_t *a = json_array ();
  char *orgs = NULL;
  int ret = -1;

  for (size_t i = 0; a != NULL && s->orgs != NULL && s->orgs[i] != NULL; i++)
    json_array_append_new (a, json_string (s->orgs[i]));
  orgs = a != NULL ? json_dumps (a, JSON_COMPACT) : NULL;
  json_decref (a);
  if (orgs == NULL)
    return moat_error (err, ENOMEM, "store the session of uid %u",
                       (unsigned)s->uid);
  if (sqlite3_prepare_v2 (db,
                          "INSERT OR REPLACE INTO signin_sessions (uid, "
                          "user, orgs, created, expires) VALUES (?, ?, ?, "
                          "?, ?)",
                          -1, &st, NULL)
          != SQLITE_OK
      || sqlite3_bind_int64 (st, 1, s->uid) != SQLITE_OK
      || sqlite3_bind_text (st, 2, s->user, -1, SQLITE_TRANSIENT) != SQLITE_OK
      || sqlite3_bind_text (st, 3, orgs, -1, SQLITE_TRANSIENT) != SQLITE_OK
      || sqlite3_bind_int64 (st, 4, s->created_s) != SQLITE_OK
      || sqlite3_bind_int64 (st, 5, s->expires_s) != SQLITE_OK
      || sqlite3_step (st) != SQLITE_DONE)
    sql_error (db, err, "store a sign-in session");
  else
    ret = 0;
  sqlite3_finalize (st);
  free (orgs);
  return ret;
}

int
signin_store_delete (sqlite3 *db, uid_t uid, moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  int ret;
  if (sqlite3_prepare_v2 (db, "DELETE FROM signin_sessions WHERE uid = ?", -1,
                          &st, NULL)
          != SQLITE_OK
      || sqlite3_bind_int64 (st, 1, uid) != SQLITE_OK
      || sqlite3_step (st) != SQLITE_DONE)
    ret = sql_error (db, err, "delete a sign-in session");
  else
    ret = sqlite3_changes (db) > 0 ? 1 : 0;
  sqlite3_finalize (st);
  return ret;
}

/* A stored orgs column: a JSON array of strings; anything else reads as
 * no organisation (fails closed). */
static char **
parse_orgs (const char *text)
{
  json_t *a = text != NULL ? json_loads (text, 0, NULL) : NULL;
  size_t n = json_is_array (a) ? json_array_size (a) : 0, k = 0;
  char **out = calloc (n + 1, sizeof *out);
  for (size_t i = 0; out != NULL && i < n; i++)
    {
      const char *s = json_string_value (json_array_get (a, i));
      if (s != NULL && (out[k] = strdup (s)) != NULL)
        k++;
    }
  json_decref (a);
  return out;
}

void
signin_session_clear (struct signin_session *s)
{
  free (s->user);
  signin_strv_free (s->orgs);
  memset (s, 0, sizeof *s);
}

void
signin_sessions_free (struct signin_session *v, size_t n)
{
  for (size_t i = 0; v != NULL && i < n; i++)
    signin_session_clear (&v[i]);
  free (v);
}

int
signin_store_load (sqlite3 *db, struct signin_session **out, size_t *n,
                   moat_error_t *err)
{
  sqlite3_stmt *st = NULL;
  struct signin_session *v = NULL;
  size_t len = 0, cap = 0;
  int rc;

  *out = NULL;
  *n = 0;
  if (sqlite3_prepare_v2 (db,
                          "SELECT uid, user, orgs, created, expires FROM "
                          "signin_sessions ORDER BY uid",
                          -1, &st, NULL)
      != SQLITE_OK)
    return sql_error (db, err, "read the sign-in sessions");
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      struct signin_session *s;
      const char *user = (const char *)sqlite3_column_text (st, 1);
      if (len == cap)
        {
          size_t ncap = cap ? 2 * cap : 8;
          struct signin_session *nv = realloc (v, ncap * sizeof *nv);
          if (nv == NULL)
            goto nomem;
          v = nv;
          cap = ncap;
        }
      s = &v[len];
      memset (s, 0, sizeof *s);
      s->uid = (uid_t)sqlite3_column_int64 (st, 0);
      s->user = strdup (user != NULL ? user : "");
      s->orgs = parse_orgs ((const char *)sqlite3_column_text (st, 2));
      s->created_s = sqlite3_column_int64 (st, 3);
      s->expires_s = sqlite3_column_int64 (st, 4);
      len++;
      if (s->user == NULL || s->orgs == NULL)
        goto nomem;
    }
  sqlite3_finalize (st);
  if (rc != SQLITE_DONE)
    {
      signin_sessions_free (v, len);
      return sql_error (db, err, "read the sign-in sessions");
    }
  *out = v;
  *n = len;
  return 0;
nomem:
  sqlite3_finalize (st);
  signin_sessions_free (v, len);
  return moat_error (err, ENOMEM, "read the sign-in sessions");
}

bool
signin_member_p (char *const *orgs, const struct signin_policy *pol)
{
  if (pol->n_orgs == 0)
    return true;
  for (size_t i = 0; orgs != NULL && orgs[i] != NULL; i++)
    for (size_t j = 0; j < pol->n_orgs; j++)
      if (strcasecmp (orgs[i], pol->orgs[j]) == 0)
        return true;
  return false;
}

struct engine_gate *
signin_gate_build (const struct signin_session *v, size_t n,
                   const struct signin_policy *pol, int64_t now_s,
                   moat_error_t *err)
{
  struct engine_gate *g
      = engine_gate_new ((const char *const *)pol->orgs, pol->n_orgs, err);
  if (g == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++)
    {
      if (v[i].expires_s <= now_s)
        continue;
      if (engine_gate_add (g, v[i].uid, v[i].user,
                           signin_member_p (v[i].orgs, pol), v[i].expires_s,
                           err)
          < 0)
        {
          engine_gate_free (g);
          return NULL;
        }
    }
  engine_gate_seal (g);
  return g;
}
