/* The moat command line: one file per verb, dispatched from main.c. */
#ifndef MOAT_CLI_H
#define MOAT_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/paths.h"

struct moat_cli
{
  struct moat_paths paths;
  const char *argv0;
};

/* A verb returns the process exit code (>= 0), or -1 with *err set, which
 * main() prints and turns into exit code 1. */
typedef int (*cli_fn) (struct moat_cli *cli, int argc, char **argv,
                       moat_error_t *err);

struct cli_command
{
  const char *name;
  cli_fn fn;
  const char *summary;
};

/* True when argv holds -h or --help before any "--". */
bool cli_wants_help (int argc, char **argv);

/* moat-sandbox beside moat (or $MOAT_SANDBOX) into out. */
int cli_find_sandbox (char *out, size_t outlen, moat_error_t *err);

/* Verbs. */
int cli_up (struct moat_cli *cli, int argc, char **argv, moat_error_t *err);
int cli_down (struct moat_cli *cli, int argc, char **argv, moat_error_t *err);
int cli_status (struct moat_cli *cli, int argc, char **argv,
                moat_error_t *err);
int cli_settings (struct moat_cli *cli, int argc, char **argv,
                  moat_error_t *err);
int cli_signin (struct moat_cli *cli, int argc, char **argv,
                moat_error_t *err);
int cli_login (struct moat_cli *cli, int argc, char **argv, moat_error_t *err);
int cli_logout (struct moat_cli *cli, int argc, char **argv,
                moat_error_t *err);
int cli_whoami (struct moat_cli *cli, int argc, char **argv,
                moat_error_t *err);
int cli_verify (struct moat_cli *cli, int argc, char **argv,
                moat_error_t *err);
int cli_audit (struct moat_cli *cli, int argc, char **argv, moat_error_t *err);
int cli_pac (struct moat_cli *cli, int argc, char **argv, moat_error_t *err);
int cli_net (struct moat_cli *cli, int argc, char **argv, moat_error_t *err);
int cli_directory (struct moat_cli *cli, int argc, char **argv,
                   moat_error_t *err);
int cli_dashboard (struct moat_cli *cli, int argc, char **argv,
                   moat_error_t *err);
int cli_extension (struct moat_cli *cli, int argc, char **argv,
                   moat_error_t *err);

#endif
