/* Audit export: RFC 5424 / journal formatting (pure) and the worker that
 * sends.  The main thread only formats nothing and queues a copy under a
 * mutex the worker never holds across I/O; every socket is non-blocking
 * and waited on with poll and a timeout. */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "audit_export.h"
#include "common/cleanup.h"
#include "common/clock.h"
#include "common/log.h"

/* ---- formatting ---------------------------------------------------- */

struct sbuf
{
  char *p;
  size_t len, cap;
  bool oom;
};

static void
sb_add (struct sbuf *b, const void *s, size_t n)
{
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap)
    {
      size_t cap = b->cap ? b->cap : 256;
      char *np;
      while (cap < b->len + n + 1)
        cap *= 2;
      np = realloc (b->p, cap);
      if (np == NULL)
        {
          b->oom = true;
          return;
        }
      b->p = np;
      b->cap = cap;
    }
  memcpy (b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void
sb_str (struct sbuf *b, const char *s)
{
  sb_add (b, s, strlen (s));
}

static void sb_printf (struct sbuf *b, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
static void
sb_printf (struct sbuf *b, const char *fmt, ...)
{
  char tmp[128];
  va_list ap;
  int n;

  va_start (ap, fmt);
  n = vsnprintf (tmp, sizeof tmp, fmt, ap);
  va_end (ap);
  if (n > 0)
    sb_add (b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Length of the valid UTF-8 sequence at s (of n bytes), or 0. */
static size_t
utf8_seq (const unsigned char *s, size_t n)
{
  size_t k;
  unsigned long cp;

  if (s[0] < 0x80)
    return 1;
  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    k = 1, cp = s[0] & 0x1f;
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    k = 2, cp = s[0] & 0x0f;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    k = 3, cp = s[0] & 0x07;
  else
    return 0;
  if (n <= k)
    return 0;
  for (size_t i = 1; i <= k; i++)
    {
      if ((s[i] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i] & 0x3f);
    }
  if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10ffff
      || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return k + 1;
}

/* An SD PARAM-VALUE (RFC 5424 6.3.3): '"', '\' and ']' escaped with '\';
 * a control character is written as \n, \r, \t or \u00XX (a '\' before
 * another character is kept as is by a receiver, so this stays readable
 * and never ends the element or the line); bytes that are not UTF-8 are
 * '?'.  At most cap bytes of s are used; the cut falls between
 * characters. */
static void
sd_value (struct sbuf *b, const char *s, size_t cap)
{
  const unsigned char *u = (const unsigned char *)s;
  size_t n = strlen (s), i = 0;

  while (i < n && i < cap)
    {
      size_t k = utf8_seq (u + i, n - i);
      if (k == 0)
        {
          sb_add (b, "?", 1);
          i++;
          continue;
        }
      if (i + k > cap)
        break;
      if (u[i] == '"' || u[i] == '\\' || u[i] == ']')
        {
          sb_add (b, "\\", 1);
          sb_add (b, u + i, 1);
        }
      else if (u[i] == '\n')
        sb_add (b, "\\n", 2);
      else if (u[i] == '\r')
        sb_add (b, "\\r", 2);
      else if (u[i] == '\t')
        sb_add (b, "\\t", 2);
      else if (u[i] < 0x20 || u[i] == 0x7f)
        sb_printf (b, "\\u%04x", u[i]);
      else
        sb_add (b, u + i, k);
      i += k;
    }
}

/* A header field: printable US-ASCII without spaces, 1..max bytes, else
 * the NILVALUE "-". */
static void
header_field (struct sbuf *b, const char *s, size_t max)
{
  size_t n = s != NULL ? strlen (s) : 0;

  if (n == 0 || n > max)
    {
      sb_add (b, "-", 1);
      return;
    }
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126)
      {
        sb_add (b, "-", 1);
        return;
      }
  sb_add (b, s, n);
}

int
audit_severity (const char *outcome)
{
  static const char *const warn[]
      = { "refused", "rejected", "denied", "blocked", "killed" };
  if (outcome == NULL)
    return 5;
  for (size_t i = 0; i < sizeof warn / sizeof *warn; i++)
    if (strcmp (outcome, warn[i]) == 0)
      return 4;
  if (strcmp (outcome, "error") == 0 || strcmp (outcome, "failed") == 0)
    return 3;
  if (strcmp (outcome, "allowed") == 0)
    return 6;
  return 5;
}

static void
timestamp (struct sbuf *b, int64_t ms)
{
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  char s[64];
  long off;

  if (localtime_r (&t, &tm) == NULL)
    {
      sb_add (b, "-", 1);
      return;
    }
  strftime (s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
  off = tm.tm_gmtoff / 60;
  sb_printf (b, "%s.%06ld%c%02ld:%02ld", s, (long)(ms % 1000) * 1000,
             off < 0 ? '-' : '+', labs (off) / 60, labs (off) % 60);
}

/* The SD element, each value cut to cap bytes. */
static void
sd_element (struct sbuf *b, const struct audit_record *r, size_t cap,
            size_t truncated)
{
  const struct
  {
    const char *name, *value;
  } p[] = {
    { "component", r->component }, { "outcome", r->outcome },
    { "rule", r->rule },           { "container", r->container },
    { "endpoint", r->endpoint },
  };

  sb_printf (b, "[" AUDIT_EXPORT_SD_ID " id=\"%lld\"", (long long)r->id);
  for (size_t i = 0; i < sizeof p / sizeof *p; i++)
    if (p[i].value != NULL)
      {
        sb_printf (b, " %s=\"", p[i].name);
        sd_value (b, p[i].value, cap);
        sb_add (b, "\"", 1);
      }
  if (r->caller_uid >= 0)
    sb_printf (b, " uid=\"%lld\"", (long long)r->caller_uid);
  if (r->caller_pid >= 0)
    sb_printf (b, " pid=\"%lld\"", (long long)r->caller_pid);
  if (truncated > 0)
    sb_printf (b, " truncated=\"%zu\"", truncated);
  sb_add (b, "]", 1);
}

/* Bytes of s (n long) to keep so that at most room remain, cut between
 * UTF-8 characters. */
static size_t
utf8_cut (const char *s, size_t n, size_t room)
{
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;

  if (n <= room)
    return n;
  while (i < room)
    {
      size_t k = utf8_seq (u + i, n - i);
      if (k == 0)
        k = 1;
      if (i + k > room)
        break;
      i += k;
    }
  return i;
}

static void
syslog_header (struct sbuf *b, const struct audit_record *r, int facility,
               const char *hostname, long pid, size_t cap, size_t truncated)
{
  b->len = 0;
  sb_printf (b, "<%d>1 ", facility * 8 + audit_severity (r->outcome));
  timestamp (b, r->time_ms);
  sb_add (b, " ", 1);
  header_field (b, hostname, 255);
  sb_printf (b, " moatd %ld ", pid);
  header_field (b, r->component, 32);
  sb_add (b, " ", 1);
  sd_element (b, r, cap, truncated);
}

char *
audit_syslog_format (const struct audit_record *r, const char *json,
                     int facility, const char *hostname, long pid, size_t max,
                     size_t *len)
{
  size_t jn = strlen (json), cap = 256, trunc = 0, keep;
  struct sbuf b = { 0 };

  /* SD values are shortened until the header takes at most half the
   * line; then MSG is cut at its end if it must be. */
  for (;;)
    {
      syslog_header (&b, r, facility, hostname, pid, cap, trunc);
      if (b.oom)
        break;
      if (b.len + 1 + jn > max && trunc == 0)
        {
          trunc = jn;
          continue;
        }
      if (b.len + 1 <= max / 2 || cap <= 8)
        break;
      cap /= 2;
    }
  if (!b.oom && trunc > 0)
    {
      /* With shorter SD values the whole MSG may fit after all. */
      syslog_header (&b, r, facility, hostname, pid, cap, 0);
      if (b.len + 1 + jn > max)
        syslog_header (&b, r, facility, hostname, pid, cap, trunc);
    }
  if (b.oom)
    {
      free (b.p);
      return NULL;
    }
  keep = b.len + 1 >= max ? 0 : utf8_cut (json, jn, max - b.len - 1);
  sb_add (&b, " ", 1);
  sb_add (&b, json, keep);
  if (b.oom)
    {
      free (b.p);
      return NULL;
    }
  *len = b.len;
  return b.p;
}

/* One native journal field. */
static void
jfield (struct sbuf *b, const char *name, const char *v, size_t cap)
{
  size_t n = utf8_cut (v, strlen (v), cap);

  if (memchr (v, '\n', n) == NULL)
    {
      sb_str (b, name);
      sb_add (b, "=", 1);
      sb_add (b, v, n);
      sb_add (b, "\n", 1);
      return;
    }
  {
    unsigned char le[8];
    uint64_t x = n;
    for (int i = 0; i < 8; i++)
      le[i] = (unsigned char)(x >> (8 * i));
    sb_str (b, name);
    sb_add (b, "\n", 1);
    sb_add (b, le, 8);
    sb_add (b, v, n);
    sb_add (b, "\n", 1);
  }
}

char *
audit_journal_format (const struct audit_record *r, const char *json,
                      int facility, long pid, size_t max, size_t *len)
{
  struct sbuf b = { 0 };
  char num[32];
  size_t jn = strlen (json);

  jfield (&b, "MESSAGE", json, max);
  snprintf (num, sizeof num, "%d", audit_severity (r->outcome));
  jfield (&b, "PRIORITY", num, 32);
  jfield (&b, "SYSLOG_IDENTIFIER", "moatd", 32);
  snprintf (num, sizeof num, "%d", facility);
  jfield (&b, "SYSLOG_FACILITY", num, 32);
  snprintf (num, sizeof num, "%ld", pid);
  jfield (&b, "SYSLOG_PID", num, 32);
  snprintf (num, sizeof num, "%lld", (long long)r->id);
  jfield (&b, "MOAT_ID", num, 32);
  if (r->component != NULL)
    jfield (&b, "MOAT_COMPONENT", r->component, 4096);
  if (r->outcome != NULL)
    jfield (&b, "MOAT_OUTCOME", r->outcome, 4096);
  if (r->rule != NULL)
    jfield (&b, "MOAT_RULE", r->rule, 4096);
  if (r->container != NULL)
    jfield (&b, "MOAT_CONTAINER", r->container, 4096);
  if (r->endpoint != NULL)
    jfield (&b, "MOAT_ENDPOINT", r->endpoint, 4096);
  if (r->caller_uid >= 0)
    {
      snprintf (num, sizeof num, "%lld", (long long)r->caller_uid);
      jfield (&b, "MOAT_CALLER_UID", num, 32);
    }
  if (r->caller_pid >= 0)
    {
      snprintf (num, sizeof num, "%lld", (long long)r->caller_pid);
      jfield (&b, "MOAT_CALLER_PID", num, 32);
    }
  if (jn > max)
    {
      snprintf (num, sizeof num, "%zu", jn);
      jfield (&b, "MOAT_TRUNCATED", num, 32);
    }
  if (b.oom)
    {
      free (b.p);
      return NULL;
    }
  *len = b.len;
  return b.p;
}

/* ---- the worker ---------------------------------------------------- */

struct xmsg
{
  struct xmsg *next;
  struct audit_record rec;
  char *strs[6]; /* the record's strings, owned */
  char *json;
};

struct sink
{
  int fd;
  int64_t retry_ms; /* a failed connect: not again before this */
};

struct audit_export
{
  pthread_t th;
  bool started;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool stop;
  struct policy_audit_export cfg; /* under mu */
  uint64_t gen;                   /* under mu: bumped by configure */
  struct xmsg *head, *tail;       /* under mu */
  size_t queued;                  /* under mu */
  /* Counters, under mu. */
  uint64_t sent, dropped;
  char last_error[256];
  int64_t last_error_ms;
  bool failing;
  /* The worker's own. */
  struct sink syslog, journal;
  char hostname[256];
};

static int64_t
wall_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
xmsg_free (struct xmsg *m)
{
  for (size_t i = 0; i < 6; i++)
    free (m->strs[i]);
  free (m->json);
  free (m);
}

static void fail (struct audit_export *x, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
/* A record not delivered to one sink. */
static void
fail (struct audit_export *x, const char *fmt, ...)
{
  char msg[256];
  va_list ap;
  bool was;

  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  pthread_mutex_lock (&x->mu);
  x->dropped++;
  snprintf (x->last_error, sizeof x->last_error, "%s", msg);
  x->last_error_ms = wall_ms ();
  was = x->failing;
  x->failing = true;
  pthread_mutex_unlock (&x->mu);
  if (!was)
    log_warn ("audit export: %s (records are dropped until it recovers)", msg);
}

static void
delivered (struct audit_export *x)
{
  bool was;

  pthread_mutex_lock (&x->mu);
  x->sent++;
  was = x->failing;
  x->failing = false;
  pthread_mutex_unlock (&x->mu);
  if (was)
    log_info ("audit export: delivering again");
}

static void
sink_close (struct sink *s)
{
  if (s->fd >= 0)
    close (s->fd);
  s->fd = -1;
}

/* Wait for fd to be ready for `events` until deadline (monotonic ms). */
static int
wait_fd (int fd, short events, int64_t deadline)
{
  for (;;)
    {
      struct pollfd p = { .fd = fd, .events = events };
      int64_t left = deadline - moat_mono_ms ();
      int r;
      if (left <= 0)
        return -ETIMEDOUT;
      r = poll (&p, 1, (int)left);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return -errno;
      if (r == 0)
        return -ETIMEDOUT;
      return 0;
    }
}

/* Connect the syslog sink as cfg says; -errno on failure. */
static int
syslog_open (struct audit_export *x, const struct policy_audit_export *cfg)
{
  struct addrinfo hints = { 0 }, *ai = NULL;
  char port[8];
  int fd, r, soerr = 0;
  socklen_t sl = sizeof soerr;
  int64_t deadline = moat_mono_ms () + AUDIT_EXPORT_TIMEOUT_MS;

  if (cfg->syslog == POLICY_SYSLOG_UNIX)
    {
      struct sockaddr_un sun = { .sun_family = AF_UNIX };
      snprintf (sun.sun_path, sizeof sun.sun_path, "%s", cfg->path);
      fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd < 0)
        return -errno;
      if (connect (fd, (struct sockaddr *)&sun, sizeof sun) < 0)
        {
          r = -errno;
          close (fd);
          return r;
        }
      x->syslog.fd = fd;
      return 0;
    }
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype
      = cfg->syslog == POLICY_SYSLOG_UDP ? SOCK_DGRAM : SOCK_STREAM;
  snprintf (port, sizeof port, "%u", cfg->port);
  /* A name is resolved here, on the worker: never on moatd's loop. */
  r = getaddrinfo (cfg->host, port, &hints, &ai);
  if (r != 0)
    return r == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
  fd = socket (ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
               0);
  if (fd < 0)
    {
      r = -errno;
      freeaddrinfo (ai);
      return r;
    }
  if (cfg->syslog == POLICY_SYSLOG_TCP)
    {
      /* What a stalled collector can hold back in the kernel: past this,
       * sends time out and records are dropped (and counted) instead of
       * piling up in megabytes of socket buffer. */
      int sndbuf = AUDIT_EXPORT_SNDBUF;
      setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    }
  r = connect (fd, ai->ai_addr, ai->ai_addrlen);
  freeaddrinfo (ai);
  if (r < 0 && errno == EINPROGRESS)
    {
      r = wait_fd (fd, POLLOUT, deadline);
      if (r == 0 && getsockopt (fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0
          && soerr != 0)
        r = -soerr;
    }
  else if (r < 0)
    r = -errno;
  if (r < 0)
    {
      close (fd);
      return r;
    }
  x->syslog.fd = fd;
  return 0;
}

/* All of buf on a stream, or -errno (the connection is then unusable: a
 * frame cut in the middle would corrupt every later one). */
static int
send_all (int fd, const char *buf, size_t n, int64_t deadline)
{
  while (n > 0)
    {
      ssize_t w = send (fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
          int r = wait_fd (fd, POLLOUT, deadline);
          if (r < 0)
            return r;
          continue;
        }
      if (w < 0)
        return -errno;
      buf += w;
      n -= (size_t)w;
    }
  return 0;
}

static void
send_syslog (struct audit_export *x, const struct policy_audit_export *cfg,
             const struct xmsg *m)
{
  cleanup_free char *line = NULL;
  cleanup_free char *frame = NULL;
  size_t len = 0;
  int r;

  line = audit_syslog_format (&m->rec, m->json, cfg->facility, x->hostname,
                              (long)getpid (), cfg->max_message, &len);
  if (line == NULL)
    {
      fail (x, "syslog: out of memory");
      return;
    }
  if (x->syslog.fd < 0)
    {
      if (moat_mono_ms () < x->syslog.retry_ms)
        {
          fail (x, "syslog %s: not connected (retrying)", cfg->syslog_target);
          return;
        }
      r = syslog_open (x, cfg);
      if (r < 0)
        {
          /* A dead collector costs one attempt a second, not one per
           * record. */
          x->syslog.retry_ms = moat_mono_ms () + 1000;
          fail (x, "syslog %s: %s", cfg->syslog_target, strerror (-r));
          return;
        }
    }
  if (cfg->syslog == POLICY_SYSLOG_TCP)
    {
      /* RFC 6587 3.4.1: MSG-LEN SP SYSLOG-MSG. */
      if (asprintf (&frame, "%zu %s", len, line) < 0)
        {
          frame = NULL;
          fail (x, "syslog: out of memory");
          return;
        }
      r = send_all (x->syslog.fd, frame, strlen (frame),
                    moat_mono_ms () + AUDIT_EXPORT_TIMEOUT_MS);
    }
  else
    {
      ssize_t w = send (x->syslog.fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL);
      r = w < 0 ? -errno : 0;
    }
  if (r < 0)
    {
      if (cfg->syslog == POLICY_SYSLOG_TCP || (r != -EAGAIN && r != -ENOBUFS))
        sink_close (&x->syslog);
      fail (x, "syslog %s: %s", cfg->syslog_target,
            r == -ETIMEDOUT ? "the collector does not keep up (timed out)"
            : r == -EAGAIN  ? "the collector's buffer is full"
                            : strerror (-r));
      return;
    }
  delivered (x);
}

static void
send_journal (struct audit_export *x, const struct policy_audit_export *cfg,
              const struct xmsg *m)
{
  cleanup_free char *dg = NULL;
  struct sockaddr_un sun = { .sun_family = AF_UNIX };
  size_t len = 0;
  ssize_t w;

  dg = audit_journal_format (&m->rec, m->json, cfg->facility, (long)getpid (),
                             cfg->max_message, &len);
  if (dg == NULL)
    {
      fail (x, "journal: out of memory");
      return;
    }
  if (x->journal.fd < 0)
    {
      x->journal.fd
          = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (x->journal.fd < 0)
        {
          fail (x, "journal: socket: %s", strerror (errno));
          return;
        }
    }
  snprintf (sun.sun_path, sizeof sun.sun_path, "%s", cfg->journal_socket);
  w = sendto (x->journal.fd, dg, len, MSG_DONTWAIT | MSG_NOSIGNAL,
              (struct sockaddr *)&sun, sizeof sun);
  if (w < 0)
    {
      fail (x, "journal %s: %s", cfg->journal_socket,
            errno == EAGAIN ? "the journal's buffer is full"
                            : strerror (errno));
      return;
    }
  delivered (x);
}

static void *
worker (void *arg)
{
  struct audit_export *x = arg;
  struct policy_audit_export cfg = { 0 };
  uint64_t gen = 0;

  for (;;)
    {
      struct xmsg *batch;

      pthread_mutex_lock (&x->mu);
      while (!x->stop && x->head == NULL)
        pthread_cond_wait (&x->cv, &x->mu);
      if (x->stop)
        {
          pthread_mutex_unlock (&x->mu);
          break;
        }
      batch = x->head;
      x->head = x->tail = NULL;
      x->queued = 0;
      if (gen != x->gen)
        {
          gen = x->gen;
          cfg = x->cfg;
          sink_close (&x->syslog);
          sink_close (&x->journal);
          x->syslog.retry_ms = 0;
        }
      pthread_mutex_unlock (&x->mu);
      while (batch != NULL)
        {
          struct xmsg *next = batch->next;
          bool stop;
          pthread_mutex_lock (&x->mu);
          stop = x->stop;
          pthread_mutex_unlock (&x->mu);
          if (!stop && cfg.syslog != POLICY_SYSLOG_NONE)
            send_syslog (x, &cfg, batch);
          if (!stop && cfg.journald)
            send_journal (x, &cfg, batch);
          xmsg_free (batch);
          batch = next;
        }
    }
  sink_close (&x->syslog);
  sink_close (&x->journal);
  return NULL;
}

int
audit_export_new (struct audit_export **out, moat_error_t *err)
{
  struct audit_export *x = calloc (1, sizeof *x);
  sigset_t all, old;
  int r;

  *out = NULL;
  if (x == NULL)
    return moat_error (err, ENOMEM, "audit export");
  x->syslog.fd = x->journal.fd = -1;
  if (gethostname (x->hostname, sizeof x->hostname - 1) < 0)
    snprintf (x->hostname, sizeof x->hostname, "-");
  pthread_mutex_init (&x->mu, NULL);
  pthread_cond_init (&x->cv, NULL);
  /* moatd takes its signals through a signalfd: the worker must never be
   * the thread a SIGTERM is delivered to (it would kill the process). */
  sigfillset (&all);
  pthread_sigmask (SIG_BLOCK, &all, &old);
  r = pthread_create (&x->th, NULL, worker, x);
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  if (r != 0)
    {
      pthread_mutex_destroy (&x->mu);
      pthread_cond_destroy (&x->cv);
      free (x);
      return moat_error (err, r, "audit export: start its thread");
    }
  x->started = true;
  *out = x;
  return 0;
}

void
audit_export_configure (struct audit_export *x,
                        const struct policy_audit_export *cfg)
{
  pthread_mutex_lock (&x->mu);
  if (memcmp (&x->cfg, cfg, sizeof *cfg) != 0)
    {
      x->cfg = *cfg;
      x->gen++;
      x->failing = false;
    }
  pthread_mutex_unlock (&x->mu);
}

static char *
dup_or_null (const char *s)
{
  return s != NULL ? strdup (s) : NULL;
}

void
audit_export_post (struct audit_export *x, const struct audit_record *r)
{
  struct xmsg *m;
  json_t *j;
  bool enabled, full;

  pthread_mutex_lock (&x->mu);
  enabled = x->cfg.enabled;
  full = x->queued >= AUDIT_EXPORT_QUEUE_MAX;
  if (enabled && full)
    {
      x->dropped++;
      snprintf (x->last_error, sizeof x->last_error,
                "%d records wait for the collector: newer ones are dropped",
                AUDIT_EXPORT_QUEUE_MAX);
      x->last_error_ms = wall_ms ();
      x->failing = true;
    }
  pthread_mutex_unlock (&x->mu);
  if (!enabled || full)
    return;
  m = calloc (1, sizeof *m);
  j = state_audit_record_json (r);
  if (m == NULL || j == NULL)
    goto oom;
  /* ASCII only: MSG is then valid in any charset and cut anywhere. */
  m->json = json_dumps (j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_SORT_KEYS);
  json_decref (j);
  j = NULL;
  m->rec = *r;
  m->strs[0] = dup_or_null (r->component);
  m->strs[1] = dup_or_null (r->endpoint);
  m->strs[2] = dup_or_null (r->container);
  m->strs[3] = dup_or_null (r->rule);
  m->strs[4] = dup_or_null (r->outcome);
  m->strs[5] = dup_or_null (r->detail);
  m->rec.component = m->strs[0];
  m->rec.endpoint = m->strs[1];
  m->rec.container = m->strs[2];
  m->rec.rule = m->strs[3];
  m->rec.outcome = m->strs[4];
  m->rec.detail = m->strs[5];
  if (m->json == NULL)
    goto oom;
  for (size_t i = 0; i < 6; i++)
    {
      const char *orig[6] = { r->component, r->endpoint, r->container,
                              r->rule,      r->outcome,  r->detail };
      if (orig[i] != NULL && m->strs[i] == NULL)
        goto oom;
    }
  pthread_mutex_lock (&x->mu);
  if (x->tail != NULL)
    x->tail->next = m;
  else
    x->head = m;
  x->tail = m;
  x->queued++;
  pthread_cond_signal (&x->cv);
  pthread_mutex_unlock (&x->mu);
  return;
oom:
  json_decref (j);
  if (m != NULL)
    xmsg_free (m);
  pthread_mutex_lock (&x->mu);
  x->dropped++;
  snprintf (x->last_error, sizeof x->last_error, "out of memory");
  x->last_error_ms = wall_ms ();
  pthread_mutex_unlock (&x->mu);
}

json_t *
audit_export_status (struct audit_export *x)
{
  json_t *o;

  pthread_mutex_lock (&x->mu);
  o = json_pack (
      "{s:b, s:s?, s:b, s:s?, s:I, s:I, s:I, s:s?, s:I, s:b}", "enabled",
      x->cfg.enabled, "syslog",
      x->cfg.syslog != POLICY_SYSLOG_NONE ? x->cfg.syslog_target : NULL,
      "journald", x->cfg.journald, "journal_socket",
      x->cfg.journald ? x->cfg.journal_socket : NULL, "sent",
      (json_int_t)x->sent, "dropped", (json_int_t)x->dropped, "queued",
      (json_int_t)x->queued, "last_error",
      x->last_error[0] != '\0' ? x->last_error : NULL, "last_error_at_ms",
      (json_int_t)x->last_error_ms, "failing", x->failing);
  pthread_mutex_unlock (&x->mu);
  return o;
}

char *
audit_export_problem (struct audit_export *x)
{
  char *s = NULL;

  pthread_mutex_lock (&x->mu);
  if (x->cfg.enabled && x->failing
      && asprintf (&s, "records are dropped (%llu so far): %s",
                   (unsigned long long)x->dropped, x->last_error)
             < 0)
    s = NULL;
  pthread_mutex_unlock (&x->mu);
  return s;
}

void
audit_export_free (struct audit_export *x)
{
  struct xmsg *m;

  if (x == NULL)
    return;
  pthread_mutex_lock (&x->mu);
  x->stop = true;
  pthread_cond_signal (&x->cv);
  pthread_mutex_unlock (&x->mu);
  if (x->started)
    pthread_join (x->th, NULL);
  m = x->head;
  while (m != NULL)
    {
      struct xmsg *next = m->next;
      xmsg_free (m);
      m = next;
    }
  pthread_mutex_destroy (&x->mu);
  pthread_cond_destroy (&x->cv);
  free (x);
}
