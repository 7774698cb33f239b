/* Registry token authentication (the Docker Registry v2 "Bearer" flow), as
 * far as an anonymous manifest lookup needs it.
 *
 * A registry that wants a token answers 401 with
 *   WWW-Authenticate: Bearer realm="https://auth.example/token",
 *                     service="registry.example",scope="repository:x:pull"
 * The client asks the realm for a token (GET realm?service=..&scope=..),
 * gets {"token": "..."} (or "access_token") back and repeats its request
 * with "Authorization: Bearer <token>".  Docker Hub works this way even for
 * public images.  moat never sends credentials: a registry that demands
 * them (Basic, or a realm that refuses anonymous tokens) is a failed
 * lookup, which refuses unpinned references (fail closed). */
#ifndef MOAT_ENGINE_REGAUTH_H
#define MOAT_ENGINE_REGAUTH_H

#include <stddef.h>

#include "common/error.h"

/* Longest WWW-Authenticate value and token we accept. */
#define REGAUTH_CHALLENGE_MAX 4096
#define REGAUTH_TOKEN_MAX (64 * 1024)

struct reg_challenge
{
  char *scheme;  /* "Bearer", "Basic", ... as sent */
  char *realm;   /* NULL when absent */
  char *service; /* NULL when absent */
  char *scope;   /* NULL when absent */
};

void regauth_challenge_free (struct reg_challenge *c);

/* Parse the value of a WWW-Authenticate header (RFC 7235: a scheme, then
 * comma-separated name=token or name="quoted string" parameters).  Only
 * the first challenge is read.  Unknown parameters are skipped. */
int regauth_parse_challenge (const char *value, size_t len,
                             struct reg_challenge *out, moat_error_t *err);

/* If `line` is a WWW-Authenticate response header line, return a pointer
 * to its value (leading blanks skipped) and its length without trailing
 * CR/LF/blanks in *vlen; NULL otherwise. */
const char *regauth_header_value (const char *line, size_t len, size_t *vlen);

/* The token in a token endpoint's JSON answer ("token", else
 * "access_token").  Refuses a missing, empty, oversized token or one with
 * characters that cannot go in a header. */
int regauth_parse_token (const char *json, size_t len, char **token,
                         moat_error_t *err);

/* The token URL for challenge c: its realm with service and scope (c's,
 * else default_scope) added as query parameters.  The realm must be https,
 * or http on a loopback host (as registries themselves).  malloc'd. */
int regauth_token_url (const struct reg_challenge *c,
                       const char *default_scope, char **url,
                       moat_error_t *err);

/* GET the token URL (no credentials, no redirects, 1 MiB cap) and return
 * the token. */
int regauth_fetch_token (const char *url, long timeout_ms, char **token,
                         moat_error_t *err);

/* true when the host part of a "host[:port]" or URL host is loopback. */
int regauth_loopback_host (const char *host);

#endif
