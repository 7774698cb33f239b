/* Live policy.  moatd re-reads admin-settings.json when it changes (inotify
 * on /etc/moat plus a periodic stat, so a missed event or a replaced
 * directory is still seen).  A valid change is applied at once; an invalid
 * one is refused loudly (log, `moat status`, audit) and the last valid
 * policy stays in force: nothing is ever weaker than what the admin wrote. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "internal.h"

void
file_sig_read (const char *path, struct file_sig *sig)
{
  struct stat st;
  memset (sig, 0, sizeof *sig);
  if (stat (path, &st) < 0)
    return;
  sig->present = true;
  sig->dev = st.st_dev;
  sig->ino = st.st_ino;
  sig->size = st.st_size;
  sig->mtime = st.st_mtim;
  sig->ctime = st.st_ctim;
  sig->mode = st.st_mode;
  sig->uid = st.st_uid;
  sig->gid = st.st_gid;
}

bool
file_sig_equal (const struct file_sig *a, const struct file_sig *b)
{
  return a->present == b->present && a->dev == b->dev && a->ino == b->ino
         && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec
         && a->mtime.tv_nsec == b->mtime.tv_nsec
         && a->ctime.tv_sec == b->ctime.tv_sec
         && a->ctime.tv_nsec == b->ctime.tv_nsec && a->mode == b->mode
         && a->uid == b->uid && a->gid == b->gid;
}

/* Build the effective policy from d->admin and the stored overrides. */
int
moatd_policy_rebuild (struct moatd *d, moat_error_t *err)
{
  json_t *overrides = NULL;
  struct policy *p = NULL;

  if (state_overrides_load (d->state, &overrides, err) < 0)
    return moat_error_wrap (err, "load user settings");
  if (policy_build (d->admin, overrides, &p, err) < 0)
    {
      json_decref (overrides);
      return moat_error_wrap (err, "build effective policy");
    }
  json_decref (overrides);
  if (policy_snap_publish (&d->snaps, p) < 0)
    {
      policy_free (p);
      return moat_error (err, ENOMEM, "publish policy");
    }
  policy_snap_release (d->snap);
  d->snap = policy_snap_acquire (&d->snaps);
  d->policy = policy_snap_get (d->snap);
  moatd_guard_policy (d);
  if (d->export != NULL)
    audit_export_configure (d->export, &d->policy->audit_export);
  if (moatd_net_policy (d, err) < 0)
    {
      /* The net guard keeps its previous rules; say so loudly. */
      log_error ("net guard kept its previous policy: %s",
                 moat_error_msg (err));
      moat_error_release (err);
    }
  d->policy_loaded_ms = moatd_now_ms ();
  return 0;
}

static void
log_warnings (const struct policy_report *rep)
{
  for (size_t i = 0; i < rep->n; i++)
    if (rep->items[i].severity == POLICY_DIAG_WARNING)
      log_warn ("admin settings: %s%s%s", rep->items[i].path,
                rep->items[i].path[0] ? ": " : "", rep->items[i].msg);
}

/* A loader's outcome ret: on failure *why holds every problem of rep, one
 * a line (or err's message); on success rep's warnings are logged.  rep
 * and err are released. */
static int
loaded (int ret, struct policy_report *rep, moat_error_t *err, char **why)
{
  *why = NULL;
  if (ret < 0)
    *why = rep->n_errors > 0 ? policy_report_format (rep)
                             : strdup (moat_error_msg (err));
  else
    log_warnings (rep);
  policy_report_free (rep);
  moat_error_release (err);
  return ret;
}

/* Load the admin file; on failure *why holds every problem, one a line. */
static int
load_admin (struct moatd *d, struct policy_admin **out, char **why)
{
  struct policy_report rep = { 0 };
  moat_error_t err = NULL;

  return loaded (policy_admin_load (d->paths, out, &rep, &err), &rep, &err,
                 why);
}

int
moatd_policy_init (struct moatd *d, moat_error_t *err)
{
  cleanup_free char *why = NULL;

  file_sig_read (d->paths->admin_settings, &d->admin_sig);
  if (load_admin (d, &d->admin, &why) < 0)
    return moat_error (err, EINVAL, "refusing to start: `%s` is invalid:\n%s",
                       d->paths->admin_settings, why ? why : "");
  if (moatd_policy_rebuild (d, err) < 0)
    return -1;
  log_info ("policy loaded from %s",
            d->admin_sig.present ? d->paths->admin_settings
                                 : "defaults (no admin-settings.json)");
  return 0;
}

static void
refuse_change (struct moatd *d, const char *why)
{
  struct audit_record r = {
    .component = "policy",
    .caller_uid = -1,
    .caller_pid = -1,
    .endpoint = d->paths->admin_settings,
    .rule = "admin-settings",
    .outcome = "rejected",
    .detail = why,
  };
  log_error ("admin settings change refused; the last valid policy stays in "
             "force: %s",
             why);
  free (d->policy_error);
  d->policy_error = strdup (why);
  moatd_audit_record (d, &r);
}

