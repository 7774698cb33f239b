#include "snapshot.h"

#include <stdatomic.h>
#include <stdlib.h>

struct policy_snap
{
  atomic_int refs;
  struct policy *p;
};

void
policy_snap_holder_init (struct policy_snap_holder *h)
{
  pthread_mutex_init (&h->mu, NULL);
  h->cur = NULL;
}

void
policy_snap_release (struct policy_snap *s)
{
  if (s == NULL)
    return;
  if (atomic_fetch_sub (&s->refs, 1) == 1)
    {
      policy_free (s->p);
      free (s);
    }
}

void
policy_snap_holder_destroy (struct policy_snap_holder *h)
{
  policy_snap_release (h->cur);
  h->cur = NULL;
  pthread_mutex_destroy (&h->mu);
}

int
policy_snap_publish (struct policy_snap_holder *h, struct policy *p)
{
  struct policy_snap *s = calloc (1, sizeof *s), *old;
  if (s == NULL)
    return -1;
  atomic_init (&s->refs, 1);
  s->p = p;
  pthread_mutex_lock (&h->mu);
  old = h->cur;
  h->cur = s;
  pthread_mutex_unlock (&h->mu);
  policy_snap_release (old);
  return 0;
}

struct policy_snap *
policy_snap_acquire (struct policy_snap_holder *h)
{
  struct policy_snap *s;
  pthread_mutex_lock (&h->mu);
  s = h->cur;
  if (s != NULL)
    atomic_fetch_add (&s->refs, 1);
  pthread_mutex_unlock (&h->mu);
  return s;
}

const struct policy *
policy_snap_get (const struct policy_snap *s)
{
  return s->p;
}
