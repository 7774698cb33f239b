/* A policy change reaches the connections already open (docs/net-guard.md,
 * "Policy changes and open connections"): each decided connection is
 * decided again under the new snapshot and reset unless the new decision
 * still routes it through the hop it uses.  In the loop when the answer is
 * at hand (static rules, the PAC's decision cache); else a worker decides
 * it, like a new connection, and the loop applies the answer when it comes
 * back (net_guard_redo_done). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "net/conn.h"

/* A decision a worker makes again for an open connection.  job first: the
 * pool hands back &r->job. */
struct net_redo
{
  struct net_job job;
  struct net_redo *prev, *next; /* the guard's list (freed at the end) */
};

static bool
same_hop (const struct proxy_hop *a, const struct proxy_hop *b)
{
  return a->kind == b->kind && a->port == b->port
         && strcmp (a->host, b->host) == 0;
}

/* What c was decided on, into t. */
static void
fill (struct net_job *t, const struct conn *c)
{
  memset (t, 0, sizeof *t);
  t->dst = c->job.dst;
  t->port = c->job.port;
  t->src = c->job.src;
  /* the name counted only when it was verified; it stays verified */
  if (c->job.verified)
    snprintf (t->claimed, sizeof t->claimed, "%s", c->job.claimed);
  t->redecide = true;
}

/* Why c may not go on under t's decision, into why; false when it may. */
static bool
cut_p (const struct conn *c, const struct net_job *t, char *why, size_t size)
{
  const struct proxy_hop *used = &c->job.dec.route.hops[c->hop];
  char fmt[256];

  if (net_decision_refuse_p (&t->dec))
    {
      snprintf (why, size,
                "the policy changed: now refused (rule: %.180s%s%.240s)",
                t->dec.rule, t->error[0] ? "; " : "", t->error);
      return true;
    }
  for (size_t i = 0; i < t->dec.route.n; i++)
    if (same_hop (&t->dec.route.hops[i], used))
      return false;
  snprintf (why, size, "the policy changed: now %.200s (rule: %.180s)",
            net_decision_format (&t->dec, fmt, sizeof fmt), t->dec.rule);
  return true;
}

static void
cut (struct net_guard *g, struct conn *c, const char *why)
{
  snprintf (c->error, sizeof c->error, "%s", why);
  if (c->decision == NULL)
    c->decision = "refused";
  conn_finish (g, c, true);
}

/* Decide c again under the policy in force; t is scratch space (a job is
 * too large for the loop's stack).  Returns true when c was reset. */
static bool
recheck (struct net_guard *g, struct conn *c, struct net_job *t)
{
  char why[sizeof c->error];
  struct net_redo *r;

  fill (t, c);
  if (net_pool_decide_inline (&g->pool, t))
    {
      if (!cut_p (c, t, why, sizeof why))
        return false;
      cut (g, c, why);
      return true;
    }
  /* One at a time per connection: an answer that comes back under an
   * older policy is asked again (net_guard_redo_done). */
  if (c->redo != NULL)
    return false;
  r = calloc (1, sizeof *r);
  if (r == NULL)
    {
      cut (g, c,
           "the policy changed and there is no memory to decide the "
           "connection again: reset");
      return true;
    }
  fill (&r->job, c);
  r->job.conn = c;
  r->next = g->redos;
  if (g->redos != NULL)
    g->redos->prev = r;
  g->redos = r;
  c->redo = r;
  net_pool_submit (&g->pool, &r->job);
  return false;
}

void
net_guard_policy_changed (struct net_guard *g)
{
  struct net_job *t = NULL;
  unsigned cut_n = 0;

  for (struct conn *c = g->conns, *nx; c != NULL; c = nx)
    {
      nx = c->next;
      /* Not decided yet (sniffing, or a worker has it: on_done decides
       * such a job again when its snapshot is not the one in force). */
      if (c->state == CS_SNIFF || c->state == CS_DECIDING
          || c->state == CS_DONE || c->hop >= c->job.dec.route.n)
        continue;
      if (t == NULL && (t = malloc (sizeof *t)) == NULL)
        {
          cut (g, c,
               "the policy changed and there is no memory to decide the "
               "connection again: reset");
          cut_n++;
          continue;
        }
      if (recheck (g, c, t))
        cut_n++;
    }
  free (t);
  if (cut_n > 0)
    log_info ("net guard: policy changed: %u open connection(s) reset", cut_n);
}

void
net_guard_redo_done (struct net_guard *g, struct net_job *j, uint64_t gen)
{
  struct net_redo *r = (struct net_redo *)j;
  struct conn *c = j->conn;
  char why[sizeof c->error];

  if (r->prev != NULL)
    r->prev->next = r->next;
  else
    g->redos = r->next;
  if (r->next != NULL)
    r->next->prev = r->prev;
  if (c != NULL)
    {
      c->redo = NULL;
      if (j->gen != gen)
        {
          struct net_job *t = malloc (sizeof *t);
          if (t == NULL)
            cut (g, c,
                 "the policy changed and there is no memory to decide the "
                 "connection again: reset");
          else
            recheck (g, c, t);
          free (t);
        }
      else if (cut_p (c, j, why, sizeof why))
        cut (g, c, why);
    }
  free (r);
}

void
net_guard_redo_orphan (struct conn *c)
{
  if (c->redo != NULL)
    c->redo->job.conn = NULL;
  c->redo = NULL;
}

void
net_guard_redo_free_all (struct net_guard *g)
{
  while (g->redos != NULL)
    {
      struct net_redo *r = g->redos;
      g->redos = r->next;
      if (r->job.conn != NULL)
        ((struct conn *)r->job.conn)->redo = NULL;
      free (r);
    }
}
