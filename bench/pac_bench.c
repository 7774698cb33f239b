/* PAC decisions per second through moat's engine (real moat-sandbox).
 * Usage: pac_bench SANDBOX PACFILE N CACHE_TTL_MS DISTINCT_HOSTS
 * Prints: moat cache=<on|off> decisions=N seconds=S us_per_decision=U
 * decisions_per_s=D hits=H */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pac/engine.h"

static const char *const hosts[] = {
  "www.example.com",
  "api.github.com",
  "git01.example.org",
  "x.cdn.example.net",
  "build-07.ci.example.com",
  "a.b.c.blocked.example",
  "login.bank.example",
  "mirror.update.example.com",
  "hub.docker.io",
  "bucket.s3.eu-west-1.amazonaws.com",
  "10.1.2.3",
  "8.8.4.4",
  "old.legacy.example",
  "partner.partner.example",
  "news.example.net",
  "shop.example.co.uk",
};

int
main (int argc, char **argv)
{
  if (argc != 6)
    {
      fprintf (stderr, "usage: pac_bench SANDBOX PAC N CACHE_TTL_MS HOSTS\n");
      return 2;
    }
  moat_error_t err = NULL;
  long n = atol (argv[3]);
  unsigned ttl = (unsigned)atol (argv[4]);
  long distinct = atol (argv[5]);
  FILE *f = fopen (argv[2], "r");
  static char src[1 << 20];
  size_t len = f ? fread (src, 1, sizeof src - 1, f) : 0;
  if (f)
    fclose (f);
  struct pac_engine_opts o
      = { .sandbox_exe = argv[1], .timeout_ms = 1000, .cache_ttl_ms = ttl };
  struct pac_engine *e;
  char host[300];
  struct proxy_list l;
  if (pac_engine_new (&o, &e, &err) < 0
      || pac_engine_load (e, src, len, &err) < 0)
    {
      fprintf (stderr, "%s\n", moat_error_msg (&err));
      return 1;
    }
  struct timespec a, b;
  /* warm up: the sandbox, and with the cache on every (host, port) once
   * when they fit, so the timed loop measures the steady state */
  long warm = ttl && distinct <= n ? 2 * distinct : 200;
  for (long i = 0; i < warm; i++)
    {
      long k = i % distinct;
      if (k < 16)
        snprintf (host, sizeof host, "%s", hosts[k]);
      else
        snprintf (host, sizeof host, "h%ld.%s", k, hosts[k % 16]);
      if (pac_engine_decide (e, host, (i & 1) ? 443 : 80, "192.0.2.1",
                             "172.17.0.2", &l, NULL, &err)
          < 0)
        {
          fprintf (stderr, "%s\n", moat_error_msg (&err));
          return 1;
        }
    }
  struct pac_engine_stats s0, s1;
  pac_engine_stats (e, &s0);
  clock_gettime (CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++)
    {
      long k = i % distinct;
      if (k < 16)
        snprintf (host, sizeof host, "%s", hosts[k]);
      else
        snprintf (host, sizeof host, "h%ld.%s", k, hosts[k % 16]);
      if (pac_engine_decide (e, host, (i & 1) ? 443 : 80, "192.0.2.1",
                             "172.17.0.2", &l, NULL, &err)
          < 0)
        {
          fprintf (stderr, "%s: %s\n", host, moat_error_msg (&err));
          return 1;
        }
    }
  clock_gettime (CLOCK_MONOTONIC, &b);
  pac_engine_stats (e, &s1);
  double sec
      = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  printf ("moat cache=%s decisions=%ld distinct=%ld seconds=%.3f "
          "us_per_decision=%.2f decisions_per_s=%.0f hits=%lu\n",
          ttl ? "on" : "off", n, distinct, sec, sec * 1e6 / (double)n,
          (double)n / sec, s1.cache_hits - s0.cache_hits);
  pac_engine_free (e);
  return 0;
}
