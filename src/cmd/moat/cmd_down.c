#include <stdio.h>

#include "cli.h"

int
cli_down (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  return moat_error (err, 0, "`moat down` is not built yet");
}
