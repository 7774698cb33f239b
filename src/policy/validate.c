/* admin-settings.json version 2: walk the document against moat's schema,
 * report every problem with its JSON path, and keep the valid values.
 * Accepts exactly DESIGN.md's format; a key moat does not know is an error
 * (a typo must never silently weaken policy) unless it is one of Docker
 * Desktop's own keys, which is a warning. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "internal.h"

enum
{
  LEAF_LOCKED = -2,
  LEAF_VERSION = -3,
  LEAF_SERIAL = -4,
  LEAF_AUDIT_EXPORT = -5,
  LEAF_FLEET_URL = -6,
  NOT_LEAF = -1,
};

struct node
{
  const char *name;
  const struct node *kids; /* terminated by a NULL name; NULL for a leaf */
  int leaf;                /* setting index, LEAF_* or NOT_LEAF */
};

static const struct node image_list[] = {
  { "images", NULL, SET_IMAGES },
  { "allowDerivedImages", NULL, SET_DERIVED },
  { NULL, NULL, 0 },
};
static const struct node command_list[] = {
  { "type", NULL, SET_CMD_TYPE },
  { "commands", NULL, SET_COMMANDS },
  { NULL, NULL, 0 },
};
static const struct node socket_mount[] = {
  { "imageList", image_list, NOT_LEAF },
  { "commandList", command_list, NOT_LEAF },
  { NULL, NULL, 0 },
};
static const struct node eci[] = {
  { "locked", NULL, LEAF_LOCKED },
  { "value", NULL, SET_ECI },
  { "dockerSocketMount", socket_mount, NOT_LEAF },
  { "allowedDrivers", NULL, SET_DRIVERS },
  { NULL, NULL, 0 },
};
static const struct node proxy[] = {
  { "locked", NULL, LEAF_LOCKED },
  { "mode", NULL, SET_PROXY_MODE },
  { "http", NULL, SET_HTTP },
  { "https", NULL, SET_HTTPS },
  { "exclude", NULL, SET_EXCLUDE },
  { "pac", NULL, SET_PAC },
  { "transparentPorts", NULL, SET_PORTS },
  { NULL, NULL, 0 },
};
static const struct node filesharing[] = {
  { "locked", NULL, LEAF_LOCKED },
  { "value", NULL, SET_DIRS },
  { NULL, NULL, 0 },
};
static const struct node ext_enabled[] = {
  { "locked", NULL, LEAF_LOCKED },
  { "value", NULL, SET_EXT_ENABLED },
  { NULL, NULL, 0 },
};
static const struct node ext_only_market[] = {
  { "locked", NULL, LEAF_LOCKED },
  { "value", NULL, SET_EXT_ONLY_MARKET },
  { NULL, NULL, 0 },
};
static const struct node ext_private_market[] = {
  { "locked", NULL, LEAF_LOCKED },
  { "value", NULL, SET_EXT_PRIVATE_MARKET },
  { NULL, NULL, 0 },
};
static const struct node ext_sandbox_grants[] = {
  { "locked", NULL, LEAF_LOCKED },
  { "value", NULL, SET_EXT_SANDBOX_GRANTS },
  { NULL, NULL, 0 },
};
static const struct node top[] = {
  { "configurationFileVersion", NULL, LEAF_VERSION },
  { "fleetSerial", NULL, LEAF_SERIAL }, /* docs/fleet.md: rollback guard */
  { "fleetUrl", NULL, LEAF_FLEET_URL }, /* docs/fleet.md: the fleet */
  { "enhancedContainerIsolation", eci, NOT_LEAF },
  { "containersProxy", proxy, NOT_LEAF },
  { "filesharingDirectories", filesharing, NOT_LEAF },
  { "extensionsEnabled", ext_enabled, NOT_LEAF },
  { "onlyMarketplaceExtensions", ext_only_market, NOT_LEAF },
  { "extensionsPrivateMarketplace", ext_private_market, NOT_LEAF },
  { "extensionSandboxGrants", ext_sandbox_grants, NOT_LEAF },
  { "auditExport", NULL, LEAF_AUDIT_EXPORT }, /* docs/audit-export.md */
  { NULL, NULL, 0 },
};

