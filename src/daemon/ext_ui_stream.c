/* Streamed exec calls of the extensions' UIs (docs/extensions.md,
 * "Streamed exec"): host.cli.exec, docker.cli.exec and vm.cli.exec with
 * {stream: true}.  Each runs on a thread of its own (at most
 * EXT_STREAMS_PER_USER at once per signed-in user and EXT_STREAMS_MAX in
 * all, ext_ui_slots.c; 429 beyond), with the same confinement as the
 * collected form and the streamed limits (ext_ui_exec.h).  Its output is
 * queued as newline-delimited JSON frames and handed to the dashboard's
 * I/O loop (io_loop_wake, then ext_ui_stream_drain on the loop's thread),
 * which writes them to the page's connection (web_ext_stream_push).  When
 * that connection closes (the page's close(), a navigation, a tab closed)
 * or cannot take more, the run is cancelled: its process group is killed
 * (an exec in the backend: its tree, vm_exec_kill). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "ext_ui.h"
#include "ext_ui_exec.h"

struct xstream
{
  struct xstream *next;
  uint64_t tag;
  uid_t uid;
  char *name, *call;
  json_t *req;
  struct ext_ui_exec_ctx x;
  int cancel[2]; /* a byte written to [1]: cancel */
  pthread_t thr;
  bool started;
  /* UTF-8 sequences cut by a chunk boundary, per stream (thread only) */
  char carry[3][4];
  size_t ncarry[3];
  /* under S.mu */
  char *q;
  size_t qlen, qcap;
  bool done;
  /* the loop's thread only */
  bool gone;
};

static struct
{
  pthread_mutex_t mu;
  struct xstream *list;      /* under mu (linked and unlinked by the loop) */
  struct ext_ui_slots slots; /* under mu */
  struct io_loop *loop;
  struct web **web;
  char *dir, *engine_sock, *guard_sock;
} S = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void
xs_free (struct xstream *s)
{
  free (s->name);
  free (s->call);
  json_decref (s->req);
  if (s->cancel[0] >= 0)
    close (s->cancel[0]);
  if (s->cancel[1] >= 0)
    close (s->cancel[1]);
  free (s->q);
  free (s);
}

/* (thread) Queue one frame line. */
static void
xs_queue (struct xstream *s, json_t *frame, bool done)
{
  cleanup_free char *line
      = frame != NULL ? json_dumps (frame, JSON_COMPACT) : NULL;
  size_t n = line != NULL ? strlen (line) : 0;
  json_decref (frame);
  pthread_mutex_lock (&S.mu);
  if (line != NULL && s->qlen + n + 1 > s->qcap)
    {
      size_t cap = s->qcap ? s->qcap : 4096;
      char *nq;
      while (cap < s->qlen + n + 1)
        cap *= 2;
      nq = realloc (s->q, cap);
      if (nq != NULL)
        {
          s->q = nq;
          s->qcap = cap;
        }
    }
  if (line != NULL && s->qlen + n + 1 <= s->qcap)
    {
      memcpy (s->q + s->qlen, line, n);
      s->q[s->qlen + n] = '\n';
      s->qlen += n + 1;
    }
  if (done)
    s->done = true;
  pthread_mutex_unlock (&S.mu);
  io_loop_wake (S.loop);
}

/* Length of the UTF-8 sequence led by c (0: not a lead byte). */
static size_t
u8_len (unsigned char c)
{
  return c < 0x80                ? 1
         : c >= 0xc2 && c < 0xe0 ? 2
         : c >= 0xe0 && c < 0xf0 ? 3
         : c >= 0xf0 && c < 0xf5 ? 4
                                 : 0;
}

/* (thread) The output callback: text as JSON strings, a sequence cut by
 * the chunk's end carried to the next chunk, a byte that is not UTF-8
 * replaced by U+FFFD. */
static void
xs_output (void *ud, int stream, const char *buf, size_t len)
{
  struct xstream *s = ud;
  size_t cap = len + s->ncarry[stream] + 16, o = 0, i = 0;
  cleanup_free char *all = malloc (len + s->ncarry[stream]);
  cleanup_free char *txt = malloc (cap * 3);
  json_t *str;

  if (all == NULL || txt == NULL)
    return;
  memcpy (all, s->carry[stream], s->ncarry[stream]);
  memcpy (all + s->ncarry[stream], buf, len);
  len += s->ncarry[stream];
  s->ncarry[stream] = 0;
  while (i < len)
    {
      unsigned char c = (unsigned char)all[i];
      size_t k = u8_len (c), m;
      bool ok = k > 0;
      if (ok && i + k > len)
        {
          /* cut by the chunk's end: kept for the next one */
          bool cont = true;
          for (m = 1; i + m < len; m++)
            cont = cont && ((unsigned char)all[i + m] & 0xc0) == 0x80;
          if (cont)
            {
              s->ncarry[stream] = len - i;
              memcpy (s->carry[stream], all + i, len - i);
              break;
            }
          ok = false;
        }
      for (m = 1; ok && m < k; m++)
        ok = ((unsigned char)all[i + m] & 0xc0) == 0x80;
      /* overlong 3/4-byte forms and surrogates */
      if (ok && k == 3
          && ((c == 0xe0 && (unsigned char)all[i + 1] < 0xa0)
              || (c == 0xed && (unsigned char)all[i + 1] >= 0xa0)))
        ok = false;
      if (ok && k == 4
          && ((c == 0xf0 && (unsigned char)all[i + 1] < 0x90)
              || (c == 0xf4 && (unsigned char)all[i + 1] >= 0x90)))
        ok = false;
      if (ok && !(k == 1 && c == 0))
        {
          memcpy (txt + o, all + i, k);
          o += k;
          i += k;
        }
      else
        {
          memcpy (txt + o, "\xef\xbf\xbd", 3);
          o += 3;
          i++;
        }
    }
  if (o == 0)
    return;
  str = json_stringn (txt, o);
  if (str != NULL)
    xs_queue (s, json_pack ("{s:o}", stream == 2 ? "stderr" : "stdout", str),
              false);
}

