/* Extension requests on the control socket (docs/extensions.md): the
 * admin keys are checked here, the work is src/ext's, and every install,
 * update and removal is audited (component "extensions").  They run on the
 * main thread, one at a time: an install blocks other control requests
 * for as long as it takes (the guards run on their own threads). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/refusal.h"
#include "ext/ext.h"
#include "ext/market.h"
#include "internal.h"

#define MARKET_LIST "/etc/moat/extension-marketplace/extensions.txt"

static json_t *
fail_reply (moat_error_t *err)
{
  json_t *r = json_pack ("{s:b, s:s}", "ok", 0, "error", moat_error_msg (err));
  moat_error_release (err);
  return r;
}

static void
ctx_init (struct moatd *d, struct ext_ctx *c, char **dir)
{
  *dir = NULL;
  if (asprintf (dir, "%s/extensions", d->paths->state_dir) < 0)
    *dir = NULL;
  c->engine_sock = d->engine_sock;
  c->guard_sock = d->paths->docker_sock;
  c->dir = *dir;
  c->socket_wait_ms = 15000;
}

static int
policy_allows (struct moatd *d, const char *image, moat_error_t *err)
{
  const struct policy *p = d->policy;
  cleanup_free char *list = moat_paths_join (d->paths, MARKET_LIST);
  const char *root = d->paths->root;

  if (list == NULL)
    return moat_error (err, ENOMEM, "extensions");
  return ext_policy_check (
      p->extensions.enabled, p->extensions.only_marketplace,
      p->extensions.private_marketplace, list,
      root != NULL && root[0] != '\0' ? root : NULL, image, err);
}

json_t *
moatd_ext_request (struct moatd *d, struct client *c, const char *cmd,
                   json_t *req)
{
  const char *image = json_string_value (json_object_get (req, "image"));
  const char *name = json_string_value (json_object_get (req, "name"));
  cleanup_free char *dir = NULL;
  moat_error_t err = NULL;
  struct ext_ctx ctx;
  struct audit_record r = {
    .component = "extensions",
    .caller_uid = c->uid,
    .caller_pid = c->pid,
  };
  json_t *out = NULL, *reply;
  int ret;

  ctx_init (d, &ctx, &dir);
  if (dir == NULL)
    return json_pack ("{s:b, s:s}", "ok", 0, "error", "out of memory");
  if (strcmp (cmd, "extension.ls") == 0)
    {
      if (ext_list (&ctx, &out, &err) < 0)
        {
          json_decref (out);
          return fail_reply (&err);
        }
      return json_pack ("{s:b, s:o}", "ok", 1, "extensions", out);
    }
  if (strcmp (cmd, "extension.validate") == 0)
    {
      struct ext_problems probs = { 0 };
      json_t *list;
      if (image == NULL)
        return json_pack ("{s:b, s:s}", "ok", 0, "error",
                          "extension.validate needs \"image\"");
      ret = ext_validate_image (&ctx, image, &probs, &err);
      if (ret < 0 && err != NULL)
        {
          ext_problems_free (&probs);
          return fail_reply (&err);
        }
      list = json_array ();
      for (size_t i = 0; i < probs.n; i++)
        json_array_append_new (list, json_string (probs.items[i]));
      ext_problems_free (&probs);
      return json_pack ("{s:b, s:b, s:o}", "ok", 1, "valid", ret == 0,
                        "problems", list);
    }
  if (d->guard == NULL && strcmp (cmd, "extension.rm") != 0)
    return json_pack ("{s:b, s:s}", "ok", 0, "error",
                      "extensions need the engine guard (moat up without "
                      "--no-guard): backends run on the guarded engine");
  /* moatd creates the backend (and runs a compose file's services) as
   * itself, a root caller: only root may choose what it runs */
  if (c->uid != 0
      && (strcmp (cmd, "extension.install") == 0
          || strcmp (cmd, "extension.update") == 0
          || strcmp (cmd, "extension.rm") == 0))
    {
      r.rule = cmd;
      r.endpoint = image != NULL ? image : name;
      r.outcome = "refused";
      r.detail = REFUSAL_EXTENSION_ROOT_ONLY;
      moatd_audit_record (d, &r);
      return json_pack ("{s:b, s:s}", "ok", 0, "error",
                        REFUSAL_EXTENSION_ROOT_ONLY);
    }
  /* An extension's engine work (its backend, a compose file's services,
   * their removal) is the installing admin's: gated as the caller, like
   * the caller's own docker calls (docs/signin.md). */
  if ((strcmp (cmd, "extension.install") == 0
       || strcmp (cmd, "extension.update") == 0
       || strcmp (cmd, "extension.rm") == 0)
      && moatd_session_gate_refusal (d, c->uid) != NULL)
    {
      r.rule = "signin";
      r.endpoint = image != NULL ? image : name;
      r.outcome = "refused";
      r.detail = moatd_session_gate_refusal (d, c->uid);
      moatd_audit_record (d, &r);
      return json_pack ("{s:b, s:s}", "ok", 0, "error",
                        moatd_session_gate_refusal (d, c->uid));
    }
  if (strcmp (cmd, "extension.install") == 0
      || strcmp (cmd, "extension.update") == 0)
    {
      bool install = strcmp (cmd, "extension.install") == 0;
      r.rule = cmd;
      r.endpoint = image;
      if (image == NULL)
        return json_pack ("{s:b, s:s}", "ok", 0, "error", "needs \"image\"");
      if (policy_allows (d, image, &err) < 0)
        {
          r.outcome = "refused";
          r.detail = moat_error_msg (&err);
          moatd_audit_record (d, &r);
          return fail_reply (&err);
        }
      ret = install ? ext_install (&ctx, image, c->uid, &out, &err)
                    : ext_update (&ctx, image, c->uid, &out, &err);
      r.outcome = ret < 0 ? "error" : "applied";
      r.detail = ret < 0 ? moat_error_msg (&err) : NULL;
      moatd_audit_record (d, &r);
      if (ret < 0)
        return fail_reply (&err);
      log_info ("uid %d %s extension %s", (int)c->uid,
                install ? "installed" : "updated", image);
      return json_pack ("{s:b, s:o}", "ok", 1, "extension", out);
    }
  if (strcmp (cmd, "extension.rm") == 0)
    {
      bool volumes = json_is_true (json_object_get (req, "volumes"));
      if (name == NULL)
        return json_pack ("{s:b, s:s}", "ok", 0, "error", "needs \"name\"");
      r.rule = cmd;
      r.endpoint = name;
      ret = ext_remove (&ctx, name, volumes, &out, &err);
      r.outcome = ret < 0 ? "error" : "applied";
      r.detail = ret < 0 ? moat_error_msg (&err) : NULL;
      moatd_audit_record (d, &r);
      if (ret < 0)
        {
          json_decref (out);
          return fail_reply (&err);
        }
      log_info ("uid %d removed extension %s", (int)c->uid, name);
      return json_pack ("{s:b, s:o}", "ok", 1, "volumes_left", out);
    }
  reply = json_pack ("{s:b, s:s}", "ok", 0, "error",
                     "unknown extension command");
  return reply;
}
