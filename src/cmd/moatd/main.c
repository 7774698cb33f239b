/* moatd: the daemon.  Placeholder until the daemon core lands. */
#include <stdio.h>

int
main (void)
{
  fprintf (stderr, "moatd: not built yet\n");
  return 1;
}
