/* The ddClient calls that run something (ext_ui_exec.c): host binaries,
 * the docker CLI and the engine's lists as the signed-in user, and an
 * exec in the extension's own backend container (docs/extensions.md, "The
 * UI").  Each blocks: callers run it on a worker thread. */
#ifndef MOAT_DAEMON_EXT_UI_EXEC_H
#define MOAT_DAEMON_EXT_UI_EXEC_H

#include <jansson.h>
#include <sys/types.h>

struct ext_ui_exec_ctx
{
  const char *dir;         /* $MOAT_ROOT/var/lib/moat/extensions */
  const char *engine_sock; /* raw engine: the backend's exec only */
  const char *guard_sock;  /* guarded engine: everything done as uid */
};

/* A streamed run (docs/extensions.md, "Streamed exec"): its limits, and
 * where its output goes as it comes. */
#define EXT_UI_STREAM_TIMEOUT_MS 600000u             /* 10 minutes */
#define EXT_UI_STREAM_MAX_OUTPUT (16u * 1024 * 1024) /* per stream */

struct ext_ui_sink
{
  /* stream 1 = stdout, 2 = stderr; called on the running thread */
  void (*output) (void *ud, int stream, const char *buf, size_t len);
  void *ud;
  int cancel_fd; /* readable: kill the run now */
};

/* Run call ("host.cli.exec", "docker.cli.exec", "vm.cli.exec",
 * "docker.listContainers" or "docker.listImages") of extension name for
 * uid with req (the call's JSON: command, args, options {cwd, env}).  Sets
 * *status (the HTTP status of the answer) and *reply (the answer, or a
 * {"message"}).  sink non-NULL (the exec calls only): the output goes
 * there as it comes, with the streamed limits, and *reply's stdout and
 * stderr are empty. */
void ext_ui_exec_run (const struct ext_ui_exec_ctx *x, uid_t uid,
                      const char *name, const char *call, const json_t *req,
                      const struct ext_ui_sink *sink, int *status,
                      json_t **reply);

/* A {"message": ...} answer (printf-style); "out of memory" when it
 * cannot be made. */
json_t *ext_ui_message (const char *fmt, ...)
    __attribute__ ((format (printf, 1, 2)));

#endif
