/* Unit tests of the engine guard loop (src/engine/guard.c) against a fake
 * engine: policy swap and stop from another thread, head re-serialisation,
 * create-body rewrite, chunked re-framing, command list on kept-alive
 * connections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/guard.h"
#include "engine/guard_test.h"

struct fake
{
  char dir[64];
  char engine[100];
  char listen[100];
  int efd;
  pthread_t engine_thr, guard_thr;
  struct engine_guard *g;
  char last[65536]; /* last request the engine received */
  size_t last_len;
  pthread_mutex_t mu;
  int audits;
  char audit_methods[512]; /* "METHOD rule outcome;" per audit record */
  int conns[256];          /* engine connections accepted (under mu) */
  size_t n_conns;
  int eofs; /* engine connections the guard closed (under mu) */
  int live; /* engine_conn threads not yet ended (under mu): teardown
               waits for them, they touch f to the last */
};

static int
unix_listen (const char *path)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  snprintf (sa.sun_path, sizeof sa.sun_path, "%s", path);
  assert_int_equal (bind (fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal (listen (fd, 16), 0);
  return fd;
}

static int
unix_dial (const char *path)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  snprintf (sa.sun_path, sizeof sa.sun_path, "%s", path);
  assert_int_equal (connect (fd, (struct sockaddr *)&sa, sizeof sa), 0);
  return fd;
}

/* The fake engine: one request at a time per connection; a request ends at
 * the end of its head plus Content-Length, or at "0\r\n\r\n" if chunked.
 * Answers 200 with the body "OK". */
static void *
engine_conn (void *arg)
{
  struct fake *f = ((void **)arg)[0];
  int fd = (int)(intptr_t)((void **)arg)[1];
  char buf[65536];
  size_t len = 0;
  free (arg);
  bool more = false; /* buf may hold a pipelined request already */
  for (;;)
    {
      if (!more)
        {
          ssize_t n = read (fd, buf + len, sizeof buf - 1 - len);
          if (n <= 0)
            {
              pthread_mutex_lock (&f->mu);
              f->eofs++;
              pthread_mutex_unlock (&f->mu);
              break;
            }
          len += (size_t)n;
        }
      more = false;
      buf[len] = 0;
      char *he = strstr (buf, "\r\n\r\n");
      if (!he)
        continue;
      size_t need = (size_t)(he + 4 - buf);
      char *cl = strcasestr (buf, "\r\ncontent-length:");
      if (cl && cl < he)
        need += strtoul (cl + 17, NULL, 10);
      else if (strcasestr (buf, "\r\ntransfer-encoding: chunked"))
        {
          char *end = strstr (he + 4, "0\r\n\r\n");
          if (!end)
            continue;
          need = (size_t)(end + 5 - buf);
        }
      if (len < need)
        continue;
      pthread_mutex_lock (&f->mu);
      memcpy (f->last, buf, need);
      f->last_len = need;
      f->last[need] = 0;
      pthread_mutex_unlock (&f->mu);
      const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK";
      /* /_ping?half: an answer cut short (8 bytes of its body never
       * come); /_ping?closeans: Connection: close, the socket left open */
      if (strncmp (buf, "GET /_ping?half ", 16) == 0)
        resp = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nOK";
      else if (strncmp (buf, "GET /_ping?closeans ", 20) == 0)
        resp = "HTTP/1.1 200 OK\r\nConnection: close\r\n"
               "Content-Length: 2\r\n\r\nOK";
      if (write (fd, resp, strlen (resp)) < 0)
        break;
      memmove (buf, buf + need, len - need);
      len -= need;
      more = len > 0;
    }
  close (fd);
  pthread_mutex_lock (&f->mu);
  f->live--;
  pthread_mutex_unlock (&f->mu);
  return NULL;
}

static void *
engine_main (void *arg)
{
  struct fake *f = arg;
  for (;;)
    {
      int c = accept (f->efd, NULL, NULL);
      pthread_t t;
      if (c < 0)
        return NULL;
      pthread_mutex_lock (&f->mu);
      if (f->n_conns < sizeof f->conns / sizeof *f->conns)
        f->conns[f->n_conns++] = c;
      f->live++;
      pthread_mutex_unlock (&f->mu);
      void **a = malloc (2 * sizeof *a);
      a[0] = f;
      a[1] = (void *)(intptr_t)c;
      pthread_create (&t, NULL, engine_conn, a);
      pthread_detach (t);
    }
}

static void *
guard_main (void *arg)
{
  struct fake *f = arg;
  moat_error_t err = NULL;
  if (engine_guard_run (f->g, &err) < 0)
    moat_error_release (&err);
  return NULL;
}

static void
on_audit (void *ctx, const struct engine_audit_record *r)
{
  struct fake *f = ctx;
  pthread_mutex_lock (&f->mu);
  size_t n = strlen (f->audit_methods);
  f->audits++;
  snprintf (f->audit_methods + n, sizeof f->audit_methods - n, "%s %s %s;",
            r->method, r->rule, r->outcome);
  pthread_mutex_unlock (&f->mu);
}

