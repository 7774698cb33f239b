/* Audit export (docs/audit-export.md): each stored audit record also goes
 * to syslog (RFC 5424 over a unix datagram socket, UDP (RFC 5426) or TCP
 * with octet-counted framing (RFC 6587)) and/or the systemd journal (its
 * native datagram protocol), as admin-settings.json's auditExport says.
 *
 * moatd's loop only queues (bounded); one worker thread sends, with
 * timeouts.  A dead, slow or full collector drops records with a counter
 * (`moat status`, "audit_export"): it never stalls the guards. */
#ifndef MOAT_DAEMON_AUDIT_EXPORT_H
#define MOAT_DAEMON_AUDIT_EXPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/policy.h"
#include "state/state.h"

/* Our SD-ID: "moat@32473".  32473 is the private enterprise number IANA
 * reserves for documentation (RFC 5612); moat has none of its own. */
#define AUDIT_EXPORT_SD_ID "moat@32473"

/* Records waiting for the worker at most; more are dropped. */
#define AUDIT_EXPORT_QUEUE_MAX 1024
/* A TCP connect or one message's send gives up after this long. */
#define AUDIT_EXPORT_TIMEOUT_MS 2000
/* A TCP collector's socket send buffer (the kernel doubles it). */
#define AUDIT_EXPORT_SNDBUF (128 * 1024)

/* The RFC 5424 line for record r (without framing): PRI from the
 * facility and the outcome's severity, VERSION 1, TIMESTAMP with
 * microseconds and the local offset, HOSTNAME, APP-NAME "moatd", PROCID,
 * MSGID = the component, our SD element, MSG = json (the record as `moat
 * audit --json` prints it).  The whole line is at most max bytes: SD
 * values are shortened first, then MSG is cut at its end (RFC 5424 6.1)
 * and the SD says truncated="<original MSG length>".  Returns a malloc'd
 * string (*len its length) or NULL when out of memory. */
char *audit_syslog_format (const struct audit_record *r, const char *json,
                           int facility, const char *hostname, long pid,
                           size_t max, size_t *len);

/* The journal's native datagram for r: MESSAGE (json, cut to max bytes),
 * PRIORITY, SYSLOG_IDENTIFIER=moatd, SYSLOG_FACILITY, SYSLOG_PID and
 * MOAT_* fields.  A value with a newline uses the binary form. */
char *audit_journal_format (const struct audit_record *r, const char *json,
                            int facility, long pid, size_t max, size_t *len);

/* RFC 5424 severity for an audit outcome: refused/rejected/denied 4
 * (warning), error/failed 3, allowed 6 (informational), else 5 (notice). */
int audit_severity (const char *outcome);

struct audit_export;

int audit_export_new (struct audit_export **out, moat_error_t *err);
/* Use cfg from now on (a copy); a change reopens the sockets. */
void audit_export_configure (struct audit_export *x,
                             const struct policy_audit_export *cfg);
/* Queue r (stored, with its id) for export; never blocks on I/O. */
void audit_export_post (struct audit_export *x, const struct audit_record *r);
/* {"syslog","journald","journal_socket","sent","dropped","queued",
 *  "last_error","last_error_at_ms","failing"} */
json_t *audit_export_status (struct audit_export *x);
/* The problem when the last send failed, for errors[]; caller frees. */
char *audit_export_problem (struct audit_export *x);
/* Stop the worker (bounded by AUDIT_EXPORT_TIMEOUT_MS) and free. */
void audit_export_free (struct audit_export *x);

#endif
