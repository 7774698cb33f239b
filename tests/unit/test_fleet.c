/* Unit tests of the fleet verifier and fleet.json parser: a good
 * signature, a bad one, the wrong key, a truncated or oversized signature,
 * keys that are not Ed25519, and strict fleet.json validation.  Keys and
 * signatures are made here with OpenSSL, as an admin's `openssl pkeyutl
 * -sign -rawin` would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fleet/fleet.h"
#include "policy/policy.h"

static EVP_PKEY *
keygen (const char *type)
{
  EVP_PKEY *k;
  if (strcmp (type, "RSA") == 0)
    k = EVP_PKEY_Q_keygen (NULL, NULL, "RSA", (size_t)2048);
  else
    k = EVP_PKEY_Q_keygen (NULL, NULL, type);
  assert_non_null (k);
  return k;
}

/* The public half as PEM (malloc'd). */
static char *
pem_of (EVP_PKEY *k)
{
  BIO *b = BIO_new (BIO_s_mem ());
  char *data, *out;
  long n;
  assert_int_equal (PEM_write_bio_PUBKEY (b, k), 1);
  n = BIO_get_mem_data (b, &data);
  out = strndup (data, (size_t)n);
  BIO_free (b);
  return out;
}

static void
sign (EVP_PKEY *k, const char *msg, unsigned char sig[FLEET_SIG_LEN])
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  size_t len = FLEET_SIG_LEN;
  assert_int_equal (EVP_DigestSignInit (ctx, NULL, NULL, NULL, k), 1);
  assert_int_equal (EVP_DigestSign (ctx, sig, &len, (const unsigned char *)msg,
                                    strlen (msg)),
                    1);
  assert_int_equal (len, FLEET_SIG_LEN);
  EVP_MD_CTX_free (ctx);
}

static struct fleet_key *
key_of (EVP_PKEY *k)
{
  char *pem = pem_of (k);
  struct fleet_key *fk = NULL;
  moat_error_t err = NULL;
  assert_int_equal (fleet_key_parse (pem, strlen (pem), &fk, &err), 0);
  free (pem);
  return fk;
}

static const char doc[] = "{\"configurationFileVersion\": 2, "
                          "\"fleetSerial\": 3}";

static void
expect_refused (const struct fleet_key *fk, const void *data, size_t len,
                const void *sig, size_t sig_len, const char *needle)
{
  moat_error_t err = NULL;
  assert_int_equal (fleet_verify (fk, data, len, sig, sig_len, &err), -1);
  assert_non_null (strstr (moat_error_msg (&err), needle));
  moat_error_release (&err);
}

static void
verify_good_and_bad (void **state)
{
  EVP_PKEY *k = keygen ("ED25519"), *other = keygen ("ED25519");
  struct fleet_key *fk = key_of (k), *wrong = key_of (other);
  unsigned char sig[FLEET_SIG_LEN], big[FLEET_SIG_LEN + 1] = { 0 };
  moat_error_t err = NULL;
  char tampered[sizeof doc];

  sign (k, doc, sig);
  /* good */
  assert_int_equal (
      fleet_verify (fk, doc, strlen (doc), sig, sizeof sig, &err), 0);
  assert_null (err);
  /* a flipped signature bit */
  sig[10] ^= 1;
  expect_refused (fk, doc, strlen (doc), sig, sizeof sig, "does not verify");
  sig[10] ^= 1;
  /* a tampered document */
  memcpy (tampered, doc, sizeof doc);
  tampered[strlen (doc) - 2] = '4';
  expect_refused (fk, tampered, strlen (tampered), sig, sizeof sig,
                  "does not verify");
  /* the wrong key */
  expect_refused (wrong, doc, strlen (doc), sig, sizeof sig,
                  "does not verify");
  /* truncated, empty and oversized signatures */
  expect_refused (fk, doc, strlen (doc), sig, 63,
                  "the signature is 63 bytes; an Ed25519 signature is 64");
  expect_refused (fk, doc, strlen (doc), sig, 0, "is 0 bytes");
  memcpy (big, sig, sizeof sig);
  expect_refused (fk, doc, strlen (doc), big, sizeof big, "is 65 bytes");
  /* a truncated document under a good signature */
  expect_refused (fk, doc, strlen (doc) - 1, sig, sizeof sig,
                  "does not verify");

  fleet_key_free (fk);
  fleet_key_free (wrong);
  EVP_PKEY_free (k);
  EVP_PKEY_free (other);
}

