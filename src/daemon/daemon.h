/* moatd's core: holds the effective policy, serves the control socket,
 * watches the admin files and applies valid changes live, and owns the
 * state store on its main thread.  Role threads (engine guard, net guard)
 * get policy snapshots from it and post audit records to it. */
#ifndef MOAT_DAEMON_DAEMON_H
#define MOAT_DAEMON_DAEMON_H

#include "common/error.h"
#include "common/paths.h"
#include "state/state.h"

struct moatd_config
{
  const char *engine_sock; /* the engine moatd guards; NULL = paths' own */
  /* Net guard: the containers' networks ("10.213.0.0/24,10.214.0.0/16");
   * NULL turns the net guard off (an external engine whose networks moat
   * does not know). */
  const char *container_cidrs;
  const char *engine_netns; /* the engine's network namespace, or NULL */
  const char *engine_bridge; /* its default bridge; NULL = moat0 */
  unsigned net_port;        /* the net guard's listener; 0 = 15001 */
  const char *sandbox_exe;  /* moat-sandbox; NULL = next to moatd */
  unsigned dashboard_port;  /* 127.0.0.1:PORT; 0 = no dashboard */
};

struct moatd;

/* Load policy (refusing to start on an invalid admin file), open state,
 * bind the control socket.  Nothing is left behind on failure. */
int moatd_new (const struct moat_paths *paths, const struct moatd_config *cfg,
               struct moatd **out, moat_error_t *err);

/* Serve until SIGTERM/SIGINT.  SIGHUP re-reads the admin files. */
int moatd_run (struct moatd *d, moat_error_t *err);

void moatd_free (struct moatd *d);

/* Thread-safe: queue an audit record (copied) for the main thread to store
 * and broadcast to `moat audit --follow` clients. */
void moatd_audit_post (struct moatd *d, const struct audit_record *r);

#endif
