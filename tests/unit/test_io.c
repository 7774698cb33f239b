/* Unit tests of the I/O core (src/io): the loop's timers, deferred frees
 * and interest-mask rule, the splice relay over socketpairs, and the
 * buffer's failure paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io/buf.h"
#include "io/loop.h"
#include "io/relay.h"

static struct io_loop *
new_loop (void)
{
  struct io_loop *l = NULL;
  moat_error_t err = NULL;
  assert_int_equal (io_loop_new (NULL, &l, &err), 0);
  return l;
}

/* ---- timers ---- */

struct fired
{
  int order[16];
  int n;
};

struct tnode
{
  struct io_timer t;
  struct fired *f;
  int id;
};

static void
on_timer (struct io_loop *l, struct io_timer *t)
{
  struct tnode *n = t->owner;
  n->f->order[n->f->n++] = n->id;
}

static void
timers_fire_in_order (void **state)
{
  struct io_loop *l = new_loop ();
  struct fired f = { 0 };
  struct tnode n[6];
  /* deadlines in ms from now, set out of order; 4 is re-armed later,
   * 5 is cancelled */
  int ms[6] = { 30, 10, 50, 20, 5, 15 };
  uint64_t now = io_now_us ();

  for (int i = 0; i < 6; i++)
    {
      memset (&n[i], 0, sizeof n[i]);
      n[i].f = &f;
      n[i].id = i;
      assert_int_equal (
          io_timer_set (l, &n[i].t, now + ms[i] * 1000u, on_timer, &n[i]), 0);
    }
  assert_int_equal (io_timer_set (l, &n[4].t, now + 40000, on_timer, &n[4]),
                    0);
  io_timer_cancel (l, &n[5].t);
  assert_false (io_timer_armed_p (&n[5].t));
  while (f.n < 5)
    {
      moat_error_t err = NULL;
      assert_int_equal (io_loop_once (l, 1000, &err), 0);
      assert_true (io_now_us () - now < 2000000);
    }
  int want[5] = { 1, 3, 0, 4, 2 };
  for (int i = 0; i < 5; i++)
    assert_int_equal (f.order[i], want[i]);
  /* none fired early: the loop waited for the last one */
  assert_true (io_now_us () - now >= 50000);
  for (int i = 0; i < 6; i++)
    assert_false (io_timer_armed_p (&n[i].t));
  io_loop_free (l);
}

/* Many timers with random deadlines come out sorted (the heap). */
static void
timers_heap_order (void **state)
{
  struct io_loop *l = new_loop ();
  enum
  {
    N = 500
  };
  struct io_timer *t = calloc (N, sizeof *t);
  uint64_t last = 0;
  unsigned seed = 12345;

  for (int i = 0; i < N; i++)
    {
      seed = seed * 1103515245u + 12345u;
      assert_int_equal (
          io_timer_set (l, &t[i], 1 + (seed >> 8) % 100000, on_timer, NULL),
          0);
    }
  for (int i = 0; i < N; i += 3) /* cancel a third */
    io_timer_cancel (l, &t[i]);
  for (int i = 1; i < N; i += 7) /* move some */
    assert_int_equal (
        io_timer_set (l, &t[i], 1 + (i * 37) % 100000, on_timer, NULL), 0);
  /* Pop by cancelling the heap's top: the smallest is always first. */
  for (;;)
    {
      struct io_timer *min = NULL;
      for (int i = 0; i < N; i++)
        if (io_timer_armed_p (&t[i]) && t[i].slot == 1)
          min = &t[i];
      if (min == NULL)
        break;
      assert_true (min->when_us >= last);
      last = min->when_us;
      io_timer_cancel (l, min);
    }
  for (int i = 0; i < N; i++)
    assert_false (io_timer_armed_p (&t[i]));
  free (t);
  io_loop_free (l);
}

/* ---- deferred free ---- */

struct dconn
{
  struct io_handle h;
  struct io_grave grave;
  struct dconn *victim; /* closed by this one's event */
  int *events;
  int *freed;
  int peer;
};

static void
dconn_free (void *p)
{
  struct dconn *c = p;
  (*c->freed)++;
  free (c);
}

