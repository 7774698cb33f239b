/* Image name bindings in flight (engine/imgpend.h). */
#include "engine/imgpend.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "engine/imgprov.h"

void
engine_image_pending_init (struct engine_image_pending *p)
{
  memset (p, 0, sizeof *p);
  pthread_mutex_init (&p->mu, NULL);
}

void
engine_image_pending_free (struct engine_image_pending *p)
{
  for (size_t i = 0; i < p->n; i++)
    free (p->e[i].name);
  free (p->e);
  pthread_mutex_destroy (&p->mu);
  memset (p, 0, sizeof *p);
}

/* the normalized names of names, '\n'-separated in one string; *count
 * of them.  NULL out of memory. */
static char *
norm_all (const char *names, size_t *count)
{
  char *out = strdup ("");
  size_t ol = 0;
  *count = 0;
  for (const char *p = names; out != NULL && p != NULL && *p;)
    {
      size_t n = strcspn (p, "\n");
      cleanup_free char *ref = strndup (p, n);
      cleanup_free char *norm = NULL;
      p += n + (p[n] == '\n');
      if (ref == NULL)
        {
          free (out);
          return NULL;
        }
      if ((norm = engine_image_norm (ref)) == NULL)
        continue;
      size_t nl = strlen (norm);
      char *o = realloc (out, ol + nl + 2);
      if (o == NULL)
        {
          free (out);
          return NULL;
        }
      out = o;
      memcpy (out + ol, norm, nl);
      ol += nl;
      out[ol++] = '\n';
      out[ol] = '\0';
      (*count)++;
    }
  return out;
}

int
engine_image_pending_add (struct engine_image_pending *p, const char *names,
                          uid_t uid, uint64_t *token)
{
  size_t count = 0, done = 0, mine = 0;
  cleanup_free char *all = norm_all (names, &count);
  int r = 0;
  *token = 0;
  if (all == NULL)
    return -1;
  if (count == 0)
    return 0;
  pthread_mutex_lock (&p->mu);
  for (size_t i = 0; i < p->n; i++)
    if (p->e[i].uid == uid)
      mine++;
  if (p->n + count > ENGINE_IMAGE_PENDING_MAX
      || mine + count > ENGINE_IMAGE_PENDING_UID_MAX)
    r = -1;
  else if (p->n + count > p->cap)
    {
      size_t cap = p->cap ? p->cap : 16;
      struct engine_image_pending_ent *e;
      while (cap < p->n + count)
        cap *= 2;
      e = realloc (p->e, cap * sizeof *e);
      if (e == NULL)
        r = -1;
      else
        p->e = e, p->cap = cap;
    }
  if (r == 0)
    {
      uint64_t t = ++p->next;
      for (char *s = all; *s;)
        {
          size_t n = strcspn (s, "\n");
          char *name = strndup (s, n);
          s += n + 1;
          if (name == NULL)
            {
              r = -1;
              break;
            }
          p->e[p->n + done].name = name;
          p->e[p->n + done].uid = uid;
          p->e[p->n + done].token = t;
          done++;
        }
      if (r == 0)
        {
          p->n += done;
          *token = t;
        }
      else
        for (size_t i = 0; i < done; i++)
          free (p->e[p->n + i].name);
    }
  pthread_mutex_unlock (&p->mu);
  return r;
}

void
engine_image_pending_drop (struct engine_image_pending *p, uint64_t token)
{
  size_t w = 0;
  if (token == 0)
    return;
  pthread_mutex_lock (&p->mu);
  for (size_t i = 0; i < p->n; i++)
    {
      if (p->e[i].token == token)
        {
          free (p->e[i].name);
          continue;
        }
      p->e[w++] = p->e[i];
    }
  p->n = w;
  pthread_mutex_unlock (&p->mu);
}

int
engine_image_pending_find (struct engine_image_pending *p, const char *name,
                           uid_t caller, uid_t *other)
{
  int r = 0;
  pthread_mutex_lock (&p->mu);
  for (size_t i = 0; i < p->n && r == 0; i++)
    if (p->e[i].uid != 0 && p->e[i].uid != caller
        && strcmp (p->e[i].name, name) == 0)
      {
        *other = p->e[i].uid;
        r = 1;
      }
  pthread_mutex_unlock (&p->mu);
  return r;
}
