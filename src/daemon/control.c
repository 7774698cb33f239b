/* Control requests from the moat CLI (protocol in src/ctl/ctl.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "internal.h"

static json_t *
error_reply (const char *msg)
{
  return json_pack ("{s:b, s:s}", "ok", 0, "error", msg);
}

static json_t *
signin_json (struct moatd *d)
{
  json_t *orgs = json_array ();
  for (size_t i = 0; i < d->signin.n_orgs; i++)
    json_array_append_new (orgs, json_string (d->signin.orgs[i]));
  return json_pack ("{s:o, s:s?, s:s?}", "allowedOrgs", orgs, "source",
                    d->signin.source, "ignored", d->signin.ignored);
}

/* Isolation figures: the id ranges moat-runc holds for containers (its
 * table appears with the first container). */
static json_t *
isolation_json (struct moatd *d)
{
  sqlite3_stmt *st = NULL;
  json_t *o = NULL;
  if (sqlite3_prepare_v2 (state_db (d->state),
                          "SELECT count(*), coalesce(min(base), 0), "
                          "coalesce(max(base + size), 0) FROM "
                          "runtime_id_ranges",
                          -1, &st, NULL)
          == SQLITE_OK
      && sqlite3_step (st) == SQLITE_ROW)
    o = json_pack ("{s:I, s:I, s:I, s:i}", "containers_with_id_range",
                   (json_int_t)sqlite3_column_int64 (st, 0), "lowest_base",
                   (json_int_t)sqlite3_column_int64 (st, 1), "highest_end",
                   (json_int_t)sqlite3_column_int64 (st, 2), "range_size",
                   65536);
  sqlite3_finalize (st);
  return o != NULL ? o
                   : json_pack ("{s:i, s:i}", "containers_with_id_range", 0,
                                "range_size", 65536);
}

json_t *
moatd_status_json (struct moatd *d)
{
  json_t *errors = json_array ();
  json_t *policy;
  const struct policy *p = d->policy;

  if (d->policy_error != NULL)
    json_array_append_new (errors,
                           json_pack ("{s:s, s:s}", "component", "policy",
                                      "message", d->policy_error));
  {
    char why[512];
    const char *pac = moatd_net_pac_problem (d, why, sizeof why);
    if (pac != NULL)
      json_array_append_new (errors, json_pack ("{s:s, s:s}", "component",
                                                "pac", "message", pac));
  }
  if (moatd_fleet_problem (d) != NULL)
    json_array_append_new (errors,
                           json_pack ("{s:s, s:s}", "component", "fleet",
                                      "message", moatd_fleet_problem (d)));
  {
    cleanup_free char *xp
        = d->export != NULL ? audit_export_problem (d->export) : NULL;
    if (xp != NULL)
      json_array_append_new (errors,
                             json_pack ("{s:s, s:s}", "component",
                                        "audit-export", "message", xp));
  }
  if (d->web_error != NULL)
    json_array_append_new (errors,
                           json_pack ("{s:s, s:s}", "component", "dashboard",
                                      "message", d->web_error));
  if (d->signin_error != NULL)
    json_array_append_new (errors,
                           json_pack ("{s:s, s:s}", "component", "signin",
                                      "message", d->signin_error));
  if (moatd_session_problem (d) != NULL)
    json_array_append_new (errors, json_pack ("{s:s, s:s}", "component",
                                              "signin.directory", "message",
                                              moatd_session_problem (d)));
  policy = json_pack (
      "{s:s, s:b, s:I, s:{s:b, s:b, s:i, s:b, s:s, s:i}, s:{s:s, s:s, s:b},"
      " s:{s:i}}",
      "source",
      moatd_fleet_in_force_p (d) ? "fleet"
      : d->admin_sig.present     ? d->paths->admin_settings
                                 : "defaults",
      "change_refused", d->policy_error != NULL, "loaded_at_ms",
      (json_int_t)d->policy_loaded_ms, "enhancedContainerIsolation", "enabled",
      p->eci.enabled, "locked", p->eci.locked, "socket_mount_images",
      (int)p->eci.n_images, "allowDerivedImages", p->eci.allow_derived_images,
      "commandList",
      p->eci.cmd_type == POLICY_CMDLIST_ALLOW ? "allow" : "deny", "commands",
      (int)p->eci.n_commands, "containersProxy", "mode",
      p->proxy.mode == POLICY_PROXY_MANUAL ? "manual" : "system",
      "transparentPorts",
      p->proxy.transparent_ports ? p->proxy.transparent_ports : "", "pac",
      p->proxy.pac != NULL && p->proxy.pac[0] != '\0',
      "filesharingDirectories", "count", (int)p->filesharing.n_dirs);
  return json_pack (
      "{s:b, s:{s:i, s:I, s:s, s:s, s:i, s:b, s:b}, s:o, s:o,"
      " s:o, s:o, s:o, s:o, s:o}",
      "ok", 1, "moatd", "pid", (int)getpid (), "started_at_ms",
      (json_int_t)d->started_ms, "engine_sock", d->engine_sock, "state_db",
      d->paths->state_db, "state_schema", state_schema_version (d->state),
      "engine_guard", d->guard != NULL, "net_guard", moatd_net_running_p (d),
      "policy", policy, "signin", signin_json (d), "isolation",
      isolation_json (d), "fleet", moatd_fleet_status (d), "errors", errors,
      "dashboard", moatd_web_status (d), "audit_export",
      d->export != NULL ? audit_export_status (d->export) : json_null ());
}