static void
dconn_event (struct io_loop *l, struct io_handle *h, uint32_t ev)
{
  struct dconn *c = h->owner;
  (*c->events)++;
  if (c->victim != NULL)
    {
      /* Close the other connection in the middle of the batch: its
       * event (already collected) must not be delivered, and its memory
       * must live until the batch ends. */
      struct dconn *v = c->victim;
      c->victim = NULL;
      if (v->victim == c)
        v->victim = NULL;
      io_handle_close (l, &v->h);
      close (v->peer);
      io_loop_defer_free (l, &v->grave, dconn_free, v);
      assert_int_equal (*c->freed, 0);
    }
  char b[16];
  assert_true (read (h->fd, b, sizeof b) > 0);
}

static void
deferred_free_after_batch (void **state)
{
  struct io_loop *l = new_loop ();
  int events = 0, freed = 0;
  struct dconn *a = calloc (1, sizeof *a), *b = calloc (1, sizeof *b);
  int sa[2], sb[2];
  moat_error_t err = NULL;

  assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sa),
                    0);
  assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sb),
                    0);
  struct dconn *cs[2] = { a, b };
  int *fds[2] = { sa, sb };
  for (int i = 0; i < 2; i++)
    {
      cs[i]->events = &events;
      cs[i]->freed = &freed;
      cs[i]->peer = fds[i][1];
      io_handle_init (&cs[i]->h, IO_CLIENT, dconn_event, cs[i]);
      assert_int_equal (io_handle_add (l, &cs[i]->h, fds[i][0], EPOLLIN), 0);
    }
  /* whichever event comes first closes the other */
  a->victim = b;
  b->victim = a;
  assert_int_equal (write (sa[1], "x", 1), 1);
  assert_int_equal (write (sb[1], "y", 1), 1);
  assert_int_equal (io_loop_once (l, 1000, &err), 0);
  assert_int_equal (events, 1);
  assert_int_equal (freed, 1);
  struct dconn *alive = a->h.fd >= 0 ? a : b;
  io_handle_close (l, &alive->h);
  close (alive->peer);
  free (alive);
  io_loop_free (l);
}

/* A handle registered in the current batch drops that batch's events:
 * they belong to the descriptor it held before (the next hop's socket
 * replacing a failed one). */
struct hop
{
  struct io_handle h;
  int events;
  int replacement;
};

static void
hop_event (struct io_loop *l, struct io_handle *h, uint32_t ev)
{
  struct hop *c = h->owner;
  c->events++;
  io_handle_close (l, h);
  assert_int_equal (io_handle_add (l, h, c->replacement, EPOLLIN), 0);
}

static void
stale_event_of_replaced_fd (void **state)
{
  struct io_loop *l = new_loop ();
  struct hop c = { 0 };
  int s1[2], s2[2];
  moat_error_t err = NULL;

  assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s1),
                    0);
  assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s2),
                    0);
  c.replacement = s2[0];
  io_handle_init (&c.h, IO_UPSTREAM, hop_event, &c);
  assert_int_equal (io_handle_add (l, &c.h, s1[0], EPOLLIN), 0);
  /* Both readable in the same batch: s1's event replaces it with s2; a
   * second copy of the handle's event in this batch cannot occur for one
   * fd, so check the rule directly: an event naming it now is dropped. */
  assert_int_equal (write (s1[1], "x", 1), 1);
  assert_int_equal (write (s2[1], "y", 1), 1);
  assert_int_equal (io_loop_once (l, 1000, &err), 0);
  assert_int_equal (c.events, 1);
  assert_int_equal (c.h.added, io_loop_batch (l));
  io_handle_close (l, &c.h);
  close (s1[1]);
  close (s2[1]);
  io_loop_free (l);
}

/* ---- the interest-mask rule ---- */

