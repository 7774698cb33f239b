/* The sign-in gate's per-request cost (BENCHMARKS.md, "sign-in gate").
 *
 * 1. engine_gate_check alone: N sessions, lookups of random uids (half
 *    of them signed in).
 * 2. The guard's whole head path (engine_guard_feed_ex: parse, decide,
 *    re-serialise, forward) for batches of kept-alive requests, without a
 *    gate and with an enforcing gate of 1000 sessions in which the caller
 *    (uid 0 in the feed) is a member: the difference is what the gate adds
 *    to a served request. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine/gate.h"
#include "engine/guard_test.h"

static double
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static const char *const orgs[] = { "acme", "beta" };

static struct engine_gate *
make_gate (size_t n, bool with_root)
{
  struct engine_gate *g = engine_gate_new (orgs, 2, NULL);
  for (size_t i = 0; i < n; i++)
    engine_gate_add (g, (uid_t)(1000 + 2 * i), "user", i % 3 != 0, INT64_MAX,
                     NULL);
  if (with_root)
    engine_gate_add (g, 0, "root", true, INT64_MAX, NULL);
  engine_gate_seal (g);
  return g;
}

static void
bench_lookup (size_t n, size_t iters)
{
  struct engine_gate *g = make_gate (n, false);
  uid_t *uids = malloc (4096 * sizeof *uids);
  volatile int sink = 0;
  double t0, t1;
  srand (42);
  for (size_t i = 0; i < 4096; i++)
    uids[i] = (uid_t)(1000 + (size_t)rand () % (4 * n + 1));
  t0 = now_ns ();
  for (size_t i = 0; i < iters; i++)
    {
      const char *m;
      struct timespec ts;
      clock_gettime (CLOCK_REALTIME_COARSE, &ts);
      sink += engine_gate_check (g, uids[i & 4095], ts.tv_sec, &m);
    }
  t1 = now_ns ();
  printf ("lookup sessions=%zu ns/lookup=%.1f (incl. coarse clock)\n", n,
          (t1 - t0) / iters);
  (void)sink;
  free (uids);
  engine_gate_free (g);
}

static double
bench_guard (struct engine_guard *g, size_t rounds, size_t batch)
{
  static const char req[]
      = "GET /v1.41/containers/json HTTP/1.1\r\nHost: docker\r\n"
        "User-Agent: Docker-Client/24.0.7 (linux)\r\n\r\n";
  static const char resp[]
      = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        "Content-Length: 2\r\n\r\n[]";
  char *c = malloc (batch * (sizeof req - 1) + 1);
  char *e = malloc (batch * (sizeof resp - 1) + 1);
  size_t cl = 0, el = 0;
  double t0, t1;
  for (size_t i = 0; i < batch; i++)
    {
      memcpy (c + cl, req, sizeof req - 1);
      cl += sizeof req - 1;
      memcpy (e + el, resp, sizeof resp - 1);
      el += sizeof resp - 1;
    }
  t0 = now_ns ();
  for (size_t r = 0; r < rounds; r++)
    {
      struct engine_guard_feed_out o = { 0 };
      engine_guard_feed_ex (g, c, cl, e, el, 1 << 20, 0, &o);
      if (r == 0 && strstr (o.to_client, " 403 ") != NULL)
        fprintf (stderr, "refused: the bench measures a refusal\n");
      free (o.to_engine);
      free (o.to_client);
    }
  t1 = now_ns ();
  free (c);
  free (e);
  return (t1 - t0) / (rounds * batch) / 1000.0;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  size_t rounds = argc > 1 ? strtoul (argv[1], NULL, 10) : 20000;
  struct engine_guard_config cfg;
  struct engine_guard *g;
  struct policy pol;
  struct engine_gate *gate;
  char path[64];
  enum
  {
    PAIRS = 15
  };
  double off[PAIRS], on[PAIRS], diff[PAIRS];

  bench_lookup (10, 20000000);
  bench_lookup (1000, 20000000);
  bench_lookup (100000, 20000000);

  snprintf (path, sizeof path, "/tmp/moat-gatebench-%d.sock", (int)getpid ());
  memset (&cfg, 0, sizeof cfg);
  cfg.listen_fd = -1;
  cfg.listen_path = path;
  cfg.engine_path = "/nonexistent";
  g = engine_guard_new (&cfg, NULL);
  unlink (path);
  if (g == NULL)
    return 1;
  memset (&pol, 0, sizeof pol);
  engine_guard_set_policy (g, &pol);
  gate = make_gate (1000, true);
  /* interleaved pairs, medians: the machine is shared and noisy */
  for (int k = 0; k < PAIRS; k++)
    {
      engine_guard_set_gate (g, NULL);
      off[k] = bench_guard (g, rounds, 16);
      engine_guard_set_gate (g, gate);
      on[k] = bench_guard (g, rounds, 16);
      diff[k] = on[k] - off[k];
    }
  qsort (off, PAIRS, sizeof *off, cmp_double);
  qsort (on, PAIRS, sizeof *on, cmp_double);
  qsort (diff, PAIRS, sizeof *diff, cmp_double);
  printf ("guard head path us/request (median of %d pairs of %zu x 16 "
          "requests): no gate %.3f, gate (1000 sessions, member) %.3f, "
          "paired difference median %.3f (min %.3f, max %.3f)\n",
          PAIRS, rounds, off[PAIRS / 2], on[PAIRS / 2], diff[PAIRS / 2],
          diff[0], diff[PAIRS - 1]);
  engine_guard_set_gate (g, NULL);
  engine_guard_free (g);
  engine_gate_free (gate);
  return 0;
}
