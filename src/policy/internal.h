/* Shared between the files of src/policy; not part of the public API. */
#ifndef MOAT_POLICY_INTERNAL_H
#define MOAT_POLICY_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>

#include "policy.h"

/* The setting groups: each has one "locked" that covers its sub-keys. */
enum setting_group
{
  GROUP_ECI,
  GROUP_PROXY,
  GROUP_FILESHARING,
  GROUP_EXT_ENABLED,
  GROUP_EXT_ONLY_MARKET,
  GROUP_EXT_PRIVATE_MARKET,
  GROUP_EXT_SANDBOX_GRANTS,
  GROUP_N,
};

extern const char *const policy_group_names[GROUP_N];

/* Validate v (found at JSON path `path`), adding every problem to rep.
 * Returns 0 when v is valid, -1 otherwise. */
typedef int (*setting_check_fn) (const json_t *v, const char *path,
                                 struct policy_report *rep);

/* Index of each setting in policy_settings[]. */
enum setting_id
{
  SET_ECI,
  SET_IMAGES,
  SET_DERIVED,
  SET_CMD_TYPE,
  SET_COMMANDS,
  SET_DRIVERS,
  SET_PROXY_MODE,
  SET_HTTP,
  SET_HTTPS,
  SET_EXCLUDE,
  SET_PAC,
  SET_PORTS,
  SET_DIRS,
  SET_EXT_ENABLED,
  SET_EXT_ONLY_MARKET,
  SET_EXT_PRIVATE_MARKET,
  SET_EXT_SANDBOX_GRANTS,
  SET_N,
};

struct setting_def
{
  const char *key;       /* user-facing dotted key */
  const char *file_path; /* path inside admin-settings.json */
  enum setting_group group;
  setting_check_fn check;
  const char *default_json; /* moat's built-in default */
};

extern const struct setting_def policy_settings[];
extern const size_t policy_n_settings;

/* Index of a setting by user key (also accepts "<group>.value" for a group
 * whose value sits in "value"), or -1. */
int policy_setting_find (const char *key);

struct policy_admin
{
  bool present;
  bool fleet; /* a verified fleet copy (policy_admin_set_fleet) */
  bool locked[GROUP_N];
  json_t *values[SET_N]; /* admin's value per setting, NULL = not written */
  json_t *audit_export;  /* auditExport, validated; NULL = not written */
};

/* Diagnostics. */
#define report_error(rep, path, ...)                                          \
  policy_report_add (rep, POLICY_DIAG_ERROR, path, __VA_ARGS__)
#define report_warn(rep, path, ...)                                           \
  policy_report_add (rep, POLICY_DIAG_WARNING, path, __VA_ARGS__)

/* True once the report holds POLICY_MAX_DIAGS items: callers skip work
 * (such as "did you mean") whose result would be dropped. */
static inline bool
report_full_p (const struct policy_report *rep)
{
  return rep->n >= POLICY_MAX_DIAGS;
}

/* "a.b" + "c" -> "a.b.c"; "" + "c" -> "c"; index form "a[3]".  Caller
 * frees; NULL on allocation failure (policy_report_add accepts a NULL path).
 */
char *path_join (const char *base, const char *key);
char *path_index (const char *base, size_t i);

/* The closest candidate within a small edit distance, or NULL. */
const char *suggest (const char *word, const char *const *cands, size_t n);

/* Bytes -> JSON with moat's file rules: no BOM, valid UTF-8, no duplicate
 * keys, an object at the top.  Problems go to rep with path "".  Returns
 * the document or NULL. */
json_t *policy_json_from_bytes (const char *buf, size_t len,
                                struct policy_report *rep);

/* Read path (size-capped) with fs_read_trusted (one descriptor: no
 * symlinks, root-owned up to stop_at, a regular file).  A trust problem is
 * added to rep with severity owner_sev; as a warning (a draft) the file is
 * then read without the checks, only to report on its content; as an error
 * it is not read.  Returns 0, or -1 with *err
 * set (missing file, not a regular file, read error) or with an error in
 * rep. */
int policy_read_file (const char *path, const char *stop_at,
                      enum policy_diag_severity owner_sev, char **buf,
                      size_t *len, struct policy_report *rep,
                      moat_error_t *err);

/* Docker Desktop admin-settings.json keys that moat does not apply. */
struct dd_key
{
  const char *name;
  const char *note; /* what to use in moat instead, or NULL */
};
extern const struct dd_key policy_dd_keys[];
extern const size_t policy_n_dd_keys;
const struct dd_key *policy_dd_key_find (const char *name);

#endif
