/* The private marketplace list, Docker Desktop's format:
 * $MOAT_ROOT/etc/moat/extension-marketplace/extensions.txt, one
 * `org/repo:tag` a line, `#` comments, blank lines ignored, no tag =
 * `latest`.  Root-trusted (read with fs_read_trusted). */
#ifndef MOAT_EXT_MARKET_H
#define MOAT_EXT_MARKET_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "ext/metadata.h"

#define EXT_MARKET_MAX (256 * 1024)
#define EXT_MARKET_MAX_ENTRIES 4096

struct ext_market
{
  char **refs; /* canonical (ext_image_canonical) */
  size_t n;
};

/* Parse the list.  A line that is not a reference is a problem named
 * "extensions.txt:<line>"; returns -1 when there is any (the list is then
 * not used: fail closed), 0 otherwise. */
int ext_market_parse (const char *buf, size_t len, struct ext_market *out,
                      struct ext_problems *probs);
void ext_market_free (struct ext_market *m);

/* Does the list allow image (as the user wrote it), at that tag? */
bool ext_market_allows_p (const struct ext_market *m, const char *image);

/* The policy decision for installing image: 0 allowed; -1 refused with
 * *err holding the message (the contract's for the marketplace).
 * market_path is read only when a marketplace restriction applies;
 * stop_at is the trust walk's start (MOAT_ROOT or NULL). */
int ext_policy_check (bool enabled, bool only_marketplace,
                      bool private_marketplace, const char *market_path,
                      const char *stop_at, const char *image,
                      moat_error_t *err);

#endif
