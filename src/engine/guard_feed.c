/* The engine guard's test entry points (guard_test.h): one connection's
 * parsers run over bytes, without sockets, outside the loop. */
#include "engine/guard_int.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/guard_test.h"

static int
feed (struct engine_guard *g, const char *client, size_t clen,
      const char *engine, size_t elen, size_t step, size_t head_limit,
      struct io_buf *to_engine, struct io_buf *to_client)
{
  struct conn *c;
  size_t ci = 0, ei = 0;
  int ret = 0;
  int in = open ("/dev/null", O_RDWR | O_CLOEXEC);
  int out = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (in < 0 || out < 0 || step == 0
      || (c = guard_conn_new (g, in, 0)) == NULL)
    {
      if (in >= 0)
        close (in);
      if (out >= 0)
        close (out);
      return -1;
    }
  g->sync_checks = true; /* no loop to resume a parked connection */
  g->head_limit = head_limit;
  /* "connected": engine_connect() does nothing */
  if (io_handle_add (g->loop, &c->hu, out, 0) < 0)
    close (out);
  c->command_list = g->cfg.command_list;
  guard_conn_link (c);
  while ((ci < clen || ei < elen) && !c->dead)
    {
      if (ci < clen)
        {
          size_t n = clen - ci < step ? clen - ci : step;
          if (io_buf_append (&c->cin, client + ci, n) < 0)
            break;
          ci += n;
          guard_process_client (c);
        }
      if (ei < elen && !c->dead)
        {
          size_t n = elen - ei < step ? elen - ei : step;
          guard_engine_bytes (c, engine + ei, n);
          ei += n;
        }
      /* what would be sent is taken at once, as by a fast peer; a dead
       * connection sends nothing more */
      if (!c->dead && to_engine
          && io_buf_append (to_engine, c->uout.d + c->uout.off, c->uout.len)
                 < 0)
        ret = -1;
      if (!c->dead && to_client
          && io_buf_append (to_client, c->cout.d + c->cout.off, c->cout.len)
                 < 0)
        ret = -1;
      io_buf_consume (&c->uout, c->uout.len);
      io_buf_consume (&c->cout, c->cout.len);
    }
  g->head_limit = 0;
  guard_conn_close (c);
  /* one batch of the loop that is not running: frees c */
  {
    moat_error_t err = NULL;
    if (io_loop_once (g->loop, 0, &err) < 0)
      moat_error_release (&err);
  }
  return ret;
}

int
engine_guard_feed (struct engine_guard *g, const char *client, size_t clen,
                   const char *engine, size_t elen, size_t step)
{
  return feed (g, client, clen, engine, elen, step, 0, NULL, NULL);
}

static char *
buf_take (struct io_buf *b, size_t *len)
{
  char *s = malloc (b->len + 1);
  if (s != NULL)
    {
      memcpy (s, b->d ? b->d + b->off : "", b->len);
      s[b->len] = '\0';
      *len = b->len;
    }
  io_buf_free (b);
  return s;
}

int
engine_guard_feed_ex (struct engine_guard *g, const char *client, size_t clen,
                      const char *engine, size_t elen, size_t step,
                      size_t head_limit, struct engine_guard_feed_out *out)
{
  struct io_buf te = { 0 }, tc = { 0 };
  int r = feed (g, client, clen, engine, elen, step, head_limit, &te, &tc);
  memset (out, 0, sizeof *out);
  out->to_engine = buf_take (&te, &out->to_engine_len);
  out->to_client = buf_take (&tc, &out->to_client_len);
  if (out->to_engine == NULL || out->to_client == NULL)
    r = -1;
  return r;
}

unsigned long long
engine_guard_test_batches (struct engine_guard *g)
{
  return (unsigned long long)io_loop_batch (g->loop);
}
