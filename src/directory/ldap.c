/* The LDAP backend (in progress). */
#include "internal.h"

int
ldap_authenticate (struct directory *dir, const char *user,
                   const char *password, char ***orgs, moat_error_t *err)
{
  return directory_unavailable (err, "LDAP support is not built yet");
}

int
ldap_user_orgs (struct directory *dir, const char *user, char ***orgs,
                moat_error_t *err)
{
  return directory_unavailable (err, "LDAP support is not built yet");
}
