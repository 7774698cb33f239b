/* Fuzz the engine guard's request path: request heads and bodies (llhttp,
 * head checks, URI decoding, route classification, command list, collected
 * JSON bodies and the ECI checks), with engine responses interleaved so the
 * response tracking and hijack detection run too.
 *
 * Input: [step byte] client bytes [0xff 0xfe separator] engine bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/guard.h"
#include "engine/guard_test.h"

static struct engine_guard *guard;
static struct policy pol;

static void
init (void)
{
  static char *dirs[] = { "/tmp" };
  static char *cmds[] = { "push", "network*" };
  static const char *prot[] = { "/var/lib/moat" };
  static const char *socks[] = { "/run/moat/engine.sock" };
  struct engine_guard_config cfg;
  char path[64];
  moat_error_t err = NULL;

  memset (&cfg, 0, sizeof cfg);
  snprintf (path, sizeof path, "/tmp/moat-fuzz-http-%d.sock", (int)getpid ());
  cfg.listen_fd = -1;
  cfg.listen_path = path;
  cfg.engine_path = "/nonexistent";
  cfg.command_list = true;
  cfg.eci.protected_paths = prot;
  cfg.eci.n_protected = 1;
  cfg.eci.socket_paths = socks;
  cfg.eci.n_sockets = 1;
  guard = engine_guard_new (&cfg, &err);
  if (guard == NULL)
    abort ();
  unlink (path);
  pol.eci.enabled = true;
  pol.eci.cmd_type = POLICY_CMDLIST_DENY;
  pol.eci.commands = cmds;
  pol.eci.n_commands = 2;
  pol.filesharing.dirs = dirs;
  pol.filesharing.n_dirs = 1;
  engine_guard_set_policy (guard, &pol);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *sep;
  size_t clen, step;
  if (guard == NULL)
    init ();
  if (size < 1)
    return 0;
  step = data[0] ? data[0] : 4096;
  data++;
  size--;
  sep = memmem (data, size, "\xff\xfe", 2);
  clen = sep ? (size_t)(sep - (const char *)data) : size;
  engine_guard_feed (guard, (const char *)data, clen, sep ? sep + 2 : "",
                     sep ? size - clen - 2 : 0, step);
  return 0;
}
