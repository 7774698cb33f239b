/* Password hashes: Argon2id (RFC 9106) with libargon2.
 *
 * Parameters (docs/signin.md): t = 2 passes over m = 19 MiB with p = 1
 * lane, a 16-byte random salt and a 32-byte tag, stored in the PHC string
 * format ($argon2id$v=19$m=19456,t=2,p=1$salt$hash): OWASP's recommended
 * Argon2id setting.  RFC 9106's 64 MiB / t=3 took over 300 ms of CPU per
 * verify on the 2-core test machine, and moatd verifies on its control
 * thread; 19 MiB keeps a guess against a stolen database memory-hard at a
 * fraction of that.  Verification reads the parameters from the stored
 * string, so raising them later keeps old hashes valid. */
#include <argon2.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "internal.h"

#define HASH_T_COST 2
#define HASH_M_COST 19456 /* KiB */
#define HASH_PARALLELISM 1
#define HASH_SALT_LEN 16
#define HASH_LEN 32

int
hash_password (const char *pw, size_t len, char **encoded, moat_error_t *err)
{
  unsigned char salt[HASH_SALT_LEN];
  size_t enclen
      = argon2_encodedlen (HASH_T_COST, HASH_M_COST, HASH_PARALLELISM,
                           HASH_SALT_LEN, HASH_LEN, Argon2_id);
  char *out;
  int r;

  *encoded = NULL;
  if (getrandom (salt, sizeof salt, 0) != (ssize_t)sizeof salt)
    return moat_error (err, errno, "password hash: salt");
  out = calloc (1, enclen);
  if (out == NULL)
    return moat_error (err, ENOMEM, "password hash");
  r = argon2id_hash_encoded (HASH_T_COST, HASH_M_COST, HASH_PARALLELISM, pw,
                             len, salt, sizeof salt, HASH_LEN, out, enclen);
  if (r != ARGON2_OK)
    {
      free (out);
      return moat_error (err, r == ARGON2_MEMORY_ALLOCATION_ERROR ? ENOMEM : 0,
                         "password hash: %s", argon2_error_message (r));
    }
  *encoded = out;
  return 0;
}

int
hash_verify (const char *encoded, const char *pw, size_t len,
             moat_error_t *err)
{
  int r;

  if (strncmp (encoded, "$argon2id$", 10) != 0)
    return moat_error (err, EINVAL, "stored password hash is not Argon2id");
  r = argon2id_verify (encoded, pw, len);
  if (r == ARGON2_OK)
    return 1;
  if (r == ARGON2_VERIFY_MISMATCH)
    return 0;
  return moat_error (err, r == ARGON2_MEMORY_ALLOCATION_ERROR ? ENOMEM : 0,
                     "password verify: %s", argon2_error_message (r));
}