/* A socket-mount decision that takes its time (a slow registry); while
 * slow_gate_armed, until the test posts slow_gate. */
static sem_t slow_gate;
static volatile bool slow_gate_armed;
static int
slow_hook (void *ctx, const struct policy *p, const char *image,
           const char *host_path, char **replace, char **image_id,
           char **message)
{
  (void)ctx;
  (void)p;
  (void)image;
  (void)host_path;
  (void)message;
  if (slow_gate_armed)
    {
      /* held until the test has seen another connection served: ordering,
       * not a wall-clock bound, proves the loop was not blocked */
      struct timespec ts;
      clock_gettime (CLOCK_REALTIME, &ts);
      ts.tv_sec += 20;
      while (sem_timedwait (&slow_gate, &ts) < 0 && errno == EINTR)
        ;
    }
  else
    usleep (800 * 1000);
  if (replace != NULL)
    *replace = strdup ("/tmp/filtered.sock");
  *image_id = strdup (
      "sha256:"
      "1212121212121212121212121212121212121212121212121212121212121212");
  return 0;
}

/* Filtered sockets: root is "the container", served as caller 4242;
 * anyone else is refused.  The first listener serves every peer as
 * itself. */
static int
fake_peer (void *ctx, int listener_id, const struct ucred *cred, int pidfd,
           uid_t *caller_uid, gid_t *caller_gid, char **message)
{
  (void)ctx;
  (void)pidfd;
  if (listener_id == 1)
    {
      *caller_uid = cred->uid;
      *caller_gid = cred->gid;
      return 0;
    }
  if (cred->uid != 0)
    {
      *message = strdup ("enhanced container isolation: not yours");
      return -1;
    }
  *caller_uid = 4242;
  *caller_gid = 4343;
  return 0;
}

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

#define IDW "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"

static int
fake_get (void *ctx, const char *path, char **body, size_t *len)
{
  const char *j = NULL;
  (void)ctx;
  /* the filtered socket's caller (4242) made them: docker cp passes
   * the owner check and meets the mount check */
  if (strcmp (path, "/containers/plain/json") == 0
      || strcmp (path, "/containers/" ID64 "/json") == 0)
    j = "{\"Id\":\"" ID64 "\",\"Mounts\":[],\"Config\":{\"Labels\":"
        "{\"com.moat.caller.uid\":\"4242\"}}}";
  else if (strcmp (path, "/containers/withbind/json") == 0
           || strcmp (path, "/containers/" IDW "/json") == 0)
    j = "{\"Id\":\"" IDW "\",\"Mounts\":[{\"Type\":\"bind\","
        "\"Source\":\"/tmp\"}],\"Config\":{\"Labels\":"
        "{\"com.moat.caller.uid\":\"4242\"}}}";
  if (j == NULL)
    return 1;
  *body = strdup (j);
  *len = strlen (j);
  return 0;
}

static char *cmds[] = { "push" };
static char *dirs[] = { "/tmp" };
static struct policy pol;
static unsigned setup_head_ms; /* cfg.head_timeout_ms of the next setup */
static bool setup_stopped;     /* the next setup leaves the loop not running */
static struct timespec setup_time;

static int
setup (void **state)
{
  struct fake *f = calloc (1, sizeof *f);
  struct engine_guard_config cfg;
  moat_error_t err = NULL;
  strcpy (f->dir, "/tmp/moat-guardut-XXXXXX");
  assert_non_null (mkdtemp (f->dir));
  snprintf (f->engine, sizeof f->engine, "%s/engine.sock", f->dir);
  snprintf (f->listen, sizeof f->listen, "%s/docker.sock", f->dir);
  pthread_mutex_init (&f->mu, NULL);
  f->efd = unix_listen (f->engine);
  pthread_create (&f->engine_thr, NULL, engine_main, f);
  memset (&cfg, 0, sizeof cfg);
  cfg.listen_fd = -1;
  cfg.listen_path = f->listen;
  cfg.engine_path = f->engine;
  cfg.command_list = true;
  cfg.audit = on_audit;
  cfg.audit_ctx = f;
  cfg.eci.socket_mount_allowed = slow_hook;
  cfg.peer_check = setup_stopped ? NULL : fake_peer;
  cfg.engine_get = fake_get;
  cfg.head_timeout_ms = setup_head_ms;
  f->g = engine_guard_new (&cfg, &err);
  assert_non_null (f->g);
  memset (&pol, 0, sizeof pol);
  pol.eci.enabled = true;
  pol.eci.cmd_type = POLICY_CMDLIST_DENY;
  pol.eci.commands = cmds;
  pol.eci.n_commands = 1;
  pol.filesharing.dirs = dirs;
  pol.filesharing.n_dirs = 1;
  clock_gettime (CLOCK_MONOTONIC, &setup_time);
  if (!setup_stopped)
    pthread_create (&f->guard_thr, NULL, guard_main, f);
  *state = f;
  return 0;
}

