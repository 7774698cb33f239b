/* Sign-in enforcement policy: which Docker organisations a user must sign
 * in to.  Read from paths->registry_json (moat's own file) or, when that
 * does not exist, from paths->dd_registry_json (Docker Desktop's Linux
 * location).  moat's file wins; when both exist the other is ignored and a
 * warning says so.  Format: {"allowedOrgs": ["org1", "org2"]}.
 *
 * Refuses (errors naming the JSON path, e.g. allowedOrgs[1]): a BOM,
 * non-UTF-8, bad JSON or duplicate keys, unknown keys (did you mean), a
 * missing or empty allowedOrgs, a value that is not an array of strings,
 * empty names, names with spaces, commas (one entry per organisation),
 * uppercase letters or other characters outside [a-z0-9._-], and a file
 * writable by a non-root user. */
#ifndef MOAT_POLICY_SIGNIN_H
#define MOAT_POLICY_SIGNIN_H

#include <stddef.h>

#include "common/error.h"
#include "common/paths.h"
#include "policy.h"

struct signin_policy
{
  char **orgs; /* lowercase, in file order, no duplicates */
  size_t n_orgs;
  char *source;  /* file the list came from; NULL when no file exists */
  char *ignored; /* the other file when both exist, else NULL */
};

/* Parse registry.json bytes.  Returns 0 with out->orgs filled, or -1 with
 * the problems in rep (or *err for allocation failures). */
int signin_parse (const char *buf, size_t len, struct signin_policy *out,
                  struct policy_report *rep, moat_error_t *err);

/* Find, check and parse the effective file.  No file at all is not an
 * error: out->source is NULL and there is no organisation to enforce.
 * On -1, out->source still names the file that was rejected. */
int signin_load (const struct moat_paths *paths, struct signin_policy *out,
                 struct policy_report *rep, moat_error_t *err);

void signin_policy_free (struct signin_policy *p);

#endif
