/* libFuzzer target: the dashboard's own parsers (src/web/parse.c): the
 * request target's path and query, the Cookie header, the Host and
 * Origin rules.  The input is split at the first two NULs into a target,
 * a Cookie header and a Host. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web/parse.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *buf = malloc (size + 3);
  char *target, *cookie, *host, *p;
  char out[80];
  if (buf == NULL)
    return 0;
  memcpy (buf, data, size);
  buf[size] = buf[size + 1] = buf[size + 2] = '\0';
  target = buf;
  cookie = target + strlen (target) + 1;
  host = cookie + strlen (cookie) + 1;
  if (host > buf + size + 2)
    host = buf + size + 2;

  if (web_target_path (target, out, sizeof out) == 0
      && (out[0] != '/' || strchr (out, '?') != NULL))
    __builtin_trap ();
  int r = web_query_get (target, "ticket", out, sizeof out);
  if (r == 1 && strlen (out) >= sizeof out)
    __builtin_trap ();
  r = web_cookie_get (cookie, "moat_session", out, sizeof out);
  if (r == 1 && (strlen (out) >= sizeof out || strchr (out, ';') != NULL))
    __builtin_trap ();
  if (web_host_ok (host, 7979))
    {
      /* an accepted Host ends in :7979 and has no path or userinfo */
      size_t n = strlen (host);
      if (n < 6 || strcmp (host + n - 5, ":7979") != 0
          || strpbrk (host, "/@ \\") != NULL)
        __builtin_trap ();
      /* and its own Origin is accepted */
      char origin[300];
      if (n < 280)
        {
          strcpy (origin, "http://");
          strcat (origin, host);
          if (!web_origin_ok (origin, host))
            __builtin_trap ();
        }
    }
  p = cookie; /* Origin check on arbitrary input */
  (void)web_origin_ok (p, host);
  free (buf);
  return 0;
}