static int
setup_not_running (void **state)
{
  setup_stopped = true;
  int r = setup (state);
  setup_stopped = false;
  return r;
}

static int
teardown (void **state)
{
  struct fake *f = *state;
  char cmd[128];
  engine_guard_stop (f->g);
  pthread_join (f->guard_thr, NULL);
  engine_guard_free (f->g);
  shutdown (f->efd, SHUT_RDWR);
  close (f->efd);
  pthread_join (f->engine_thr, NULL);
  /* the guard is gone, so every engine connection has seen its EOF or
   * will at once: wait for their threads before f is freed */
  for (int i = 0; i < 1000; i++)
    {
      pthread_mutex_lock (&f->mu);
      int live = f->live;
      pthread_mutex_unlock (&f->mu);
      if (live == 0)
        break;
      usleep (5000);
    }
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", f->dir);
  assert_int_equal (system (cmd), 0);
  free (f);
  return 0;
}

static int
setup_fast_head (void **state)
{
  setup_head_ms = 150;
  int r = setup (state);
  setup_head_ms = 0;
  return r;
}

static uint64_t
mono_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Send req, read one response (Content-Length framed) into out. */
static int
roundtrip (int fd, const char *req, char *out, size_t outsz)
{
  size_t len = 0;
  assert_int_equal (write (fd, req, strlen (req)), (ssize_t)strlen (req));
  for (;;)
    {
      ssize_t n = read (fd, out + len, outsz - 1 - len);
      if (n <= 0)
        return -1;
      len += (size_t)n;
      out[len] = 0;
      char *he = strstr (out, "\r\n\r\n");
      char *cl = strcasestr (out, "content-length:");
      if (he && cl && len >= (size_t)(he + 4 - out) + strtoul (cl + 15, 0, 10))
        return atoi (out + 9);
    }
}

