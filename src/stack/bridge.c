/* moat's own bridge for the private engine, made with iproute2.  `ip` is
 * run with a fixed argv (no shell), its stderr captured for the error. */
#include "stack.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"

#define IP_BIN "/usr/sbin/ip"

static int
check_ifname (const char *name, moat_error_t *err)
{
  size_t len = strlen (name);
  if (len == 0 || len >= IFNAMSIZ || strchr (name, '/') != NULL
      || strpbrk (name, " \t\n:") != NULL)
    return moat_error (err, EINVAL, "bad interface name `%s`", name);
  return 0;
}

/* Run `ip [-n NETNS] ARGS...`; on failure the message carries ip's
 * stderr. */
static int
run_prog_out (const char *prog, const char *netns, const char *const args[],
              bool quiet, char **stdout_text, moat_error_t *err)
{
  const char *argv[48];
  char out[512];
  size_t n = 0, used = 0;
  int pipefd[2], st;
  int outfd[2] = { -1, -1 };
  pid_t pid;
  ssize_t r;

  /* prog NULL: `ip [-n NETNS] ARGS`; else `[ip netns exec NETNS] prog
   * ARGS`. */
  if (prog == NULL || netns != NULL)
    argv[n++] = IP_BIN;
  if (prog == NULL && netns != NULL)
    {
      argv[n++] = "-n";
      argv[n++] = netns;
    }
  if (prog != NULL && netns != NULL)
    {
      argv[n++] = "netns";
      argv[n++] = "exec";
      argv[n++] = netns;
    }
  if (prog != NULL)
    argv[n++] = prog;
  for (size_t i = 0; args[i] != NULL; i++)
    {
      if (n == sizeof argv / sizeof argv[0] - 1)
        return moat_error (err, E2BIG, "too many arguments for `%s`",
                           prog ? prog : IP_BIN);
      argv[n++] = args[i];
    }
  argv[n] = NULL;

  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    return moat_error (err, errno, "pipe");
  /* Route tables are small; a temp file avoids juggling two pipes. */
  if (stdout_text != NULL)
    {
      outfd[0] = open ("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
      if (outfd[0] < 0)
        {
          int e = errno;
          close (pipefd[0]);
          close (pipefd[1]);
          return moat_error (err, e, "temporary file");
        }
    }
  pid = fork ();
  if (pid < 0)
    {
      int e = errno;
      close (pipefd[0]);
      close (pipefd[1]);
      if (outfd[0] >= 0)
        close (outfd[0]);
      return moat_error (err, e, "fork");
    }
  if (pid == 0)
    {
      int nullfd = open ("/dev/null", O_RDWR | O_CLOEXEC);
      if (nullfd < 0 || dup2 (nullfd, 0) < 0
          || dup2 (outfd[0] >= 0 ? outfd[0] : nullfd, 1) < 0
          || dup2 (pipefd[1], 2) < 0)
        _exit (127);
      execv (argv[0], (char *const *)argv);
      _exit (127);
    }
  close (pipefd[1]);
  for (;;)
    {
      r = read (pipefd[0], out + used, sizeof out - 1 - used);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      used += (size_t)r;
      if (used == sizeof out - 1)
        {
          char sink[256];
          while (read (pipefd[0], sink, sizeof sink) > 0)
            ;
          break;
        }
    }
  close (pipefd[0]);
  out[used] = '\0';
  while (used > 0 && out[used - 1] == '\n')
    out[--used] = '\0';
  while (waitpid (pid, &st, 0) < 0)
    if (errno != EINTR)
      {
        if (outfd[0] >= 0)
          close (outfd[0]);
        return moat_error (err, errno, "wait for ip");
      }
  if (outfd[0] >= 0)
    {
      cleanup_close int fd = outfd[0];
      off_t size = lseek (fd, 0, SEEK_END);
      char *text;
      if (size < 0 || size > 4 * 1024 * 1024)
        return moat_error (err, EFBIG, "ip output");
      text = calloc (1, (size_t)size + 1);
      if (text == NULL)
        return moat_error (err, ENOMEM, "ip output");
      if (size > 0 && pread (fd, text, (size_t)size, 0) != size)
        {
          free (text);
          return moat_error (err, EIO, "read ip output");
        }
      *stdout_text = text;
    }
  if (WIFEXITED (st) && WEXITSTATUS (st) == 0)
    return 0;
  if (stdout_text != NULL)
    {
      free (*stdout_text);
      *stdout_text = NULL;
    }
  if (quiet)
    return moat_error (err, 0, "ip failed");
  if (prog != NULL)
    return moat_error (err, 0, "`%s %s %s` failed: %s", prog, args[0],
                       args[0] && args[1] ? args[1] : "",
                       used ? out : "(no message)");
  return moat_error (err, 0, "`ip%s%s %s %s %s` failed: %s",
                     netns ? " -n " : "", netns ? netns : "", args[0],
                     args[1] ? args[1] : "", args[1] && args[2] ? args[2] : "",
                     used ? out : "(no message)");
}

static int
run_ip_out (const char *netns, const char *const args[], bool quiet,
            char **stdout_text, moat_error_t *err)
{
  return run_prog_out (NULL, netns, args, quiet, stdout_text, err);
}

static int
run_ip (const char *netns, const char *const args[], bool quiet,
        moat_error_t *err)
{
  return run_ip_out (netns, args, quiet, NULL, err);
}

static bool
overlap_p (unsigned int a, int pa, unsigned int b, int pb)
{
  int p = pa < pb ? pa : pb;
  unsigned int mask = p == 0 ? 0 : 0xffffffffu << (32 - p);
  return (a & mask) == (b & mask);
}

int
stack_routes_overlap (const char *routes, const char *cidr, char *conflict,
                      size_t conflict_len, moat_error_t *err)
{
  static const char *const types[]
      = { "unicast",   "local",       "broadcast", "multicast", "anycast",
          "blackhole", "unreachable", "prohibit",  "throw",     "nat" };
  unsigned int want;
  int want_prefix;
  const char *line = routes;

  if (stack_cidr_parse (cidr, &want, &want_prefix, err) < 0)
    return -1;
  while (line != NULL && *line != '\0')
    {
      const char *eol = strchr (line, '\n');
      size_t len = eol ? (size_t)(eol - line) : strlen (line);
      char buf[256], orig[256], dst[64];
      char *tok, *save = NULL;
      unsigned int a;
      int prefix;
      cleanup_error moat_error_t e = NULL;

      if (len >= sizeof buf)
        len = sizeof buf - 1;
      memcpy (buf, line, len);
      buf[len] = '\0';
      memcpy (orig, buf, len + 1);
      line = eol ? eol + 1 : NULL;
      tok = strtok_r (buf, " \t", &save);
      for (size_t i = 0; tok != NULL && i < sizeof types / sizeof types[0];
           i++)
        if (strcmp (tok, types[i]) == 0)
          {
            tok = strtok_r (NULL, " \t", &save);
            break;
          }
      if (tok == NULL || strcmp (tok, "default") == 0)
        continue;
      snprintf (dst, sizeof dst, strchr (tok, '/') ? "%s" : "%s/32", tok);
      if (stack_cidr_parse (dst, &a, &prefix, &e) < 0)
        continue;
      if (overlap_p (want, want_prefix, a, prefix))
        {
          while (len > 0 && orig[len - 1] == ' ')
            orig[--len] = '\0';
          snprintf (conflict, conflict_len, "%s", orig);
          return 1;
        }
    }
  return 0;
}

int
stack_check_addresses_free (const char *netns, const char *bridge_cidr,
                            const char *pool, moat_error_t *err)
{
  const char *args[] = { "-o", "-4", "route", "show", "table", "all", NULL };
  cleanup_free char *routes = NULL;
  char conflict[256];
  int r;

  if (run_ip_out (netns, args, false, &routes, err) < 0)
    return moat_error_wrap (err, "list routes");
  r = stack_routes_overlap (routes, bridge_cidr, conflict, sizeof conflict,
                            err);
  if (r < 0)
    return moat_error_wrap (err, "bridge address");
  if (r > 0)
    return moat_error (err, 0,
                       "bridge address %s overlaps the route `%s` of this "
                       "host; choose another with --bridge-ip",
                       bridge_cidr, conflict);
  r = stack_routes_overlap (routes, pool, conflict, sizeof conflict, err);
  if (r < 0)
    return moat_error_wrap (err, "address pool");
  if (r > 0)
    return moat_error (err, 0,
                       "address pool %s overlaps the route `%s` of this "
                       "host; choose another with --address-pool",
                       pool, conflict);
  return 0;
}

bool
stack_link_exists (const char *netns, const char *name)
{
  cleanup_error moat_error_t err = NULL;
  const char *args[] = { "link", "show", "dev", name, NULL };
  return run_ip (netns, args, true, &err) == 0;
}

int
stack_bridge_create (const char *netns, const char *name, const char *cidr,
                     const char *pool, moat_error_t *err)
{
  const char *add[] = { "link", "add", "name", name, "type", "bridge", NULL };
  const char *addr[] = { "addr", "add", cidr, "dev", name, NULL };
  const char *up[] = { "link", "set", "dev", name, "up", NULL };
  unsigned int a;
  int prefix;

  if (check_ifname (name, err) < 0)
    return -1;
  if (stack_cidr_parse (cidr, &a, &prefix, err) < 0)
    return moat_error_wrap (err, "bridge address");
  if (stack_link_exists (netns, name))
    return moat_error (err, 0,
                       "network interface `%s` already exists and moat did "
                       "not create it (another moat, or another program, "
                       "uses it); remove it or choose another with --bridge",
                       name);
  if (stack_check_addresses_free (netns, cidr, pool, err) < 0)
    return -1;
  if (run_ip (netns, add, false, err) < 0)
    return moat_error_wrap (err, "create bridge `%s`", name);
  if (run_ip (netns, addr, false, err) < 0
      || run_ip (netns, up, false, err) < 0)
    {
      cleanup_error moat_error_t e2 = NULL;
      stack_bridge_delete (netns, name, &e2);
      return moat_error_wrap (err, "set up bridge `%s` with %s", name, cidr);
    }
  return 0;
}

int
stack_bridge_delete (const char *netns, const char *name, moat_error_t *err)
{
  const char *del[] = { "link", "del", "dev", name, NULL };

  if (check_ifname (name, err) < 0)
    return -1;
  if (!stack_link_exists (netns, name))
    return 0;
  if (run_ip (netns, del, false, err) < 0)
    return moat_error_wrap (err, "remove bridge `%s`", name);
  return 0;
}

bool
stack_iptables_rule_ours (const char *line, json_t *ifaces, json_t *subnets)
{
  cleanup_free char *copy = strdup (line);
  char *save = NULL, *prev = NULL, *chain = NULL;
  size_t i;
  json_t *v;

  if (copy == NULL)
    return false;
  for (char *t = strtok_r (copy, " ", &save); t != NULL;
       prev = t, t = strtok_r (NULL, " ", &save))
    {
      if (prev != NULL && strcmp (prev, "-A") == 0)
        chain = t;
      if (prev == NULL)
        continue;
      if (strcmp (prev, "-i") == 0 || strcmp (prev, "-o") == 0)
        json_array_foreach (ifaces, i, v)
        {
          if (json_is_string (v) && strcmp (json_string_value (v), t) == 0)
            return true;
        }
      if (strcmp (prev, "-s") == 0 && chain != NULL
          && strcmp (chain, "POSTROUTING") == 0)
        json_array_foreach (subnets, i, v)
        {
          if (json_is_string (v) && strcmp (json_string_value (v), t) == 0)
            return true;
        }
    }
  return false;
}

/* Split an iptables-save rule into argv for `iptables -t T -D ...`;
 * refuses quoted arguments (dockerd writes none). */
static int
rule_argv (char *line, const char *argv[], size_t max)
{
  size_t n = 0;
  char *save = NULL;
  if (strchr (line, '"') != NULL || strchr (line, '\'') != NULL)
    return -1;
  for (char *t = strtok_r (line, " ", &save); t != NULL;
       t = strtok_r (NULL, " ", &save))
    {
      if (n + 1 >= max)
        return -1;
      argv[n] = n == 0 ? "-D" : t;
      n++;
    }
  argv[n] = NULL;
  return n > 1 ? 0 : -1;
}

int
stack_iptables_forget (const char *netns, json_t *ifaces, json_t *subnets,
                       moat_error_t *err)
{
  static const char *const tools[][2] = {
    { "/usr/sbin/iptables-save", "/usr/sbin/iptables" },
    { "/usr/sbin/ip6tables-save", "/usr/sbin/ip6tables" },
  };
  static const char *const tables[] = { "filter", "nat" };
  int ret = 0;

  for (size_t k = 0; k < 2; k++)
    for (size_t t = 0; t < 2; t++)
      {
        const char *save_args[] = { "-t", tables[t], NULL };
        cleanup_free char *text = NULL;
        cleanup_error moat_error_t e = NULL;
        char *line, *next;

        if (access (tools[k][0], X_OK) < 0
            || run_prog_out (tools[k][0], netns, save_args, true, &text, &e)
                   < 0)
          continue; /* no such tool or table: nothing of ours there */
        for (line = text; line != NULL && *line != '\0'; line = next)
          {
            const char *argv[40];
            cleanup_error moat_error_t e2 = NULL;
            next = strchr (line, '\n');
            if (next != NULL)
              *next++ = '\0';
            if (strncmp (line, "-A ", 3) != 0
                || !stack_iptables_rule_ours (line, ifaces, subnets))
              continue;
            argv[0] = "-t";
            argv[1] = tables[t];
            if (rule_argv (line, argv + 2, 38) < 0)
              continue;
            if (run_prog_out (tools[k][1], netns, argv, false, NULL, &e2) < 0
                && ret == 0)
              {
                *err = steal_pointer (&e2);
                ret = -1;
              }
          }
      }
  return ret;
}
