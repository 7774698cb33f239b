/* Signed fleet policy (docs/fleet.md): fleet.json names a URL and the
 * Ed25519 public key that must have signed what it serves.  This library
 * parses fleet.json, fetches <url> and <url>.sig, verifies the detached
 * signature, checks the rollback guard (fleetSerial) and keeps the last
 * good copy on disk.  It decides nothing about when to fetch or what is in
 * force: that is moatd's fleet role (src/daemon/fleet_role.c). */
#ifndef MOAT_FLEET_FLEET_H
#define MOAT_FLEET_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/paths.h"

/* An Ed25519 signature is exactly this long (RFC 8032). */
#define FLEET_SIG_LEN 64
/* Largest fleet.json moat reads (a PEM key and a URL fit many times). */
#define FLEET_CONFIG_MAX (16 * 1024)
/* Largest .sig body moat accepts from the server. */
#define FLEET_SIG_MAX 1024
/* refreshSeconds: bounds and default. */
#define FLEET_REFRESH_MIN 10
#define FLEET_REFRESH_MAX (7 * 24 * 3600)
#define FLEET_REFRESH_DEFAULT 3600
/* One transfer (settings or signature) may take at most this long, however
 * the bytes trickle in. */
#define FLEET_FETCH_TIMEOUT_S 20
#define FLEET_CONNECT_TIMEOUT_S 10

struct fleet_key; /* an Ed25519 public key (opaque) */

struct fleet_config
{
  char *url;     /* https://..., or http:// to a loopback host */
  char *sig_url; /* url + ".sig" */
  struct fleet_key *key;
  int refresh_seconds;
};

/* Parse fleet.json bytes.  Accepts exactly {"url", "publicKey",
 * "refreshSeconds"} (refreshSeconds optional).  Refuses, naming the key:
 * unknown keys, wrong types, a URL that is not https (or http to
 * 127.0.0.0/8, ::1 or localhost), has a query or fragment, or does not
 * parse; a publicKey that is not one PEM "PUBLIC KEY" or whose key is not
 * Ed25519; refreshSeconds outside [FLEET_REFRESH_MIN, FLEET_REFRESH_MAX]. */
int fleet_config_parse (const char *buf, size_t len, struct fleet_config *out,
                        moat_error_t *err);

/* Read and parse fleet_config_path (paths) with the root-trust checks of
 * admin-settings.json (fs_read_trusted).  ENOENT when there is none; EPERM
 * when a non-root user could change it. */
int fleet_config_load (const struct moat_paths *paths,
                       struct fleet_config *out, moat_error_t *err);
void fleet_config_free (struct fleet_config *c);

/* $MOAT_ROOT/etc/moat/fleet.json and the last good copy's directory
 * $MOAT_ROOT/var/lib/moat/fleet (malloc'd; NULL on ENOMEM). */
char *fleet_config_path (const struct moat_paths *paths);
char *fleet_store_dir (const struct moat_paths *paths);

/* A PEM public key; refuses anything but one Ed25519 key. */
int fleet_key_parse (const char *pem, size_t len, struct fleet_key **out,
                     moat_error_t *err);
void fleet_key_free (struct fleet_key *k);

/* 0 when sig is a valid Ed25519 signature of data by key; -1 with a
 * message saying why not (wrong length, does not verify). */
int fleet_verify (const struct fleet_key *key, const void *data, size_t len,
                  const void *sig, size_t sig_len, moat_error_t *err);

/* The rollback guard's serial: the top-level integer "fleetSerial" of a
 * settings document.  Refuses a document without one, or one that is not
 * a positive integer. */
int fleet_serial (const char *buf, size_t len, int64_t *serial,
                  moat_error_t *err);

/* The fleet a copy was signed for: when the settings document has a
 * top-level "fleetUrl", it must be a string equal to url (fleet.json's),
 * byte for byte; a copy signed, under a key shared by several fleets, for
 * another URL is refused.  A copy without "fleetUrl" passes. */
int fleet_url_check (const char *buf, size_t len, const char *url,
                     moat_error_t *err);

/* One HTTP(S) GET.  Redirects are refused (not followed); the body is
 * capped at max bytes; FLEET_FETCH_TIMEOUT_S bounds the whole transfer.
 * etag: when not NULL, sent as If-None-Match; last_modified: when not
 * NULL, sent as If-Modified-Since (the Last-Modified of the last good
 * copy, as the server wrote it).  Returns 200 with *body, *len, *etag_out
 * and *last_modified_out (the response's ETag and Last-Modified, or NULL;
 * only printable ASCII values are kept), 304 (not modified, nothing set;
 * only when a validator was sent), or -1 with *err.  cancel: when not
 * NULL and it becomes true the transfer stops (moatd stopping). */
int fleet_http_get (const char *url, size_t max, const char *etag,
                    const char *last_modified, const volatile bool *cancel,
                    char **body, size_t *len, char **etag_out,
                    char **last_modified_out, moat_error_t *err);

/* The last good copy: settings bytes and their signature, root-owned, mode
 * 0600 in a 0700 directory.  Saved only after verification; loaded with
 * the root-trust checks.  load: ENOENT when there is none. */
int fleet_store_save (const struct moat_paths *paths, const char *body,
                      size_t len, const void *sig, size_t sig_len,
                      moat_error_t *err);
int fleet_store_load (const struct moat_paths *paths, char **body, size_t *len,
                      char **sig, size_t *sig_len, moat_error_t *err);

#endif