static void
key_types (void **state)
{
  static const char *const bad[] = { "RSA", "ED448", "X25519" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      EVP_PKEY *k = keygen (bad[i]);
      char *pem = pem_of (k);
      struct fleet_key *fk = NULL;
      moat_error_t err = NULL;
      assert_int_equal (fleet_key_parse (pem, strlen (pem), &fk, &err), -1);
      assert_null (fk);
      assert_non_null (strstr (moat_error_msg (&err), "not Ed25519"));
      moat_error_release (&err);
      free (pem);
      EVP_PKEY_free (k);
    }
  {
    struct fleet_key *fk = NULL;
    moat_error_t err = NULL;
    const char *junk = "-----BEGIN PUBLIC KEY-----\nAAAA\n"
                       "-----END PUBLIC KEY-----\n";
    assert_int_equal (fleet_key_parse (junk, strlen (junk), &fk, &err), -1);
    assert_non_null (strstr (moat_error_msg (&err), "not a valid PEM"));
    moat_error_release (&err);
    assert_int_equal (fleet_key_parse ("hello", 5, &fk, &err), -1);
    assert_non_null (strstr (moat_error_msg (&err), "not a PEM public key"));
    moat_error_release (&err);
  }
}

static int
parse_config (const char *url, const char *pem, const char *extra, char **msg)
{
  struct fleet_config c;
  moat_error_t err = NULL;
  json_t *o = json_pack ("{s:s, s:s}", "url", url, "publicKey", pem);
  char *text;
  int r;
  if (extra != NULL)
    {
      json_t *e = json_loads (extra, 0, NULL);
      json_object_update (o, e);
      json_decref (e);
    }
  text = json_dumps (o, 0);
  r = fleet_config_parse (text, strlen (text), &c, &err);
  *msg = r < 0 ? strdup (moat_error_msg (&err)) : NULL;
  if (r == 0)
    {
      assert_string_equal (c.url, url);
      assert_non_null (strstr (c.sig_url, ".sig"));
      fleet_config_free (&c);
    }
  moat_error_release (&err);
  free (text);
  json_decref (o);
  return r;
}