static void *
xs_run (void *arg)
{
  struct xstream *s = arg;
  struct ext_ui_sink sink
      = { .output = xs_output, .ud = s, .cancel_fd = s->cancel[0] };
  int status = 0;
  json_t *reply = NULL;

  ext_ui_exec_run (&s->x, s->uid, s->name, s->call, s->req, &sink, &status,
                   &reply);
  if (status == 200)
    {
      json_object_del (reply, "stdout");
      json_object_del (reply, "stderr");
      xs_queue (s, json_pack ("{s:o}", "exit", reply), true);
    }
  else
    {
      json_object_set_new (reply, "statusCode", json_integer (status));
      xs_queue (s, json_pack ("{s:o}", "error", reply), true);
    }
  return NULL;
}

static void
xs_cancel (struct xstream *s)
{
  char b = 1;
  s->gone = true;
  if (s->cancel[1] >= 0 && write (s->cancel[1], &b, 1) < 0)
    log_warn ("extension %s: cancel a streamed %s: %s", s->name, s->call,
              strerror (errno));
}

int
ext_ui_stream_start (uid_t uid, const char *name, json_t *call, uint64_t tag)
{
  struct xstream *s;
  const char *c = json_string_value (json_object_get (call, "call"));

  if (S.loop == NULL || c == NULL)
    return -1;
  pthread_mutex_lock (&S.mu);
  if (ext_ui_slot_take (&S.slots, uid) < 0)
    {
      pthread_mutex_unlock (&S.mu);
      return -1;
    }
  pthread_mutex_unlock (&S.mu);
  s = calloc (1, sizeof *s);
  if (s == NULL)
    goto fail;
  s->cancel[0] = s->cancel[1] = -1;
  s->tag = tag;
  s->uid = uid;
  s->name = strdup (name);
  s->call = strdup (c);
  s->req = json_deep_copy (call);
  s->x.dir = S.dir;
  s->x.engine_sock = S.engine_sock;
  s->x.guard_sock = S.guard_sock;
  if (s->name == NULL || s->call == NULL || s->req == NULL
      || pipe2 (s->cancel, O_CLOEXEC | O_NONBLOCK) < 0)
    goto fail;
  if (pthread_create (&s->thr, NULL, xs_run, s) != 0)
    goto fail;
  s->started = true;
  pthread_mutex_lock (&S.mu);
  s->next = S.list;
  S.list = s;
  pthread_mutex_unlock (&S.mu);
  return 0;
fail:
  if (s != NULL)
    xs_free (s);
  pthread_mutex_lock (&S.mu);
  ext_ui_slot_give (&S.slots, uid);
  pthread_mutex_unlock (&S.mu);
  return -1;
}

void
ext_ui_stream_closed (uint64_t tag)
{
  pthread_mutex_lock (&S.mu);
  for (struct xstream *s = S.list; s != NULL; s = s->next)
    if (s->tag == tag && !s->gone)
      xs_cancel (s);
  pthread_mutex_unlock (&S.mu);
}

void
ext_ui_stream_drain (void)
{
  struct xstream **pp, *s;

  pthread_mutex_lock (&S.mu);
  for (pp = &S.list; (s = *pp) != NULL;)
    {
      cleanup_free char *q = s->q;
      size_t qlen = s->qlen;
      bool done = s->done;
      s->q = NULL;
      s->qlen = s->qcap = 0;
      if (!done)
        pp = &s->next;
      else
        *pp = s->next;
      pthread_mutex_unlock (&S.mu);
      /* the connection gone or full: the run is cancelled */
      if (!s->gone && (qlen > 0 || done)
          && (*S.web == NULL
              || web_ext_stream_push (*S.web, s->tag, q, qlen, done) < 0))
        xs_cancel (s);
      if (done)
        {
          uid_t uid = s->uid;
          pthread_join (s->thr, NULL);
          xs_free (s);
          pthread_mutex_lock (&S.mu);
          ext_ui_slot_give (&S.slots, uid);
        }
      else
        pthread_mutex_lock (&S.mu);
    }
  pthread_mutex_unlock (&S.mu);
}

int
ext_ui_stream_init (struct io_loop *loop, struct web **web, const char *dir,
                    const char *engine_sock, const char *guard_sock)
{
  S.loop = loop;
  S.web = web;
  S.dir = strdup (dir);
  S.engine_sock = strdup (engine_sock);
  S.guard_sock = strdup (guard_sock);
  return S.dir && S.engine_sock && S.guard_sock ? 0 : -1;
}

void
ext_ui_stream_stop (void)
{
  pthread_mutex_lock (&S.mu);
  for (struct xstream *s = S.list; s != NULL; s = s->next)
    if (!s->gone)
      xs_cancel (s);
  while (S.list != NULL)
    {
      struct xstream *s = S.list;
      S.list = s->next;
      pthread_mutex_unlock (&S.mu);
      uid_t uid = s->uid;
      pthread_join (s->thr, NULL);
      xs_free (s);
      pthread_mutex_lock (&S.mu);
      ext_ui_slot_give (&S.slots, uid);
    }
  pthread_mutex_unlock (&S.mu);
  free (S.dir);
  free (S.engine_sock);
  free (S.guard_sock);
  S.dir = S.engine_sock = S.guard_sock = NULL;
  S.loop = NULL;
}
