/* The directory handle: directory.json, the choice of backend, and what
 * both backends share (names, lists, error kinds). */
#include "directory.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "internal.h"

/* directory.json is a few hundred bytes; a larger file is a mistake. */
#define CONF_MAX (64 * 1024)

int
directory_badcred (moat_error_t *err)
{
  moat_error (err, 0, "%s", DIRECTORY_BADCRED_MSG);
  if (err != NULL && *err != NULL)
    (*err)->status = DIRECTORY_E_BADCRED;
  return -1;
}

int
directory_unavailable (moat_error_t *err, const char *fmt, ...)
{
  va_list ap;
  char *msg = NULL;
  int r;

  va_start (ap, fmt);
  r = vasprintf (&msg, fmt, ap);
  va_end (ap);
  moat_error (err, 0, "directory unavailable (sign-in fails closed): %s",
              r >= 0 ? msg : "out of memory");
  free (msg);
  if (err != NULL && *err != NULL)
    (*err)->status = DIRECTORY_E_UNAVAILABLE;
  return -1;
}

int
directory_error_kind (const moat_error_t *err)
{
  int s = moat_error_status (err);
  return s == DIRECTORY_E_BADCRED || s == DIRECTORY_E_UNAVAILABLE ? s : 0;
}

bool
directory_user_name_p (const char *s, bool ldap)
{
  size_t n;

  if (s == NULL
      || !(islower ((unsigned char)s[0]) || isdigit ((unsigned char)s[0])
           || (ldap && isupper ((unsigned char)s[0]))))
    return false;
  for (n = 0; s[n] != '\0'; n++)
    {
      unsigned char c = (unsigned char)s[n];
      if (n >= 64)
        return false;
      if (islower (c) || isdigit (c) || c == '.' || c == '_' || c == '-')
        continue;
      if (ldap && (isupper (c) || c == '@'))
        continue;
      return false;
    }
  return true;
}

bool
directory_org_name_p (const char *s)
{
  size_t n;

  if (s == NULL || s[0] == '\0')
    return false;
  for (n = 0; s[n] != '\0'; n++)
    {
      unsigned char c = (unsigned char)s[n];
      if (n >= 64)
        return false;
      if (!(islower (c) || isdigit (c) || c == '.' || c == '_' || c == '-'))
        return false;
    }
  return true;
}

void
directory_strv_free (char **v)
{
  if (v == NULL)
    return;
  for (char **p = v; *p != NULL; p++)
    free (*p);
  free (v);
}

void
directory_password_free (char *pw, size_t len)
{
  if (pw == NULL)
    return;
  explicit_bzero (pw, len);
  free (pw);
}

int
strv_add (char ***v, size_t *n, const char *s)
{
  char **nv;
  char *c;

  for (size_t i = 0; i < *n; i++)
    if (strcasecmp ((*v)[i], s) == 0)
      return 0;
  c = strdup (s);
  if (c == NULL)
    return -1;
  for (char *p = c; *p != '\0'; p++)
    *p = (char)tolower ((unsigned char)*p);
  nv = realloc (*v, (*n + 2) * sizeof *nv);
  if (nv == NULL)
    {
      free (c);
      return -1;
    }
  nv[(*n)++] = c;
  nv[*n] = NULL;
  *v = nv;
  return 0;
}

static int
cmp_str (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

void
strv_sort (char **v, size_t n)
{
  if (n > 1)
    qsort (v, n, sizeof *v, cmp_str);
}

const char *
directory_type (const struct directory *dir)
{
  return dir->kind == DIRECTORY_LDAP ? "ldap" : "local";
}

int
directory_open (const struct moat_paths *paths, struct directory **out,
                moat_error_t *err)
{
  cleanup_free char *buf = NULL;
  struct directory *dir;
  size_t len = 0;
  int r;

  *out = NULL;
  dir = calloc (1, sizeof *dir);
  if (dir == NULL)
    return moat_error (err, ENOMEM, "open directory");
  dir->conf_path = moat_paths_join (paths, "/etc/moat/directory.json");
  dir->db_path = moat_paths_join (paths, "/var/lib/moat/directory.db");
  if (dir->conf_path == NULL || dir->db_path == NULL)
    {
      directory_close (dir);
      return moat_error (err, ENOMEM, "open directory");
    }
  r = fs_read_trusted (dir->conf_path,
                       paths->root[0] != '\0' ? paths->root : NULL, CONF_MAX,
                       &buf, &len, err);
  if (r < 0 && moat_error_status (err) == ENOENT)
    {
      moat_error_release (err);
      dir->kind = DIRECTORY_LOCAL;
    }
  else if (r < 0)
    {
      directory_close (dir);
      return -1;
    }
  else
    {
      if (directory_conf_parse (buf, len, dir->conf_path, paths->root, dir,
                                err)
          < 0)
        {
          directory_close (dir);
          return -1;
        }
    }
  *out = dir;
  return 0;
}

void
directory_close (struct directory *dir)
{
  if (dir == NULL)
    return;
  if (dir->db != NULL)
    sqlite3_close_v2 (dir->db);
  ldap_conf_free (&dir->ldap);
  free (dir->conf_path);
  free (dir->db_path);
  free (dir);
}

/* Callers get a refusal for any name that could not be a user: it is not
 * looked up, but it costs the same Argon2id work as an unknown user in the
 * local backend (local_authenticate handles that). */
int
directory_authenticate (struct directory *dir, const char *user,
                        const char *password, char ***orgs, moat_error_t *err)
{
  *orgs = NULL;
  if (password == NULL)
    return directory_badcred (err);
  if (dir->kind == DIRECTORY_LDAP)
    return ldap_authenticate (dir, user, password, orgs, err);
  return local_authenticate (dir, user, password, orgs, err);
}

int
directory_user_orgs (struct directory *dir, const char *user, char ***orgs,
                     moat_error_t *err)
{
  *orgs = NULL;
  if (user == NULL
      || !directory_user_name_p (user, dir->kind == DIRECTORY_LDAP))
    {
      *orgs = calloc (1, sizeof **orgs);
      return *orgs == NULL ? moat_error (err, ENOMEM, "directory") : 0;
    }
  if (dir->kind == DIRECTORY_LDAP)
    return ldap_user_orgs (dir, user, orgs, err);
  return local_user_orgs (dir, user, orgs, err);
}

int
directory_probe (struct directory *dir, moat_error_t *err)
{
  if (dir->kind == DIRECTORY_LDAP)
    return ldap_probe (dir, err);
  return local_probe (dir, err);
}
