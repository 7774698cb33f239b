#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Used when even the error cannot be allocated: callers still get a message. */
static char oom_msg[] = "out of memory";

static char *
vformat (const char *fmt, va_list ap)
{
  char *s = NULL;
  if (vasprintf (&s, fmt, ap) < 0)
    return NULL;
  return s;
}

int
moat_error (moat_error_t *err, int status, const char *fmt, ...)
{
  va_list ap;
  char *msg;

  if (err == NULL)
    return -1;
  moat_error_release (err);
  *err = calloc (1, sizeof (**err));
  if (*err == NULL)
    return -1;
  (*err)->status = status;

  va_start (ap, fmt);
  msg = vformat (fmt, ap);
  va_end (ap);
  if (msg != NULL && status != 0)
    {
      char *full = NULL;
      if (asprintf (&full, "%s: %s", msg, strerror (status)) >= 0)
        {
          free (msg);
          msg = full;
        }
    }
  (*err)->msg = msg != NULL ? msg : oom_msg;
  return -1;
}

int
moat_error_wrap (moat_error_t *err, const char *fmt, ...)
{
  va_list ap;
  char *ctx, *full = NULL;

  if (err == NULL)
    return -1;
  if (*err == NULL)
    {
      *err = calloc (1, sizeof (**err));
      if (*err == NULL)
        return -1;
      (*err)->msg = oom_msg;
    }
  va_start (ap, fmt);
  ctx = vformat (fmt, ap);
  va_end (ap);
  if (ctx == NULL)
    return -1;
  if (asprintf (&full, "%s: %s", ctx, (*err)->msg) < 0)
    {
      free (ctx);
      return -1;
    }
  free (ctx);
  if ((*err)->msg != oom_msg)
    free ((*err)->msg);
  (*err)->msg = full;
  return -1;
}

void
moat_error_release (moat_error_t *err)
{
  if (err == NULL || *err == NULL)
    return;
  if ((*err)->msg != oom_msg)
    free ((*err)->msg);
  free (*err);
  *err = NULL;
}

int
moat_error_status (const moat_error_t *err)
{
  return (err != NULL && *err != NULL) ? (*err)->status : 0;
}

const char *
moat_error_msg (const moat_error_t *err)
{
  return (err != NULL && *err != NULL && (*err)->msg != NULL) ? (*err)->msg
                                                              : "unknown error";
}