struct walk
{
  struct policy_admin *admin;
  struct policy_report *rep;
};

static void walk_object (struct walk *w, const json_t *obj,
                         const struct node *schema, const char *path,
                         int group);

static void
check_version (struct walk *w, const json_t *v, const char *path)
{
  if (!json_is_integer (v))
    report_error (w->rep, path, "expected the number 2, found %s",
                  json_type_desc (v));
  else if (json_integer_value (v) != 2)
    report_error (w->rep, path,
                  "unsupported version %" JSON_INTEGER_FORMAT
                  "; moat reads version 2",
                  json_integer_value (v));
}

static void
visit_leaf (struct walk *w, const struct node *n, const json_t *v,
            const char *path, int group)
{
  if (n->leaf == LEAF_VERSION)
    check_version (w, v, path);
  else if (n->leaf == LEAF_SERIAL)
    {
      if (!json_is_integer (v) || json_integer_value (v) < 1)
        report_error (w->rep, path, "expected a positive integer, found %s",
                      json_type_desc (v));
    }
  else if (n->leaf == LEAF_FLEET_URL)
    {
      if (!json_is_string (v))
        report_error (w->rep, path, "expected a string, found %s",
                      json_type_desc (v));
    }
  else if (n->leaf == LEAF_AUDIT_EXPORT)
    {
      struct policy_audit_export x;
      if (policy_audit_export_parse (v, &x, path, w->rep) == 0)
        {
          json_decref (w->admin->audit_export);
          w->admin->audit_export = json_incref ((json_t *)v);
        }
    }
  else if (n->leaf == LEAF_LOCKED)
    {
      if (!json_is_boolean (v))
        report_error (w->rep, path, "expected a boolean, found %s",
                      json_type_desc (v));
      else
        w->admin->locked[group] = json_is_true (v);
    }
  else if (policy_settings[n->leaf].check (v, path, w->rep) == 0)
    w->admin->values[n->leaf] = json_incref ((json_t *)v);
}

/* A key the schema does not have. */
static void
unknown_key (struct walk *w, const struct node *schema, const char *key,
             const json_t *v, const char *path, bool top_level)
{
  const char *cands[8];
  size_t n = 0;
  const struct dd_key *dd = top_level ? policy_dd_key_find (key) : NULL;
  const char *hint;

  if (dd != NULL)
    {
      if (dd->note != NULL)
        report_warn (w->rep, path,
                     "Docker Desktop setting that moat does "
                     "not apply; ignored (%s)",
                     dd->note);
      else
        report_warn (w->rep, path,
                     "Docker Desktop setting that moat does "
                     "not apply; ignored");
      return;
    }
  if (schema == proxy && strcmp (key, "embeddedPac") == 0)
    {
      /* Docker Desktop would route containers by this script; ignoring a
       * non-empty one would leave traffic less controlled than written. */
      if (json_is_string (v) && json_string_length (v) == 0)
        report_warn (w->rep, path,
                     "Docker Desktop setting that moat does "
                     "not apply; ignored (it is empty)");
      else
        report_error (w->rep, path,
                      "moat does not run embedded PAC scripts; save the "
                      "script to a file and set \"pac\": "
                      "\"file:///path/to/proxy.pac\"");
      return;
    }
  for (const struct node *k = schema; k->name != NULL && n < 8; k++)
    cands[n++] = k->name;
  hint = report_full_p (w->rep) ? NULL : suggest (key, cands, n);
  if (hint != NULL)
    report_error (w->rep, path, "unknown key \"%s\"; did you mean \"%s\"?",
                  key, hint);
  else
    report_error (w->rep, path, "unknown key \"%s\"", key);
}

