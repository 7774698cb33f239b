/* moat's own bridge for the private engine, made with iproute2.  `ip` is
 * run with a fixed argv (no shell), its stderr captured for the error. */
#include "stack.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
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
run_ip (const char *netns, const char *const args[], bool quiet,
        moat_error_t *err)
{
  const char *argv[16];
  char out[512];
  size_t n = 0, used = 0;
  int pipefd[2], st;
  pid_t pid;
  ssize_t r;

  argv[n++] = IP_BIN;
  if (netns != NULL)
    {
      argv[n++] = "-n";
      argv[n++] = netns;
    }
  for (size_t i = 0; args[i] != NULL && n < 15; i++)
    argv[n++] = args[i];
  argv[n] = NULL;

  if (pipe2 (pipefd, O_CLOEXEC) < 0)
    return moat_error (err, errno, "pipe");
  pid = fork ();
  if (pid < 0)
    {
      int e = errno;
      close (pipefd[0]);
      close (pipefd[1]);
      return moat_error (err, e, "fork");
    }
  if (pid == 0)
    {
      int nullfd = open ("/dev/null", O_RDWR | O_CLOEXEC);
      if (nullfd < 0 || dup2 (nullfd, 0) < 0 || dup2 (nullfd, 1) < 0
          || dup2 (pipefd[1], 2) < 0)
        _exit (127);
      execv (IP_BIN, (char *const *) argv);
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
      used += (size_t) r;
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
      return moat_error (err, errno, "wait for ip");
  if (WIFEXITED (st) && WEXITSTATUS (st) == 0)
    return 0;
  if (quiet)
    return moat_error (err, 0, "ip failed");
  return moat_error (err, 0, "`ip%s%s %s %s %s` failed: %s",
                     netns ? " -n " : "", netns ? netns : "", args[0],
                     args[1] ? args[1] : "", args[1] && args[2] ? args[2] : "",
                     used ? out : "(no message)");
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
                     moat_error_t *err)
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
  if (run_ip (netns, add, false, err) < 0)
    return moat_error_wrap (err, "create bridge `%s`", name);
  if (run_ip (netns, addr, false, err) < 0 || run_ip (netns, up, false, err) < 0)
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
