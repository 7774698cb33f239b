/* `moat signin lint`: the other forms of Docker Desktop's sign-in
 * enforcement, read and checked with the rules of registry.json, so that
 * a fleet of Windows, Mac and Linux machines is configured from one place.
 *
 * Forms (docs/signin.md), recognised by their content:
 *   - a Windows .reg export of HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Docker\
 *     Docker Desktop with the multi-string value allowedOrgs (REG_MULTI_SZ,
 *     exported as hex(7); UTF-16LE "Version 5.00" exports and REGEDIT4);
 *   - a macOS configuration profile (.mobileconfig: PayloadContent whose
 *     payload holds allowedOrgs as one string, organizations separated by
 *     ';'), signed (CMS, unwrapped, signature not verified) or not, or the
 *     bare payload dictionary some MDMs take;
 *   - the macOS plist file method (desktop.plist: allowedOrgs, an array of
 *     strings), XML or binary;
 *   - registry.json ({"allowedOrgs": [...]}).
 * Every organization list goes through signin_parse, so each entry meets
 * exactly the rules of registry.json (diagnostics name allowedOrgs[N]).
 *
 * Docker Desktop's precedence when one machine has several methods:
 * registry key (Windows), configuration profile (Mac), plist file (Mac),
 * registry.json.  A file that loses is still checked: it becomes the
 * effective one when the winner is removed. */
#ifndef MOAT_DIRECTORY_LINT_H
#define MOAT_DIRECTORY_LINT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "policy/policy.h"
#include "policy/signin.h"

/* In Docker Desktop's order of precedence, highest first. */
enum signin_method
{
  SIGNIN_M_REGKEY,
  SIGNIN_M_PROFILE,
  SIGNIN_M_PLIST,
  SIGNIN_M_REGISTRY_JSON,
  SIGNIN_M_UNKNOWN,
};

enum signin_platform
{
  SIGNIN_P_WINDOWS,
  SIGNIN_P_MACOS,
  SIGNIN_P_LINUX,
  SIGNIN_P_N,
};

struct signin_lint_file
{
  char *path;
  enum signin_method method;
  struct signin_policy policy; /* orgs when valid */
  struct policy_report rep;    /* errors and warnings of this file */
  bool valid;
};

/* Largest file lint reads. */
#define SIGNIN_LINT_MAX (1024 * 1024)

/* Recognise and check one file's bytes (path names it in messages and
 * decides nothing but the .mobileconfig/.plist ambiguity).  Returns 0 with
 * out filled (out->valid says whether it passed), or -1 with *err when
 * memory ran out (then out holds nothing to free). */
int signin_lint_parse (const char *path, const char *buf, size_t len,
                       struct signin_lint_file *out, moat_error_t *err);
/* Read path (at most SIGNIN_LINT_MAX bytes) and signin_lint_parse it; a
 * file that cannot be read is an error in out->rep, not a -1. */
int signin_lint_load (const char *path, struct signin_lint_file *out,
                      moat_error_t *err);
void signin_lint_file_free (struct signin_lint_file *f);

/* "registry key", "configuration profile", "plist file", "registry.json" */
const char *signin_method_name (enum signin_method m);
const char *signin_platform_name (enum signin_platform p);
bool signin_method_applies (enum signin_method m, enum signin_platform p);

/* Index in files[0..n) of the one Docker Desktop on platform p would use
 * (highest precedence; the first given among equals), or -1 when none
 * applies. */
int signin_lint_winner (const struct signin_lint_file *files, size_t n,
                        enum signin_platform p);

#endif
