/* auditExport (docs/audit-export.md): where moatd also sends each audit
 * record, so a fleet's existing log shipping collects it.  An admin-only
 * key: users cannot override it, and it has no "locked".
 *
 *   "auditExport": {"syslog": "unix:/dev/log" | "udp://host:port"
 *                             | "tcp://host:port" | "",
 *                   "facility": "auth", "journald": false,
 *                   "journalSocket": "/run/systemd/journal/socket",
 *                   "maxMessageBytes": 8192}
 *
 * One parser for the validator and the effective policy: a value the
 * validator accepted always builds. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "common/cleanup.h"
#include "internal.h"

static const char *const facility_names[24] = {
  "kern",   "user",   "mail",   "daemon", "auth",     "syslog",
  "lpr",    "news",   "uucp",   "cron",   "authpriv", "ftp",
  NULL,     NULL,     NULL,     NULL,     "local0",   "local1",
  "local2", "local3", "local4", "local5", "local6",   "local7",
};

static const char *const keys[] = {
  "syslog", "facility", "journald", "journalSocket", "maxMessageBytes",
};

/* An absolute, normalised path that fits a sockaddr_un. */
static int
socket_path (const char *s, char *out, size_t n, moat_error_t *err)
{
  struct sockaddr_un sun;

  if (s[0] != '/')
    return moat_error (err, 0, "`%s` is not an absolute path", s);
  if (strstr (s, "//") != NULL || strstr (s, "/./") != NULL
      || strstr (s, "/../") != NULL
      || (strlen (s) >= 2 && strcmp (s + strlen (s) - 2, "/.") == 0)
      || (strlen (s) >= 3 && strcmp (s + strlen (s) - 3, "/..") == 0))
    return moat_error (err, 0, "`%s` is not a normalised path", s);
  if (strlen (s) >= sizeof sun.sun_path || strlen (s) >= n)
    return moat_error (err, 0, "`%s` is longer than a socket path may be", s);
  snprintf (out, n, "%s", s);
  return 0;
}

static int
parse_syslog (const char *s, struct policy_audit_export *x, moat_error_t *err)
{
  struct policy_url u;
  const char *rest;

  snprintf (x->syslog_target, sizeof x->syslog_target, "%s", s);
  if (s[0] == '\0')
    {
      x->syslog = POLICY_SYSLOG_NONE;
      return 0;
    }
  if (strlen (s) >= sizeof x->syslog_target)
    return moat_error (err, 0, "longer than %zu bytes",
                       sizeof x->syslog_target - 1);
  if (strncmp (s, "unix:", 5) == 0)
    {
      x->syslog = POLICY_SYSLOG_UNIX;
      return socket_path (s + 5, x->path, sizeof x->path, err);
    }
  if (strncasecmp (s, "udp://", 6) == 0)
    x->syslog = POLICY_SYSLOG_UDP;
  else if (strncasecmp (s, "tcp://", 6) == 0)
    x->syslog = POLICY_SYSLOG_TCP;
  else
    return moat_error (err, 0,
                       "`%s` is not a syslog destination: write "
                       "\"unix:/dev/log\", \"udp://host:port\" or "
                       "\"tcp://host:port\"",
                       s);
  rest = s + 6;
  if (rest[strcspn (rest, "/?#@")] != '\0')
    return moat_error (err, 0,
                       "`%s`: a syslog destination is host:port only (no "
                       "user, path, query or fragment)",
                       s);
  if (policy_dest_url_parse (s, &u, err) < 0)
    return -1;
  snprintf (x->host, sizeof x->host, "%s", u.host);
  x->port = u.port;
  return 0;
}

int
policy_audit_export_parse (const json_t *v, struct policy_audit_export *x,
                           const char *path, struct policy_report *rep)
{
  const char *key;
  json_t *e;
  size_t errors = rep->n_errors;

  memset (x, 0, sizeof *x);
  x->facility = 4; /* auth: "security/authorization messages" */
  x->max_message = 8192;
  snprintf (x->journal_socket, sizeof x->journal_socket, "%s",
            "/run/systemd/journal/socket");
  if (v == NULL) /* not written: the defaults, nothing exported */
    return 0;
  if (!json_is_object (v))
    {
      report_error (rep, path, "expected an object, found %s",
                    json_type_desc (v));
      return -1;
    }
  json_object_foreach ((json_t *)v, key, e)
  {
    cleanup_free char *kp = path_join (path, key);
    cleanup_error moat_error_t why = NULL;

    if (strcmp (key, "syslog") == 0)
      {
        if (!json_is_string (e))
          report_error (rep, kp, "expected a string, found %s",
                        json_type_desc (e));
        else if (parse_syslog (json_string_value (e), x, &why) < 0)
          report_error (rep, kp, "%s", moat_error_msg (&why));
      }
    else if (strcmp (key, "facility") == 0)
      {
        const char *f = json_is_string (e) ? json_string_value (e) : NULL;
        int i = 0;
        while (f != NULL && i < 24
               && (facility_names[i] == NULL
                   || strcmp (facility_names[i], f) != 0))
          i++;
        if (f == NULL || i == 24)
          report_error (rep, kp,
                        "expected a syslog facility name (auth, authpriv, "
                        "daemon, local0 ... local7, ...)");
        else
          x->facility = i;
      }
    else if (strcmp (key, "journald") == 0)
      {
        if (!json_is_boolean (e))
          report_error (rep, kp, "expected a boolean, found %s",
                        json_type_desc (e));
        else
          x->journald = json_is_true (e);
      }
    else if (strcmp (key, "journalSocket") == 0)
      {
        if (!json_is_string (e))
          report_error (rep, kp, "expected a string, found %s",
                        json_type_desc (e));
        else if (socket_path (json_string_value (e), x->journal_socket,
                              sizeof x->journal_socket, &why)
                 < 0)
          report_error (rep, kp, "%s", moat_error_msg (&why));
      }
    else if (strcmp (key, "maxMessageBytes") == 0)
      {
        /* RFC 5424 6.1: every receiver takes 480 octets; above 64 KiB a
         * UDP datagram cannot carry it. */
        if (!json_is_integer (e) || json_integer_value (e) < 480
            || json_integer_value (e) > 65000)
          report_error (rep, kp, "expected an integer from 480 to 65000");
        else
          x->max_message = (size_t)json_integer_value (e);
      }
    else
      {
        const char *hint = suggest (key, keys, sizeof keys / sizeof *keys);
        if (hint != NULL)
          report_error (rep, kp, "unknown key \"%s\"; did you mean \"%s\"?",
                        key, hint);
        else
          report_error (rep, kp, "unknown key \"%s\"", key);
      }
  }
  x->enabled = x->syslog != POLICY_SYSLOG_NONE || x->journald;
  return rep->n_errors > errors ? -1 : 0;
}

const char *
policy_syslog_facility_name (int facility)
{
  return facility >= 0 && facility < 24 ? facility_names[facility] : NULL;
}
