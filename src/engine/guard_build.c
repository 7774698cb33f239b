/* A build's context under ECI: relayed to the engine while
 * engine/buildscan.c reads it, its end withheld until the scanner has
 * decided.  A refusal cuts the engine's connection (it sees a truncated
 * context and builds nothing) and answers the client.
 * docs/engine-eci-checks.md, "build contexts". */
#include <errno.h>
#include <string.h>

#include "common/log.h"
#include "common/refusal.h"
#include "engine/buildscan.h"
#include "engine/guard_int.h"

/* Most body bytes held back at once (the tar's end and what follows it,
 * or a gzip stretch that yields no tar bytes).  More is refused. */
#define BUILD_HELD_MAX (4 * 1024 * 1024)

static int
forward (struct conn *c, const char *p, size_t n)
{
  if (n == 0)
    return 0;
  if (c->chunked_out)
    {
      if (io_buf_printf (&c->uout, "%zx\r\n", n) < 0
          || io_buf_append (&c->uout, p, n) < 0
          || io_buf_append (&c->uout, "\r\n", 2) < 0)
        return -1;
      return 0;
    }
  return io_buf_append (&c->uout, p, n);
}

static void
build_refuse (struct conn *c, const char *message)
{
  const char *m = message ? message : REFUSAL_ENGINE_REFUSED;
  guard_audit (c, "eci.build", "refused", m, NULL);
  /* the engine gets a cut request: it unpacks nothing further */
  io_handle_close (c->g->loop, &c->hu);
  io_buf_free (&c->uout);
  io_buf_free (&c->bheld);
  if (c->pend_n != 1 || c->cout.len > 0)
    {
      /* earlier answers, or the engine's own already begun: nothing
       * can be said cleanly */
      c->dead = true;
      c->rs = RS_DISCARD;
      return;
    }
  c->pend_n = 0;
  c->uin_eof = false;
  guard_local_answer (c, 403, m, true);
  c->rs = RS_DISCARD;
}

int
guard_build_start (struct conn *c)
{
  guard_build_clear (c);
  c->bscan = build_scan_new (c->query);
  return c->bscan ? 0 : -1;
}

void
guard_build_clear (struct conn *c)
{
  build_scan_free (c->bscan);
  c->bscan = NULL;
  io_buf_free (&c->bheld);
  c->bfed = c->bsent = 0;
}

/* Send the held bytes up to `safe` (never the body's last byte before the
 * decision: a tar without end blocks ends with the body). */
static int
release (struct conn *c, uint64_t safe, bool all)
{
  if (!all && safe + 1 > c->bfed)
    safe = c->bfed > 0 ? c->bfed - 1 : 0;
  if (all)
    safe = c->bfed;
  if (safe > c->bsent)
    {
      size_t n = (size_t)(safe - c->bsent);
      if (forward (c, c->bheld.d + c->bheld.off, n) < 0)
        return -1;
      io_buf_consume (&c->bheld, n);
      c->bsent = safe;
    }
  if (c->bheld.len > BUILD_HELD_MAX)
    {
      char msg[200];
      snprintf (msg, sizeof msg, REFUSAL_ECI_BUILD_CONTEXT,
                "more than 4 MiB of it would have to be held back");
      build_refuse (c, msg);
    }
  return 0;
}

int
guard_build_body (struct conn *c, const char *at, size_t len)
{
  if (io_buf_append (&c->bheld, at, len) < 0)
    return -1;
  c->bfed += len;
  if (build_scan_feed (c->bscan, at, len) < 0)
    {
      build_refuse (c, build_scan_message (c->bscan));
      return 0;
    }
  return release (c, build_scan_safe (c->bscan), false);
}

int
guard_build_end (struct conn *c)
{
  if (build_scan_finish (c->bscan) < 0)
    {
      build_refuse (c, build_scan_message (c->bscan));
      guard_build_clear (c);
      return -1;
    }
  if (release (c, 0, true) < 0)
    {
      log_warn ("engine guard: cannot hold a build context: %s",
                strerror (errno));
      c->dead = true;
    }
  guard_build_clear (c);
  return 0;
}
