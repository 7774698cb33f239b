/* ext-probe: the host binary of tests/integration/test_ext_host.sh.  Each
 * subcommand tries one thing and prints what happened, so a test sees
 * whether the confinement (not something else) refused it.  Static, libc
 * only: it runs under the confined runner with only its own directory. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int
report (const char *what, int r)
{
  if (r < 0)
    {
      printf ("%s: %s\n", what, strerror (errno));
      return 1;
    }
  printf ("%s: ok\n", what);
  return 0;
}

int
main (int argc, char **argv)
{
  const char *cmd = argc > 1 ? argv[1] : "";
  const char *arg = argc > 2 ? argv[2] : "";

  setvbuf (stdout, NULL, _IONBF, 0);
  if (strcmp (cmd, "echo") == 0)
    {
      for (int i = 2; i < argc; i++)
        printf ("%s%s", argv[i], i + 1 < argc ? " " : "\n");
      return 0;
    }
  if (strcmp (cmd, "read") == 0)
    {
      char buf[4096];
      int fd = open (arg, O_RDONLY);
      ssize_t n;
      if (fd < 0)
        return report ("read", -1);
      n = read (fd, buf, sizeof buf);
      if (n < 0)
        return report ("read", -1);
      fwrite (buf, 1, (size_t)n, stdout);
      return 0;
    }
  if (strcmp (cmd, "write") == 0)
    {
      int fd = open (arg, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0 || write (fd, "marker\n", 7) != 7)
        return report ("write", -1);
      close (fd);
      return report ("write", 0);
    }
  if (strcmp (cmd, "env") == 0)
    {
      for (char **e = environ; *e; e++)
        printf ("%s\n", *e);
      return 0;
    }
  if (strcmp (cmd, "ids") == 0)
    {
      gid_t g[64];
      int n = getgroups (64, g);
      printf ("uid=%d euid=%d gid=%d egid=%d groups=%d\n", (int)getuid (),
              (int)geteuid (), (int)getgid (), (int)getegid (), n);
      return 0;
    }
  if (strcmp (cmd, "fds") == 0)
    {
      printf ("fds");
      for (int fd = 0; fd < 1024; fd++)
        if (fcntl (fd, F_GETFD) >= 0)
          printf (" %d", fd);
      printf ("\n");
      return 0;
    }
  if (strcmp (cmd, "kill") == 0)
    return report ("kill", kill ((pid_t)atoi (arg), SIGKILL));
  if (strcmp (cmd, "mount") == 0)
    return report ("mount", mount ("none", arg, "tmpfs", 0, NULL));
  if (strcmp (cmd, "unshare") == 0)
    return report ("unshare", unshare (CLONE_NEWUSER));
  if (strcmp (cmd, "socket") == 0)
    return report ("socket", socket (AF_INET, SOCK_STREAM, 0));
  if (strcmp (cmd, "setsid") == 0)
    {
      pid_t c = fork ();
      if (c == 0)
        _exit (report ("setsid", setsid ()));
      waitpid (c, NULL, 0);
      return 0;
    }
  if (strcmp (cmd, "ptrace") == 0)
    {
      /* A child of our own: allowed by the kernel (and Yama) without the
       * filter. */
      pid_t c = fork ();
      int r;
      if (c == 0)
        {
          pause ();
          _exit (0);
        }
      r = report ("ptrace", (int)ptrace (PTRACE_ATTACH, c, NULL, NULL));
      kill (c, SIGKILL);
      waitpid (c, NULL, 0);
      return r;
    }
  if (strcmp (cmd, "forktree") == 0)
    {
      /* Children and grandchildren that outlive us, pids on stdout. */
      int n = atoi (arg);
      for (int i = 0; i < n; i++)
        {
          pid_t c = fork ();
          if (c == 0)
            {
              pid_t g = fork ();
              if (g == 0)
                {
                  printf ("pid %d\n", (int)getpid ());
                  for (;;)
                    pause ();
                }
              printf ("pid %d\n", (int)getpid ());
              for (;;)
                pause ();
            }
        }
      sleep (1);
      if (argc > 3 && strcmp (argv[3], "stay") == 0)
        for (;;)
          pause ();
      return 0;
    }
  if (strcmp (cmd, "spew") == 0)
    {
      static char buf[65536];
      memset (buf, 'y', sizeof buf);
      for (;;)
        if (write (1, buf, sizeof buf) < 0)
          return 1;
    }
  if (strcmp (cmd, "sleep") == 0)
    {
      sleep ((unsigned)atoi (arg));
      return 0;
    }
  fprintf (stderr, "usage: ext-probe echo|read|write|env|ids|mount|unshare|"
                   "fds|kill|socket|setsid|ptrace|forktree|spew|sleep ...\n");
  return 2;
}
