/* moat-sandbox: evaluates untrusted JavaScript (PAC files, extension code)
 * for moatd and moat.  Speaks the protocol of src/sandbox/proto.h on
 * stdin/stdout; started by src/sandbox/client.c, never by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/sandbox.h"

int
main (int argc, char **argv)
{
  cleanup_error moat_error_t err = NULL;
  struct sandbox_limits limits;

  if (argc > 1
      && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0))
    {
      printf ("Usage: moat-sandbox [--heap-mb N]\n\nEvaluates JavaScript for "
              "moat over a "
              "framed protocol on stdin/stdout,\nunder seccomp and rlimits. "
              "Started by moat and moatd; not for interactive use.\n"
              "--heap-mb N caps the JavaScript heap at N MiB (extension "
              "sandboxes;\nthe default is 64).\n");
      return 0;
    }
  sandbox_limits_default (&limits);
  /* Extension mode (src/ext/sandbox.c): the heap cap of that extension. */
  if (argc == 3 && strcmp (argv[1], "--heap-mb") == 0)
    {
      char *end;
      unsigned long mb = strtoul (argv[2], &end, 10);
      if (*end != '\0' || mb == 0 || mb > 4096)
        {
          fprintf (stderr, "moat-sandbox: bad --heap-mb `%s`\n", argv[2]);
          return 2;
        }
      limits.heap_bytes = (size_t)mb << 20;
      /* Duktape's own overhead and malloc's slack above the heap cap. */
      if (limits.address_space != 0
          && limits.address_space < 2 * limits.heap_bytes + (256ul << 20))
        limits.address_space = 2 * limits.heap_bytes + (256ul << 20);
    }
  else if (argc > 1)
    {
      fprintf (stderr, "Usage: moat-sandbox [--heap-mb N]\n");
      return 2;
    }
  if (sandbox_run (&limits, &err) < 0)
    {
      fprintf (stderr, "moat-sandbox: %s\n", moat_error_msg (&err));
      return 1;
    }
  return 0;
}
