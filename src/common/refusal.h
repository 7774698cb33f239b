/* Refusal texts of moat's public contract (shared/DESIGN.md, "messages").
 *
 * Every refusal a client sees starts with REFUSAL_PREFIX.  The texts of each
 * part live in that part's section below, so that one place shows what a
 * client can be told.  Keep the sections apart: each is owned by one part of
 * the code. */
#ifndef MOAT_COMMON_REFUSAL_H
#define MOAT_COMMON_REFUSAL_H

#define REFUSAL_PREFIX "enhanced container isolation: "

/* ---- engine guard: request framing, routes, command lists ---- */

/* What the engine guard answers itself (engine/decide.c, engine/guard.c).
 * Protocol-level answers start "moat: " (they are about the request's
 * form, not the isolation policy); policy refusals start with
 * REFUSAL_PREFIX.  A printf format takes the argument named beside it. */
#define REFUSAL_ENGINE_HTTP_VERSION "moat: only HTTP/1.x is served"
#define REFUSAL_ENGINE_METHOD "moat: method not allowed"
#define REFUSAL_ENGINE_HEADER "moat: malformed request header"
#define REFUSAL_ENGINE_URI "moat: malformed request-URI"
#define REFUSAL_ENGINE_NO_POLICY "moat: policy not loaded yet"
#define REFUSAL_ENGINE_NO_ENGINE "moat: cannot reach the engine"
#define REFUSAL_ENGINE_NO_MEMORY "moat: out of memory"
#define REFUSAL_ENGINE_REFUSED "moat: request refused"
/* %d: ENGINE_GUARD_MAX_HEAD */
#define REFUSAL_ENGINE_HEAD_TOO_LARGE "moat: request head larger than %d bytes"
/* %s: llhttp's error name */
#define REFUSAL_ENGINE_MALFORMED "moat: malformed request: %s"
/* %d: ECI_MAX_JSON_BODY */
#define REFUSAL_ENGINE_BODY_TOO_LARGE "moat: request body larger than %d bytes"
/* %s: the request-URI as received (contract text) */
#define REFUSAL_ENGINE_COMMAND_LIST                                           \
  REFUSAL_PREFIX "docker command \"%s\" is blocked; if you wish to allow "    \
                 "it, configure the docker socket command list in the moat "  \
                 "admin settings."
#define REFUSAL_ENGINE_BUILDKIT                                               \
  REFUSAL_PREFIX "BuildKit builds bypass the container runtime and are "      \
                 "blocked; build with the classic builder: "                  \
                 "DOCKER_BUILDKIT=0 docker build ..."
#define REFUSAL_ENGINE_SWARM                                                  \
  REFUSAL_PREFIX "swarm services are created outside the container checks "   \
                 "and are blocked"
#define REFUSAL_ENGINE_PLUGIN                                                 \
  REFUSAL_PREFIX "engine plugins run with host privileges; installing or "    \
                 "configuring them is blocked"
#define REFUSAL_ENGINE_START_HOSTCONFIG                                       \
  REFUSAL_PREFIX "a HostConfig at container start is not accepted; set it "   \
                 "at create"
#define REFUSAL_ENGINE_PEER                                                   \
  REFUSAL_PREFIX "this filtered docker socket belongs to another container"

/* ---- ECI checks of container, volume and network bodies ---- */

/* ---- archive (docker cp) ---- */

/* ---- docker socket exceptions ---- */

/* ---- moat-runc bind policy ---- */

#endif
