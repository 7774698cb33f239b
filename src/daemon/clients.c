/* The connection layer of moatd's control socket: accept, buffers, limits
 * and fairness.  Requests themselves are control.c's.
 *
 * Level-triggered epoll throughout.  A client is read only while it has no
 * complete request buffered and is neither throttled nor closing: a
 * buffered request is served from moatd_clients_turn, so one client never
 * gets more than CTL_TURN_REQUESTS requests and CTL_TURN_BYTES bytes per
 * loop turn, and its unread bytes wait in the kernel (the sender blocks).
 *
 * What a hostile local user in the socket's group cannot do (issue 11
 * items 6 and 7):
 * - lock root out: each non-root uid holds at most CTL_UID_MAX
 *   connections, non-root uids together at most CTL_MAX_CLIENTS -
 *   CTL_ROOT_RESERVE, and a connection without a complete request for
 *   CTL_IDLE_MS is closed (audit followers excepted);
 * - hog the main thread: requests of a non-root uid are served at most at
 *   CTL_RATE a second after a burst of CTL_BURST (a token bucket per uid,
 *   shared by its connections); beyond that its connections are not read
 *   until tokens come back.  Root is never rate-limited. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "common/log.h"
#include "ctl/ctl.h"
#include "internal.h"

/* A follower that falls this far behind is dropped rather than letting its
 * backlog grow without bound. */
#define CLIENT_MAX_OUT (8 * 1024 * 1024)
#define CTL_TURN_REQUESTS 8
#define CTL_TURN_BYTES (64 * 1024)
#define CTL_ACCEPT_TURN 32
#define CTL_BUCKETS_MAX (2 * CTL_MAX_CLIENTS)

static bool
has_line (const struct client *c)
{
  return c->in_len > 0 && memchr (c->in, '\n', c->in_len) != NULL;
}

/* Closing only marks the client dead: events for it may still sit in the
 * current epoll batch.  sweep frees the dead after each batch. */
