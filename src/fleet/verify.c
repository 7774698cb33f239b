/* The Ed25519 check of a fetched copy and its rollback serial.  Ed25519 is
 * a "pure" signature: OpenSSL verifies it with EVP_DigestVerify and no
 * digest, over the whole message at once. */
#include <errno.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

#include "fleet.h"

struct fleet_key
{
  EVP_PKEY *pkey;
};

int
fleet_key_parse (const char *pem, size_t len, struct fleet_key **out,
                 moat_error_t *err)
{
  static const char begin[] = "-----BEGIN PUBLIC KEY-----";
  BIO *bio;
  EVP_PKEY *pkey;
  struct fleet_key *k;
  const char *b;
  int id;

  *out = NULL;
  if (len > FLEET_CONFIG_MAX || memchr (pem, '\0', len) != NULL)
    return moat_error (err, EINVAL, "not a PEM public key");
  /* One key, and only a SubjectPublicKeyInfo: PEM_read_bio_PUBKEY would
   * skip text before the header, and a second block would be ignored. */
  b = strstr (pem, begin);
  if (b == NULL)
    return moat_error (err, EINVAL, "not a PEM public key (expected \"%s\")",
                       begin);
  if (strstr (b + 1, "-----BEGIN") != NULL)
    return moat_error (err, EINVAL, "more than one PEM block");
  bio = BIO_new_mem_buf (pem, (int)len);
  if (bio == NULL)
    return moat_error (err, ENOMEM, "public key");
  pkey = PEM_read_bio_PUBKEY (bio, NULL, NULL, NULL);
  BIO_free (bio);
  ERR_clear_error ();
  if (pkey == NULL)
    return moat_error (err, EINVAL, "not a valid PEM public key");
  id = EVP_PKEY_get_base_id (pkey);
  if (id != EVP_PKEY_ED25519)
    {
      const char *name = OBJ_nid2sn (id);
      EVP_PKEY_free (pkey);
      return moat_error (err, EINVAL, "the key is %s, not Ed25519",
                         name != NULL ? name : "of an unknown type");
    }
  k = calloc (1, sizeof *k);
  if (k == NULL)
    {
      EVP_PKEY_free (pkey);
      return moat_error (err, ENOMEM, "public key");
    }
  k->pkey = pkey;
  *out = k;
  return 0;
}

void
fleet_key_free (struct fleet_key *k)
{
  if (k == NULL)
    return;
  EVP_PKEY_free (k->pkey);
  free (k);
}

int
fleet_verify (const struct fleet_key *key, const void *data, size_t len,
              const void *sig, size_t sig_len, moat_error_t *err)
{
  EVP_MD_CTX *ctx;
  int r;

  if (sig_len != FLEET_SIG_LEN)
    return moat_error (err, EINVAL,
                       "the signature is %zu bytes; an Ed25519 signature is "
                       "%d bytes",
                       sig_len, FLEET_SIG_LEN);
  ctx = EVP_MD_CTX_new ();
  if (ctx == NULL)
    return moat_error (err, ENOMEM, "verify");
  r = EVP_DigestVerifyInit (ctx, NULL, NULL, NULL, key->pkey);
  if (r == 1)
    r = EVP_DigestVerify (ctx, sig, sig_len, data, len);
  EVP_MD_CTX_free (ctx);
  ERR_clear_error ();
  if (r != 1)
    return moat_error (err, EBADMSG,
                       "the signature does not verify with the fleet's "
                       "public key");
  return 0;
}

int
fleet_serial (const char *buf, size_t len, int64_t *serial, moat_error_t *err)
{
  json_t *doc = json_loadb (buf, len, 0, NULL);
  json_t *v = json_object_get (doc, "fleetSerial");
  int ret = 0;

  if (doc == NULL)
    return moat_error (err, EINVAL, "the settings are not JSON");
  if (v == NULL)
    ret = moat_error (err, EINVAL,
                      "fleetSerial: missing; a fleet copy needs a serial "
                      "that grows with each new copy (rollback guard)");
  else if (!json_is_integer (v) || json_integer_value (v) < 1)
    ret = moat_error (err, EINVAL, "fleetSerial: expected a positive integer");
  else
    *serial = json_integer_value (v);
  json_decref (doc);
  return ret;
}

int
fleet_url_check (const char *buf, size_t len, const char *url,
                 moat_error_t *err)
{
  json_t *doc = json_loadb (buf, len, 0, NULL);
  json_t *v = json_object_get (doc, "fleetUrl");
  int ret = 0;

  if (doc == NULL)
    return moat_error (err, EINVAL, "the settings are not JSON");
  if (v != NULL && !json_is_string (v))
    ret = moat_error (err, 0, "fleetUrl: expected a string");
  else if (v != NULL && strcmp (json_string_value (v), url) != 0)
    ret = moat_error (err, 0,
                      "fleetUrl: the copy is for `%s`, not for this "
                      "machine's fleet URL `%s`",
                      json_string_value (v), url);
  json_decref (doc);
  return ret;
}
