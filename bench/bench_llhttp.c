/* llhttp vs nothing: what parsing every request with llhttp costs, against
 * the least a proxy must do to find message boundaries itself (scan for the
 * end of the head).  Build and run: bench/guard_bench.sh (or see there). */
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static size_t sink;
static int
on_data (llhttp_t *p, const char *at, size_t len)
{
  (void)p;
  (void)at;
  sink += len;
  return 0;
}

int
main (void)
{
  const char *req = "POST /v1.41/containers/create?name=web HTTP/1.1\r\n"
                    "Host: api.moby.localhost\r\nUser-Agent: "
                    "Docker-Client/28.2.2 (linux)\r\n"
                    "Content-Length: 0\r\nContent-Type: application/json\r\n"
                    "Accept-Encoding: gzip\r\n\r\n";
  size_t rl = strlen (req);
  llhttp_settings_t st;
  llhttp_t p;
  int n = 2000000;
  double t0, t1;

  llhttp_settings_init (&st);
  st.on_url = on_data;
  st.on_header_field = on_data;
  st.on_header_value = on_data;
  st.on_body = on_data;
  llhttp_init (&p, HTTP_REQUEST, &st);
  t0 = now ();
  for (int i = 0; i < n; i++)
    if (llhttp_execute (&p, req, rl) != HPE_OK)
      return 1;
  t1 = now ();
  printf ("llhttp: request head (%zu bytes) parsed in %.0f ns\n", rl,
          (t1 - t0) / n * 1e9);
  t0 = now ();
  for (int i = 0; i < n; i++)
    {
      volatile const char *e = memmem (req, rl, "\r\n\r\n", 4);
      sink += (size_t)(e != NULL);
    }
  t1 = now ();
  printf ("nothing (memmem for the head end): %.0f ns\n", (t1 - t0) / n * 1e9);

  /* chunked body throughput: 256 MiB in 64 KiB chunks */
  size_t chunk = 64 * 1024, total = 256u << 20;
  char *buf = malloc (chunk + 32);
  int hl = snprintf (buf, 32, "%zx\r\n", chunk - 16);
  memset (buf + hl, 'x', chunk - 16);
  memcpy (buf + hl + chunk - 16, "\r\n", 2);
  size_t framed = (size_t)hl + chunk - 16 + 2;
  const char *h = "POST /images/load HTTP/1.1\r\nHost: x\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n";
  llhttp_init (&p, HTTP_REQUEST, &st);
  llhttp_execute (&p, h, strlen (h));
  t0 = now ();
  for (size_t done = 0; done < total; done += framed)
    if (llhttp_execute (&p, buf, framed) != HPE_OK)
      return 1;
  t1 = now ();
  printf ("llhttp: chunked body %.0f MB/s\n", total / (t1 - t0) / 1e6);
  t0 = now ();
  for (size_t done = 0; done < total; done += framed)
    {
      char tmp[64 * 1024 + 32];
      memcpy (tmp, buf, framed); /* the copy any user-space relay makes */
      sink += (size_t)tmp[framed / 2];
    }
  t1 = now ();
  printf ("nothing (one memcpy per chunk): %.0f MB/s\n",
          total / (t1 - t0) / 1e6);
  free (buf);
  return sink == 0;
}
