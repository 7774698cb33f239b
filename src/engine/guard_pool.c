/* Pre-connected engine connections (guard_int.h).
 *
 * A new client connection's first request needs a connection to the
 * engine: socket(2) and connect(2) on the request's path, and the engine's
 * own accept before it reads the head.  The loop keeps a few connections
 * opened ahead, topped up when it has nothing else to do (before it
 * waits), so that the connect overlaps the engine's work on earlier
 * requests instead of delaying this one.
 *
 * A pooled connection is never shared: each is handed to one client
 * connection at a time.  When that client connection ends cleanly (its
 * last request answered whole, nothing half-sent, no hijack or upgrade
 * ever, the engine's answer keeping the connection open), the engine
 * connection comes back to the pool for the next client connection, as
 * HTTP keep-alive towards the engine: the engine keeps no per-connection
 * state between requests and does not authenticate its peer, so a cleanly
 * finished connection is the same as a fresh one, without the engine's
 * accept (its larger cost).  Any other end closes it.
 *
 * One that the engine has closed meanwhile (an engine restart, an idle
 * timeout) is noticed when taken (a peek that sees EOF or bytes nobody
 * asked for) and dropped.  The pool is topped up once it is half empty,
 * not after every take: a connection that comes back refills it without
 * a connect.  When connecting fails (no engine yet, backlog full), filling
 * waits for the next timer tick (1 s) instead of retrying on every turn
 * of the loop. */
#include "engine/guard_int.h"

#include <errno.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

int
guard_engine_dial (const char *path)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd;
  if (strlen (path) >= sizeof sa.sun_path)
    {
      errno = ENAMETOOLONG;
      return -1;
    }
  strcpy (sa.sun_path, path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  /* A unix connect either completes or fails at once (EAGAIN when the
   * engine's backlog is full): never blocks the loop. */
  if (connect (fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    {
      int e = errno;
      close (fd);
      errno = e;
      return -1;
    }
  return fd;
}

/* still connected, and silent */
static bool
pooled_alive_p (int fd)
{
  char ch;
  ssize_t n = recv (fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

int
guard_pool_take (struct engine_guard *g)
{
  while (g->pool_n > 0)
    {
      int fd = g->pool[--g->pool_n];
      if (pooled_alive_p (fd))
        return fd;
      close (fd);
    }
  return guard_engine_dial (g->engine_path);
}

void
guard_pool_fill (struct engine_guard *g)
{
  /* half empty (1 of 1, 2 of 4): the connections out may come back */
  if (g->pool_n >= (g->pool_max + 1) / 2)
    return;
  while (!g->pool_hold && g->pool_n < g->pool_max)
    {
      int fd = guard_engine_dial (g->engine_path);
      if (fd < 0)
        {
          g->pool_hold = true; /* until the next tick */
          return;
        }
      g->pool[g->pool_n++] = fd;
    }
}

bool
guard_engine_reusable_p (const struct conn *c)
{
  return c->hu_reuse && !c->hu_taint && c->hu.fd >= 0 && !c->raw
         && !c->relaying && c->rs == RS_HEAD && !c->req.head_started
         && c->cin.len == 0 && c->uout.len == 0 && c->pend_n == 0
         && !c->resp_mid && c->resp_keep && !c->uin_eof && !c->ushut_done
         && !c->local_close && c->job == NULL && c->bscan == NULL;
}

void
guard_pool_put (struct engine_guard *g, int fd)
{
  if (g->pool_n < g->pool_max)
    g->pool[g->pool_n++] = fd;
  else
    close (fd);
}

void
guard_pool_free (struct engine_guard *g)
{
  while (g->pool_n > 0)
    close (g->pool[--g->pool_n]);
}