static void
mask_unchanged_after_failed_ctl (void **state)
{
  struct io_loop *l = new_loop ();
  struct io_handle h;
  int p[2], dup_fd;

  assert_int_equal (pipe2 (p, O_NONBLOCK | O_CLOEXEC), 0);
  io_handle_init (&h, IO_CLIENT, NULL, NULL);
  assert_int_equal (io_handle_add (l, &h, p[0], EPOLLIN), 0);
  assert_int_equal (h.mask, EPOLLIN);
  /* Unchanged mask: no system call, success. */
  assert_int_equal (io_handle_set (l, &h, EPOLLIN), 0);
  /* Close the descriptor behind the loop's back: the kernel drops the
   * registration, and the MOD fails. */
  dup_fd = h.fd;
  close (dup_fd);
  errno = 0;
  assert_int_equal (io_handle_set (l, &h, EPOLLIN | EPOLLOUT), -1);
  assert_int_equal (errno, EBADF);
  assert_int_equal (h.mask, EPOLLIN);
  assert_true (h.registered);
  h.fd = -1; /* already closed */
  close (p[1]);

  /* A regular file cannot be polled: the ADD fails, the handle does not
   * take the descriptor, and the caller still owns it. */
  char path[] = "/tmp/moat-io-test-XXXXXX";
  int fd = mkstemp (path);
  assert_true (fd >= 0);
  unlink (path);
  io_handle_init (&h, IO_CLIENT, NULL, NULL);
  assert_int_equal (io_handle_add (l, &h, fd, EPOLLIN), -1);
  assert_int_equal (errno, EPERM);
  assert_int_equal (h.fd, -1);
  assert_int_equal (h.mask, 0);
  assert_false (h.registered);
  assert_int_equal (close (fd), 0);

  /* Mask 0 takes a descriptor out of epoll; a later mask puts it back. */
  assert_int_equal (pipe2 (p, O_NONBLOCK | O_CLOEXEC), 0);
  io_handle_init (&h, IO_CLIENT, NULL, NULL);
  assert_int_equal (io_handle_add (l, &h, p[0], EPOLLIN), 0);
  assert_int_equal (io_handle_set (l, &h, 0), 0);
  assert_false (h.registered);
  assert_int_equal (io_handle_set (l, &h, EPOLLIN), 0);
  assert_true (h.registered);
  io_handle_close (l, &h);
  assert_int_equal (h.fd, -1);
  io_handle_close (l, &h); /* idempotent */
  close (p[1]);
  io_loop_free (l);
}

/* ---- stop and wake ---- */

static int wakes;

static void
count_wake (struct io_loop *l, void *ctx)
{
  wakes++;
}

static void
stop_and_wake (void **state)
{
  struct io_loop_config cfg = { .on_wake = count_wake };
  struct io_loop *l = NULL;
  moat_error_t err = NULL;

  assert_int_equal (io_loop_new (&cfg, &l, &err), 0);
  io_loop_wake (l);
  io_loop_wake (l);
  assert_int_equal (io_loop_once (l, 1000, &err), 0);
  assert_int_equal (wakes, 1);
  io_loop_stop (l);
  assert_int_equal (io_loop_run (l, &err), 0);
  assert_true (io_loop_stopped_p (l));
  io_loop_free (l);
}

/* ---- relay ---- */

/* A relay between two socketpairs, driven by the loop with the masks the
 * relay asks for; "client" writes on ca, "server" on sb. */
struct rconn
{
  struct io_relay r;
  struct io_pipe_pool *pool;
  struct io_handle ha, hb;
  int failed;
};

static void
rconn_event (struct io_loop *l, struct io_handle *h, uint32_t ev)
{
  struct rconn *c = h->owner;
  if (io_relay_run (c->pool, &c->r, true, true) < 0)
    {
      c->failed = errno;
      io_handle_close (l, &c->ha);
      io_handle_close (l, &c->hb);
      return;
    }
  if (io_relay_done_p (&c->r))
    {
      /* the last half-close is the close itself */
      io_handle_close (l, &c->ha);
      io_handle_close (l, &c->hb);
      return;
    }
  assert_int_equal (io_handle_set (l, &c->ha, io_relay_mask_a (&c->r)), 0);
  assert_int_equal (io_handle_set (l, &c->hb, io_relay_mask_b (&c->r)), 0);
}

