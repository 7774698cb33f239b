#include "log.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct
{
  const char *component;
  enum moat_log_format fmt;
  enum moat_log_level min;
  int fd;
} sink = { "moat", MOAT_LOG_HUMAN, MOAT_LOG_INFO, 2 };

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void
moat_log_init (const char *component, enum moat_log_format fmt,
               enum moat_log_level min_level, int fd)
{
  sink.component = component;
  sink.fmt = fmt;
  sink.min = min_level;
  sink.fd = fd;
}

int
moat_log_format_parse (const char *s, enum moat_log_format *out)
{
  if (strcmp (s, "json") == 0)
    *out = MOAT_LOG_JSON;
  else if (strcmp (s, "text") == 0 || strcmp (s, "human") == 0)
    *out = MOAT_LOG_HUMAN;
  else
    return -1;
  return 0;
}

static void
write_all (int fd, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, buf, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      buf += n;
      len -= (size_t) n;
    }
}

void
moat_log (enum moat_log_level level, const char *fmt, ...)
{
  va_list ap;
  char *msg = NULL, *line = NULL;
  char ts[64];
  struct timespec now;
  struct tm tm;
  int saved = errno;

  if (level < sink.min)
    return;
  va_start (ap, fmt);
  if (vasprintf (&msg, fmt, ap) < 0)
    msg = NULL;
  va_end (ap);
  if (msg == NULL)
    goto out;

  clock_gettime (CLOCK_REALTIME, &now);
  gmtime_r (&now.tv_sec, &tm);
  snprintf (ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
            tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
            tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);

  if (sink.fmt == MOAT_LOG_JSON)
    {
      json_t *o = json_pack ("{s:s, s:s, s:s, s:s}", "time", ts, "level",
                             level_names[level], "component", sink.component,
                             "msg", msg);
      char *s = o != NULL ? json_dumps (o, JSON_COMPACT) : NULL;
      json_decref (o);
      if (s != NULL && asprintf (&line, "%s\n", s) < 0)
        line = NULL;
      free (s);
    }
  else if (asprintf (&line, "%s %s %s: %s\n", ts, sink.component,
                     level_names[level], msg)
           < 0)
    line = NULL;

  if (line != NULL)
    write_all (sink.fd, line, strlen (line));
out:
  free (line);
  free (msg);
  errno = saved;
}
