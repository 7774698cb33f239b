/* moat-runc's options from ARGV0.conf (conf.h). */
#include "conf.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/fs.h"

#define CONF_MAX 4096

char *conf_data;
char **conf_argv;

char *
conf_path_for (const char *argv0)
{
  const char *slash = argv0 != NULL ? strrchr (argv0, '/') : NULL;
  cleanup_free char *d = NULL, *real = NULL;
  char *s = NULL;

  if (slash == NULL || slash[1] == '\0')
    return NULL;
  d = slash == argv0 ? strdup ("/") : strndup (argv0, (size_t)(slash - argv0));
  if (d == NULL)
    return NULL;
  real = realpath (d, NULL);
  if (real == NULL)
    return NULL;
  if (asprintf (&s, "%s/%s.conf", strcmp (real, "/") == 0 ? "" : real,
                slash + 1)
      < 0)
    return NULL;
  return s;
}

static char *
trim (char *s)
{
  char *e;
  while (*s == ' ' || *s == '\t')
    s++;
  e = s + strlen (s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
    *--e = '\0';
  return s;
}

int
conf_apply (int *argc, char ***argv, moat_error_t *err)
{
  cleanup_free char *path = conf_path_for ((*argv)[0]);
  char *data = NULL, *line, *save = NULL;
  char **v;
  size_t len, n = 0, cap;
  struct stat st;

  if (path == NULL || lstat (path, &st) < 0)
    return 0;
  if (fs_read_trusted (path, NULL, CONF_MAX, &data, &len, err) < 0)
    return moat_error_wrap (err, "options file `%s`", path);
  if (strlen (data) != len)
    {
      free (data);
      return moat_error (err, EINVAL, "options file `%s`: a NUL byte", path);
    }
  /* at most two words a line, a line at least 2 bytes */
  cap = (size_t)*argc + len + 2;
  v = calloc (cap, sizeof *v);
  if (v == NULL)
    {
      free (data);
      return moat_error (err, ENOMEM, "options file");
    }
  v[n++] = (*argv)[0];
  for (line = strtok_r (data, "\n", &save); line != NULL;
       line = strtok_r (NULL, "\n", &save))
    {
      char *l = trim (line), *val;
      if (*l == '\0' || *l == '#')
        continue;
      val = l + strcspn (l, " \t");
      if (*val != '\0')
        *val++ = '\0';
      val = trim (val);
      if (strncmp (l, "--moat-", 7) != 0 || strchr (l, '=') != NULL)
        {
          moat_error (err, EINVAL,
                      "options file `%s`: `%s` is not a --moat- option", path,
                      l);
          free (v);
          free (data);
          return -1;
        }
      v[n++] = l;
      if (*val != '\0')
        v[n++] = val;
    }
  for (int i = 1; i < *argc; i++)
    v[n++] = (*argv)[i];
  v[n] = NULL;
  /* data and v live as long as the program: argv points into them
   * (kept here, reachable, for the leak checker) */
  conf_data = data;
  conf_argv = v;
  *argv = v;
  *argc = (int)n;
  return 1;
}
