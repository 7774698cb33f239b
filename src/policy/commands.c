/* Names accepted in dockerSocketMount.commandList.commands.  A misspelt
 * name in a deny list would silently allow the command, so anything not in
 * this table is an error. */
#include <string.h>

#include "internal.h"

/* Docker CLI commands whose API requests the engine guard can recognise,
 * then the group wildcards. */
static const char *const commands[] = {
  "attach",    "build",    "builder", "checkpoint", "commit",     "config",
  "container", "cp",       "create",  "diff",       "events",     "exec",
  "export",    "history",  "image",   "images",     "import",     "info",
  "inspect",   "kill",     "load",    "login",      "logs",       "network",
  "node",      "pause",    "plugin",  "port",       "ps",         "pull",
  "push",      "rename",   "restart", "rm",         "rmi",        "run",
  "save",      "search",   "secret",  "service",    "start",      "stats",
  "stop",      "swarm",    "system",  "tag",        "top",        "unpause",
  "update",    "version",  "volume",  "wait",       "container*", "image*",
  "volume*",   "network*", "system*", "build*",
};

const char *const *
policy_command_names (size_t *n)
{
  *n = sizeof commands / sizeof commands[0];
  return commands;
}

bool
policy_command_known_p (const char *name)
{
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp (commands[i], name) == 0)
      return true;
  return false;
}