static void
config_strict (void **state)
{
  EVP_PKEY *k = keygen ("ED25519");
  char *pem = pem_of (k), *msg = NULL;
  static const struct
  {
    const char *url, *extra, *needle; /* needle NULL: accepted */
  } cases[] = {
    { "https://policy.example.com/moat/admin-settings.json", NULL, NULL },
    { "http://127.0.0.1:8080/a.json", "{\"refreshSeconds\": 60}", NULL },
    { "http://[::1]:8080/a.json", NULL, NULL },
    { "http://localhost/a.json", NULL, NULL },
    { "http://policy.example.com/a.json", NULL, "only to a loopback" },
    { "ftp://policy.example.com/a.json", NULL, "url:" },
    { "https://policy.example.com/a.json?x=1", NULL, "query or fragment" },
    { "https://policy.example.com/a.json", "{\"refreshSecond\": 60}",
      "unknown key \"refreshSecond\"" },
    { "https://policy.example.com/a.json", "{\"refreshSeconds\": 1}",
      "refreshSeconds" },
    { "https://policy.example.com/a.json", "{\"refreshSeconds\": \"60\"}",
      "refreshSeconds" },
    { "https://policy.example.com/a.json", "{\"publicKey\": 3}",
      "publicKey: expected a PEM string" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      int r = parse_config (cases[i].url, pem, cases[i].extra, &msg);
      if (cases[i].needle == NULL)
        assert_int_equal (r, 0);
      else
        {
          assert_int_equal (r, -1);
          if (strstr (msg, cases[i].needle) == NULL)
            fail_msg ("case %zu: `%s` lacks `%s`", i, msg, cases[i].needle);
        }
      free (msg);
    }
  free (pem);
  EVP_PKEY_free (k);
}

static void
serial (void **state)
{
  int64_t s = 0;
  moat_error_t err = NULL;
  assert_int_equal (fleet_serial (doc, strlen (doc), &s, &err), 0);
  assert_int_equal (s, 3);
  assert_int_equal (fleet_serial ("{}", 2, &s, &err), -1);
  assert_non_null (strstr (moat_error_msg (&err), "fleetSerial: missing"));
  moat_error_release (&err);
  assert_int_equal (fleet_serial ("{\"fleetSerial\": 0}", 18, &s, &err), -1);
  moat_error_release (&err);
  assert_int_equal (fleet_serial ("<html>", 6, &s, &err), -1);
  moat_error_release (&err);
}

/* fleetUrl binds a copy to one fleet URL: absent passes, equal passes,
 * another URL (or a non-string) is refused. */
static void
url_bound (void **state)
{
  static const char u[] = "https://policy.example/moat/admin-settings.json";
  static const char same[]
      = "{\"fleetSerial\": 2, \"fleetUrl\": "
        "\"https://policy.example/moat/admin-settings.json\"}";
  static const char other[]
      = "{\"fleetSerial\": 9, \"fleetUrl\": "
        "\"https://policy.example/ci/admin-settings.json\"}";
  static const char num[] = "{\"fleetSerial\": 9, \"fleetUrl\": 1}";
  moat_error_t err = NULL;
  assert_int_equal (fleet_url_check (doc, strlen (doc), u, &err), 0);
  assert_int_equal (fleet_url_check (same, strlen (same), u, &err), 0);
  assert_int_equal (fleet_url_check (other, strlen (other), u, &err), -1);
  assert_non_null (
      strstr (moat_error_msg (&err), "fleetUrl: the copy is for"));
  moat_error_release (&err);
  assert_int_equal (fleet_url_check (num, strlen (num), u, &err), -1);
  moat_error_release (&err);
}

/* A fleet copy validates like admin-settings.json (fleetSerial accepted,
 * must be a positive integer) and its values show with source "fleet". */
static void
policy_source_fleet (void **state)
{
  static const char good[]
      = "{\"configurationFileVersion\": 2, \"fleetSerial\": 7, "
        "\"enhancedContainerIsolation\": {\"locked\": true, \"value\": "
        "true}}";
  static const char bad[] = "{\"configurationFileVersion\": 2, "
                            "\"fleetSerial\": \"7\"}";
  struct policy_report rep = { 0 };
  struct policy_admin *a = NULL;
  struct policy *p = NULL;
  moat_error_t err = NULL;
  size_t i;
  json_t *row;
  bool seen = false;

  assert_int_equal (policy_admin_parse (bad, strlen (bad), &a, &rep, &err),
                    -1);
  assert_int_equal (rep.n_errors, 1);
  assert_string_equal (rep.items[0].path, "fleetSerial");
  policy_report_free (&rep);
  assert_int_equal (policy_admin_parse (good, strlen (good), &a, &rep, &err),
                    0);
  policy_report_free (&rep);
  policy_admin_set_fleet (a);
  assert_int_equal (policy_build (a, NULL, &p, &err), 0);
  json_array_foreach (p->settings, i, row)
  {
    const char *key = json_string_value (json_object_get (row, "key"));
    const char *src = json_string_value (json_object_get (row, "source"));
    if (strcmp (key, "enhancedContainerIsolation") == 0)
      {
        assert_string_equal (src, "fleet");
        assert_true (json_is_true (json_object_get (row, "locked")));
        seen = true;
      }
    else if (strcmp (key, "containersProxy.http") == 0)
      assert_string_equal (src, "default");
  }
  assert_true (seen);
  policy_free (p);
  policy_admin_free (a);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (verify_good_and_bad),
    cmocka_unit_test (key_types),
    cmocka_unit_test (config_strict),
    cmocka_unit_test (serial),
    cmocka_unit_test (url_bound),
    cmocka_unit_test (policy_source_fleet),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
