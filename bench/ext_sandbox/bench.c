/* Extension sandbox figures (issue 15, "Performance"): sandbox start, and a
 * sandboxed route call against the same logic as a native route served by
 * a backend on a unix socket (HTTP/1.1, one connection per request, as
 * moatd reaches a backend), plus the same logic as a plain C call (floor).
 * Usage: bench [N] (run by bench/ext_sandbox/bench.sh). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ext/sandbox.h"

static double
now_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void
report (const char *what, double *v, int n)
{
  double sum = 0;
  for (int i = 0; i < n; i++)
    sum += v[i];
  qsort (v, (size_t)n, sizeof *v, cmp);
  printf ("%-44s n=%-6d mean %9.1f us  p50 %9.1f  p99 %9.1f\n", what, n,
          sum / n, v[n / 2], v[(int)(n * 0.99)]);
}

/* The route's logic, natively: {"hello": query, "n": length}. */
static char *
logic (const char *query)
{
  json_t *o = json_pack ("{s:s, s:i}", "hello", query, "n",
                         (int)strlen (query));
  char *s = json_dumps (o, JSON_COMPACT);
  json_decref (o);
  return s;
}

static char sock_path[108];

static void *
server (void *arg)
{
  int l = *(int *)arg;
  for (;;)
    {
      char buf[4096];
      int c = accept (l, NULL, NULL);
      if (c < 0)
        continue;
      ssize_t n = read (c, buf, sizeof buf - 1);
      if (n > 0)
        {
          buf[n] = 0;
          char *q = strchr (buf, '?');
          char *sp = q ? strchr (q, ' ') : NULL;
          if (sp)
            *sp = 0;
          char *body = logic (q ? q + 1 : "");
          char hdr[256];
          int h = snprintf (hdr, sizeof hdr,
                            "HTTP/1.1 200 OK\r\nContent-Type: "
                            "application/json\r\nContent-Length: %zu\r\n"
                            "Connection: close\r\n\r\n",
                            strlen (body));
          if (write (c, hdr, (size_t)h) < 0 || write (c, body, strlen (body)) < 0)
            (void)0;
          free (body);
        }
      close (c);
    }
  return NULL;
}

static int
native_call (const char *query, char *out, size_t outsz)
{
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  char req[512];
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  snprintf (a.sun_path, sizeof a.sun_path, "%s", sock_path);
  if (connect (fd, (struct sockaddr *)&a, sizeof a) < 0)
    return -1;
  int n = snprintf (req, sizeof req,
                    "GET /hello?%s HTTP/1.1\r\nHost: backend\r\n\r\n", query);
  if (write (fd, req, (size_t)n) < 0)
    return -1;
  size_t got = 0;
  ssize_t r;
  while ((r = read (fd, out + got, outsz - 1 - got)) > 0)
    got += (size_t)r;
  out[got] = 0;
  close (fd);
  return strstr (out, "\"hello\"") ? 0 : -1;
}

int
main (int argc, char **argv)
{
  int n = argc > 1 ? atoi (argv[1]) : 2000;
  const char *exe = argc > 2 ? argv[2] : "build/moat-sandbox";
  char dir[] = "/tmp/moat-sbx-bench-XXXXXX", p[256];
  moat_error_t err = NULL;
  double *v = calloc ((size_t)n, sizeof *v);

  if (mkdtemp (dir) == NULL)
    return 1;
  snprintf (p, sizeof p, "%s/b", dir);
  mkdir (p, 0700);
  snprintf (p, sizeof p, "%s/b/data", dir);
  mkdir (p, 0700);
  snprintf (p, sizeof p, "%s/b/extension.json", dir);
  FILE *f = fopen (p, "w");
  fputs ("{\"name\":\"b\",\"sandbox\":{\"grants\":{}}}", f);
  fclose (f);
  snprintf (p, sizeof p, "%s/b/sandbox.js", dir);
  f = fopen (p, "w");
  fputs ("moat.route('GET', '/hello', function (req) {\n"
         "  return { status: 200, body: { hello: req.query, n: "
         "req.query.length } };\n"
         "});\n",
         f);
  fclose (f);
  struct ext_sandbox_conf c = { .exe = exe, .ext_dir = dir };
  if (ext_sandbox_init (&c, &err) < 0)
    return 1;

  printf ("# %d calls each; moat-sandbox %s\n", n, exe);
  /* Start: forget, then the first call starts it (spawn, seccomp, prelude,
   * script); minus a warm call's cost. */
  int ns = n < 50 ? n : 50;
  for (int i = 0; i < ns; i++)
    {
      int st;
      char *r;
      size_t len;
      ext_sandbox_forget ("b");
      double t = now_us ();
      ext_sandbox_call ("b", "GET", "/hello?x", NULL, 0, &st, &r, &len, &err);
      v[i] = now_us () - t;
      free (r);
    }
  report ("sandbox start + first call", v, ns);
  for (int i = 0; i < n; i++)
    {
      int st;
      char *r;
      size_t len;
      double t = now_us ();
      if (ext_sandbox_call ("b", "GET", "/hello?world", NULL, 0, &st, &r,
                            &len, &err)
              < 0
          || st != 200)
        {
          fprintf (stderr, "call failed\n");
          return 1;
        }
      v[i] = now_us () - t;
      free (r);
    }
  report ("sandboxed route (ext_sandbox_call)", v, n);

  snprintf (sock_path, sizeof sock_path, "%s/backend.sock", dir);
  int l = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  snprintf (a.sun_path, sizeof a.sun_path, "%s", sock_path);
  if (bind (l, (struct sockaddr *)&a, sizeof a) < 0 || listen (l, 64) < 0)
    return 1;
  pthread_t th;
  pthread_create (&th, NULL, server, &l);
  for (int i = 0; i < n; i++)
    {
      char out[4096];
      double t = now_us ();
      if (native_call ("world", out, sizeof out) < 0)
        {
          fprintf (stderr, "native call failed\n");
          return 1;
        }
      v[i] = now_us () - t;
    }
  report ("native route (HTTP on a unix socket)", v, n);
  for (int i = 0; i < n; i++)
    {
      double t = now_us ();
      free (logic ("world"));
      v[i] = now_us () - t;
    }
  report ("the logic alone (C, in process)", v, n);
  ext_sandbox_shutdown ();
  snprintf (p, sizeof p, "rm -rf '%s'", dir);
  return system (p) == 0 ? 0 : 1;
}
