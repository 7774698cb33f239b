/* Private to ext_ui_exec.c and ext_ui_vm.c: the exec calls' shared
 * request parsing. */
#ifndef MOAT_DAEMON_EXT_UI_EXEC_INT_H
#define MOAT_DAEMON_EXT_UI_EXEC_INT_H

#include <jansson.h>
#include <stddef.h>

#include "ext_ui_exec.h"

/* req's command and args as a NULL-terminated vector (argv[0] = first
 * when not NULL, then command, then args); NULL with *why. */
char **ext_ui_req_argv (const json_t *req, const char *first, char **why);
void ext_ui_argv_free (char **v);

/* The options of an exec call: options.cwd (a string) and options.env (an
 * object of strings), env filtered by ext_host_env_passed (the rest is
 * dropped).  env: NULL-terminated NAME=value, or NULL. */
struct exec_opts
{
  const char *cwd;
  char **env;
};
int ext_ui_req_opts (const json_t *req, struct exec_opts *o, const char **why);
void ext_ui_opts_free (struct exec_opts *o);

int ext_ui_write_all (int fd, const char *p, size_t n);

/* vm.cli.exec (ext_ui_vm.c); sink: NULL (collected) or streamed. */
void ext_ui_vm_exec (const struct ext_ui_exec_ctx *x, const char *name,
                     const json_t *req, const struct ext_ui_sink *sink,
                     int *status, json_t **reply);

#endif