json_t *
moatd_settings_set (struct moatd *d, uid_t uid, pid_t pid, const char *key,
                    const char *text)
{
  json_t *value = NULL;
  moat_error_t err = NULL;
  cleanup_free char *detail = NULL;
  struct audit_record r = {
    .component = "policy",
    .caller_uid = uid,
    .caller_pid = pid,
    .rule = "settings.set",
    .endpoint = key,
  };
  json_t *reply;

  if (key == NULL || text == NULL)
    return error_reply ("settings.set needs \"key\" and \"value\" strings");
  if (asprintf (&detail, "%s = %s", key, text) < 0)
    detail = NULL;
  r.detail = detail;
  if (policy_check_override (d->admin, key, text, &value, &err) < 0)
    {
      r.outcome = "refused";
      reply = error_reply (moat_error_msg (&err));
      goto out;
    }
  if (state_begin (d->state, &err) < 0
      || state_override_set (d->state, policy_setting_canonical (key), value,
                             uid, &err)
             < 0
      || state_commit (d->state, &err) < 0)
    {
      state_rollback (d->state);
      r.outcome = "error";
      reply = error_reply (moat_error_msg (&err));
      goto out;
    }
  if (moatd_policy_rebuild (d, &err) < 0)
    {
      r.outcome = "error";
      reply = error_reply (moat_error_msg (&err));
      goto out;
    }
  r.outcome = "applied";
  log_info ("uid %d set %s", (int)uid, detail ? detail : key);
  reply = json_pack ("{s:b, s:s, s:O}", "ok", 1, "key", key, "value", value);
out:
  moatd_audit_record (d, &r);
  json_decref (value);
  moat_error_release (&err);
  return reply;
}

static json_t *
audit_list (struct moatd *d, json_t *req)
{
  json_t *recs = NULL;
  moat_error_t err = NULL;
  json_int_t limit = json_integer_value (json_object_get (req, "limit"));
  json_t *since = json_object_get (req, "since_id");
  int ret;

  if (json_is_integer (since))
    ret = state_audit_list (d->state, json_integer_value (since), (int)limit,
                            &recs, &err);
  else
    ret = state_audit_tail (d->state, limit > 0 ? (int)limit : 100, &recs,
                            &err);
  if (ret < 0)
    {
      json_t *r = error_reply (moat_error_msg (&err));
      moat_error_release (&err);
      return r;
    }
  return json_pack ("{s:b, s:o}", "ok", 1, "records", recs);
}