static void
relay_moves_bytes_and_eof (void **state)
{
  struct io_loop *l = new_loop ();
  struct io_pipe_pool pool;
  struct rconn c = { 0 };
  int ca[2], sb[2];
  moat_error_t err = NULL;
  enum
  {
    BIG = 3 * 1024 * 1024
  };
  char *sent = malloc (BIG), *got = malloc (BIG + 4);
  size_t n_sent = 0, n_got = 0;
  char reply[64];

  for (size_t i = 0; i < BIG; i++)
    sent[i] = (char)(i * 7 + i / 4096);
  assert_int_equal (io_pipe_pool_init (&pool, 4, 2), 0);
  assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, ca),
                    0);
  assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sb),
                    0);
  c.pool = &pool;
  io_relay_init (&c.r, ca[1], sb[0]);
  /* bytes received before the relay started go first */
  assert_int_equal (io_buf_puts (&c.r.ab.pre, "PRE:"), 0);
  io_handle_init (&c.ha, IO_CLIENT, rconn_event, &c);
  io_handle_init (&c.hb, IO_UPSTREAM, rconn_event, &c);
  assert_int_equal (io_handle_add (l, &c.ha, ca[1], EPOLLIN | EPOLLOUT), 0);
  assert_int_equal (io_handle_add (l, &c.hb, sb[0], EPOLLIN | EPOLLOUT), 0);

  /* The client sends BIG bytes then half-closes; the server reads them
   * (through the relay: backpressure holds at most a pipe per
   * direction), answers and closes. */
  size_t want = 4 + BIG;
  char *all = malloc (want);
  memcpy (all, "PRE:", 4);
  memcpy (all + 4, sent, BIG);
  bool shut = false;
  uint64_t t0 = io_now_us ();
  while (n_got < want)
    {
      if (n_sent < BIG)
        {
          ssize_t n = write (ca[0], sent + n_sent, BIG - n_sent);
          if (n > 0)
            n_sent += (size_t)n;
        }
      else if (!shut)
        {
          shutdown (ca[0], SHUT_WR);
          shut = true;
        }
      assert_int_equal (io_loop_once (l, 10, &err), 0);
      ssize_t n = read (sb[1], got + n_got, want - n_got);
      if (n > 0)
        n_got += (size_t)n;
      assert_int_equal (c.failed, 0);
      assert_true (io_now_us () - t0 < 20000000);
    }
  assert_memory_equal (got, all, want);
  if (!shut)
    {
      shutdown (ca[0], SHUT_WR);
      shut = true;
    }
  /* EOF reaches the server */
  ssize_t n;
  do
    {
      assert_int_equal (io_loop_once (l, 10, &err), 0);
      n = read (sb[1], reply, sizeof reply);
    }
  while (n < 0 && errno == EAGAIN);
  assert_int_equal (n, 0);
  assert_true (c.r.ab.shut);
  assert_int_equal (c.r.ab.bytes, BIG);
  /* the answer and the server's EOF reach the client */
  assert_int_equal (write (sb[1], "pong", 4), 4);
  shutdown (sb[1], SHUT_WR);
  size_t r_len = 0;
  for (;;)
    {
      assert_int_equal (io_loop_once (l, 10, &err), 0);
      n = read (ca[0], reply + r_len, sizeof reply - r_len);
      if (n > 0)
        r_len += (size_t)n;
      else if (n == 0)
        break;
    }
  assert_int_equal (r_len, 4);
  assert_memory_equal (reply, "pong", 4);
  assert_true (io_relay_done_p (&c.r));
  assert_int_equal (c.ha.fd, -1);
  assert_int_equal (c.hb.fd, -1);
  io_relay_release (&pool, &c.r);
  /* a bulk pipe is closed, a small one pooled */
  assert_true (pool.n >= 1);
  assert_int_equal (pool.n_bulk, 0);
  io_pipe_pool_free (&pool);
  close (ca[0]);
  close (sb[1]);
  free (sent);
  free (got);
  free (all);
  io_loop_free (l);
}

/* A direction whose destination is full stops reading its source: the
 * source's EPOLLIN goes off (level-triggered, it would spin otherwise). */
static void
relay_backpressure_mask (void **state)
{
  struct io_pipe_pool pool;
  struct io_relay r;
  int ca[2], sb[2];
  char *blob = calloc (1, 8 << 20);

  assert_int_equal (io_pipe_pool_init (&pool, 2, 0), 0);
  pool.chunk = 64 * 1024;
  assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, ca),
                    0);
  assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sb),
                    0);
  io_relay_init (&r, ca[1], sb[0]);
  assert_int_equal (io_relay_mask_a (&r), EPOLLIN);
  assert_int_equal (io_relay_mask_b (&r), EPOLLIN);
  ssize_t w = write (ca[0], blob, 8 << 20);
  assert_true (w > 0);
  /* Nobody reads sb[1]: the relay fills it, then holds a pipe. */
  for (int i = 0; i < 64; i++)
    {
      assert_int_equal (io_relay_run (&pool, &r, true, false), 0);
      (void)!write (ca[0], blob, 8 << 20);
    }
  assert_true (r.ab.pending > 0);
  assert_int_equal (io_relay_mask_a (&r) & EPOLLIN, 0);
  assert_int_equal (io_relay_mask_b (&r) & EPOLLOUT, EPOLLOUT);
  close (ca[0]);
  close (sb[1]);
  io_relay_release (&pool, &r);
  /* it held bytes: closed, not pooled */
  assert_int_equal (pool.n, 0);
  io_pipe_pool_free (&pool);
  close (ca[1]);
  close (sb[0]);
  free (blob);
}

