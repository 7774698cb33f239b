/* Docker image references, parsed and normalised as the Docker CLI does
 * (github.com/distribution/reference): "docker:cli" is
 * "docker.io/library/docker:cli", a missing tag is "latest",
 * "index.docker.io" is "docker.io".
 *
 * Also the allow-list patterns of
 * enhancedContainerIsolation.dockerSocketMount.imageList.images:
 *   "*"                         every image
 *   NAME[:TAG]                  that image (tag defaults to latest)
 *   NAME:*                      any tag or digest of NAME
 *   NAME@sha256:<64 hex>        exactly that digest (NAME:TAG@DIGEST too)
 *   PREFIX/\*[:TAG|:*]            every repository under PREFIX
 *                               ("testcontainers/\*:*")
 * The engine guard matches a container's image against these. */
#ifndef MOAT_POLICY_IMAGEREF_H
#define MOAT_POLICY_IMAGEREF_H

#include <stdbool.h>

#include "common/error.h"

#define IMAGEREF_NAME_MAX 255

struct imageref
{
  char *domain; /* "docker.io", "registry.local:5000" */
  char *path;   /* "library/docker" */
  char *tag;    /* "latest"; NULL when only a digest was given */
  char *digest; /* "sha256:<hex>" or NULL */
};

/* Parse and normalise.  Refuses uppercase repository names, bad
 * separators, empty components, tags longer than 128, malformed digests
 * (only sha256 with 64 and sha512 with 128 lowercase hex digits), names
 * longer than IMAGEREF_NAME_MAX.  *err says why ("repository name must be
 * lowercase"). */
int imageref_parse (const char *s, struct imageref *out, moat_error_t *err);

void imageref_free (struct imageref *r);

/* "domain/path[:tag][@digest]"; NULL on allocation failure. */
char *imageref_format (const struct imageref *r);

/* Parse + format in one step: "docker:cli" -> "docker.io/library/docker:cli"
 */
int imageref_normalize (const char *s, char **out, moat_error_t *err);

struct imageref_pattern
{
  bool any;            /* "*" */
  bool repo_prefix;    /* ref.path is a prefix: "PREFIX/\*" */
  bool any_tag;        /* ":*" */
  struct imageref ref; /* ref.path without the trailing "/\*" */
};

int imageref_pattern_parse (const char *s, struct imageref_pattern *out,
                            moat_error_t *err);

void imageref_pattern_free (struct imageref_pattern *p);

/* True when the normalised reference r is allowed by p.  A pattern with a
 * digest matches only that digest; a pattern with a tag matches that tag
 * only (a reference given by digest alone does not match a tag pattern:
 * the engine guard resolves tags to digests itself). */
bool imageref_pattern_match (const struct imageref_pattern *p,
                             const struct imageref *r);

#endif