/* force: reload even if the file looks unchanged (SIGHUP, policy.reload). */
void
moatd_policy_check (struct moatd *d, bool force)
{
  struct file_sig sig;
  struct policy_admin *admin = NULL;
  cleanup_free char *why = NULL;
  moat_error_t err = NULL;
  struct audit_record r = {
    .component = "policy",
    .caller_uid = -1,
    .caller_pid = -1,
    .rule = "admin-settings",
    .outcome = "applied",
  };

  file_sig_read (d->paths->admin_settings, &sig);
  if (!force && file_sig_equal (&sig, &d->admin_sig))
    return;
  d->admin_sig = sig;
  /* The fleet copy takes the place of the local file (docs/fleet.md). */
  if (moatd_fleet_in_force_p (d))
    {
      log_info ("admin-settings.json changed; the fleet copy stays in force");
      return;
    }

  /* Removing the file must not drop the policy behind the admin's back:
   * whoever can delete it could otherwise weaken it. */
  if (!sig.present)
    {
      refuse_change (d, "admin-settings.json was removed; the last valid "
                        "policy stays in force until moatd restarts");
      return;
    }
  if (load_admin (d, &admin, &why) < 0)
    {
      refuse_change (d, why ? why : "invalid admin settings");
      return;
    }
  {
    struct policy_admin *old = d->admin;
    d->admin = admin;
    if (moatd_policy_rebuild (d, &err) < 0)
      {
        d->admin = old;
        policy_admin_free (admin);
        refuse_change (d, moat_error_msg (&err));
        moat_error_release (&err);
        return;
      }
    policy_admin_free (old);
  }
  free (d->policy_error);
  d->policy_error = NULL;
  r.endpoint = d->paths->admin_settings;
  r.detail = "new admin settings in force";
  log_info ("admin settings changed; new policy in force");
  moatd_audit_record (d, &r);
}

/* Sign-in policy (allowedOrgs) follows the same rules: an invalid file at
 * start refuses the start, an invalid change keeps the last valid list. */
static int
load_signin (struct moatd *d, struct signin_policy *out, char **why)
{
  struct policy_report rep = { 0 };
  moat_error_t err = NULL;

  memset (out, 0, sizeof *out);
  return loaded (signin_load (d->paths, out, &rep, &err), &rep, &err, why);
}

int
moatd_signin_init (struct moatd *d, moat_error_t *err)
{
  cleanup_free char *why = NULL;

  file_sig_read (d->paths->registry_json, &d->signin_sig[0]);
  file_sig_read (d->paths->dd_registry_json, &d->signin_sig[1]);
  if (load_signin (d, &d->signin, &why) < 0)
    {
      signin_policy_free (&d->signin);
      return moat_error (
          err, EINVAL, "refusing to start: the sign-in policy is invalid:\n%s",
          why ? why : "");
    }
  return 0;
}

void
moatd_signin_check (struct moatd *d, bool force)
{
  struct file_sig sig[2];
  struct signin_policy next;
  cleanup_free char *why = NULL;
  struct audit_record r = {
    .component = "policy",
    .caller_uid = -1,
    .caller_pid = -1,
    .rule = "registry.json",
    .outcome = "applied",
  };

  file_sig_read (d->paths->registry_json, &sig[0]);
  file_sig_read (d->paths->dd_registry_json, &sig[1]);
  if (!force && file_sig_equal (&sig[0], &d->signin_sig[0])
      && file_sig_equal (&sig[1], &d->signin_sig[1]))
    return;
  d->signin_sig[0] = sig[0];
  d->signin_sig[1] = sig[1];
  r.endpoint = d->paths->registry_json;
  if (!sig[0].present && !sig[1].present && d->signin.n_orgs > 0)
    why = strdup ("registry.json was removed; the last valid sign-in policy "
                  "stays in force until moatd restarts");
  else if (load_signin (d, &next, &why) == 0)
    {
      signin_policy_free (&d->signin);
      d->signin = next;
      free (d->signin_error);
      d->signin_error = NULL;
      r.detail = "new sign-in policy in force";
      log_info ("sign-in policy changed; new policy in force");
      moatd_audit_record (d, &r);
      moatd_session_check (d); /* revocation at every reload */
      return;
    }
  else
    signin_policy_free (&next);
  log_error ("sign-in policy change refused; the last valid one stays in "
             "force: %s",
             why ? why : "");
  free (d->signin_error);
  d->signin_error = why != NULL ? strdup (why) : NULL;
  r.outcome = "rejected";
  r.detail = why;
  moatd_audit_record (d, &r);
  moatd_session_check (d); /* revocation at every reload */
}
