/* The set-id guard for what is exec'd into a guarded container: runc
 * exec's process file and `--cap` arguments lose SPEC_SETID_CAP (see
 * spec.h, spec_guard_setid_exec). */
#include "spec.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/log.h"


/* runc's (Go flag) option spellings: "-x", "--x", with "=value" or not.
 * The name of option a (without dashes, length *nl), and its value after
 * "=" (NULL: none). */
static const char *
exec_opt (const char *a, size_t *nl, const char **eq)
{
  const char *name = a + (a[1] == '-' ? 2 : 1);
  const char *e = strchr (name, '=');
  *nl = e != NULL ? (size_t)(e - name) : strlen (name);
  *eq = e != NULL ? e + 1 : NULL;
  return name;
}

static bool
opt_is (const char *name, size_t nl, const char *want)
{
  return strlen (want) == nl && strncmp (name, want, nl) == 0;
}

/* The process file of a guarded container's exec loses SPEC_SETID_CAP
 * (the engine builds it from the container's original capabilities,
 * CAP_SETFCAP among them for CRI and dockerd, and would undo the guard). */
static int
exec_guard_process_file (const char *id, const char *path, moat_error_t *err)
{
  cleanup_free char *data = NULL, *out = NULL;
  json_error_t jerr;
  json_t *proc;
  struct stat st;
  size_t len;
  int n;

  if (stat (path, &st) < 0)
    return moat_error (err, errno, "exec `%s`: process file `%s`", id, path);
  if (fs_read_file (path, SPEC_MAX, &data, &len, err) < 0)
    return moat_error_wrap (err, "exec `%s`", id);
  proc = json_loadb (data, len, 0, &jerr);
  if (!json_is_object (proc))
    {
      json_decref (proc);
      return moat_error (err, EINVAL, "exec `%s`: process file `%s`: %s", id,
                         path, jerr.text);
    }
  n = spec_guard_setid_process (proc);
  if (n > 0)
    out = json_dumps (proc, JSON_COMPACT);
  json_decref (proc);
  if (n == 0)
    return 0;
  if (out == NULL)
    return moat_error (err, ENOMEM, "exec `%s`: encode process", id);
  if (fs_write_file_atomic (path, out, strlen (out), st.st_mode & 07777, err)
      < 0)
    return moat_error_wrap (err, "exec `%s`", id);
  log_warn ("%s: exec: " SPEC_SETID_CAP " left out (set-id guard)", id);
  return 0;
}

/* Exec into a container with the set-id guard: the process file is
 * guarded (above) and a `--cap CAP_SETFCAP` left out of the arguments.
 * *out: the arguments for runc (borrowed strings). */
int
spec_guard_setid_exec (const char *id, char *const *args, char ***out,
                       moat_error_t *err)
{
  size_t n = 0, k = 0, i;
  char **v;

  while (args[n] != NULL)
    n++;
  v = calloc (n + 1, sizeof *v);
  if (v == NULL)
    return moat_error (err, ENOMEM, "exec `%s`", id);
  v[k++] = args[0];
  for (i = 1; i < n; i++)
    {
      const char *a = args[i], *eq, *name, *val;
      size_t nl;
      bool cap;
      if (a[0] != '-' || strcmp (a, "--") == 0)
        break; /* the id; the rest is the command's */
      name = exec_opt (a, &nl, &eq);
      cap = opt_is (name, nl, "cap") || opt_is (name, nl, "c");
      if (!cap && !opt_is (name, nl, "process") && !opt_is (name, nl, "p"))
        {
          v[k++] = args[i];
          continue;
        }
      val = eq != NULL ? eq : args[i + 1];
      if (val == NULL)
        {
          v[k++] = args[i];
          continue;
        }
      if (cap && strcmp (val, SPEC_SETID_CAP) == 0)
        log_warn ("%s: exec: --cap " SPEC_SETID_CAP " left out (set-id "
                  "guard)",
                  id);
      else if (!cap && exec_guard_process_file (id, val, err) < 0)
        {
          free (v);
          return -1;
        }
      else
        {
          v[k++] = args[i];
          if (eq == NULL)
            v[k++] = args[i + 1];
        }
      if (eq == NULL)
        i++;
    }
  for (; i < n; i++)
    v[k++] = args[i];
  *out = v;
  return 0;
}
