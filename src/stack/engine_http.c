/* The few Docker Engine API calls moat makes itself (/_ping, /version),
 * over the engine's unix socket with libcurl.  Responses are bounded. */
#include "stack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "dockerapi/dockerapi.h"

/* GET path on the engine socket; *out is the NUL-terminated body of a 200
 * response. */
static int
engine_get (const char *sock, const char *path, long timeout_ms, char **out,
            moat_error_t *err)
{
  struct dockerapi_response r;

  if (dockerapi_call (sock, "GET", path, NULL, 0, false, timeout_ms, &r, err)
      < 0)
    return -1;
  if (r.status != 200)
    {
      dockerapi_response_free (&r);
      return moat_error (err, 0, "engine at `%s` GET %s: HTTP status %ld",
                         sock, path, r.status);
    }
  *out = r.body;
  return 0;
}

int
stack_engine_ping (const char *sock, long timeout_ms, moat_error_t *err)
{
  cleanup_free char *body = NULL;

  if (engine_get (sock, "/_ping", timeout_ms, &body, err) < 0)
    return -1;
  if (strcmp (body, "OK") != 0)
    return moat_error (err, 0, "engine at `%s` answered /_ping with `%.40s`",
                       sock, body);
  return 0;
}

int
stack_engine_version (const char *sock, long timeout_ms, json_t **out,
                      moat_error_t *err)
{
  cleanup_free char *body = NULL;
  json_error_t jerr;

  if (engine_get (sock, "/version", timeout_ms, &body, err) < 0)
    return -1;
  *out = json_loads (body, 0, &jerr);
  if (*out == NULL || !json_is_object (*out))
    {
      json_decref (*out);
      *out = NULL;
      return moat_error (err, EPROTO, "engine /version is not a JSON object");
    }
  return 0;
}

bool
stack_socket_in_use (const char *path)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  cleanup_close int fd = -1;

  if (strlen (path) >= sizeof addr.sun_path)
    return false;
  strcpy (addr.sun_path, path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  return connect (fd, (struct sockaddr *)&addr, sizeof addr) == 0;
}

int
stack_engine_bridges (const char *sock, long timeout_ms, json_t **out,
                      moat_error_t *err)
{
  cleanup_free char *body = NULL;
  json_error_t jerr;
  json_t *nets, *res, *n;
  size_t i;

  if (engine_get (sock, "/networks", timeout_ms, &body, err) < 0)
    return -1;
  nets = json_loads (body, 0, &jerr);
  if (nets == NULL || !json_is_array (nets))
    {
      json_decref (nets);
      return moat_error (err, EPROTO, "engine /networks is not a JSON array");
    }
  res = json_array ();
  if (res == NULL)
    {
      json_decref (nets);
      return moat_error (err, ENOMEM, "networks");
    }
  json_array_foreach (nets, i, n)
  {
    const char *driver = json_string_value (json_object_get (n, "Driver"));
    const char *id = json_string_value (json_object_get (n, "Id"));
    const char *name = json_string_value (json_object_get (
        json_object_get (n, "Options"), "com.docker.network.bridge.name"));
    json_t *subnets = json_array (), *c;
    char dflt[16];
    size_t k;

    if (driver == NULL || strcmp (driver, "bridge") != 0 || subnets == NULL)
      {
        json_decref (subnets);
        continue;
      }
    if (name == NULL && id != NULL && strlen (id) >= 12)
      {
        /* dockerd's own name for a user-defined bridge. */
        snprintf (dflt, sizeof dflt, "br-%.12s", id);
        name = dflt;
      }
    json_array_foreach (
        json_object_get (json_object_get (n, "IPAM"), "Config"), k, c)
    {
      const char *s = json_string_value (json_object_get (c, "Subnet"));
      if (s != NULL)
        json_array_append_new (subnets, json_string (s));
    }
    if (name != NULL)
      json_array_append_new (
          res, json_pack ("{s:s, s:o}", "name", name, "subnets", subnets));
    else
      json_decref (subnets);
  }
  json_decref (nets);
  *out = res;
  return 0;
}
