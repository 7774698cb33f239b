/* Host binaries of an extension, run confined (docs/extensions.md, "Host
 * binaries").  Docker Desktop runs them with all of the user's rights; moat
 * runs them as the calling user with no_new_privs, a Landlock ruleset, a
 * seccomp filter, a cleared environment, no inherited descriptors,
 * rlimits, a timeout that kills the whole process group, and capped
 * output.
 *
 * ext_exec_confined blocks until the child has ended (or been killed):
 * callers in moatd run it on a worker thread, never on the event loop. */
#ifndef MOAT_EXT_HOSTEXEC_H
#define MOAT_EXT_HOSTEXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

#define EXT_EXEC_TIMEOUT_MS 30000u        /* default when timeout_ms is 0 */
#define EXT_EXEC_MAX_OUTPUT (1024 * 1024) /* default when max_output is 0 */
#define EXT_EXEC_MAX_ARGS 256             /* argv and envp, each */
#define EXT_EXEC_MAX_ARGLEN (64 * 1024)   /* total bytes of argv + envp */
/* max_memory of a program that parses what an extension wrote (its
 * compose file, the docker CLI's arguments and templates): RLIMIT_DATA,
 * which counts what is written to (malloc, thread stacks), not address
 * space only reserved (Go's arenas, glibc's), so the Go docker CLI runs
 * under it where RLIMIT_AS of this size would stop its runtime. */
#define EXT_EXEC_PARSER_MEMORY (256u << 20)

struct ext_exec_req
{
  const char *path;  /* absolute; opened (as root when moatd is) before the
                        child drops to uid, then executed by descriptor */
  char *const *argv; /* NULL-terminated; argv[0] may be NULL = path */
  char *const *envp; /* NULL-terminated, NAME=value: exactly this
                        environment, nothing inherited */
  uid_t uid;         /* the child runs as uid:gid with exactly groups */
  gid_t gid;
  const gid_t *groups;
  size_t ngroups;
  const char *const *read_dirs;  /* NULL-terminated, may be NULL: read and
                                    execute beneath each (besides the system
                                    directories of docs/extensions.md) */
  const char *const *write_dirs; /* NULL-terminated, may be NULL: read and
                                    write beneath each; the first is the
                                    child's working directory */
  unsigned timeout_ms;           /* 0 = EXT_EXEC_TIMEOUT_MS */
  size_t max_output;             /* per stream; 0 = EXT_EXEC_MAX_OUTPUT */
  size_t max_memory; /* RLIMIT_DATA in bytes (EXT_EXEC_PARSER_MEMORY for a
                        parser of untrusted input); 0 = no limit.  Over it
                        an allocation fails: the program ends itself */
  /* Optional.  cwd: the working directory, a relative path beneath
   * write_dirs[0] (opened without following a link, "..", or leaving its
   * mount); NULL = write_dirs[0]. */
  const char *cwd;
  /* Optional: the output as it comes (stream 1 = stdout, 2 = stderr, in
   * chunks of at most 16 KiB), on the caller's thread; it is then not
   * kept in the result (max_output still counts it). */
  void (*on_output) (void *ud, int stream, const char *buf, size_t len);
  void *output_ud;
  /* Optional: when *cancel_fd becomes readable, the process group is
   * killed and the result says cancelled. */
  const int *cancel_fd;
};

struct ext_exec_result
{
  int exit_code;   /* when the child exited, else -1 */
  int term_signal; /* the signal that ended it, else 0 */
  bool timed_out;  /* killed (with its process group) at the timeout */
  bool truncated;  /* a stream reached max_output; the rest was dropped */
  char *out;       /* NUL-terminated, out_len bytes before the NUL */
  size_t out_len;
  char *err;
  size_t err_len;
  int landlock_abi; /* the Landlock ABI enforced; 0 = none (unsupported) */
  bool cancelled;   /* killed (with its group) through cancel_fd */
};

/* Run req confined and collect its output.  Returns 0 when the child ran
 * (whatever its exit status: see *res), -1 with *err when it could not be
 * started (bad request, path not executable, a confinement step failed: the
 * child never runs the binary unconfined).  Free *res either way. */
int ext_exec_confined (const struct ext_exec_req *req,
                       struct ext_exec_result *res, moat_error_t *err);
void ext_exec_result_free (struct ext_exec_result *res);

/* Run the host binary `binary` of the installed extension `name` (ext_dir =
 * $MOAT_ROOT/var/lib/moat/extensions) as uid:gid/groups with args (NULL-
 * terminated, without argv[0]).  binary is matched against the record's
 * host binaries (the full path in the image, or its last component); a
 * binary the metadata does not list never runs.  It reads and executes
 * beneath <name>/host/ (and ui/), writes only beneath its home
 * (ext_host_home: also its HOME, TMPDIR and working directory).  env: extra
 * NAME=value entries (NULL-terminated, may be NULL), checked against the
 * allowed list. Same return as ext_exec_confined. */
int ext_host_exec (const char *ext_dir, const char *name, const char *binary,
                   char *const *args, char *const *env, uid_t uid, gid_t gid,
                   const gid_t *groups, size_t ngroups, unsigned timeout_ms,
                   struct ext_exec_result *res, moat_error_t *err);

/* ext_host_exec with the optional fields of ext_exec_req (cwd, timeout_ms,
 * max_output, on_output, output_ud, cancel_fd) taken from opts (NULL: none,
 * timeout_ms then as given). */
int ext_host_exec_opts (const char *ext_dir, const char *name,
                        const char *binary, char *const *args,
                        char *const *env, uid_t uid, gid_t gid,
                        const gid_t *groups, size_t ngroups,
                        unsigned timeout_ms, const struct ext_exec_req *opts,
                        struct ext_exec_result *res, moat_error_t *err);

/* Whether the environment entry NAME=value may be passed from a caller
 * (the locale and terminal list of docs/extensions.md, "Environment"). */
bool ext_host_env_passed (const char *entry);

/* The directory (malloc'd) an extension's host binaries, or a confined
 * docker CLI run for it, may write and use as HOME for uid:
 * $MOAT_ROOT/var/lib/moat-extension-home/<name>/<uid> (derived from ext_dir
 * = $MOAT_ROOT/var/lib/moat/extensions), made 0700 for uid:gid when
 * missing; the levels above are root's, 0711.  Outside moat's state
 * directory, which stays root-only.  The extension must be installed.
 * NULL with *err on failure. */
char *ext_host_home (const char *ext_dir, const char *name, uid_t uid,
                     gid_t gid, moat_error_t *err);

/* Remove every home of extension name (ext_remove calls it). */
int ext_host_home_remove (const char *ext_dir, const char *name,
                          moat_error_t *err);

#endif
