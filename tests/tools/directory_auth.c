/* directory-auth: the directory API from a shell, for test_directory*.sh
 * (moat login lives in moatd; this calls the library directly).
 *
 *   directory-auth auth USER   password on stdin (one line)
 *   directory-auth orgs USER   the user's organizations, no password
 *   directory-auth probe -     is the directory usable (directory_probe)
 *
 * Prints "ok: org1,org2" and exits 0; "badcred: MSG" exit 1;
 * "unavailable: MSG" exit 3; "error: MSG" exit 2.  MOAT_ROOT roots the
 * paths as for moat. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/paths.h"
#include "directory/directory.h"

int
main (int argc, char **argv)
{
  struct moat_paths paths;
  struct directory *dir = NULL;
  moat_error_t err = NULL;
  char **orgs = NULL, *pw = NULL;
  size_t len = 0;
  int r, code = 0;

  if (argc != 3
      || (strcmp (argv[1], "auth") != 0 && strcmp (argv[1], "orgs") != 0
          && strcmp (argv[1], "probe") != 0))
    {
      fprintf (stderr, "usage: directory-auth auth|orgs|probe USER\n");
      return 2;
    }
  memset (&paths, 0, sizeof paths);
  if (moat_paths_init (&paths, getenv ("MOAT_ROOT"), &err) < 0
      || directory_open (&paths, &dir, &err) < 0)
    {
      printf ("error: %s\n", moat_error_msg (&err));
      moat_error_release (&err);
      moat_paths_free (&paths);
      return 2;
    }
  if (strcmp (argv[1], "auth") == 0)
    {
      /* Raw, so that an empty password reaches the library (which must
       * refuse it: an empty LDAP simple bind is an anonymous one). */
      size_t cap = 0;
      ssize_t n = getline (&pw, &cap, stdin);
      len = n > 0 ? (size_t)n : 0;
      if (len > 0 && pw[len - 1] == '\n')
        pw[--len] = '\0';
      r = directory_authenticate (dir, argv[2], pw != NULL ? pw : "", &orgs,
                                  &err);
      directory_password_free (pw, cap);
    }
  else if (strcmp (argv[1], "probe") == 0)
    {
      r = directory_probe (dir, &err);
      if (r == 0 && (orgs = calloc (1, sizeof *orgs)) == NULL)
        r = -1;
    }
  else
    r = directory_user_orgs (dir, argv[2], &orgs, &err);
  if (r == 0)
    {
      printf ("ok:");
      for (size_t i = 0; orgs[i] != NULL; i++)
        printf ("%s%s", i > 0 ? "," : " ", orgs[i]);
      printf ("\n");
    }
  else
    {
      int kind = directory_error_kind (&err);
      code = kind == DIRECTORY_E_BADCRED       ? 1
             : kind == DIRECTORY_E_UNAVAILABLE ? 3
                                               : 2;
      printf ("%s: %s\n",
              code == 1   ? "badcred"
              : code == 3 ? "unavailable"
                          : "error",
              moat_error_msg (&err));
      moat_error_release (&err);
    }
  directory_strv_free (orgs);
  directory_close (dir);
  moat_paths_free (&paths);
  return code;
}
