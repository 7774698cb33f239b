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
      printf ("Usage: moat-sandbox\n\nEvaluates JavaScript for moat over a "
              "framed protocol on stdin/stdout,\nunder seccomp and rlimits. "
              "Started by moat and moatd; not for interactive use.\n");
      return 0;
    }
  sandbox_limits_default (&limits);
  if (sandbox_run (&limits, &err) < 0)
    {
      fprintf (stderr, "moat-sandbox: %s\n", moat_error_msg (&err));
      return 1;
    }
  return 0;
}