/* ---- buffer ---- */

static void
buf_basics (void **state)
{
  struct io_buf b = { 0 };
  char big[3000];

  assert_int_equal (io_buf_puts (&b, "GET "), 0);
  assert_int_equal (io_buf_printf (&b, "/v%d.%d/%s", 1, 41, "_ping"), 0);
  assert_int_equal (io_buf_len (&b), strlen ("GET /v1.41/_ping"));
  assert_memory_equal (io_buf_data (&b), "GET /v1.41/_ping", io_buf_len (&b));
  io_buf_consume (&b, 4);
  assert_memory_equal (io_buf_data (&b), "/v1.41/_ping", io_buf_len (&b));
  /* a printf longer than any fixed scratch buffer is whole */
  memset (big, 'h', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal (io_buf_printf (&b, "X-Long: %s\r\n", big), 0);
  assert_int_equal (io_buf_len (&b), 12 + 8 + 2999 + 2);
  io_buf_consume (&b, io_buf_len (&b));
  assert_int_equal (io_buf_len (&b), 0);
  io_buf_free (&b);
}

static void
buf_limit_and_overflow (void **state)
{
  struct io_buf b = { .limit = 16 };
  char x[32] = { 0 };

  assert_int_equal (io_buf_append (&b, x, 10), 0);
  /* past the limit: refused, and the buffer is as before */
  errno = 0;
  assert_int_equal (io_buf_append (&b, x, 7), -1);
  assert_int_equal (errno, ENOBUFS);
  assert_int_equal (io_buf_len (&b), 10);
  errno = 0;
  assert_int_equal (io_buf_printf (&b, "%s", "0123456789"), -1);
  assert_int_equal (errno, ENOBUFS);
  assert_int_equal (io_buf_len (&b), 10);
  assert_int_equal (io_buf_append (&b, x, 6), 0);
  assert_int_equal (io_buf_len (&b), 16);
  io_buf_free (&b);
  assert_int_equal (b.limit, 16);

  /* a size that would overflow is out of memory, not a wrap-around */
  struct io_buf u = { 0 };
  assert_int_equal (io_buf_append (&u, "ab", 2), 0);
  errno = 0;
  assert_null (io_buf_reserve (&u, SIZE_MAX - 1));
  assert_int_equal (errno, ENOMEM);
  assert_int_equal (io_buf_len (&u), 2);
  assert_memory_equal (io_buf_data (&u), "ab", 2);
  io_buf_free (&u);
}

static void
buf_recv_send (void **state)
{
  struct io_buf b = { .limit = 8 };
  int s[2];

  assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, s),
                    0);
  assert_int_equal (io_buf_recv (&b, s[0], 100), -1);
  assert_int_equal (errno, EAGAIN);
  assert_int_equal (write (s[1], "0123456789", 10), 10);
  /* capped by the limit */
  assert_int_equal (io_buf_recv (&b, s[0], 100), 8);
  assert_int_equal (io_buf_recv (&b, s[0], 100), -1);
  assert_int_equal (errno, ENOBUFS);
  assert_int_equal (io_buf_send (&b, s[0]), 0);
  assert_int_equal (io_buf_len (&b), 0);
  char r[16];
  assert_int_equal (read (s[1], r, sizeof r), 8);
  assert_memory_equal (r, "01234567", 8);
  close (s[1]);
  assert_int_equal (io_buf_recv (&b, s[0], 100), 2);
  io_buf_consume (&b, 2);
  assert_int_equal (io_buf_recv (&b, s[0], 100), 0);
  close (s[0]);
  io_buf_free (&b);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (timers_fire_in_order),
    cmocka_unit_test (timers_heap_order),
    cmocka_unit_test (deferred_free_after_batch),
    cmocka_unit_test (stale_event_of_replaced_fd),
    cmocka_unit_test (mask_unchanged_after_failed_ctl),
    cmocka_unit_test (stop_and_wake),
    cmocka_unit_test (relay_moves_bytes_and_eof),
    cmocka_unit_test (relay_backpressure_mask),
    cmocka_unit_test (buf_basics),
    cmocka_unit_test (buf_limit_and_overflow),
    cmocka_unit_test (buf_recv_send),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
