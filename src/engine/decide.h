/* The engine guard's decision about a request head: pure (no I/O, no
 * locks, no clock), so that every rule is unit-tested on its own
 * (tests/unit/test_engine_decide.c).
 *
 * Given the facts of a parsed head, the policy in force and whether the
 * connection's listener applies the command list, the answer is one of
 *   ENGINE_ALLOW   forward the head and stream the body;
 *   ENGINE_REFUSE  answer status + message (after the body is drained);
 *   ENGINE_CHECK   a check must pass first: collect the body and check it
 *                  (container, volume, network create, a start with a
 *                  body), or check the container of a docker cp (archive)
 *                  before the head goes out.
 * The texts are those of common/refusal.h ("engine guard" section). */
#ifndef MOAT_ENGINE_DECIDE_H
#define MOAT_ENGINE_DECIDE_H

#include <stdbool.h>
#include <sys/types.h>

#include "engine/route.h"
#include "policy/policy.h"

/* What the guard knows of a request when its head is complete. */
struct engine_head_facts
{
  int method;          /* llhttp_method_t */
  int http_major;      /* 1 */
  bool headers_valid;  /* names are tokens, values free of control bytes */
  const char *raw_uri; /* request-URI as received, NUL-terminated */
  bool has_body;       /* chunked, or a Content-Length > 0 */
  uid_t caller_uid;    /* whom the request acts for */
  bool command_list;   /* the listener applies eci.commandList */

  /* a Content-Type the engine reads as form fields (engine_req_form_type),
   * or NULL */
  const char *form_type;
};

enum engine_verdict
{
  ENGINE_ALLOW,
  ENGINE_REFUSE,
  ENGINE_CHECK,
};

struct engine_decision
{
  enum engine_verdict verdict;
  /* ENGINE_REFUSE */
  int status;
  char *message;    /* malloc'd */
  const char *rule; /* audit rule; NULL: a protocol answer, not audited */
  bool close;       /* close the connection after the answer */
  /* ENGINE_ALLOW and ENGINE_CHECK (route set whenever the URI parsed) */
  const struct engine_route *route;
  enum engine_route_op op; /* ENGINE_CHECK: what to check */
  bool eci;                /* ECI applies to this request */
  char *container;  /* name= of a create, or the {name} of /containers/{name}/
                       ...; malloc'd or NULL */
  char *archive;    /* ROUTE_OP_ARCHIVE: the container as requested */
  char *query;      /* ROUTE_OP_ARCHIVE, a build under ECI: the raw query */
  char version[16]; /* ROUTE_OP_ARCHIVE: X.Y of a /vX.Y prefix, or "" */
  char *uri; /* ENGINE_ALLOW: the request-URI to send instead (a non-root
                caller's prune, engine/xuser.h), malloc'd, or NULL */
  /* On a command-list listener (a container's filtered socket): the
   * registry the request makes the engine reach (engine/regpol.h),
   * malloc'd, or NULL */
  char *registry;
  unsigned registry_port;
};

/* Decide about one head.  pol may be NULL (not loaded yet).  Returns 0 with
 * *d filled, or -1 (out of memory; *d cleared). */
int engine_decide (const struct engine_head_facts *f, const struct policy *pol,
                   struct engine_decision *d);

void engine_decision_clear (struct engine_decision *d);

#endif
