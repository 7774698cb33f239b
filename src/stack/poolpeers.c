/* The id pool as moat-runc sees it (`moat-runc moat-pool`, see
 * docs/moat-runc.md, "Two roots, one host"): `moat status` and `moat
 * verify` report other live roots on this host whose pools overlap this
 * root's.  moat-runc owns the registry; this file only runs it. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "stack.h"

#define REPORT_MAX (64u << 10)

json_t *
stack_pool_report (const struct moat_paths *paths, moat_error_t *err)
{
  cleanup_free char *runc = stack_find_helper ("moat-runc");
  char buf[REPORT_MAX + 1];
  const char *root = paths->root[0] != '\0' ? paths->root : "/";
  size_t len = 0;
  int fds[2], status;
  pid_t pid;
  json_t *out;
  json_error_t jerr;

  if (runc == NULL)
    return moat_error (err, ENOENT, "moat-runc not found"), NULL;
  if (pipe2 (fds, O_CLOEXEC) < 0)
    return moat_error (err, errno, "pipe"), NULL;
  pid = fork ();
  if (pid < 0)
    {
      close (fds[0]);
      close (fds[1]);
      return moat_error (err, errno, "fork"), NULL;
    }
  if (pid == 0)
    {
      char *argv[] = { runc, (char *)"--moat-root", (char *)root,
                       (char *)"moat-pool", NULL };
      dup2 (fds[1], STDOUT_FILENO);
      execv (runc, argv);
      _exit (127);
    }
  close (fds[1]);
  for (;;)
    {
      ssize_t r = read (fds[0], buf + len, REPORT_MAX - len);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0)
        break;
      len += (size_t)r;
      if (len == REPORT_MAX)
        break;
    }
  close (fds[0]);
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return moat_error (err, errno, "wait for moat-runc"), NULL;
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    return moat_error (err, 0, "`moat-runc moat-pool` failed"), NULL;
  buf[len] = '\0';
  out = json_loads (buf, 0, &jerr);
  if (!json_is_object (out))
    {
      json_decref (out);
      return moat_error (err, EINVAL, "`moat-runc moat-pool`: %s", jerr.text),
             NULL;
    }
  return out;
}

int
stack_pool_conflicts (json_t *report, const char **peer)
{
  json_t *p;
  size_t i;
  int n = 0;
  json_array_foreach (json_object_get (report, "peers"), i, p)
  {
    json_int_t c = json_integer_value (json_object_get (p, "conflicts"));
    if (c > 0)
      {
        if (n == 0 && peer != NULL)
          *peer = json_string_value (json_object_get (p, "state_db"));
        n += (int)c;
      }
  }
  return n;
}
