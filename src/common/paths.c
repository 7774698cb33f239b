#include "paths.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

char *
moat_paths_join (const struct moat_paths *p, const char *abs)
{
  char *s = NULL;
  if (asprintf (&s, "%s%s", p->root, abs) < 0)
    return NULL;
  return s;
}

int
moat_paths_init (struct moat_paths *p, const char *root, moat_error_t *err)
{
  size_t len;
  struct
  {
    char **dst;
    const char *rel;
  } table[] = {
    { &p->etc_dir, "/etc/moat" },
    { &p->admin_settings, "/etc/moat/admin-settings.json" },
    { &p->registry_json, "/etc/moat/registry.json" },
    { &p->dd_registry_json,
      "/usr/share/docker-desktop/registry/registry.json" },
    { &p->state_dir, "/var/lib/moat" },
    { &p->state_db, "/var/lib/moat/state.db" },
    { &p->engine_data, "/var/lib/moat/engine" },
    { &p->log_dir, "/var/log/moat" },
    { &p->run_dir, "/run/moat" },
    { &p->docker_sock, "/run/moat/docker.sock" },
    { &p->engine_sock, "/run/moat/engine.sock" },
    { &p->control_sock, "/run/moat/moatd.sock" },
    { &p->engine_exec, "/run/moat/engine" },
    { &p->moatd_pid, "/run/moat/moatd.pid" },
    { &p->dockerd_pid, "/run/moat/dockerd.pid" },
    { &p->stack_json, "/run/moat/stack.json" },
    { &p->bind_standin, "/run/moat/bind-standin" },
  };

  memset (p, 0, sizeof *p);
  if (root == NULL || root[0] == '\0')
    root = "/";
  if (root[0] != '/')
    return moat_error (err, EINVAL, "MOAT_ROOT `%s` must be an absolute path",
                       root);
  p->root = strdup (root);
  if (p->root == NULL)
    return moat_error (err, ENOMEM, "MOAT_ROOT");
  /* Strip trailing slashes so that "/" becomes "" and joins stay clean. */
  len = strlen (p->root);
  while (len > 0 && p->root[len - 1] == '/')
    p->root[--len] = '\0';

  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    {
      *table[i].dst = moat_paths_join (p, table[i].rel);
      if (*table[i].dst == NULL)
        {
          moat_paths_free (p);
          return moat_error (err, ENOMEM, "build paths");
        }
    }
  return 0;
}

void
moat_paths_free (struct moat_paths *p)
{
  char **fields[] = {
    &p->root,          &p->etc_dir,          &p->admin_settings,
    &p->registry_json, &p->dd_registry_json, &p->state_dir,
    &p->state_db,      &p->engine_data,      &p->log_dir,
    &p->run_dir,       &p->docker_sock,      &p->engine_sock,
    &p->control_sock,  &p->engine_exec,      &p->moatd_pid,
    &p->dockerd_pid,   &p->stack_json,       &p->bind_standin,
  };
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    {
      free (*fields[i]);
      *fields[i] = NULL;
    }
}
