/* Policy snapshots shared with role threads (engine guard, net guard).
 *
 * The main thread builds a new `struct policy` on every change and
 * publishes it; a role thread acquires the current snapshot for one decision
 * (or one connection) and releases it after.  The last release frees it, so
 * a reload never frees a policy a decision is still reading. */
#ifndef MOAT_DAEMON_SNAPSHOT_H
#define MOAT_DAEMON_SNAPSHOT_H

#include <pthread.h>

#include "policy/policy.h"

struct policy_snap;

struct policy_snap_holder
{
  pthread_mutex_t mu;
  struct policy_snap *cur;
};

void policy_snap_holder_init (struct policy_snap_holder *h);
/* Drops the holder's reference; snapshots still acquired stay valid. */
void policy_snap_holder_destroy (struct policy_snap_holder *h);

/* Publish p: ownership moves to the holder.  -1 (out of memory) leaves p
 * with the caller and the previous snapshot in force. */
int policy_snap_publish (struct policy_snap_holder *h, struct policy *p);

/* Acquire the current snapshot; NULL only before the first publish. */
struct policy_snap *policy_snap_acquire (struct policy_snap_holder *h);
const struct policy *policy_snap_get (const struct policy_snap *s);
void policy_snap_release (struct policy_snap *s);

#endif
