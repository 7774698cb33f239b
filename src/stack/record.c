/* stack.json: what `moat up` started, written after every step so that a
 * crash at any point leaves a record `moat down` can act on.
 *
 *   {"version": 1, "state": "starting"|"running",
 *    "engine": "private"|"external", "engine_sock": PATH,
 *    "docker_host": "unix://PATH", "netns": NAME?, "started": ISO-8601,
 *    "bridge": {"name", "cidr", "created"}?,
 *    "processes": {NAME: {"pid", "start_time", "pidfile"?}}}
 */
#include "stack.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"

int
stack_record_read (const struct moat_paths *paths, json_t **record,
                   moat_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t len;
  json_error_t jerr;

  if (fs_read_file (paths->stack_json, 1024 * 1024, &buf, &len, err) < 0)
    {
      if (moat_error_status (err) == ENOENT)
        {
          moat_error_release (err);
          return 1;
        }
      return -1;
    }
  *record = json_loadb (buf, len, 0, &jerr);
  if (*record == NULL || !json_is_object (*record)
      || !json_is_object (json_object_get (*record, "processes")))
    {
      json_decref (*record);
      *record = NULL;
      return moat_error (err, EINVAL, "`%s` is not a moat stack record",
                         paths->stack_json);
    }
  return 0;
}

int
stack_record_write (const struct moat_paths *paths, json_t *record,
                    moat_error_t *err)
{
  cleanup_free char *s = json_dumps (record, JSON_INDENT (2) | JSON_SORT_KEYS);

  if (s == NULL)
    return moat_error (err, ENOMEM, "encode stack record");
  if (fs_write_file_atomic (paths->stack_json, s, strlen (s), 0644, err) < 0)
    return moat_error_wrap (err, "record the stack");
  return 0;
}

int
stack_record_add_proc (json_t *record, const char *name,
                       const struct stack_proc *p, const char *pidfile)
{
  json_t *procs = json_object_get (record, "processes");
  json_t *o = json_pack ("{s:i, s:I}", "pid", (int)p->pid, "start_time",
                         (json_int_t)p->start_time);
  if (o == NULL)
    return -1;
  if (pidfile != NULL)
    json_object_set_new (o, "pidfile", json_string (pidfile));
  return json_object_set_new (procs, name, o);
}

bool
stack_record_get_proc (json_t *record, const char *name, struct stack_proc *p)
{
  json_t *o = json_object_get (json_object_get (record, "processes"), name);
  json_t *pid = json_object_get (o, "pid");
  json_t *st = json_object_get (o, "start_time");

  if (!json_is_integer (pid) || !json_is_integer (st)
      || json_integer_value (pid) <= 0 || json_integer_value (pid) > 4194304
      || json_integer_value (st) < 0)
    return false;
  p->pid = (pid_t)json_integer_value (pid);
  p->start_time = (unsigned long long)json_integer_value (st);
  return true;
}

char *
stack_log_tail (const char *path, off_t from, int lines)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  char buf[4096];
  off_t size, start;
  ssize_t n;
  char *p;
  int seen = 0;

  if (fd < 0)
    return NULL;
  size = lseek (fd, 0, SEEK_END);
  if (size <= from)
    return NULL;
  start = size - (off_t)(sizeof buf - 1);
  if (start < from)
    start = from;
  n = pread (fd, buf, sizeof buf - 1, start);
  if (n <= 0)
    return NULL;
  buf[n] = '\0';
  while (n > 0 && buf[n - 1] == '\n')
    buf[--n] = '\0';
  for (p = buf + n; p > buf; p--)
    if (p[-1] == '\n' && ++seen == lines)
      break;
  return strdup (p);
}
