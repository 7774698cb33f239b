/* compose.h. */
#include "compose.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strutil.h"
#include "dockerapi/dockerapi.h"
#include "ext/hostexec.h"

#define COMPOSE_TIMEOUT_MS 120000
#define COMPOSE_OUT_MAX (64 * 1024)
/* compose's threads each hold an 8 MiB stack, counted by RLIMIT_DATA */
#define COMPOSE_PARALLEL "COMPOSE_PARALLEL_LIMIT=8"

/* Run docker-compose with args in dir, confined (ext_exec_confined): uid
 * 0 without a capability, Landlock reading only the system directories,
 * /etc/mime.types (jsonschema's file: loader) and dir.  So a compose file
 * naming a host file (env_file, extends, ...) cannot have moatd read it
 * into a container.  At most EXT_EXEC_PARSER_MEMORY written: a YAML alias
 * bomb (one big string, aliased 10 times a level, that compose's
 * interpolation copies at every use) fails in seconds instead of growing
 * until the timeout.  *out: its stdout (the services of `config
 * --services`); on failure the reason from its stderr.  0 when it exits
 * 0. */
static int
run_compose (const struct ext_ctx *c, const char *dir, const char *image,
             const char *const *args, char **out, moat_error_t *err)
{
  cleanup_free char *host = NULL;
  cleanup_free char *img = NULL;
  const char *read_dirs[] = { "/etc/mime.types", NULL };
  const char *write_dirs[] = { dir, NULL };
  char *argv[16];
  char *envp[7];
  struct ext_exec_req req = { 0 };
  struct ext_exec_result res;
  int n = 0;
  char *buf, *last;
  bool oom;

  *out = NULL;
  if (asprintf (&host, "DOCKER_HOST=unix://%s", c->guard_sock) < 0
      || asprintf (&img, "DESKTOP_PLUGIN_IMAGE=%s", image) < 0)
    return moat_error (err, ENOMEM, "compose");
  argv[n++] = (char *)"docker-compose";
  for (size_t i = 0; args[i] != NULL && n < 15; i++)
    argv[n++] = (char *)args[i];
  argv[n] = NULL;
  envp[0] = host;
  envp[1] = img;
  envp[2] = (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  envp[3] = (char *)"HOME=/nonexistent";
  envp[4] = (char *)"COMPOSE_INTERACTIVE_NO_CLI=1";
  envp[5] = (char *)COMPOSE_PARALLEL;
  envp[6] = NULL;
  req.path = EXT_COMPOSE_BIN;
  req.argv = argv;
  req.envp = envp;
  req.uid = 0;
  req.gid = 0;
  req.read_dirs = read_dirs;
  req.write_dirs = write_dirs;
  req.timeout_ms = COMPOSE_TIMEOUT_MS;
  req.max_output = COMPOSE_OUT_MAX;
  req.max_memory = EXT_EXEC_PARSER_MEMORY;
  if (ext_exec_confined (&req, &res, err) < 0)
    {
      ext_exec_result_free (&res);
      return moat_error_wrap (err, "docker-compose");
    }
  if (res.exit_code == 0 && !res.truncated)
    {
      *out = res.out;
      res.out = NULL;
      ext_exec_result_free (&res);
      return 0;
    }
  /* Say why: the engine's (ECI's) refusal when there is one, else
   * compose's first ERROR line, else the last line of its stderr. */
  buf = res.err != NULL ? res.err : (char *)"";
  oom = strstr (buf, "MemoryError") != NULL;
  last = strstr (buf, "enhanced container isolation: ");
  if (last == NULL)
    last = strstr (buf, "ERROR: ");
  if (last == NULL)
    {
      last = buf + strlen (buf);
      while (last > buf && (last[-1] == '\n' || last[-1] == '\r'))
        *--last = '\0';
      while (last > buf && last[-1] != '\n')
        last--;
    }
  last[strcspn (last, "\r\n")] = '\0';
  if (!res.timed_out && oom)
    moat_error (err, ENOMEM,
                "docker-compose: out of memory (over its limit of %u MiB; "
                "a YAML alias bomb?)",
                EXT_EXEC_PARSER_MEMORY >> 20);
  else if (res.timed_out)
    moat_error (err, ETIMEDOUT, "docker-compose: no answer within %d s",
                COMPOSE_TIMEOUT_MS / 1000);
  else if (res.truncated)
    moat_error (err, E2BIG, "docker-compose: more than %d bytes of output",
                COMPOSE_OUT_MAX);
  else
    moat_error (err, 0, "docker-compose: %s", last[0] ? last : "failed");
  ext_exec_result_free (&res);
  return -1;
}

void
ext_compose_down (const struct ext_ctx *c, const char *name, bool volumes)
{
  cleanup_free char *url = NULL;
  struct dockerapi_response r;
  moat_error_t e = NULL;
  json_t *list, *ct;
  size_t i;

  /* filters={"label":["com.docker.compose.project=moat-ext-<name>"]} */
  if (asprintf (&url,
                "/containers/json?all=1&filters=%%7B%%22label%%22%%3A%%5B%%22"
                "com.docker.compose.project%%3Dmoat-ext-%s%%22%%5D%%7D",
                name)
          < 0
      || dockerapi_call (c->engine_sock, "GET", url, NULL, 0, false, 30000, &r,
                         &e)
             < 0)
    {
      moat_error_release (&e);
      return;
    }
  list = json_loadb (r.body, r.len, 0, NULL);
  dockerapi_response_free (&r);
  json_array_foreach (list, i, ct)
  {
    const char *id = json_string_value (json_object_get (ct, "Id"));
    cleanup_free char *del = NULL;
    if (id == NULL || !full_id_p (id)
        || asprintf (&del, "/containers/%s?force=1&v=%d", id, volumes ? 1 : 0)
               < 0)
      continue;
    if (dockerapi_call (c->engine_sock, "DELETE", del, NULL, 0, false, 30000,
                        &r, &e)
        == 0)
      dockerapi_response_free (&r);
    moat_error_release (&e);
  }
  json_decref (list);
  free (url);
  url = NULL;
  if (asprintf (&url, "/networks/moat-ext-%s_default", name) >= 0
      && dockerapi_call (c->engine_sock, "DELETE", url, NULL, 0, false, 30000,
                         &r, &e)
             == 0)
    dockerapi_response_free (&r);
  moat_error_release (&e);
}

int
ext_compose_up (const struct ext_ctx *c, const char *name, const char *image,
                const char *dir, char **backend, moat_error_t *err)
{
  cleanup_free char *project = NULL;
  cleanup_free char *out = NULL;
  cleanup_free char *override = NULL;
  cleanup_free char *opath = NULL;
  char *first = NULL, *line, *save = NULL;
  size_t olen = 0;
  bool ok = true;

  *backend = NULL;
  if (access (EXT_COMPOSE_BIN, X_OK) < 0)
    return moat_error (err, errno,
                       "vm.composefile needs %s (Debian's "
                       "docker-compose)",
                       EXT_COMPOSE_BIN);
  if (asprintf (&project, "moat-ext-%s", name) < 0)
    return moat_error (err, ENOMEM, "compose");
  {
    const char *args[]
        = { "-p", project, "-f", "compose.yml", "config", "--services", NULL };
    if (run_compose (c, dir, image, args, &out, err) < 0)
      return moat_error_wrap (err, "vm.composefile");
  }
  /* The override: every service labelled; the first gets the socket
   * directory.  Service names are compose's own ([a-zA-Z0-9._-]). */
  override = malloc (COMPOSE_OUT_MAX * 2 + 256);
  if (override == NULL)
    return moat_error (err, ENOMEM, "compose");
  olen = (size_t)sprintf (override, "version: \"3\"\nservices:\n");
  for (line = strtok_r (out, "\n", &save); line != NULL;
       line = strtok_r (NULL, "\n", &save))
    {
      if (!engine_name_p (line, strlen (line), 128))
        {
          ok = false;
          break;
        }
      olen += (size_t)sprintf (override + olen,
                               "  %s:\n    labels:\n"
                               "      com.moat.extension: \"%s\"\n",
                               line, name);
      if (first == NULL)
        {
          first = strdup (line);
          olen += (size_t)sprintf (override + olen,
                                   "    tmpfs:\n"
                                   "      - /run/guest-services:mode=1777\n");
        }
    }
  if (!ok || first == NULL)
    {
      free (first);
      return moat_error (err, 0, "vm.composefile: no usable services");
    }
  if (asprintf (&opath, "%s/moat-override.yml", dir) < 0
      || fs_write_file_atomic (opath, override, olen, 0600, err) < 0)
    {
      free (first);
      return moat_error_wrap (err, "compose override");
    }
  free (out);
  out = NULL;
  {
    /* -f twice: compose merges moat's override over the file. */
    const char *args2[] = { "-p",          project, "-f",
                            "compose.yml", "-f",    "moat-override.yml",
                            "up",          "-d",    "--no-build",
                            NULL };
    if (run_compose (c, dir, image, args2, &out, err) < 0)
      {
        free (first);
        return moat_error_wrap (err, "vm.composefile");
      }
  }
  /* The backend: the first service's container. */
  {
    cleanup_free char *url = NULL;
    struct dockerapi_response r;
    json_t *list;
    if (asprintf (&url,
                  "/containers/json?all=1&filters=%%7B%%22label%%22%%3A%%5B"
                  "%%22com.docker.compose.project%%3D%s%%22%%2C%%22"
                  "com.docker.compose.service%%3D%s%%22%%5D%%7D",
                  project, first)
        < 0)
      {
        free (first);
        return moat_error (err, ENOMEM, "compose");
      }
    free (first);
    if (dockerapi_call (c->engine_sock, "GET", url, NULL, 0, false, 30000, &r,
                        err)
        < 0)
      return -1;
    list = json_loadb (r.body, r.len, 0, NULL);
    dockerapi_response_free (&r);
    {
      const char *id = json_string_value (
          json_object_get (json_array_get (list, 0), "Id"));
      *backend = id != NULL && full_id_p (id) ? strdup (id) : NULL;
    }
    json_decref (list);
  }
  if (*backend == NULL)
    return moat_error (err, 0,
                       "vm.composefile: the first service has no "
                       "container");
  return 0;
}