void
moatd_handle_request (struct moatd *d, struct client *c, json_t *req)
{
  const char *cmd = json_string_value (json_object_get (req, "cmd"));
  json_t *reply;

  if (cmd == NULL)
    reply = error_reply ("request without \"cmd\"");
  else if (strcmp (cmd, "ping") == 0)
    reply = json_pack ("{s:b, s:i}", "ok", 1, "pid", (int)getpid ());
  else if (strcmp (cmd, "status") == 0)
    reply = moatd_status_json (d);
  else if (strcmp (cmd, "settings.show") == 0)
    reply = json_pack ("{s:b, s:O}", "ok", 1, "settings", d->policy->settings);
  else if (strcmp (cmd, "net.remove_rules") == 0)
    {
      moat_error_t err = NULL;
      if (c->uid != 0)
        reply = error_reply ("only root may remove the interception rules");
      else if (moatd_net_remove_rules (d, &err) < 0)
        {
          reply = error_reply (moat_error_msg (&err));
          moat_error_release (&err);
        }
      else
        reply = json_pack ("{s:b}", "ok", 1);
    }
  else if (strcmp (cmd, "signin.policy") == 0)
    reply = json_pack ("{s:b, s:o}", "ok", 1, "signin", signin_json (d));
  else if (strcmp (cmd, "settings.set") == 0)
    reply = moatd_settings_set (
        d, c->uid, c->pid, json_string_value (json_object_get (req, "key")),
        json_string_value (json_object_get (req, "value")));
  else if (strcmp (cmd, "dashboard.ticket") == 0)
    reply = moatd_web_ticket (d, c->uid); /* SO_PEERCRED's uid */
  else if (strcmp (cmd, "policy.reload") == 0)
    {
      moatd_policy_check (d, true);
      moatd_fleet_kick (d);
      moatd_signin_check (d, true);
      reply = d->policy_error != NULL
                  ? error_reply (d->policy_error)
                  : json_pack ("{s:b}", "ok", 1);
      /* answered once the sessions are re-checked (off this thread) */
      if (moatd_session_reply_after_check (d, c, reply))
        return;
    }
  else if (strcmp (cmd, "audit.list") == 0)
    reply = audit_list (d, req);
  else if (strncmp (cmd, "signin.", 7) == 0
           && (reply = moatd_session_request (d, c, cmd, req)) != NULL)
    (void)0;
  else if (strncmp (cmd, "extension.", 10) == 0)
    {
      reply = moatd_ext_request (d, c, cmd, req);
      if (reply == NULL)
        return; /* extension.call: answered from moatd_ext_drain */
    }
  else if (strcmp (cmd, "audit.follow") == 0)
    {
      json_t *since = json_object_get (req, "since_id");
      c->follow = true;
      reply = json_pack ("{s:b, s:b}", "ok", 1, "following", 1);
      moatd_client_send (d, c, reply);
      json_decref (reply);
      /* Catch up from since_id, then records stream as they happen. */
      if (json_is_integer (since))
        {
          json_t *recs = NULL;
          moat_error_t err = NULL;
          size_t i;
          json_t *rec;
          if (state_audit_list (d->state, json_integer_value (since), 10000,
                                &recs, &err)
              < 0)
            moat_error_release (&err);
          json_array_foreach (recs, i, rec)
          {
            json_t *m = json_pack ("{s:O}", "record", rec);
            moatd_client_send (d, c, m);
            json_decref (m);
          }
          json_decref (recs);
        }
      return;
    }
  else
    {
      cleanup_free char *m = NULL;
      if (asprintf (&m, "unknown command `%s`", cmd) < 0)
        m = NULL;
      reply = error_reply (m ? m : "unknown command");
    }
  if (!json_is_null (reply)) /* null: a worker answers later */
    moatd_client_send (d, c, reply);
  json_decref (reply);
}
