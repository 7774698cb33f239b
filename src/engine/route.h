/* Engine API route classification: request-URI -> endpoint -> docker CLI
 * command(s) and group, and the command-list decision.
 *
 * The table is documented in docs/engine-api-commands.md; keep both in step.
 */
#ifndef MOAT_ENGINE_ROUTE_H
#define MOAT_ENGINE_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/policy.h"

/* What the guard must do with a request of this endpoint besides the
 * command list. */
enum engine_route_op
{
  ROUTE_OP_NONE,
  ROUTE_OP_CONTAINER_CREATE, /* JSON body checked and rewritten (ECI) */
  ROUTE_OP_CONTAINER_START,  /* a body (pre-1.24 HostConfig) is refused */
  ROUTE_OP_VOLUME_CREATE,    /* Driver and DriverOpts checked */
  ROUTE_OP_NETWORK_CREATE,   /* drivers, bridge options, subnets checked */
  ROUTE_OP_BUILD,            /* query checked: networkmode, BuildKit */
  ROUTE_OP_IMAGE_CREATE,     /* query checked: fromSrc URLs */
  ROUTE_OP_BUILDKIT,         /* /session, /grpc: refused under ECI */
  ROUTE_OP_SWARM,            /* swarm init/join, services: refused (ECI) */
  ROUTE_OP_PLUGIN,           /* plugin install/enable/set: refused (ECI) */
  ROUTE_OP_ARCHIVE,    /* docker cp: a non-root caller's is checked (ECI) */
  ROUTE_OP_OWNER,      /* exec, attach, logs, stop, rm...: a non-root
                          caller's own containers only (ECI) */
  ROUTE_OP_EXEC_OWNER, /* /exec/{id}/...: the same, for the exec's
                          container (ECI) */
  ROUTE_OP_COMMIT,     /* POST /commit: its container= the caller's (ECI) */
  ROUTE_OP_NETWORK_MEMBER, /* network connect/disconnect: the body's
                              Container the caller's (ECI) */
  ROUTE_OP_CHECKPOINT,     /* checkpoints: refused for non-root (ECI) */
  ROUTE_OP_PRUNE,          /* container, volume, network prune: a non-root
                              caller's own objects only (ECI) */
  ROUTE_OP_PRUNE_SHARED,   /* image, build cache prune: refused for
                              non-root (ECI) */
  ROUTE_OP_VOLUME_OWNER,   /* volume inspect, update, rm: a non-root
                              caller's own volumes only (ECI) */
  ROUTE_OP_NETWORK_OWNER,  /* network inspect, rm: a non-root caller's own
                              networks and the default ones only (ECI) */
};

enum
{
  ROUTE_F_HIJACK = 1 << 0, /* attach / exec start: may switch to raw */
  ROUTE_F_ALWAYS = 1 << 1, /* /_ping: never subject to the command list */
  ROUTE_F_STARTS = 1 << 2, /* start, restart: runs the container's image,
                              re-checked (engine_image_start_check) */
};

struct engine_route;
/* Length of what follows the container name (exec id) in a route's
 * pattern of the form /containers/{name}/... or /exec/{id}/...
 * ("/archive": 8); 0 for others. */
size_t engine_route_suffix_len (const struct engine_route *r);

struct engine_route
{
  const char *method; /* "GET", "POST"... */
  const char
      *pattern; /* "/containers/{**}/json"; "*" = 1 segment, "**" = 1+ */
  const char *commands; /* CLI commands using it, ","-separated, main first */
  const char *group;    /* "container", "image"... ("" for /_ping) */
  enum engine_route_op op;
  unsigned flags;
};

/* The route of an unknown endpoint: command "unknown", no group.  It is
 * refused (fail closed) wherever a command list applies. */
extern const struct engine_route engine_route_unknown;

/* Result of parsing a request-URI for matching. */
struct engine_uri
{
  char *path;        /* percent-decoded, /vX.Y prefix removed; malloc'd */
  const char *query; /* points into the raw URI after '?', or "" */
  char version[16];  /* "1.41" or "" */
};

/* Decode the request-URI: split the query, percent-decode the path once (as
 * the engine does before routing), strip an optional /vX.Y prefix.  Refuses
 * (returns -1) origin forms that are not absolute paths, bad %-escapes, NUL
 * bytes and paths that are not clean ("//", "/./", "/../"), which the engine
 * would only redirect and which could otherwise hide an endpoint. */
int engine_uri_parse (const char *uri, size_t len, struct engine_uri *out);
void engine_uri_free (struct engine_uri *u);

/* The route for method + decoded path; &engine_route_unknown if none. */
const struct engine_route *engine_route_classify (const char *method,
                                                  const char *path);

/* True when `command` is one of r->commands. */
bool engine_route_has_command (const struct engine_route *r,
                               const char *command);

/* Command-list decision: true when the request may pass.  An entry is a
 * CLI command ("push"), a management command ("network": its whole group;
 * "system": the endpoints of its verbs), a group wildcard ("image*") or
 * "*".  Deny list: refused when any entry matches.  Allow list: passes
 * when one matches.  Unknown endpoints are refused in both modes; /_ping
 * always passes.  See docs/engine-api-commands.md. */
bool engine_cmdlist_allows (enum policy_cmdlist_type type,
                            char *const *entries, size_t n_entries,
                            const struct engine_route *r);

/* Value of query parameter `name` in the raw query string, percent-decoded;
 * malloc'd, NULL when absent. */
char *engine_query_get (const char *query, const char *name);

/* True when any occurrence of parameter `name` equals `value` (ASCII case
 * ignored).  Security checks use this, not the first value, so that no
 * splitting or duplicate trick can hide a value from them. */
bool engine_query_any_equal (const char *query, const char *name,
                             const char *value);

/* True when any occurrence of parameter `name` is true as the engine
 * reads a boolean (anything but "", 0, no, false, none). */
bool engine_query_any_true (const char *query, const char *name);

/* True when any occurrence of parameter `name` has a non-empty value. */
bool engine_query_any_set (const char *query, const char *name);

/* True when any occurrence of parameter `name` has a value other than
 * `value` (exactly). */
bool engine_query_any_other (const char *query, const char *name,
                             const char *value);

/* fn on every parameter, percent-decoded, in order, until it returns
 * true; whether one did. */
bool engine_query_each (const char *query,
                        bool (*fn) (const char *k, const char *v, void *ctx),
                        void *ctx);

/* The table, for docs and tests. */
const struct engine_route *engine_route_table (size_t *n);

#endif
