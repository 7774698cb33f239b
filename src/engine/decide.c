/* The engine guard's pure decision about a request head (decide.h). */
#include "decide.h"

#include <errno.h>
#include <llhttp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/refusal.h"
#include "common/cleanup.h"
#include "engine/eci.h"
#include "engine/xuser.h"
#include "engine/regpol.h"

void
engine_decision_clear (struct engine_decision *d)
{
  free (d->message);
  free (d->container);
  free (d->archive);
  free (d->uri);
  free (d->query);
  free (d->registry);
  memset (d, 0, sizeof *d);
}

static int
refuse (struct engine_decision *d, int status, const char *rule, bool close,
        const char *message)
{
  d->verdict = ENGINE_REFUSE;
  d->status = status;
  d->rule = rule;
  d->close = close;
  d->message = strdup (message);
  return d->message ? 0 : -1;
}

/* refuse with a message made from fmt (a contract text of refusal.h) */
static int refusef (struct engine_decision *d, int status, const char *rule,
                    const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

static int
refusef (struct engine_decision *d, int status, const char *rule,
         const char *fmt, ...)
{
  va_list ap;
  char *msg;
  int n;
  va_start (ap, fmt);
  n = vasprintf (&msg, fmt, ap);
  va_end (ap);
  if (n < 0)
    return -1;
  d->verdict = ENGINE_REFUSE;
  d->status = status;
  d->rule = rule;
  d->close = false;
  d->message = msg;
  return 0;
}

/* The policy refusals of ECI that need no body: by route alone, or by the
 * query of a build or image create. */
static int
decide_eci (const struct engine_head_facts *f, const struct engine_uri *uri,
            struct engine_decision *d)
{
  struct eci_verdict v = { 0 };
  int r;
  /* docker top runs ps(1) as host root over every host process: checked
   * for every caller, before the owner rule of its route */
  if (strcmp (d->route->pattern, "/containers/**/top") == 0
      && eci_check_top (uri->query, &v) != 0)
    {
      r = refuse (d, v.status ? v.status : 403, v.rule ? v.rule : "eci", false,
                  v.message ? v.message : REFUSAL_ENGINE_REFUSED);
      eci_verdict_clear (&v);
      return r;
    }
  switch (d->route->op)
    {
    case ROUTE_OP_BUILDKIT:
      return refuse (d, 403, "eci.buildkit", false, REFUSAL_ENGINE_BUILDKIT);
    case ROUTE_OP_SWARM:
      return refuse (d, 403, "eci.swarm", false, REFUSAL_ENGINE_SWARM);
    case ROUTE_OP_PLUGIN:
      return refuse (d, 403, "eci.plugin", false, REFUSAL_ENGINE_PLUGIN);
    case ROUTE_OP_BUILD:
    case ROUTE_OP_IMAGE_CREATE:
      if ((d->route->op == ROUTE_OP_BUILD
               ? eci_check_build (uri->query, &v)
               : eci_check_image_create (uri->query, &v))
              == 0
          && (d->route->op != ROUTE_OP_BUILD || f->caller_uid == 0
              || eci_check_build_network (uri->query, &v) == 0))
        return 0;
      r = refuse (d, v.status ? v.status : 403, v.rule ? v.rule : "eci", false,
                  v.message ? v.message : REFUSAL_ENGINE_REFUSED);
      eci_verdict_clear (&v);
      return r;
    case ROUTE_OP_CONTAINER_CREATE:
    case ROUTE_OP_VOLUME_CREATE:
    case ROUTE_OP_NETWORK_CREATE:
      d->op = d->route->op;
      return 0;
    case ROUTE_OP_CONTAINER_START:
      /* start from a checkpoint: restored by the engine as host root,
       * from any checkpoint-dir (docker checkpoint, below) */
      if (f->caller_uid != 0
          && (engine_query_any_set (uri->query, "checkpoint")
              || engine_query_any_set (uri->query, "checkpoint-dir")))
        return refuse (d, 403, "eci.checkpoint", false,
                       REFUSAL_ENGINE_CHECKPOINT);
      /* its body is checked, and its image (guard.c, ROUTE_F_STARTS) */
      d->op = d->route->op;
      return 0;
    case ROUTE_OP_CHECKPOINT:
      if (f->caller_uid != 0)
        return refuse (d, 403, "eci.checkpoint", false,
                       REFUSAL_ENGINE_CHECKPOINT);
      return 0;
    case ROUTE_OP_PRUNE_SHARED:
      /* images and the build cache have no owner: another user's built
       * images would go */
      if (f->caller_uid != 0)
        return refuse (d, 403, "eci.owner", false,
                       d->route->group[0] == 'i' ? REFUSAL_PRUNE_IMAGES
                                                 : REFUSAL_PRUNE_BUILD);
      return 0;
    case ROUTE_OP_NETWORK_OWNER:
      /* another user's network: who is on it, and removing it */
    case ROUTE_OP_VOLUME_OWNER:
      /* another user's volume: its data (engine/xuser.h) */
      if (f->caller_uid != 0)
        d->op = d->route->op;
      return 0;
    case ROUTE_OP_PRUNE:
      /* the caller's own objects only: the engine ANDs label filters */
      if (f->caller_uid == 0)
        return 0;
      if (engine_prune_uri (uri->version, uri->path, uri->query,
                            (unsigned)f->caller_uid, &d->uri, &v)
          == 0)
        return 0;
      r = refuse (d, v.status ? v.status : 403, v.rule ? v.rule : "eci", false,
                  v.message ? v.message : REFUSAL_ENGINE_REFUSED);
      eci_verdict_clear (&v);
      return r;
    case ROUTE_OP_COMMIT:
    case ROUTE_OP_NETWORK_MEMBER:
      /* another user's container: commit reads its file system, connect
       * and disconnect change what reaches it */
      d->op = d->route->op;
      return 0;
    case ROUTE_OP_OWNER:
      /* exec and attach reach the container with its creator's rights
       * on the creator's shared directories: its creator's only */
    case ROUTE_OP_EXEC_OWNER:
      /* an exec's id shows in its container's inspect: starting another
       * user's exec is exec into their container */
    case ROUTE_OP_ARCHIVE:
      /* the engine copies as host root: a non-root caller's copy must not
       * reach a host path, and nobody's a bind moat stood in for
       * (engine/archive.h) */
      d->op = d->route->op;
      return 0;
    default:
      return 0;
    }
}

static int
decide_uri (const struct engine_head_facts *f, const struct policy *pol,
            const struct engine_uri *uri, struct engine_decision *d)
{
  char method[16];
  snprintf (method, sizeof method, "%s",
            llhttp_method_name ((llhttp_method_t)f->method));
  d->route = engine_route_classify (method, uri->path);
  if (pol == NULL && !(d->route->flags & ROUTE_F_ALWAYS))
    return refuse (d, 503, NULL, false, REFUSAL_ENGINE_NO_POLICY);
  if (f->command_list && pol
      && !engine_cmdlist_allows (pol->eci.cmd_type, pol->eci.commands,
                                 pol->eci.n_commands, d->route))
    return refusef (d, 403, "commandList", REFUSAL_ENGINE_COMMAND_LIST,
                    f->raw_uri);
  d->eci = pol && pol->eci.enabled;
  /* Under ECI, fail closed on what moat does not know: the engine has
   * routes that act as host root outside the table (the pre-1.24
   * POST /containers/{name}/copy reads through a container's mounts like
   * docker cp; /debug/pprof/... profiles the engine), and a newer engine
   * may add more. */
  if (d->eci && d->route == &engine_route_unknown)
    return refusef (d, 403, "eci.endpoint", REFUSAL_ENGINE_UNKNOWN_ENDPOINT,
                    method, f->raw_uri);
  /* Go's ParseForm/FormValue merge a form body's fields into the query,
   * before the URL's: ?fromSrc=- in the URL and fromSrc=URL in the body
   * made the engine download the URL.  The query checks read the URL. */
  if (d->eci && f->has_body && f->form_type != NULL)
    return refusef (d, 415, "eci.form", REFUSAL_ENGINE_FORM_BODY, 128,
                    f->form_type);
  if (d->eci && decide_eci (f, uri, d) < 0)
    return -1;
  if (d->verdict == ENGINE_REFUSE)
    return 0;
  /* Every create gets its caller's labels, ECI or not: moat-runc reads
   * them, and a client must not be able to write its own. */
  if (pol && d->route->op == ROUTE_OP_CONTAINER_CREATE)
    d->op = ROUTE_OP_CONTAINER_CREATE;
  if (d->op == ROUTE_OP_CONTAINER_CREATE)
    d->container = engine_query_get (uri->query, "name");
  else if (strncmp (uri->path, "/containers/", 12) == 0)
    {
      d->container = strndup (uri->path + 12, strcspn (uri->path + 12, "/"));
      if (d->container == NULL)
        return -1;
    }
  /* a build under ECI: its context is scanned (engine/buildscan.h),
   * which reads dockerfile= from the query */
  if (d->eci && d->route->op == ROUTE_OP_BUILD)
    {
      d->query = strdup (uri->query ? uri->query : "");
      if (d->query == NULL)
        return -1;
    }
  if (d->op == ROUTE_OP_VOLUME_OWNER || d->op == ROUTE_OP_NETWORK_OWNER)
    {
      /* the whole {name:.*}, checked as a name later */
      d->archive
          = strdup (uri->path
                    + strlen (d->op == ROUTE_OP_VOLUME_OWNER ? "/volumes/"
                                                             : "/networks/"));
      if (d->archive == NULL)
        return -1;
    }
  /* connect, disconnect: the network's owner too (engine/xuser.h) */
  if (d->op == ROUTE_OP_NETWORK_MEMBER && f->caller_uid != 0)
    {
      const char *n = uri->path + strlen ("/networks/");
      d->archive = strndup (n, (size_t)(strrchr (uri->path, '/') - n));
      if (d->archive == NULL)
        return -1;
    }
  if (d->op == ROUTE_OP_COMMIT)
    {
      d->archive = strdup (uri->query);
      if (d->archive == NULL)
        return -1;
    }
  if (d->op == ROUTE_OP_ARCHIVE || d->op == ROUTE_OP_OWNER
      || d->op == ROUTE_OP_EXEC_OWNER || d->op == ROUTE_OP_CONTAINER_START)
    {
      /* the whole name between "/containers/" (or "/exec/") and the
       * route's suffix ("/archive", "/exec", ...: the engine's
       * {name:.*}), checked as a name later */
      size_t pl = strlen (uri->path);
      size_t pre = d->op == ROUTE_OP_EXEC_OWNER ? 6 : 12;
      d->archive = strndup (uri->path + pre,
                            pl - pre - engine_route_suffix_len (d->route));
      d->query = strdup (uri->query);
      snprintf (d->version, sizeof d->version, "%s", uri->version);
      if (d->archive == NULL || d->query == NULL)
        return -1;
    }
  /* a container's socket: the registry the engine would reach for it is
   * decided as the container's own egress (guard_regpol.c) */
  if (f->command_list)
    {
      cleanup_error moat_error_t err = NULL;
      int t = engine_registry_target (method, uri->path, uri->query,
                                      &d->registry, &d->registry_port, &err);
      if (t < 0)
        return refusef (d, 403, "airgap.registry",
                        REFUSAL_ENGINE_REGISTRY_NAME, moat_error_msg (&err));
    }
  d->verdict = d->op != ROUTE_OP_NONE ? ENGINE_CHECK : ENGINE_ALLOW;
  return 0;
}

int
engine_decide (const struct engine_head_facts *f, const struct policy *pol,
               struct engine_decision *d)
{
  struct engine_uri uri;
  int r;
  memset (d, 0, sizeof *d);
  if (f->http_major != 1)
    r = refuse (d, 505, NULL, true, REFUSAL_ENGINE_HTTP_VERSION);
  else if (f->method != HTTP_GET && f->method != HTTP_HEAD
           && f->method != HTTP_POST && f->method != HTTP_PUT
           && f->method != HTTP_DELETE)
    r = refuse (d, 405, NULL, true, REFUSAL_ENGINE_METHOD);
  else if (!f->headers_valid)
    r = refuse (d, 400, NULL, true, REFUSAL_ENGINE_HEADER);
  else if (engine_uri_parse (f->raw_uri, strlen (f->raw_uri), &uri) < 0)
    r = refuse (d, 400, NULL, false, REFUSAL_ENGINE_URI);
  else
    {
      r = decide_uri (f, pol, &uri, d);
      engine_uri_free (&uri);
    }
  if (r < 0)
    {
      engine_decision_clear (d);
      errno = ENOMEM;
    }
  return r;
}
