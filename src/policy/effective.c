/* One effective policy from moat's defaults, the admin file and the user's
 * overrides.  Precedence, per setting: admin locked > user > admin unlocked
 * > moat default.  A sub-key shares its group's lock. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "internal.h"
#include "netaddr.h"

struct chosen
{
  json_t *value; /* owned */
  enum policy_source source;
  bool locked;
};

static bool
valid_p (int i, const json_t *v)
{
  struct policy_report scratch = { 0 };
  int r = policy_settings[i].check (v, policy_settings[i].key, &scratch);
  bool ok = r == 0 && scratch.n_errors == 0 && !scratch.oom;
  policy_report_free (&scratch);
  return ok;
}

static int
choose (const struct policy_admin *admin, json_t *overrides, int i,
        struct chosen *c, moat_error_t *err)
{
  const struct setting_def *d = &policy_settings[i];
  json_t *admin_v = admin != NULL ? admin->values[i] : NULL;
  json_t *user_v
      = overrides != NULL ? json_object_get (overrides, d->key) : NULL;

  c->locked = admin != NULL && admin->locked[d->group];
  /* An override that no longer validates (or that a lock now covers) is
   * dropped: the admin's or moat's value is never weaker than it. */
  if (!c->locked && user_v != NULL && valid_p (i, user_v))
    {
      c->value = json_incref (user_v);
      c->source = POLICY_SRC_USER;
    }
  else if (admin_v != NULL)
    {
      c->value = json_incref (admin_v);
      c->source = admin->fleet ? POLICY_SRC_FLEET : POLICY_SRC_ADMIN;
    }
  else
    {
      c->value = json_loads (d->default_json, JSON_DECODE_ANY, NULL);
      c->source = POLICY_SRC_DEFAULT;
    }
  if (c->value == NULL)
    return moat_error (err, ENOMEM, "effective policy");
  return 0;
}

static int
dup_strings (const json_t *arr, char ***out, size_t *n)
{
  size_t i, len = json_array_size (arr);
  json_t *e;

  *out = calloc (len + 1, sizeof **out);
  *n = 0;
  if (*out == NULL)
    return -1;
  json_array_foreach (arr, i, e)
  {
    (*out)[i] = strdup (json_string_value (e));
    if ((*out)[i] == NULL)
      return -1;
    (*n)++;
  }
  return 0;
}

static void
free_strings (char **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (v[i]);
  free (v);
}

static char **
str_field (struct policy *p, int i)
{
  switch (i)
    {
    case SET_HTTP:
      return &p->proxy.http;
    case SET_HTTPS:
      return &p->proxy.https;
    case SET_PAC:
      return &p->proxy.pac;
    case SET_PORTS:
      return &p->proxy.transparent_ports;
    }
  return NULL;
}

/* Parse the lists consumers match against, once per policy. */
static int
parse_lists (struct policy *p, moat_error_t *err)
{
  cleanup_error moat_error_t why = NULL;

  p->eci.image_patterns
      = calloc (p->eci.n_images + 1, sizeof *p->eci.image_patterns);
  if (p->eci.image_patterns == NULL)
    return moat_error (err, ENOMEM, "effective policy");
  /* Every value was validated already; a failure here is a bug or an
   * allocation failure, and refusing the policy is the safe answer. */
  for (size_t i = 0; i < p->eci.n_images; i++)
    if (imageref_pattern_parse (p->eci.images[i], &p->eci.image_patterns[i],
                                &why)
        < 0)
      return moat_error (err, EINVAL, "image `%s`: %s", p->eci.images[i],
                         moat_error_msg (&why));
  return policy_proxy_parse (p, err);
}

int
policy_proxy_parse (struct policy *p, moat_error_t *err)
{
  cleanup_error moat_error_t why = NULL;

  if (p->proxy.excludes == NULL)
    {
      p->proxy.excludes
          = calloc (p->proxy.n_exclude + 1, sizeof *p->proxy.excludes);
      if (p->proxy.excludes == NULL)
        return moat_error (err, ENOMEM, "effective policy");
    }
  for (size_t i = 0; i < p->proxy.n_exclude; i++)
    if (netaddr_exclude_parse (p->proxy.exclude[i], &p->proxy.excludes[i],
                               &why)
        < 0)
      return moat_error (err, EINVAL, "exclude[%zu]: %s", i,
                         moat_error_msg (&why));
  if (p->proxy.http[0] != '\0'
      && policy_proxy_url_parse (p->proxy.http, &p->proxy.http_url, &why) < 0)
    return moat_error (err, EINVAL, "http: %s", moat_error_msg (&why));
  if (p->proxy.https[0] != '\0'
      && policy_proxy_url_parse (p->proxy.https, &p->proxy.https_url, &why)
             < 0)
    return moat_error (err, EINVAL, "https: %s", moat_error_msg (&why));
  if (p->proxy.transparent_ports != NULL
      && netaddr_parse_ports (p->proxy.transparent_ports, &p->proxy.all_ports,
                              p->proxy.port_bitmap, &why)
             < 0)
    return moat_error (err, EINVAL, "transparentPorts: %s",
                       moat_error_msg (&why));
  return 0;
}

