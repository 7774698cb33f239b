/* Engine and stack management: what `moat up`, `moat down` and
 * `moat status` do.
 *
 * `moat up` starts (by default) a dockerd of moat's own on a private data
 * root, exec root, bridge and address pool, then moatd pointed at it, and
 * records both in paths->stack_json with their PIDs and kernel start times.
 * `moat down` stops exactly the processes recorded there, after checking
 * that each PID still names the same process (a recycled PID is never
 * signalled), and keeps all data.  Progress goes through log.h; errors
 * follow error.h.  No function here exits the process. */
#ifndef MOAT_STACK_STACK_H
#define MOAT_STACK_STACK_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/paths.h"

/* ---- processes (proc.c) ---- */

/* A process identified by PID plus its start time (field 22 of
 * /proc/PID/stat, clock ticks since boot), so that a recycled PID is
 * recognised as a different process. */
struct stack_proc
{
  pid_t pid;
  unsigned long long start_time;
};

enum stack_proc_state
{
  STACK_PROC_ALIVE,  /* same PID, same start time, not a zombie */
  STACK_PROC_GONE,   /* no such process (or a zombie) */
  STACK_PROC_REUSED, /* the PID now names another process */
};

/* Parse the text of /proc/PID/stat.  comm may hold spaces and ')', so
 * fields are counted from the last ')'.  Any output pointer may be NULL. */
int stack_proc_stat_parse (const char *text, char *state, pid_t *ppid,
                           unsigned long long *start_time, moat_error_t *err);

/* Start time of a live process; -1 with status ESRCH when there is none
 * (zombies count as gone). */
int stack_proc_start_time (pid_t pid, unsigned long long *start_time,
                           moat_error_t *err);

enum stack_proc_state stack_proc_check (const struct stack_proc *p);

const char *stack_proc_state_name (enum stack_proc_state s);

/* Read a pid file: one decimal PID, optional trailing newline.  Returns 0,
 * 1 when the file does not exist, -1 on a malformed file. */
int stack_pidfile_read (const char *path, pid_t *pid, moat_error_t *err);

/* Verdict on a pid file moat finds without a record of having started its
 * process: STACK_PROC_GONE means stale (safe to remove, nothing to kill). */
enum stack_proc_state stack_pidfile_check (const char *path, pid_t *pid);

/* Spawn argv[0] (an absolute path) detached: new session, stdin /dev/null,
 * stdout and stderr appended to log_path, every other descriptor closed,
 * signal mask and dispositions reset.  With netns non-NULL the child joins
 * /run/netns/<netns> (network namespace only) before exec.  The environment
 * is inherited.  Fills *out with the child's PID and start time.  Returns
 * -1 when it could not be started, -2 when it exited at once (then *err
 * is "exited during startup (status N)"). */
int stack_spawn (char *const argv[], const char *log_path, const char *netns,
                 struct stack_proc *out, moat_error_t *err);

/* Stop a recorded process: nothing if it is gone, refused if its PID was
 * reused; otherwise SIGTERM, wait up to term_ms, then SIGKILL and wait.
 * Reaps it when it is our child.  Returns 0 when it is gone. */
int stack_proc_stop (const char *name, const struct stack_proc *p, int term_ms,
                     moat_error_t *err);

/* True when p is our child and has exited (reaps it). */
bool stack_proc_exited (const struct stack_proc *p, int *wstatus);

/* ---- dockerd configuration (engine_config.c) ---- */

struct stack_engine_config
{
  const char *data_root;   /* --data-root */
  const char *exec_root;   /* --exec-root */
  const char *engine_sock; /* listening socket path (no unix:// prefix) */
  const char *pidfile;
  const char *key_path;  /* trust key; keeps dockerd out of /etc/docker */
  const char *bridge;    /* existing bridge interface to use */
  const char *pool_base; /* default-address-pools base, a CIDR */
  int pool_size;         /* prefix length of each network in the pool */
  const char *cgroup_parent;
  const char *containerd_ns; /* containerd namespace, apart from "moby" */
  const char *runtime_path;  /* moat-runc, or NULL to keep runc */
  const char *moat_root;     /* passed to moat-runc as --moat-root */
};

/* Build dockerd's JSON configuration.  Refuses empty paths, a relative
 * socket path and a pool size outside the pool. */
json_t *stack_engine_config_build (const struct stack_engine_config *c,
                                   moat_error_t *err);

/* Check "A.B.C.D/N"; fills the network address and prefix. */
int stack_cidr_parse (const char *s, unsigned int *addr, int *prefix,
                      moat_error_t *err);

/* ---- engine API over the unix socket (engine_http.c) ---- */

/* GET /_ping; 0 when the engine answered "OK". */
int stack_engine_ping (const char *sock, long timeout_ms, moat_error_t *err);

/* GET /version; *out is the decoded JSON object. */
int stack_engine_version (const char *sock, long timeout_ms, json_t **out,
                          moat_error_t *err);

/* The engine's bridge networks: [{"name": "br-…", "subnets": [CIDR…]}],
 * the default bridge included (GET /networks). */
int stack_engine_bridges (const char *sock, long timeout_ms, json_t **out,
                          moat_error_t *err);

/* True when something accepts connections on the unix socket path. */
bool stack_socket_in_use (const char *path);

/* ---- bridge (bridge.c): iproute2 with a fixed argv ---- */

/* Does any route in `routes` (the text of `ip -o -4 route show table
 * all`) overlap cidr?  1 and the route's line in conflict, 0, or -1. */