static void
policy_swap_and_ping (void **state)
{
  struct fake *f = *state;
  char out[4096];
  int fd = unix_dial (f->listen);
  /* no policy yet: only /_ping */
  assert_int_equal (roundtrip (fd, "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n",
                               out, sizeof out),
                    200);
  assert_int_equal (
      roundtrip (fd, "GET /info HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof out),
      503);
  engine_guard_set_policy (f->g, &pol);
  assert_int_equal (
      roundtrip (fd, "GET /info HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof out),
      200);
  close (fd);
}

static void
head_reserialised_and_blocked (void **state)
{
  struct fake *f = *state;
  char out[4096];
  int fd = unix_dial (f->listen);
  engine_guard_set_policy (f->g, &pol);
  assert_int_equal (
      roundtrip (fd,
                 "GET /v1.41/containers/json HTTP/1.1\r\n"
                 "Host:   x\r\nX-A: 1\r\nExpect: 100-continue\r\n\r\n",
                 out, sizeof out),
      200);
  pthread_mutex_lock (&f->mu);
  assert_string_equal (f->last, "GET /v1.41/containers/json HTTP/1.1\r\n"
                                "Host: x\r\nX-A: 1\r\n\r\n");
  pthread_mutex_unlock (&f->mu);
  assert_int_equal (roundtrip (fd,
                               "POST /images/x/push HTTP/1.1\r\nHost: x\r\n"
                               "Content-Length: 3\r\n\r\nabc",
                               out, sizeof out),
                    403);
  assert_non_null (strstr (out, "Content-Type: application/json\r\n"));
  assert_non_null (strstr (out, "{\"message\":\"enhanced container isolation: "
                                "docker command \\\"/images/x/push\\\" is "
                                "blocked; if you wish to allow it, configure "
                                "the docker socket command list in the moat "
                                "admin settings.\"}"));
  /* the connection is still usable */
  assert_int_equal (roundtrip (fd, "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n",
                               out, sizeof out),
                    200);
  assert_true (f->audits >= 1);
  close (fd);
}

static void
create_rewritten_chunked_reframed (void **state)
{
  struct fake *f = *state;
  char out[4096];
  int fd = unix_dial (f->listen);
  engine_guard_set_policy (f->g, &pol);
  assert_int_equal (
      roundtrip (
          fd,
          "POST /containers/create HTTP/1.1\r\nHost: x\r\n"
          "Content-Type: application/json\r\nTransfer-Encoding: "
          "chunked\r\n\r\n"
          "8;ext=1\r\n{\"Image\"\r\n9\r\n:\"busybox\r\n2\r\n\"}\r\n0\r\n\r\n",
          out, sizeof out),
      200);
  pthread_mutex_lock (&f->mu);
  {
    char *b = strstr (f->last, "\r\n\r\n") + 4;
    char *cl = strcasestr (f->last, "\r\nContent-Length: ");
    assert_non_null (cl);
    assert_int_equal (strtoul (cl + 18, NULL, 10), strlen (b));
  }
  assert_null (strcasestr (f->last, "transfer-encoding"));
  assert_non_null (strstr (f->last, "\"Runtime\":\"moat-runc\""));
  pthread_mutex_unlock (&f->mu);
  /* a streamed (not checked) chunked body is re-framed, extensions gone */
  assert_int_equal (
      roundtrip (fd,
                 "PUT /containers/c/archive?path=/ HTTP/1.1\r\nHost: x\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n"
                 "3;x=y\r\nabc\r\n0\r\n\r\n",
                 out, sizeof out),
      200);
  pthread_mutex_lock (&f->mu);
  assert_non_null (strstr (
      f->last, "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
  pthread_mutex_unlock (&f->mu);
  close (fd);
}

/* The audit names the method of the request it records: a collected
 * body's check ends after the parser was reset for the next request, and
 * the record once said DELETE (llhttp's method 0) for a POST. */
static void
audit_names_the_checked_method (void **state)
{
  struct fake *f = *state;
  char out[4096];
  int fd = unix_dial (f->listen);
  engine_guard_set_policy (f->g, &pol);
  f->audit_methods[0] = '\0';
  assert_int_equal (
      roundtrip (fd,
                 "POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\n"
                 "Content-Type: application/json\r\nContent-Length: 19\r\n"
                 "\r\n{\"Image\":\"busybox\"}",
                 out, sizeof out),
      200);
  print_message ("audit: %s\n", f->audit_methods);
  assert_non_null (strstr (f->audit_methods, "POST caller rewritten;"));
  assert_null (strstr (f->audit_methods, "DELETE"));
  /* a refused create (a bind outside the shared directories) too */
  f->audit_methods[0] = '\0';
  assert_int_equal (
      roundtrip (fd,
                 "POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\n"
                 "Content-Type: application/json\r\nContent-Length: 54\r\n"
                 "\r\n{\"Image\":\"busybox\",\"HostConfig\":{\"Binds\":[\"/"
                 "etc:/h\"]}}",
                 out, sizeof out),
      403);
  assert_non_null (strstr (f->audit_methods, "POST eci.bind refused;"));
  assert_null (strstr (f->audit_methods, "DELETE"));
  close (fd);
}

/* Engine connections opened ahead serve new clients; those the engine
 * closed meanwhile (a restart) are dropped when taken, never handed to a
 * client. */
static void
pooled_engine_connections (void **state)
{
  struct fake *f = *state;
  char out[4096];
  int a = unix_dial (f->listen), b;
  size_t n;
  engine_guard_set_policy (f->g, &pol);
  assert_int_equal (
      roundtrip (a, "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof out),
      200);
  close (a);
  usleep (100 * 1000);
  pthread_mutex_lock (&f->mu);
  n = f->n_conns;
  /* the pool opened ahead (the one a used came back to it) */
  assert_true (n >= ENGINE_GUARD_POOL_DEFAULT);
  /* the engine "restarts": every connection it had is closed */
  for (size_t i = 0; i < n; i++)
    shutdown (f->conns[i], SHUT_RDWR);
  pthread_mutex_unlock (&f->mu);
  usleep (100 * 1000);
  for (int i = 0; i < 2 * ENGINE_GUARD_POOL_DEFAULT; i++)
    {
      b = unix_dial (f->listen);
      assert_int_equal (roundtrip (b, "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n",
                                   out, sizeof out),
                        200);
      close (b);
    }
}

static int
engine_eofs (struct fake *f)
{
  pthread_mutex_lock (&f->mu);
  int n = f->eofs;
  pthread_mutex_unlock (&f->mu);
  return n;
}

/* Wait (bounded) until the engine has seen more than `than` of its
 * connections closed; returns how many. */
static int
wait_eofs (struct fake *f, int than)
{
  for (int i = 0; i < 400 && engine_eofs (f) <= than; i++)
    usleep (5 * 1000);
  return engine_eofs (f);
}

/* A client connection that ended cleanly hands its engine connection to
 * the next one (keep-alive towards the engine): new client connections
 * one after the other make the engine accept (almost) nothing and close
 * (almost) nothing. */
static void
engine_connection_reused_after_clean_answer (void **state)
{
  struct fake *f = *state;
  char out[4096];
  size_t n0;
  int a = unix_dial (f->listen);
  engine_guard_set_policy (f->g, &pol);
  assert_int_equal (
      roundtrip (a, "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof out),
      200);
  close (a);
  usleep (50 * 1000);
  pthread_mutex_lock (&f->mu);
  n0 = f->n_conns;
  pthread_mutex_unlock (&f->mu);
  for (int i = 0; i < 20; i++)
    {
      int b = unix_dial (f->listen);
      assert_int_equal (roundtrip (b, "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n",
                                   out, sizeof out),
                        200);
      close (b);
      usleep (10 * 1000);
    }
  usleep (50 * 1000);
  /* 0 and 0 when each client's end is seen before the next one comes; on
   * a loaded machine a few overlap, and the pool refilled meanwhile may
   * close a surplus (without reuse: 20 and 20) */
  pthread_mutex_lock (&f->mu);
  size_t grew = f->n_conns - n0;
  int eofs = f->eofs;
  pthread_mutex_unlock (&f->mu);
  if (grew > 6 || eofs > 6)
    fail_msg ("20 clients: %zu engine connections opened, %d closed", grew,
              eofs);
}

/* A client whose request is there when it is accepted is served in two
 * turns of the loop (the listener: accept, read, send to the engine; the
 * engine's answer), not three (the listener, the client, the answer). */
static void
accepted_client_read_at_once (void **state)
{
  struct fake *f = *state;
  const char *req = "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n";
  char out[4096] = "";
  size_t len = 0;
  struct timespec now;
  engine_guard_set_policy (f->g, &pol);
  /* connected and written before the loop runs */
  int a = unix_dial (f->listen);
  assert_int_equal (write (a, req, strlen (req)), (ssize_t)strlen (req));
  pthread_create (&f->guard_thr, NULL, guard_main, f);
  while (strstr (out, "\r\n\r\nOK") == NULL)
    {
      ssize_t n = read (a, out + len, sizeof out - 1 - len);
      assert_true (n > 0);
      len += (size_t)n;
      out[len] = '\0';
    }
  usleep (100 * 1000); /* the loop waits again */
  unsigned long long batches = engine_guard_test_batches (f->g);
  close (a);
  clock_gettime (CLOCK_MONOTONIC, &now);
  /* the loop's 1 s tick would be one more turn: not counted on a machine
   * so loaded that it came */
  if (now.tv_sec - setup_time.tv_sec >= 1)
    skip ();
  /* io_loop_batch starts at 1 */
  if (batches - 1 > 2)
    fail_msg ("%llu turns of the loop", batches - 1);
}

/* Send req on a new client connection, read what comes within 100 ms
 * (at least one byte), close it. */
static void
hit_and_leave (struct fake *f, const char *req)
{
  char out[4096];
  struct timeval tv = { .tv_usec = 100 * 1000 };
  int fd = unix_dial (f->listen);
  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  assert_int_equal (write (fd, req, strlen (req)), (ssize_t)strlen (req));
  assert_true (read (fd, out, sizeof out) > 0 || strstr (req, "\r\n\r\nabc"));
  close (fd);
}

/* An engine connection is handed to another client only after a clean
 * end: an answer cut short, Connection: close, a hijack route, an upgrade
 * request, a client's Connection: close, a body left half-sent, or a
 * request head left half-sent all close it (the engine sees its EOF). */
static void
engine_connection_not_reused_unless_clean (void **state)
{
  struct fake *f = *state;
  static const char *const reqs[] = {
    "GET /_ping?half HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET /_ping?closeans HTTP/1.1\r\nHost: x\r\n\r\n",
    "POST /v1.41/containers/abc/attach?stream=1&stdout=1 HTTP/1.1\r\n"
    "Host: x\r\nContent-Length: 0\r\n\r\n",
    "GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
    "Upgrade: tcp\r\n\r\n",
    "GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    "POST /v1.41/containers/abc/stop HTTP/1.1\r\nHost: x\r\n"
    "Content-Length: 10\r\n\r\nabc",
  };
  char out[4096];
  engine_guard_set_policy (f->g, &pol);
  for (size_t i = 0; i < sizeof reqs / sizeof *reqs; i++)
    {
      int before = engine_eofs (f);
      hit_and_leave (f, reqs[i]);
      if (wait_eofs (f, before) <= before)
        fail_msg ("request %zu: engine connection not closed", i);
    }
  /* a head begun on a connection that has served one: the engine
   * connection goes with it */
  {
    int fd = unix_dial (f->listen), before;
    assert_int_equal (roundtrip (fd, "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n",
                                 out, sizeof out),
                      200);
    assert_int_equal (write (fd, "GET /_pi", 8), 8);
    usleep (20 * 1000);
    before = engine_eofs (f);
    close (fd);
    if (wait_eofs (f, before) <= before)
      fail_msg ("half a head: engine connection not closed");
  }
  /* and the next client is served as usual */
  int b = unix_dial (f->listen);
  assert_int_equal (
      roundtrip (b, "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof out),
      200);
  close (b);
}

/* A create whose check is slow parks only its own connection: another
 * connection is served meanwhile, and a request pipelined behind the
 * create is answered after it, in order. */
static void
slow_check_parks_only_its_connection (void **state)
{
  struct fake *f = *state;
  char req[1024], out[4096];
  int a = unix_dial (f->listen);
  int b = unix_dial (f->listen);
  size_t len = 0;
  engine_guard_set_policy (f->g, &pol);
  /* the fake engine's socket is a socket: a socket mount, slow to decide */
  char body[256];
  snprintf (body, sizeof body,
            "{\"Image\":\"app:1\",\"HostConfig\":{\"Binds\":[\"%s:/s\"]}}",
            f->engine);
  snprintf (req, sizeof req,
            "POST /containers/create HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n"
            "%sGET /info HTTP/1.1\r\nHost: x\r\n\r\n",
            strlen (body), body);
  assert_int_equal (sem_init (&slow_gate, 0, 0), 0);
  slow_gate_armed = true;
  assert_int_equal (write (a, req, strlen (req)), (ssize_t)strlen (req));
  usleep (100 * 1000);
  /* b is served while a's check is still held */
  {
    struct timeval tv = { .tv_sec = 15 };
    setsockopt (b, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt (a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  assert_int_equal (
      roundtrip (b, "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n", out, sizeof out),
      200);
  /* ... and a has had no answer yet: its check has not finished */
  assert_int_equal (recv (a, out, sizeof out, MSG_DONTWAIT), -1);
  assert_true (errno == EAGAIN || errno == EWOULDBLOCK);
  sem_post (&slow_gate);
  /* both answers of a, in order, after the check */
  while (len < sizeof out - 1)
    {
      ssize_t n = read (a, out + len, sizeof out - 1 - len);
      if (n <= 0)
        fail_msg ("after %zu bytes: %s", len, out);
      len += (size_t)n;
      out[len] = 0;
      char *second = strstr (out, "HTTP/1.1 200");
      if (second && strstr (second + 1, "HTTP/1.1 200")
          && strstr (strstr (second + 1, "HTTP/1.1 200"), "\r\n\r\nOK"))
        break;
    }
  slow_gate_armed = false;
  sem_destroy (&slow_gate);
  pthread_mutex_lock (&f->mu);
  /* the engine saw the create before the info (the last one) */
  assert_non_null (strstr (f->last, "GET /info"));
  pthread_mutex_unlock (&f->mu);
  close (a);
  close (b);
}

static void
listeners_added_and_removed (void **state)
{
  struct fake *f = *state;
  char out[4096], path[100];
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  moat_error_t err = NULL;
  engine_guard_set_policy (f->g, &pol);
  snprintf (path, sizeof path, "%s/plain.sock", f->dir);
  int lfd = unix_listen (path);
  int id = engine_guard_add_listener (f->g, lfd, 0, &err);
  assert_true (id > 1);
  /* no command list on this one: push passes; on the first it does not */
  int fd = unix_dial (path);
  assert_int_equal (roundtrip (fd,
                               "POST /images/x/push HTTP/1.1\r\nHost: x\r\n"
                               "Content-Length: 0\r\n\r\n",
                               out, sizeof out),
                    200);
  int fd1 = unix_dial (f->listen);
  assert_int_equal (roundtrip (fd1,
                               "POST /images/x/push HTTP/1.1\r\nHost: x\r\n"
                               "Content-Length: 0\r\n\r\n",
                               out, sizeof out),
                    403);
  engine_guard_remove_listener (f->g, id);
  /* its connections are closed, new ones refused; the first still serves */
  assert_int_equal (read (fd, out, sizeof out), 0);
  int s2 = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  snprintf (sa.sun_path, sizeof sa.sun_path, "%s", path);
  assert_int_equal (connect (s2, (struct sockaddr *)&sa, sizeof sa), -1);
  assert_int_equal (roundtrip (fd1, "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n",
                               out, sizeof out),
                    200);
  close (s2);
  close (fd);
  close (fd1);
}

static bool
last_has (struct fake *f, const char *what)
{
  bool r;
  pthread_mutex_lock (&f->mu);
  r = strstr (f->last, what) != NULL;
  pthread_mutex_unlock (&f->mu);
  return r;
}

/* Every create carries its caller; on a filtered socket that is who the
 * peer hook says (the container's creator), forged labels go, and a
 * peer the hook refuses gets one answer and nothing else. */
static void
caller_labels_and_filtered_peers (void **state)
{
  struct fake *f = *state;
  char out[4096], path[100], req[1024];
  moat_error_t err = NULL;
  const char *body = "{\"Image\":\"busybox\",\"Labels\":{"
                     "\"com.moat.caller.uid\":\"0\"}}";
  pid_t pid;
  int st;
  engine_guard_set_policy (f->g, &pol);
  snprintf (req, sizeof req,
            "POST /containers/create HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
            strlen (body), body);
  int fd0 = unix_dial (f->listen);
  assert_int_equal (roundtrip (fd0, req, out, sizeof out), 200);
  assert_true (last_has (f, "\"com.moat.caller.uid\":\"0\""));
  assert_true (last_has (f, "\"com.moat.caller.gid\":\"0\""));
  close (fd0);

  snprintf (path, sizeof path, "%s/filtered.sock", f->dir);
  int lfd = unix_listen (path);
  assert_int_equal (chmod (path, 0666), 0);
  assert_int_equal (chmod (f->dir, 0711), 0);
  int id = engine_guard_add_listener (f->g, lfd, ENGINE_LISTENER_COMMAND_LIST,
                                      &err);
  assert_true (id > 1);
  int fd = unix_dial (path);
  assert_int_equal (roundtrip (fd, req, out, sizeof out), 200);
  assert_true (last_has (f, "\"com.moat.caller.uid\":\"4242\""));
  assert_true (last_has (f, "\"com.moat.caller.gid\":\"4343\""));
  assert_false (last_has (f, "\"com.moat.caller.uid\":\"0\""));
  /* the caller (4242) is not root: docker cp is checked */
  assert_int_equal (
      roundtrip (fd,
                 "PUT /v1.41/containers/withbind/archive?path=/ HTTP/1.1\r\n"
                 "Host: x\r\nContent-Length: 3\r\n\r\nabc",
                 out, sizeof out),
      403);
  assert_non_null (strstr (out, "copy into the shared directory"));
  assert_int_equal (
      roundtrip (fd,
                 "PUT /v1.41/containers/plain/archive?path=/ HTTP/1.1\r\n"
                 "Host: x\r\nContent-Length: 3\r\n\r\nabc",
                 out, sizeof out),
      200);
  assert_true (last_has (f, "PUT /v1.41/containers/" ID64
                            "/archive?path=/ HTTP/1.1\r\n"));
  assert_true (last_has (f, "\r\n\r\nabc"));
  /* a refused HEAD (docker cp's stat) gets a head and no body: the next
   * answer on the connection follows the blank line at once */
  {
    static const char q[]
        = "HEAD /v1.41/containers/withbind/archive?path=/ HTTP/1.1\r\n"
          "Host: x\r\n\r\nGET /_ping HTTP/1.1\r\nHost: x\r\n\r\n";
    size_t n = 0;
    assert_int_equal (write (fd, q, sizeof q - 1), (ssize_t)(sizeof q - 1));
    while (n < sizeof out - 1)
      {
        ssize_t r = read (fd, out + n, sizeof out - 1 - n);
        if (r <= 0)
          fail_msg ("after %zu bytes: %s", n, out);
        n += (size_t)r;
        out[n] = 0;
        if (strstr (out, "\r\n\r\nOK"))
          break;
      }
    assert_int_equal (strncmp (out, "HTTP/1.1 403", 12), 0);
    assert_non_null (strstr (out, "\r\n\r\nHTTP/1.1 200"));
    assert_null (strstr (out, "copy into"));
  }
  close (fd);

  /* another user on the filtered socket: one refusal, then closed.  The
   * child drops the guard's descriptors at once: a copy of a socket the
   * guard closes would keep it in the guard's epoll set. */
  usleep (200 * 1000);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      struct sockaddr_un sa = { .sun_family = AF_UNIX };
      char buf[2048];
      size_t n = 0;
      ssize_t r;
      int c;
      if (syscall (SYS_close_range, 3, ~0U, 0) < 0)
        _exit (9);
      if (setresgid (65534, 65534, 65534) < 0
          || setresuid (65534, 65534, 65534) < 0)
        _exit (10);
      c = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      snprintf (sa.sun_path, sizeof sa.sun_path, "%s", path);
      if (connect (c, (struct sockaddr *)&sa, sizeof sa) < 0)
        _exit (11);
      static const char q[] = "GET /info HTTP/1.1\r\nHost: x\r\n\r\n";
      /* the guard refuses before it reads: it may have answered and
       * closed before this write (EPIPE, not SIGPIPE) */
      signal (SIGPIPE, SIG_IGN);
      if (write (c, q, sizeof q - 1) != (ssize_t)(sizeof q - 1)
          && errno != EPIPE)
        _exit (12);
      while ((r = read (c, buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)r;
      buf[n] = '\0';
      if (strncmp (buf, "HTTP/1.1 403", 12) != 0
          || strstr (buf, "not yours") == NULL)
        _exit (13);
      _exit (0);
    }
  assert_int_equal (waitpid (pid, &st, 0), pid);
  if (!WIFEXITED (st))
    fail_msg ("child killed by signal %d", WTERMSIG (st));
  assert_int_equal (WEXITSTATUS (st), 0);
  pthread_mutex_lock (&f->mu);
  assert_null (strstr (f->last, "GET /info"));
  pthread_mutex_unlock (&f->mu);
}

/* A head that cannot be written whole (out of memory; here a size limit
 * on the re-serialised head) is never forwarded in part: the client gets
 * 500 and the connection closes.  The limit is moved across the whole
 * head, so it fails at every append of the head, framing included. */
static void
head_write_failure_forwards_nothing (void **state)
{
  struct engine_guard_config cfg;
  struct engine_guard *g;
  moat_error_t err = NULL;
  char path[64];
  const char *reqs[] = {
    "PUT /v1.41/containers/c/archive?path=/ HTTP/1.1\r\nHost: x\r\n"
    "X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"
    "Content-Length: 3\r\n\r\nabc",
    "PUT /v1.41/containers/c/archive?path=/ HTTP/1.1\r\nHost: x\r\n"
    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    "POST /v1.41/containers/create HTTP/1.1\r\nHost: x\r\n"
    "Content-Length: 19\r\n\r\n{\"Image\":\"busybox\"}",
    "GET /v1.41/containers/json HTTP/1.1\r\nHost: x\r\n\r\n",
  };
  (void)state;
  snprintf (path, sizeof path, "/tmp/moat-guardut-feed-%d.sock",
            (int)getpid ());
  memset (&cfg, 0, sizeof cfg);
  cfg.listen_fd = -1;
  cfg.listen_path = path;
  cfg.engine_path = "/nonexistent";
  g = engine_guard_new (&cfg, &err);
  assert_non_null (g);
  unlink (path);
  memset (&pol, 0, sizeof pol);
  pol.eci.enabled = true;
  pol.filesharing.dirs = dirs;
  pol.filesharing.n_dirs = 1;
  engine_guard_set_policy (g, &pol);
  for (size_t r = 0; r < sizeof reqs / sizeof *reqs; r++)
    for (size_t limit = 1; limit < 200; limit++)
      {
        struct engine_guard_feed_out o = { 0 };
        assert_int_equal (engine_guard_feed_ex (g, reqs[r], strlen (reqs[r]),
                                                "", 0, 4096, limit, &o),
                          0);
        if (o.to_engine_len > 0)
          {
            /* forwarded: the whole head, its framing and the body */
            char *he = strstr (o.to_engine, "\r\n\r\n");
            if (he == NULL
                || (strncmp (reqs[r], "GET", 3) != 0
                    && strcasestr (o.to_engine, "content-length:") == NULL
                    && strcasestr (o.to_engine, "transfer-encoding:") == NULL))
              fail_msg ("limit %zu: partial head forwarded: %s", limit,
                        o.to_engine);
          }
        else if (strncmp (o.to_client, "HTTP/1.1 500 ", 13) != 0
                 || strstr (o.to_client, "Connection: close\r\n") == NULL)
          fail_msg ("limit %zu: neither forwarded nor 500: %s", limit,
                    o.to_client);
        free (o.to_engine);
        free (o.to_client);
      }
  engine_guard_free (g);
}

/* A request head that does not complete within head_timeout_ms (150 ms
 * here) closes its connection at its own deadline, not at a coarse
 * tick; an idle kept-alive connection (no head begun) and one whose head
 * completed in time stay open. */
static void
overdue_head_closed_at_its_deadline (void **state)
{
  struct fake *f = *state;
  char out[4096];
  int idle = unix_dial (f->listen);
  int kept = unix_dial (f->listen);
  int slow = unix_dial (f->listen);
  assert_int_equal (roundtrip (kept, "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n",
                               out, sizeof out),
                    200);
  const char *part = "GET /_ping HTTP/1.1\r\nHo";
  uint64_t t0 = mono_ms ();
  assert_int_equal (write (slow, part, strlen (part)), (ssize_t)strlen (part));
  ssize_t n = read (slow, out, sizeof out);
  uint64_t took = mono_ms () - t0;
  assert_true (n <= 0);
  if (took < 100 || took > 600)
    fail_msg ("overdue head closed after %llu ms (timeout 150 ms)",
              (unsigned long long)took);
  /* the others are past 150 ms too, with no head begun: still served */
  assert_int_equal (roundtrip (idle, "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n",
                               out, sizeof out),
                    200);
  assert_int_equal (roundtrip (kept, "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n",
                               out, sizeof out),
                    200);
  /* a head completed in time is not closed later by its old deadline */
  usleep (300 * 1000);
  assert_int_equal (roundtrip (kept, "GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n",
                               out, sizeof out),
                    200);
  close (idle);
  close (kept);
  close (slow);
}

static void
config_from_paths (void **state)
{
  struct moat_paths p;
  struct engine_guard_config cfg;
  struct engine_guard_paths st;
  moat_error_t err = NULL;
  assert_int_equal (moat_paths_init (&p, "/tmp/r", &err), 0);
  engine_guard_config_init (&cfg, &st, &p);
  assert_string_equal (cfg.listen_path, "/tmp/r/run/moat/docker.sock");
  assert_string_equal (cfg.engine_path, "/tmp/r/run/moat/engine.sock");
  assert_int_equal (cfg.listen_fd, -1);
  assert_false (cfg.command_list);
  assert_int_equal (cfg.eci.n_protected, 6);
  assert_string_equal (cfg.eci.protected_paths[4],
                       "/tmp/r/var/lib/moat/engine");
  assert_int_equal (cfg.eci.n_sockets, 3);
  moat_paths_free (&p);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (policy_swap_and_ping, setup, teardown),
    cmocka_unit_test_setup_teardown (head_reserialised_and_blocked, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (create_rewritten_chunked_reframed, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (listeners_added_and_removed, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (audit_names_the_checked_method, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (pooled_engine_connections, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (
        engine_connection_reused_after_clean_answer, setup, teardown),
    cmocka_unit_test_setup_teardown (accepted_client_read_at_once,
                                     setup_not_running, teardown),
    cmocka_unit_test_setup_teardown (engine_connection_not_reused_unless_clean,
                                     setup, teardown),
    cmocka_unit_test_setup_teardown (slow_check_parks_only_its_connection,
                                     setup, teardown),
    cmocka_unit_test_setup_teardown (caller_labels_and_filtered_peers, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (overdue_head_closed_at_its_deadline,
                                     setup_fast_head, teardown),
    cmocka_unit_test (head_write_failure_forwards_nothing),
    cmocka_unit_test (config_from_paths),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
