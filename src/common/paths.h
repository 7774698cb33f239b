/* Every path moat uses, rooted at $MOAT_ROOT (default "/") so that tests and
 * side-by-side installs never touch the machine's own configuration.  Built
 * once by main() and passed down; libraries never read MOAT_ROOT themselves.
 */
#ifndef MOAT_COMMON_PATHS_H
#define MOAT_COMMON_PATHS_H

#include "error.h"

struct moat_paths
{
  char *root;           /* "" when MOAT_ROOT is "/" or unset */
  char *etc_dir;        /* /etc/moat */
  char *admin_settings; /* /etc/moat/admin-settings.json */
  char *registry_json;  /* /etc/moat/registry.json */
  char
      *dd_registry_json; /* /usr/share/docker-desktop/registry/registry.json */
  char *state_dir;       /* /var/lib/moat */
  char *state_db;        /* /var/lib/moat/state.db */
  char *engine_data;     /* /var/lib/moat/engine (dockerd --data-root) */
  char *log_dir;         /* /var/log/moat */
  char *run_dir;         /* /run/moat */
  char *docker_sock;     /* /run/moat/docker.sock (guarded API) */
  char *engine_sock;     /* /run/moat/engine.sock (real engine, 0600) */
  char *control_sock;    /* /run/moat/moatd.sock (CLI <-> moatd) */
  char *engine_exec;     /* /run/moat/engine (dockerd --exec-root) */
  char *moatd_pid;       /* /run/moat/moatd.pid */
  char *dockerd_pid;     /* /run/moat/dockerd.pid */
  char *stack_json;      /* /run/moat/stack.json (what `moat up` started) */
  char *bind_standin;    /* /run/moat/bind-standin (engine/eci.h) */
};

/* root: the value of MOAT_ROOT, or NULL for "/".  Refuses a relative root. */
int moat_paths_init (struct moat_paths *p, const char *root,
                     moat_error_t *err);
void moat_paths_free (struct moat_paths *p);

/* Join root and an absolute in-root path; returns malloc'd string or NULL. */
char *moat_paths_join (const struct moat_paths *p, const char *abs);

#endif
