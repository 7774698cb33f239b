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
