/* A policy change reaches the connections already open (docs/net-guard.md,
 * "Policy changes and open connections"): each decided connection is
 * decided again under the new snapshot, in the loop, and reset unless the
 * new decision still routes it through the hop it uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "net/conn.h"

static bool
same_hop (const struct proxy_hop *a, const struct proxy_hop *b)
{
  return a->kind == b->kind && a->port == b->port
         && strcmp (a->host, b->host) == 0;
}

/* Why c may not go on under the policy in force, into why; false when it
 * may.  t is scratch space (a job is too large for the loop's stack). */
static bool
cut_p (struct net_guard *g, const struct conn *c, struct net_job *t, char *why,
       size_t size)
{
  const struct proxy_hop *used = &c->job.dec.route.hops[c->hop];
  char fmt[256];

  memset (t, 0, sizeof *t);
  t->conn = NULL;
  t->dst = c->job.dst;
  t->port = c->job.port;
  t->src = c->job.src;
  /* the name counted only when it was verified; it stays verified */
  if (c->job.verified)
    snprintf (t->claimed, sizeof t->claimed, "%s", c->job.claimed);
  t->redecide = true;
  if (!net_pool_decide_inline (&g->pool, t))
    {
      snprintf (why, size,
                "the policy changed and the connection cannot be decided "
                "again at once (a PAC answer not at hand): reset");
      return true;
    }
  if (net_decision_refuse_p (&t->dec))
    {
      snprintf (why, size, "the policy changed: now refused (rule: %s)",
                t->dec.rule);
      return true;
    }
  for (size_t i = 0; i < t->dec.route.n; i++)
    if (same_hop (&t->dec.route.hops[i], used))
      return false;
  snprintf (why, size, "the policy changed: now %s (rule: %s)",
            net_decision_format (&t->dec, fmt, sizeof fmt), t->dec.rule);
  return true;
}

void
net_guard_policy_changed (struct net_guard *g)
{
  struct net_job *t = NULL;
  unsigned kept = 0, cut = 0;

  for (struct conn *c = g->conns, *nx; c != NULL; c = nx)
    {
      char why[sizeof c->error];
      nx = c->next;
      /* Not decided yet (sniffing, or a worker has it: on_done decides
       * such a job again when its snapshot is not the one in force). */
      if (c->state == CS_SNIFF || c->state == CS_DECIDING
          || c->state == CS_DONE || c->hop >= c->job.dec.route.n)
        continue;
      if (t == NULL && (t = malloc (sizeof *t)) == NULL)
        {
          snprintf (why, sizeof why,
                    "the policy changed and there is no memory to decide "
                    "the connection again: reset");
          goto reset;
        }
      if (!cut_p (g, c, t, why, sizeof why))
        {
          kept++;
          continue;
        }
    reset:
      snprintf (c->error, sizeof c->error, "%s", why);
      if (c->decision == NULL)
        c->decision = "refused";
      cut++;
      conn_finish (g, c, true);
    }
  free (t);
  if (cut > 0)
    log_info ("net guard: policy changed: %u open connection(s) reset, %u "
              "kept",
              cut, kept);
}
