/* The sign-in gate's uid -> verdict table (gate.h).  Built off the hot
 * path by moatd; looked up by the guard per request. */
#include "engine/gate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/refusal.h"

struct gate_entry
{
  uid_t uid;
  size_t seq; /* order of adds: the last add of a uid wins */
  int64_t expires_s;
  char *deny; /* the not-a-member text, or NULL for a member */
};

struct engine_gate
{
  bool enforced;
  bool sealed;
  char *orgs;      /* "org1, org2" */
  char *login_msg; /* REFUSAL_SIGNIN_REQUIRED */
  struct gate_entry *e;
  size_t n, cap;
};

struct engine_gate *
engine_gate_new (const char *const *orgs, size_t n_orgs, moat_error_t *err)
{
  struct engine_gate *g = calloc (1, sizeof *g);
  size_t len = 1;
  if (g == NULL)
    goto nomem;
  g->enforced = n_orgs > 0;
  for (size_t i = 0; i < n_orgs; i++)
    len += strlen (orgs[i]) + 2;
  g->orgs = malloc (len);
  if (g->orgs == NULL)
    goto nomem;
  g->orgs[0] = '\0';
  for (size_t i = 0; i < n_orgs; i++)
    {
      if (i > 0)
        strcat (g->orgs, ", ");
      strcat (g->orgs, orgs[i]);
    }
  if (asprintf (&g->login_msg, REFUSAL_SIGNIN_REQUIRED, g->orgs) < 0)
    {
      g->login_msg = NULL;
      goto nomem;
    }
  return g;
nomem:
  engine_gate_free (g);
  moat_error (err, ENOMEM, "build the sign-in gate");
  return NULL;
}

int
engine_gate_add (struct engine_gate *g, uid_t uid, const char *user,
                 bool member, int64_t expires_s, moat_error_t *err)
{
  struct gate_entry *e;
  if (g->sealed)
    return moat_error (err, EINVAL, "sign-in gate already sealed");
  if (g->n == g->cap)
    {
      size_t cap = g->cap ? 2 * g->cap : 16;
      struct gate_entry *ne = realloc (g->e, cap * sizeof *ne);
      if (ne == NULL)
        return moat_error (err, ENOMEM, "build the sign-in gate");
      g->e = ne;
      g->cap = cap;
    }
  e = &g->e[g->n];
  e->uid = uid;
  e->seq = g->n;
  e->expires_s = expires_s;
  e->deny = NULL;
  if (!member
      && asprintf (&e->deny, REFUSAL_SIGNIN_NOT_MEMBER, user, g->orgs) < 0)
    return moat_error (err, ENOMEM, "build the sign-in gate");
  g->n++;
  return 0;
}

static int
cmp_entry (const void *a, const void *b)
{
  const struct gate_entry *x = a, *y = b;
  if (x->uid != y->uid)
    return x->uid < y->uid ? -1 : 1;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void
engine_gate_seal (struct engine_gate *g)
{
  size_t w = 0;
  if (g->n > 1)
    qsort (g->e, g->n, sizeof *g->e, cmp_entry);
  for (size_t i = 0; i < g->n; i++)
    {
      if (w > 0 && g->e[w - 1].uid == g->e[i].uid)
        {
          free (g->e[w - 1].deny);
          g->e[w - 1] = g->e[i];
          continue;
        }
      g->e[w++] = g->e[i];
    }
  g->n = w;
  g->sealed = true;
}

bool
engine_gate_enforced_p (const struct engine_gate *g)
{
  return g != NULL && g->enforced;
}

int
engine_gate_check (const struct engine_gate *g, uid_t uid, int64_t now_s,
                   const char **message)
{
  size_t lo = 0, hi;
  if (g == NULL || !g->enforced)
    return 0;
  hi = g->sealed ? g->n : 0;
  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;
      const struct gate_entry *e = &g->e[mid];
      if (e->uid == uid)
        {
          if (e->expires_s <= now_s)
            break;
          if (e->deny != NULL)
            {
              *message = e->deny;
              return -1;
            }
          return 0;
        }
      if (e->uid < uid)
        lo = mid + 1;
      else
        hi = mid;
    }
  *message = g->login_msg;
  return -1;
}

void
engine_gate_free (struct engine_gate *g)
{
  if (g == NULL)
    return;
  for (size_t i = 0; i < g->n; i++)
    free (g->e[i].deny);
  free (g->e);
  free (g->orgs);
  free (g->login_msg);
  free (g);
}

bool
engine_gate_exempt_p (const char *route_pattern)
{
  return route_pattern != NULL
         && (strcmp (route_pattern, "/_ping") == 0
             || strcmp (route_pattern, "/version") == 0);
}
