/* The audit path: records from any thread are queued, and the main thread
 * stores them and pushes them to `moat audit --follow` clients. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/log.h"
#include "internal.h"

/* Store one record and broadcast it; main thread only. */
void
moatd_audit_record (struct moatd *d, struct audit_record *r)
{
  moat_error_t err = NULL;
  json_t *msg;

  if (state_audit_append (d->state, r, &err) < 0)
    {
      /* The log still has it: the decision itself was already taken. */
      log_error ("audit record lost (%s %s %s): %s", r->component, r->outcome,
                 r->endpoint ? r->endpoint : "", moat_error_msg (&err));
      moat_error_release (&err);
      return;
    }
  msg = json_pack ("{s:o}", "record", state_audit_record_json (r));
  for (struct client *c = d->clients; c != NULL; c = c->next)
    if (c->follow && !c->closing && !c->dead)
      moatd_client_send (d, c, msg);
  moatd_web_audit (d, json_object_get (msg, "record"));
  if (d->export != NULL)
    audit_export_post (d->export, r);
  json_decref (msg);
}

static char *
dup_or_null (const char *s)
{
  return s != NULL ? strdup (s) : NULL;
}

void
moatd_audit_post (struct moatd *d, const struct audit_record *r)
{
  struct queued_audit *q = calloc (1, sizeof *q);
  uint64_t one = 1;

  if (q == NULL)
    {
      log_error ("audit record lost: out of memory");
      return;
    }
  q->rec = *r;
  q->strs[0] = dup_or_null (r->component);
  q->strs[1] = dup_or_null (r->endpoint);
  q->strs[2] = dup_or_null (r->container);
  q->strs[3] = dup_or_null (r->rule);
  q->strs[4] = dup_or_null (r->outcome);
  q->strs[5] = dup_or_null (r->detail);
  q->rec.component = q->strs[0];
  q->rec.endpoint = q->strs[1];
  q->rec.container = q->strs[2];
  q->rec.rule = q->strs[3];
  q->rec.outcome = q->strs[4];
  q->rec.detail = q->strs[5];
  if (q->rec.time_ms == 0)
    q->rec.time_ms = moatd_now_ms ();

  pthread_mutex_lock (&d->audit_mu);
  if (d->audit_tail != NULL)
    d->audit_tail->next = q;
  else
    d->audit_head = q;
  d->audit_tail = q;
  pthread_mutex_unlock (&d->audit_mu);
  if (write (d->audit_efd, &one, sizeof one) < 0 && errno != EAGAIN)
    log_warn ("wake audit queue: %s", strerror (errno));
}

void
moatd_audit_drain (struct moatd *d)
{
  struct queued_audit *q;
  uint64_t n;

  if (read (d->audit_efd, &n, sizeof n) < 0 && errno != EAGAIN)
    log_warn ("read audit eventfd: %s", strerror (errno));
  pthread_mutex_lock (&d->audit_mu);
  q = d->audit_head;
  d->audit_head = d->audit_tail = NULL;
  pthread_mutex_unlock (&d->audit_mu);
  while (q != NULL)
    {
      struct queued_audit *next = q->next;
      moatd_audit_record (d, &q->rec);
      for (size_t i = 0; i < 6; i++)
        free (q->strs[i]);
      free (q);
      q = next;
    }
}
