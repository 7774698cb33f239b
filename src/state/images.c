/* Image name provenance records (state.h, engine/imgprov.h). */
#include <errno.h>
#include <time.h>

#include "state/state.h"

static int
img_error (moat_error_t *err, sqlite3 *db, const char *what)
{
  return moat_error (err, EIO, "%s: %s", what, sqlite3_errmsg (db));
}

int
state_image_note (struct moat_state *st, const char *name, const char *id,
                  int64_t uid, moat_error_t *err)
{
  sqlite3 *db = state_db (st);
  sqlite3_stmt *stmt = NULL;
  struct timespec ts;
  int rc;
  clock_gettime (CLOCK_REALTIME, &ts);
  if (sqlite3_prepare_v2 (db,
                          "INSERT INTO image_names(name, image_id, uid, "
                          "time_ms) VALUES(?1, ?2, ?3, ?4)",
                          -1, &stmt, NULL)
      != SQLITE_OK)
    return img_error (err, db, "record an image name");
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 3, uid);
  sqlite3_bind_int64 (stmt, 4,
                      (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return img_error (err, db, "record an image name");
  return 0;
}

int
state_image_namer (struct moat_state *st, const char *name, const char *id,
                   int64_t caller, int64_t *other, moat_error_t *err)
{
  sqlite3 *db = state_db (st);
  sqlite3_stmt *stmt = NULL;
  int rc;
  if (sqlite3_prepare_v2 (
          db,
          "SELECT uid FROM image_names WHERE name = ?1 AND image_id = ?2 "
          "AND uid NOT IN (-1, 0, ?3) AND seq > COALESCE((SELECT MAX(seq) "
          "FROM image_names WHERE name = ?1 AND image_id = ?2 AND uid = -1), "
          "0) ORDER BY seq DESC LIMIT 1",
          -1, &stmt, NULL)
      != SQLITE_OK)
    return img_error (err, db, "look up an image name");
  sqlite3_bind_text (stmt, 1, name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 3, caller);
  rc = sqlite3_step (stmt);
  if (rc == SQLITE_ROW)
    {
      *other = sqlite3_column_int64 (stmt, 0);
      sqlite3_finalize (stmt);
      return 1;
    }
  sqlite3_finalize (stmt);
  if (rc != SQLITE_DONE)
    return img_error (err, db, "look up an image name");
  return 0;
}
