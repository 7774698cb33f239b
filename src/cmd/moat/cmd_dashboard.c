/* moat dashboard: ask moatd (which knows the caller by SO_PEERCRED) for a
 * one-time sign-in URL of the dashboard, and open it in a browser. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "common/cleanup.h"
#include "ctl/ctl.h"

static void
usage (FILE *out)
{
  fprintf (out,
           "Usage: moat dashboard [--print-url]\n"
           "\n"
           "Open moat's dashboard (served by moatd on 127.0.0.1, port 7979\n"
           "unless `moat up --dashboard-port` said otherwise) in a browser,\n"
           "signed in as the user running this command.  moatd gives a\n"
           "one-time link: it works once, within 60 seconds, and only for a\n"
           "browser running as this same user.  The browser then holds a\n"
           "session cookie (8 hours; moatd forgets sessions when it stops:\n"
           "run moat dashboard again).\n"
           "\n"
           "The link is opened with xdg-open when one is installed and a\n"
           "display is set; otherwise it is printed.\n"
           "\n"
           "Options:\n"
           "  --print-url   only print the link\n");
}

/* xdg-open url; 0 when it started and exited 0. */
static int
xdg_open (const char *url)
{
  cleanup_free char *path = NULL;
  const char *env = getenv ("PATH");
  pid_t pid;
  int st;

  if ((getenv ("DISPLAY") == NULL || getenv ("DISPLAY")[0] == '\0')
      && (getenv ("WAYLAND_DISPLAY") == NULL
          || getenv ("WAYLAND_DISPLAY")[0] == '\0'))
    return -1;
  if (env == NULL)
    env = "/usr/bin:/bin";
  {
    cleanup_free char *dirs = strdup (env);
    char *save = NULL;
    for (char *d = dirs ? strtok_r (dirs, ":", &save) : NULL; d != NULL;
         d = strtok_r (NULL, ":", &save))
      {
        free (path);
        if (asprintf (&path, "%s/xdg-open", d) < 0)
          {
            path = NULL;
            return -1;
          }
        if (access (path, X_OK) == 0)
          break;
        free (path);
        path = NULL;
      }
  }
  if (path == NULL)
    return -1;
  pid = fork ();
  if (pid < 0)
    return -1;
  if (pid == 0)
    {
      execl (path, "xdg-open", url, (char *)NULL);
      _exit (127);
    }
  while (waitpid (pid, &st, 0) < 0)
    if (errno != EINTR)
      return -1;
  return WIFEXITED (st) && WEXITSTATUS (st) == 0 ? 0 : -1;
}

int
cli_dashboard (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  bool print_only = false;
  json_t *req, *resp = NULL;
  const char *url;

  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--print-url") == 0)
        print_only = true;
      else if (strcmp (argv[i], "-h") == 0 || strcmp (argv[i], "--help") == 0)
        {
          usage (stdout);
          return 0;
        }
      else
        {
          fprintf (stderr, "moat dashboard: unknown argument `%s`\n\n",
                   argv[i]);
          usage (stderr);
          return 2;
        }
    }
  req = json_pack ("{s:s}", "cmd", "dashboard.ticket");
  if (req == NULL)
    return moat_error (err, ENOMEM, "dashboard");
  if (ctl_call (&cli->paths, req, &resp, err) < 0)
    {
      json_decref (req);
      return moat_error_wrap (err, "ask moatd for a sign-in link");
    }
  json_decref (req);
  url = json_string_value (json_object_get (resp, "url"));
  if (url == NULL)
    {
      json_decref (resp);
      return moat_error (err, EPROTO, "moatd sent no link");
    }
  if (print_only || xdg_open (url) < 0)
    {
      if (!print_only)
        fprintf (stderr, "moat dashboard: open this link in a browser "
                         "running as you (it works once, within 60 s):\n");
      printf ("%s\n", url);
    }
  json_decref (resp);
  return 0;
}