static void
walk_object (struct walk *w, const json_t *obj, const struct node *schema,
             const char *path, int group)
{
  const char *key;
  json_t *v;

  json_object_foreach ((json_t *)obj, key, v)
  {
    cleanup_free char *kpath = path_join (path, key);
    const struct node *n = schema;
    int g = group;

    while (n->name != NULL && strcmp (n->name, key) != 0)
      n++;
    if (n->name == NULL)
      {
        unknown_key (w, schema, key, v, kpath, schema == top);
        continue;
      }
    if (schema == top)
      for (int i = 0; i < GROUP_N; i++)
        if (strcmp (policy_group_names[i], key) == 0)
          g = i;
    if (n->kids == NULL)
      {
        visit_leaf (w, n, v, kpath, g);
        continue;
      }
    if (!json_is_object (v))
      {
        if (schema == top && n->kids[1].name != NULL
            && strcmp (n->kids[1].name, "value") == 0)
          report_error (w->rep, kpath,
                        "expected an object {\"locked\": ..., \"value\": "
                        "...}, found %s",
                        json_type_desc (v));
        else
          report_error (w->rep, kpath, "expected an object, found %s",
                        json_type_desc (v));
        continue;
      }
    if (schema == top && json_object_get (v, "locked") == NULL)
      report_warn (w->rep, kpath,
                   "\"locked\" is missing, so this setting "
                   "is a default that users may change");
    walk_object (w, v, n->kids, kpath, g);
  }
}

int
policy_admin_parse (const char *buf, size_t len, struct policy_admin **out,
                    struct policy_report *rep, moat_error_t *err)
{
  struct policy_admin *a;
  struct walk w;
  json_t *doc;

  *out = NULL;
  doc = policy_json_from_bytes (buf, len, rep);
  if (rep->oom)
    {
      json_decref (doc);
      return moat_error (err, ENOMEM, "parse admin settings");
    }
  if (doc == NULL)
    return -1;
  a = calloc (1, sizeof *a);
  if (a == NULL)
    {
      json_decref (doc);
      return moat_error (err, ENOMEM, "parse admin settings");
    }
  a->present = true;
  w.admin = a;
  w.rep = rep;
  if (json_object_get (doc, "configurationFileVersion") == NULL)
    report_error (rep, "configurationFileVersion",
                  "missing; moat reads version 2 "
                  "(\"configurationFileVersion\": 2)");
  walk_object (&w, doc, top, "", -1);
  json_decref (doc);
  if (rep->oom)
    {
      policy_admin_free (a);
      return moat_error (err, ENOMEM, "parse admin settings");
    }
  if (rep->n_errors > 0)
    {
      policy_admin_free (a);
      return -1;
    }
  *out = a;
  return 0;
}

int
policy_admin_load_file (const char *path, const char *stop_at,
                        bool owner_errors, struct policy_admin **out,
                        struct policy_report *rep, moat_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t len = 0;

  *out = NULL;
  if (policy_read_file (path, stop_at,
                        owner_errors ? POLICY_DIAG_ERROR : POLICY_DIAG_WARNING,
                        &buf, &len, rep, err)
      < 0)
    return -1;
  if (policy_admin_parse (buf, len, out, rep, err) < 0)
    return -1;
  if (rep->n_errors > 0)
    {
      /* An ownership error found before the content was read. */
      policy_admin_free (*out);
      *out = NULL;
      return -1;
    }
  return 0;
}

int
policy_admin_load (const struct moat_paths *paths, struct policy_admin **out,
                   struct policy_report *rep, moat_error_t *err)
{
  cleanup_error moat_error_t why = NULL;

  if (policy_admin_load_file (paths->admin_settings, paths->root, true, out,
                              rep, &why)
      == 0)
    return 0;
  if (moat_error_status (&why) != ENOENT || rep->n_errors > 0)
    {
      if (why != NULL)
        {
          moat_error_release (err);
          *err = steal_pointer (&why);
        }
      return -1;
    }
  /* No admin file: moat's defaults, none of them locked. */
  *out = calloc (1, sizeof **out);
  if (*out == NULL)
    return moat_error (err, ENOMEM, "admin settings");
  return 0;
}

bool
policy_admin_present_p (const struct policy_admin *a)
{
  return a != NULL && a->present;
}

void
policy_admin_set_fleet (struct policy_admin *a)
{
  a->fleet = true;
}

void
policy_admin_free (struct policy_admin *a)
{
  if (a == NULL)
    return;
  for (size_t i = 0; i < policy_n_settings; i++)
    json_decref (a->values[i]);
  json_decref (a->audit_export);
  free (a);
}
