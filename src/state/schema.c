/* The state schema, as an ordered list of migrations.  Migration i takes the
 * database from user_version i to i+1; append, never edit a shipped one. */
#include "schema.h"

static const char *const migrations[] = {
  /* 1: settings overrides and the audit log. */
  "CREATE TABLE settings_override ("
  "  key TEXT PRIMARY KEY NOT NULL,"
  "  value_json TEXT NOT NULL,"
  "  set_by_uid INTEGER NOT NULL,"
  "  set_at_ms INTEGER NOT NULL);"
  "CREATE TABLE audit ("
  "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  time_ms INTEGER NOT NULL,"
  "  component TEXT NOT NULL,"
  "  caller_uid INTEGER NOT NULL DEFAULT -1,"
  "  caller_pid INTEGER NOT NULL DEFAULT -1,"
  "  endpoint TEXT NOT NULL DEFAULT '',"
  "  container TEXT,"
  "  rule TEXT NOT NULL DEFAULT '',"
  "  outcome TEXT NOT NULL,"
  "  detail TEXT);"
  "CREATE INDEX audit_time ON audit(time_ms);",
  /* 2: moat-runc's exclusive id ranges (idpool.c reserves and releases
   * them inside BEGIN IMMEDIATE).  IF NOT EXISTS: moat-runc may have
   * created the table before this migration existed. */
  "CREATE TABLE IF NOT EXISTS runtime_id_ranges ("
  "  container_id TEXT PRIMARY KEY NOT NULL,"
  "  base INTEGER NOT NULL UNIQUE,"
  "  size INTEGER NOT NULL,"
  "  created_at INTEGER NOT NULL);",
  /* 3: who bound an image name to an image id (engine/imgprov.h): a
   * non-root uid, or -1 for a registry pull; seq orders them. */
  "CREATE TABLE image_names ("
  "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
  "  name TEXT NOT NULL,"
  "  image_id TEXT NOT NULL,"
  "  uid INTEGER NOT NULL,"
  "  time_ms INTEGER NOT NULL);"
  "CREATE INDEX image_names_binding ON image_names(name, image_id);",
};

size_t
schema_n_migrations (void)
{
  return sizeof migrations / sizeof migrations[0];
}

const char *
schema_migration (size_t i)
{
  return i < schema_n_migrations () ? migrations[i] : NULL;
}
