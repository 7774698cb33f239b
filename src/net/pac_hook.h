/* The net guard's decide hook for a PAC policy.
 *
 * moatd sets net_guard_config.decide = net_pac_decide and decide_ctx = the
 * struct pac_engine it keeps loaded (pac_engine_load_url at start, on a
 * policy change and periodically).  The hook runs in a decision worker (the
 * engine may block up to its timeout).  A policy without a PAC URL is
 * decided by the static rules.  With a PAC, the exclude list comes first
 * (an excluded destination goes DIRECT, also while the PAC cannot be
 * used); any PAC failure (no PAC loaded, timeout, error, unparsable
 * result) returns -1 with out->rule "pac-timeout" (the sandbox's deadline
 * or the watchdog) or "pac-failed" (anything else), and the guard refuses
 * the connection (fail closed) with that rule and the reason as the audit
 * record's error. */
#ifndef MOAT_NET_PAC_HOOK_H
#define MOAT_NET_PAC_HOOK_H

#include "net/rules.h"

int net_pac_decide (void *engine, const struct net_rules *rules,
                    const struct net_query *q, struct net_decision *out,
                    moat_error_t *err);

/* Its decide_cached companion (net_guard_config.decide_cached): the
 * static rules when there is no PAC, else the PAC engine's decision cache
 * (pac_engine_decide_cached); 0 on a miss. */
int net_pac_decide_cached (void *engine, const struct net_rules *rules,
                           const struct net_query *q,
                           struct net_decision *out);

#endif