static void
client_close (struct moatd *d, struct client *c)
{
  if (c->dead)
    return;
  c->dead = true;
  epoll_ctl (d->epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close (c->fd);
  c->fd = -1;
}

static void
sweep (struct moatd *d)
{
  struct client **pp = &d->clients;
  while (*pp != NULL)
    {
      struct client *c = *pp;
      if (!c->dead || c->waiting)
        {
          pp = &c->next;
          continue;
        }
      *pp = c->next;
      free (c->in);
      free (c->out);
      free (c);
    }
}

static void
update_events (struct moatd *d, struct client *c)
{
  struct epoll_event ev = { .data.ptr = &c->src };
  if (c->dead)
    return;
  ev.events
      = (c->closing || c->eof || c->throttled || c->waiting || has_line (c)
             ? 0
             : EPOLLIN)
        | (c->out_len > c->out_off ? EPOLLOUT : 0);
  epoll_ctl (d->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Returns false when the client was closed. */
static bool
client_flush (struct moatd *d, struct client *c)
{
  while (c->out_off < c->out_len)
    {
      ssize_t n = send (c->fd, c->out + c->out_off, c->out_len - c->out_off,
                        MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        break;
      if (n <= 0)
        {
          client_close (d, c);
          return false;
        }
      c->out_off += (size_t)n;
    }
  if (c->out_off == c->out_len)
    {
      c->out_off = c->out_len = 0;
      if (c->closing)
        {
          client_close (d, c);
          return false;
        }
    }
  update_events (d, c);
  return true;
}

void
moatd_client_send (struct moatd *d, struct client *c, json_t *msg)
{
  cleanup_free char *s = json_dumps (msg, JSON_COMPACT);
  size_t len;

  if (s == NULL || c->dead)
    return;
  len = strlen (s);
  if (c->out_len - c->out_off + len + 1 > CLIENT_MAX_OUT)
    {
      log_warn ("control client pid %d is not reading; dropping it",
                (int)c->pid);
      c->closing = true;
      c->out_len = c->out_off = 0;
      update_events (d, c);
      return;
    }
  if (c->out_off > 0)
    {
      memmove (c->out, c->out + c->out_off, c->out_len - c->out_off);
      c->out_len -= c->out_off;
      c->out_off = 0;
    }
  {
    char *nb = realloc (c->out, c->out_len + len + 1);
    if (nb == NULL)
      {
        c->closing = true;
        return;
      }
    c->out = nb;
  }
  memcpy (c->out + c->out_len, s, len);
  c->out[c->out_len + len] = '\n';
  c->out_len += len + 1;
  update_events (d, c);
}

/* The token bucket of uid (created full). */
static struct ctl_bucket *
bucket_of (struct moatd *d, uid_t uid, int64_t now)
{
  struct ctl_bucket *b, *oldest = NULL;

  for (size_t i = 0; i < d->n_buckets; i++)
    if (d->buckets[i].uid == uid)
      return &d->buckets[i];
  if (d->n_buckets < CTL_BUCKETS_MAX)
    b = &d->buckets[d->n_buckets++];
  else
    {
      /* Full: reuse the one refilled longest ago (its owner has been
       * quiet the longest; moatd_clients_idle drops full buckets anyway). */
      for (size_t i = 0; i < d->n_buckets; i++)
        if (oldest == NULL || d->buckets[i].at_ms < oldest->at_ms)
          oldest = &d->buckets[i];
      b = oldest;
    }
  b->uid = uid;
  b->milli = (int64_t)CTL_BURST * 1000;
  b->at_ms = now;
  return b;
}

static void
refill (struct ctl_bucket *b, int64_t now)
{
  b->milli += (now - b->at_ms) * CTL_RATE;
  if (b->milli > (int64_t)CTL_BURST * 1000)
    b->milli = (int64_t)CTL_BURST * 1000;
  b->at_ms = now;
}

/* May uid's next request be served now?  Takes a token if so. */
static bool
take_token (struct moatd *d, uid_t uid)
{
  int64_t now;
  struct ctl_bucket *b;

  if (uid == 0)
    return true;
  now = moat_mono_ms ();
  b = bucket_of (d, uid, now);
  refill (b, now);
  if (b->milli < 1000)
    return false;
  b->milli -= 1000;
  return true;
}

static bool
has_token (struct moatd *d, uid_t uid)
{
  int64_t now = moat_mono_ms ();
  for (size_t i = 0; i < d->n_buckets; i++)
    if (d->buckets[i].uid == uid)
      {
        refill (&d->buckets[i], now);
        return d->buckets[i].milli >= 1000;
      }
  return true;
}

/* The peer said it has nothing more to send. */
static void
finish_eof (struct moatd *d, struct client *c)
{
  /* The client may half-close after its request: answer first (a worker
   * may still be preparing the answer). */
  if (c->waiting)
    {
      update_events (d, c);
      return;
    }
  if (c->out_len > c->out_off && !c->follow)
    {
      c->closing = true;
      client_flush (d, c);
    }
  else
    client_close (d, c);
}

/* Serve up to CTL_TURN_REQUESTS buffered requests, within c's uid rate. */
static void
serve (struct moatd *d, struct client *c)
{
  int budget = CTL_TURN_REQUESTS;
  char *nl;

  c->throttled = false;
  while (!c->dead && !c->closing && !c->waiting && budget > 0
         && (nl = memchr (c->in, '\n', c->in_len)) != NULL)
    {
      json_error_t jerr;
      size_t line_len = (size_t)(nl - c->in);
      json_t *req;

      if (!take_token (d, c->uid))
        {
          c->throttled = true;
          break;
        }
      budget--;
      c->last_req_ms = moat_mono_ms ();
      req = json_loadb (c->in, line_len, JSON_REJECT_DUPLICATES, &jerr);
      memmove (c->in, nl + 1, c->in_len - line_len - 1);
      c->in_len -= line_len + 1;
      /* a served line may hold a password (signin.login): not kept */
      explicit_bzero (c->in + c->in_len, line_len + 1);
      if (req == NULL || !json_is_object (req))
        {
          json_t *r = json_pack ("{s:b, s:s}", "ok", 0, "error",
                                 "malformed request");
          moatd_client_send (d, c, r);
          json_decref (r);
        }
      else
        moatd_handle_request (d, c, req);
      json_decref (req);
    }
  if (c->dead)
    return;
  if (c->eof && !has_line (c))
    {
      finish_eof (d, c);
      return;
    }
  update_events (d, c);
}

/* Read at most CTL_TURN_BYTES, then serve what is complete. */
static void
client_read (struct moatd *d, struct client *c)
{
  ssize_t n;
  size_t room;

  if (c->in_cap - c->in_len < 4096)
    {
      size_t ncap = c->in_cap == 0 ? 8192 : c->in_cap * 2;
      char *nb;
      if (ncap > CTL_MAX_LINE + 4096)
        {
          /* Bound what one client can make us hold. */
          json_t *r = json_pack ("{s:b, s:s}", "ok", 0, "error",
                                 "request too large");
          moatd_client_send (d, c, r);
          json_decref (r);
          c->closing = true;
          client_flush (d, c);
          return;
        }
      nb = realloc (c->in, ncap);
      if (nb == NULL)
        {
          client_close (d, c);
          return;
        }
      c->in = nb;
      c->in_cap = ncap;
    }
  room = c->in_cap - c->in_len - 1;
  if (room > CTL_TURN_BYTES)
    room = CTL_TURN_BYTES;
  n = read (c->fd, c->in + c->in_len, room);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n < 0)
    {
      client_close (d, c);
      return;
    }
  if (n == 0)
    {
      c->eof = true;
      if (has_line (c))
        update_events (d, c);
      else
        finish_eof (d, c);
      return;
    }
  c->in_len += (size_t)n;
  c->in[c->in_len] = '\0';
  serve (d, c);
}

void
moatd_client_event (struct moatd *d, struct client *c, uint32_t events)
{
  if (c->dead)
    return;
  if (events & EPOLLERR)
    {
      client_close (d, c);
      return;
    }
  if ((events & EPOLLOUT) && !client_flush (d, c))
    return;
  if (events & EPOLLIN)
    client_read (d, c);
  /* Both directions shut: nobody will read an answer.  (Reported even
   * when not asked for; left alone it would fire every turn.) */
  if (!c->dead && (events & EPOLLHUP) && !(events & EPOLLIN))
    client_close (d, c);
}

/* Refuse a connection with one line saying why. */
static void
refuse (int fd, const char *why)
{
  cleanup_free char *line = NULL;
  json_t *r = json_pack ("{s:b, s:s}", "ok", 0, "error", why);
  char *s = r != NULL ? json_dumps (r, JSON_COMPACT) : NULL;

  json_decref (r);
  if (s != NULL && asprintf (&line, "%s\n", s) > 0)
    (void)!send (fd, line, strlen (line), MSG_DONTWAIT | MSG_NOSIGNAL);
  free (s);
  close (fd);
}

void
moatd_clients_accept (struct moatd *d)
{
  for (int i = 0; i < CTL_ACCEPT_TURN; i++)
    {
      int fd
          = accept4 (d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      struct epoll_event ev = { .events = EPOLLIN };
      struct ucred cred;
      socklen_t len = sizeof cred;
      struct client *c;
      size_t total = 0, mine = 0;
      char why[160];

      if (fd < 0)
        return;
      if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        {
          close (fd);
          continue;
        }
      for (c = d->clients; c != NULL; c = c->next)
        if (!c->dead)
          {
            total++;
            mine += c->uid == cred.uid;
          }
      if (total >= CTL_MAX_CLIENTS)
        {
          refuse (fd, "moatd has too many control connections; try again");
          continue;
        }
      if (cred.uid != 0 && total >= CTL_MAX_CLIENTS - CTL_ROOT_RESERVE)
        {
          refuse (fd, "moatd has too many control connections (the rest "
                      "are kept for root); try again");
          continue;
        }
      if (cred.uid != 0 && mine >= CTL_UID_MAX)
        {
          snprintf (why, sizeof why,
                    "too many control connections from uid %u (at most "
                    "%d); close some and try again",
                    (unsigned)cred.uid, CTL_UID_MAX);
          refuse (fd, why);
          continue;
        }
      c = calloc (1, sizeof *c);
      if (c == NULL)
        {
          close (fd);
          continue;
        }
      c->src.kind = SRC_CLIENT;
      c->fd = fd;
      c->uid = cred.uid;
      c->pid = cred.pid;
      c->last_req_ms = moat_mono_ms ();
      ev.data.ptr = &c->src;
      if (epoll_ctl (d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        {
          close (fd);
          free (c);
          continue;
        }
      c->next = d->clients;
      d->clients = c;
    }
}

void
moatd_clients_turn (struct moatd *d)
{
  for (struct client *c = d->clients; c != NULL; c = c->next)
    {
      if (c->dead || c->closing || c->waiting || !has_line (c))
        continue;
      if (c->throttled && !has_token (d, c->uid))
        continue;
      serve (d, c);
    }
  sweep (d);
}

int
moatd_clients_wait_ms (struct moatd *d)
{
  int wait = -1;
  for (struct client *c = d->clients; c != NULL; c = c->next)
    {
      if (c->dead || c->closing || c->waiting || !has_line (c))
        continue;
      if (!c->throttled)
        return 0;
      wait = 1000 / CTL_RATE; /* one token's time */
    }
  return wait;
}

void
moatd_clients_idle (struct moatd *d)
{
  int64_t now = moat_mono_ms ();
  size_t k = 0;

  for (struct client *c = d->clients; c != NULL; c = c->next)
    if (!c->dead && !c->follow && !c->waiting
        && now - c->last_req_ms > CTL_IDLE_MS)
      client_close (d, c);
  sweep (d);
  /* Forget full buckets: a uid that comes back starts full anyway. */
  for (size_t i = 0; i < d->n_buckets; i++)
    {
      refill (&d->buckets[i], now);
      if (d->buckets[i].milli < (int64_t)CTL_BURST * 1000)
        d->buckets[k++] = d->buckets[i];
    }
  d->n_buckets = k;
}

void
moatd_client_wait (struct moatd *d, struct client *c)
{
  c->waiting = true;
  update_events (d, c);
}

void
moatd_client_resume (struct moatd *d, struct client *c, json_t *reply)
{
  c->waiting = false;
  c->last_req_ms = moat_mono_ms ();
  if (c->dead)
    return; /* freed at the next sweep */
  if (reply != NULL)
    moatd_client_send (d, c, reply);
  if (c->eof && !has_line (c))
    finish_eof (d, c);
  else
    update_events (d, c); /* a buffered request is served next turn */
}

void
moatd_clients_close_all (struct moatd *d)
{
  /* the workers have stopped: nothing will resume a waiting client */
  for (struct client *c = d->clients; c != NULL; c = c->next)
    {
      c->waiting = false;
      client_close (d, c);
    }
  sweep (d);
}
