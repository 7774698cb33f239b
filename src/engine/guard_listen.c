/* The engine guard's listening sockets (guard_int.h): the first one made
 * or given at engine_guard_new, and those other threads add and remove
 * (filtered sockets), applied by the loop in order; and the guard's
 * teardown (engine_guard_free), listeners first. */
#include "engine/guard_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"

int
guard_make_listener (const char *path, moat_error_t *err)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  cleanup_close int fd = -1;
  struct stat st;
  if (strlen (path) >= sizeof sa.sun_path)
    return moat_error (err, ENAMETOOLONG, "listen on `%s`", path);
  strcpy (sa.sun_path, path);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return moat_error (err, errno, "socket");
  /* only a stale socket is replaced, never another kind of file */
  if (lstat (path, &st) == 0)
    {
      if (!S_ISSOCK (st.st_mode))
        return moat_error (err, EEXIST, "`%s` exists and is not a socket",
                           path);
      if (unlink (path) < 0)
        return moat_error (err, errno, "remove stale `%s`", path);
    }
  if (bind (fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    return moat_error (err, errno, "bind `%s`", path);
  if (chmod (path, 0660) < 0)
    return moat_error (err, errno, "chmod `%s`", path);
  if (listen (fd, SOMAXCONN) < 0)
    return moat_error (err, errno, "listen on `%s`", path);
  return steal_fd (&fd);
}

static void
on_listen_event (struct io_loop *l, struct io_handle *h, uint32_t events)
{
  struct listener *ls = h->owner;
  (void)l;
  (void)events;
  guard_accept_clients (ls->g, ls);
}

int
guard_listener_start (struct engine_guard *g, int id, int fd,
                      bool command_list)
{
  struct listener *l = calloc (1, sizeof *l);
  if (l == NULL)
    return -1;
  l->g = g;
  l->id = id;
  l->command_list = command_list;
  io_handle_init (&l->h, IO_LISTEN, on_listen_event, l);
  if (io_handle_add (g->loop, &l->h, fd, EPOLLIN) < 0)
    {
      free (l); /* fd stays the caller's */
      return -1;
    }
  l->next = g->listeners;
  g->listeners = l;
  return 0;
}

/* Stop listener id and close the connections it accepted. */
static void
listener_stop (struct engine_guard *g, int id)
{
  for (struct listener **pp = &g->listeners; *pp; pp = &(*pp)->next)
    if ((*pp)->id == id)
      {
        struct listener *l = *pp;
        *pp = l->next;
        /* events later in this batch may name it: freed after */
        io_handle_close (g->loop, &l->h);
        io_loop_defer_free (g->loop, &l->grave, free, l);
        break;
      }
  for (struct conn *c = g->conns, *next; c; c = next)
    {
      next = c->next;
      if (c->listener_id == id)
        guard_conn_close (c);
    }
}

/* Apply the listener changes other threads queued, in order. */
void
guard_apply_listener_ops (struct engine_guard *g)
{
  struct listener_op *ops, *rev = NULL;
  pthread_mutex_lock (&g->mu);
  ops = g->ops;
  g->ops = NULL;
  pthread_mutex_unlock (&g->mu);
  while (ops)
    {
      struct listener_op *n = ops->next;
      ops->next = rev;
      rev = ops;
      ops = n;
    }
  while (rev)
    {
      struct listener_op *o = rev;
      rev = o->next;
      if (!o->add)
        listener_stop (g, o->id);
      else if (guard_listener_start (g, o->id, o->fd, o->command_list) < 0)
        {
          log_warn ("engine guard: cannot serve listener %d: %s", o->id,
                    strerror (errno));
          close (o->fd);
        }
      free (o);
    }
}

/* Hand o to the loop; o may be freed as soon as the mutex is released. */
static int
queue_listener_op (struct engine_guard *g, struct listener_op *o)
{
  int ret;
  pthread_mutex_lock (&g->mu);
  if (o->add)
    o->id = ++g->next_listener_id;
  ret = o->add ? o->id : 0;
  o->next = g->ops;
  g->ops = o;
  pthread_mutex_unlock (&g->mu);
  io_loop_wake (g->loop);
  return ret;
}

int
engine_guard_add_listener (struct engine_guard *g, int fd, unsigned flags,
                           moat_error_t *err)
{
  struct listener_op *o;
  if (guard_set_nonblock (fd) < 0)
    return moat_error (err, errno, "listening socket");
  o = calloc (1, sizeof *o);
  if (o == NULL)
    return moat_error (err, ENOMEM, "engine guard listener");
  o->add = true;
  o->fd = fd;
  o->command_list = (flags & ENGINE_LISTENER_COMMAND_LIST) != 0;
  return queue_listener_op (g, o);
}

void
engine_guard_remove_listener (struct engine_guard *g, int id)
{
  struct listener_op *o = calloc (1, sizeof *o);
  if (o == NULL)
    return;
  o->id = id;
  queue_listener_op (g, o);
}

/* New clients of listener l; on a filtered socket nothing is read before
 * its peer is checked. */
void
guard_accept_clients (struct engine_guard *g, struct listener *l)
{
  for (;;)
    {
      int fd = accept4 (l->h.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      struct conn *c;
      socklen_t sl;
      if (fd < 0)
        {
          if (errno == EINTR || errno == ECONNABORTED)
            continue;
          if (errno != EAGAIN)
            log_warn ("engine guard: accept: %s", strerror (errno));
          return;
        }
      if (g->n_conns >= g->cfg.max_conns)
        {
          close (fd);
          continue;
        }
      c = guard_conn_new (g, fd, EPOLLIN);
      if (c == NULL)
        {
          close (fd);
          continue;
        }
      c->listener_id = l->id;
      c->command_list = l->command_list;
      sl = sizeof c->cred;
      if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &c->cred, &sl) < 0)
        c->cred.pid = 0, c->cred.uid = (uid_t)-1, c->cred.gid = (gid_t)-1;
      c->caller_uid = c->cred.uid;
      c->caller_gid = c->cred.gid;
      guard_conn_link (c);
      if (l->command_list && g->cfg.peer_check != NULL)
        {
          guard_start_peer_check (c, l->id);
          guard_conn_update (c);
        }
      else
        guard_conn_first_read (c);
    }
}

void
engine_guard_free (struct engine_guard *g)
{
  if (g == NULL)
    return;
  /* closed connections are freed with the loop (its graves) */
  while (g->conns)
    guard_conn_close (g->conns);
  while (g->listeners)
    {
      struct listener *l = g->listeners;
      g->listeners = l->next;
      io_handle_close (g->loop, &l->h);
      free (l);
    }
  guard_checks_stop (g);
  while (g->jq)
    {
      struct check_job *j = g->jq;
      g->jq = j->next;
      guard_job_free (j);
    }
  while (g->jdone)
    {
      struct check_job *j = g->jdone;
      g->jdone = j->next;
      guard_job_free (j);
    }
  while (g->ops)
    {
      struct listener_op *o = g->ops;
      g->ops = o->next;
      if (o->add)
        close (o->fd);
      free (o);
    }
  if (g->loop != NULL)
    {
      io_timer_cancel (g->loop, &g->tick);
      io_loop_free (g->loop);
    }
  io_pipe_pool_free (&g->pipes);
  pthread_mutex_destroy (&g->mu);
  pthread_mutex_destroy (&g->jmu);
  pthread_cond_destroy (&g->jcv);
  pthread_cond_destroy (&g->prov_cv);
  engine_image_pending_free (&g->inflight);
  pthread_rwlock_destroy (&g->pol_rw);
  guard_pool_free (g);
  free (g->engine_path);
  free (g);
}