int stack_routes_overlap (const char *routes, const char *cidr, char *conflict,
                          size_t conflict_len, moat_error_t *err);

/* Refuse a bridge address or address pool that overlaps a route of the
 * (network namespace of the) host: its containers would shadow it. */
int stack_check_addresses_free (const char *netns, const char *bridge_cidr,
                                const char *pool, moat_error_t *err);

bool stack_link_exists (const char *netns, const char *name);
/* Create bridge `name` with address cidr; refused when the interface
 * exists or cidr or pool overlaps an existing route. */
int stack_bridge_create (const char *netns, const char *name, const char *cidr,
                         const char *pool, moat_error_t *err);
int stack_bridge_delete (const char *netns, const char *name,
                         moat_error_t *err);

/* Remove the iptables rules (filter and nat, IPv4 and IPv6) that name one
 * of `ifaces` (-i/-o) or, in POSTROUTING, come from one of `subnets` (-s):
 * what dockerd made for those bridges and left behind when it exited.
 * Chains and every other rule are kept.  Best effort: the first failure is
 * reported, the rest still tried. */
int stack_iptables_forget (const char *netns, json_t *ifaces, json_t *subnets,
                           moat_error_t *err);

/* The test stack_iptables_forget applies to one `iptables-save` line:
 * `-A CHAIN ...` naming one of ifaces after -i/-o (negated or not), or a
 * POSTROUTING rule with -s one of subnets. */
bool stack_iptables_rule_ours (const char *line, json_t *ifaces,
                               json_t *subnets);

/* ---- the stack (stack.c; stopping it: teardown.c) ---- */

struct stack_up_opts
{
  const char *engine;       /* NULL or "private", else an engine socket */
  const char *netns;        /* test knob MOAT_ENGINE_NETNS, or NULL */
  const char *bridge;       /* default "moat0" */
  const char *bridge_cidr;  /* default "10.213.0.1/24" */
  const char *pool;         /* default "10.214.0.0/16" */
  int pool_size;            /* default 24 */
  const char *dockerd_path; /* default /usr/sbin/dockerd */
  const char *moatd_path;   /* default: next to the moat binary */
  const char *runtime_path; /* NULL: look for moat-runc; "" : none */
  int timeout_s;            /* startup timeout per component */
  int dashboard_port;       /* moatd's dashboard; default 7979, 0: off */
  const sigset_t *abort_on; /* pending signals that abort startup */
};

/* Defaults for every field. */
void stack_up_opts_init (struct stack_up_opts *o);

/* Locate a helper program: next to the moat binary, then ../sbin.
 * Returns malloc'd path or NULL when not found. */
char *stack_find_helper (const char *name);

/* Start the stack; on failure everything started is stopped again and
 * *err says why.  *record is the stack.json content on success. */
int stack_up (const struct moat_paths *paths, const struct stack_up_opts *o,
              json_t **record, moat_error_t *err);

/* Stop what stack.json records.  *was_running is false when there was no
 * record.  Stale pid files are reported and removed, never signalled. */
int stack_down (const struct moat_paths *paths, bool *was_running,
                moat_error_t *err);

/* Foreground supervision: wait until a signal in `sigs` (blocked by the
 * caller) arrives or a recorded child exits.  Returns the signal number, or
 * 0 when a component died (*err names it). */
int stack_supervise (const struct moat_paths *paths, json_t *record,
                     const sigset_t *sigs, moat_error_t *err);

/* One control round trip {"cmd": cmd} with a timeout; the response must
 * carry "ok": true. */
int stack_ctl_quick (const struct moat_paths *paths, const char *cmd,
                     int timeout_ms, json_t **resp, moat_error_t *err);

/* Health of the stack as a JSON object (see cmd_status.c for the keys);
 * *healthy is true when every component answers. */
json_t *stack_status (const struct moat_paths *paths, bool *healthy);

/* Can a container start under this root (rootperm.c)?  Every directory
 * from "/" down to paths->run_dir/runc (where moat-runc mounts containers'
 * root file systems, from inside their user namespace) must be searchable
 * by others.  With fix, moat's own directories (MOAT_ROOT and below; with
 * the root "/", run_dir and below) that are owned by root get g+x and o+x
 * (0700 becomes 0711, as dockerd does for its data root).  Otherwise -1,
 * EACCES, and *err names the first directory that blocks. */
int stack_root_check (const struct moat_paths *paths, bool fix,
                      moat_error_t *err);

/* `moat-runc --moat-root ROOT moat-pool` (poolpeers.c): this root's id
 * pool and the other live roots on the host whose pools overlap it, as
 * moat-runc prints them (docs/moat-runc.md, "Two roots, one host"). */
json_t *stack_pool_report (const struct moat_paths *paths, moat_error_t *err);
/* Ranges of other roots overlapping this root's in such a report (0 when
 * none); *peer names the first such root's state db. */
int stack_pool_conflicts (json_t *report, const char **peer);

/* Read stack.json; returns 1 when it does not exist. */
int stack_record_read (const struct moat_paths *paths, json_t **record,
                       moat_error_t *err);
int stack_record_write (const struct moat_paths *paths, json_t *record,
                        moat_error_t *err);
int stack_record_add_proc (json_t *record, const char *name,
                           const struct stack_proc *p, const char *pidfile);
/* False when the record has no valid entry for name. */
bool stack_record_get_proc (json_t *record, const char *name,
                            struct stack_proc *p);

/* Last `lines` lines of a log file written after offset `from` (for
 * startup errors); malloc'd, NULL when there is nothing to show. */
char *stack_log_tail (const char *path, off_t from, int lines);

#endif
