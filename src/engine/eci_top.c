/* ECI: GET /containers/{id}/top?ps_args=: the engine runs ps(1) as host
 * root with these arguments over every host process and keeps the lines
 * whose PID column names one of the container's processes.  That column
 * is found by its header and read as the Nth white-space separated word
 * of each line, so a custom format that renames a column to PID, or puts
 * a column of several words (args, with `e` the environment) before it,
 * shows other processes' words (the engine's parse error quotes them).
 * Accepted: ps's standard formats (single-word columns before PID) and
 * custom formats (-o, o) that start with pid; no renamed column (`=`),
 * no header-less output (h, --no-headers). */
#include "eci_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/refusal.h"
#include "engine/route.h"

/* A format list ps would print with PID as its first column. */
static bool
format_pid_first_p (const char *f, size_t n)
{
  return n >= 3 && memcmp (f, "pid", 3) == 0 && (n == 3 || f[3] == ',');
}

/* The rule on one ps_args value, split as the engine splits it (on
 * single spaces). */
static bool
ps_args_safe_p (const char *a)
{
  const char *p = a;
  bool want_format = false;
  for (const char *c = a; *c; c++)
    if (!isalnum ((unsigned char)*c) && *c != ',' && *c != '-' && *c != ' ')
      return false;
  while (*p)
    {
      const char *e = strchrnul (p, ' ');
      size_t n = (size_t)(e - p);
      const char *o;
      if (want_format)
        {
          if (!format_pid_first_p (p, n))
            return false;
          want_format = false;
        }
      else if (n >= 2 && p[0] == '-' && p[1] == '-')
        {
          /* long options: --format, --sort, --no-headers (the first
           * process line read as the header)... only --forest */
          if (n != 8 || memcmp (p, "--forest", 8) != 0)
            return false;
        }
      else if (memchr (p, 'O', n) != NULL)
        return false;
      else if ((o = memchr (p, 'o', n)) == NULL)
        {
          /* h: no header line; the engine would take the first process's
           * line as the header and find a "PID" among its words */
          if (memchr (p, 'h', n) != NULL)
            return false;
        }
      else
        {
          if (memchr (p, 'h', (size_t)(o - p)) != NULL)
            return false;
          /* -o FMT, o FMT, -eo FMT, or the format in the same word */
          size_t rest = n - (size_t)(o + 1 - p);
          if (rest == 0)
            want_format = true;
          else if (!format_pid_first_p (o + 1, rest))
            return false;
        }
      p = *e ? e + 1 : e;
    }
  return !want_format;
}

int
eci_check_top (const char *query, struct eci_verdict *v)
{
  cleanup_free char *a = engine_query_get (query, "ps_args");
  if (a == NULL)
    return 0;
  /* the engine reads the first; every one must be that one */
  if (engine_query_any_other (query, "ps_args", a) || !ps_args_safe_p (a))
    return eci_refuse (v, 403, "eci.top", REFUSAL_ECI_TOP, a);
  return 0;
}