/* Copy the chosen JSON value of setting i into its struct field. */
static int
apply (struct policy *p, int i, const struct chosen *c, moat_error_t *err)
{
  const json_t *v = c->value;
  char **s = str_field (p, i);
  int r = 0;

  if (s != NULL)
    {
      *s = strdup (json_string_value (v));
      if (*s == NULL)
        return moat_error (err, ENOMEM, "effective policy");
    }
  switch (i)
    {
    case SET_ECI:
      p->eci.enabled = json_is_true (v);
      p->eci.locked = c->locked;
      break;
    case SET_IMAGES:
      r = dup_strings (v, &p->eci.images, &p->eci.n_images);
      break;
    case SET_DERIVED:
      p->eci.allow_derived_images = json_is_true (v);
      break;
    case SET_CMD_TYPE:
      p->eci.cmd_type = strcmp (json_string_value (v), "allow") == 0
                            ? POLICY_CMDLIST_ALLOW
                            : POLICY_CMDLIST_DENY;
      break;
    case SET_COMMANDS:
      r = dup_strings (v, &p->eci.commands, &p->eci.n_commands);
      break;
    case SET_DRIVERS:
      r = dup_strings (v, &p->eci.drivers, &p->eci.n_drivers);
      break;
    case SET_PROXY_MODE:
      p->proxy.locked = c->locked;
      p->proxy.mode = strcmp (json_string_value (v), "system") == 0
                          ? POLICY_PROXY_SYSTEM
                          : POLICY_PROXY_MANUAL;
      break;
    case SET_EXCLUDE:
      r = dup_strings (v, &p->proxy.exclude, &p->proxy.n_exclude);
      break;
    case SET_PORTS:
      {
        cleanup_error moat_error_t why = NULL;
        if (netaddr_parse_ports (json_string_value (v), &p->proxy.all_ports,
                                 p->proxy.port_bitmap, &why)
            < 0)
          return moat_error (err, EINVAL, "transparentPorts: %s",
                             moat_error_msg (&why));
      }
      break;
    case SET_DIRS:
      p->filesharing.locked = c->locked;
      r = dup_strings (v, &p->filesharing.dirs, &p->filesharing.n_dirs);
      break;
    case SET_EXT_ENABLED:
      p->extensions.enabled = json_is_true (v);
      break;
    case SET_EXT_ONLY_MARKET:
      p->extensions.only_marketplace = json_is_true (v);
      break;
    case SET_EXT_PRIVATE_MARKET:
      p->extensions.private_marketplace = json_is_true (v);
      break;
    case SET_EXT_SANDBOX_GRANTS:
      json_decref (p->extensions.sandbox_grants);
      p->extensions.sandbox_grants
          = json_is_object (v) ? json_incref ((json_t *)v) : NULL;
      break;
    }
  if (r < 0)
    return moat_error (err, ENOMEM, "effective policy");
  return 0;
}

static int
add_row (json_t *rows, int i, const struct chosen *c)
{
  json_t *row = json_pack (
      "{s:s, s:O, s:s, s:b}", "key", policy_settings[i].key, "value", c->value,
      "source", policy_source_name (c->source), "locked", c->locked);
  return row == NULL ? -1 : json_array_append_new (rows, row);
}

int
policy_build (const struct policy_admin *admin, json_t *overrides,
              struct policy **out, moat_error_t *err)
{
  struct policy *p = calloc (1, sizeof *p);

  *out = NULL;
  if (p == NULL || (p->settings = json_array ()) == NULL)
    {
      free (p);
      return moat_error (err, ENOMEM, "effective policy");
    }
  if (overrides != NULL && !json_is_object (overrides))
    overrides = NULL;
  for (size_t i = 0; i < policy_n_settings; i++)
    {
      struct chosen c = { 0 };
      int r = choose (admin, overrides, (int)i, &c, err);
      if (r == 0)
        r = apply (p, (int)i, &c, err);
      if (r == 0 && add_row (p->settings, (int)i, &c) < 0)
        r = moat_error (err, ENOMEM, "effective policy");
      json_decref (c.value);
      if (r < 0)
        {
          policy_free (p);
          return -1;
        }
    }
  if (parse_lists (p, err) < 0)
    {
      policy_free (p);
      return -1;
    }
  *out = p;
  return 0;
}

void
policy_free (struct policy *p)
{
  if (p == NULL)
    return;
  for (size_t i = 0; p->eci.image_patterns != NULL && i < p->eci.n_images; i++)
    imageref_pattern_free (&p->eci.image_patterns[i]);
  free (p->eci.image_patterns);
  free (p->proxy.excludes);
  free_strings (p->eci.images, p->eci.n_images);
  free_strings (p->eci.commands, p->eci.n_commands);
  free_strings (p->eci.drivers, p->eci.n_drivers);
  free (p->proxy.http);
  free (p->proxy.https);
  free (p->proxy.pac);
  free_strings (p->proxy.exclude, p->proxy.n_exclude);
  free (p->proxy.transparent_ports);
  free_strings (p->filesharing.dirs, p->filesharing.n_dirs);
  json_decref (p->extensions.sandbox_grants);
  json_decref (p->settings);
  free (p);
}

bool
policy_port_intercepted (const struct policy *p, uint16_t port)
{
  return port != 0 && netaddr_port_in (p->proxy.port_bitmap, port);
}
