/* `moat settings set KEY VALUE`: what a user may change, checked with the
 * same validators as the admin file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "internal.h"

/* The text a user typed, as JSON: valid JSON is taken as such, anything
 * else as a string.  For a string setting, "80" or true is the string. */
static json_t *
value_from_text (int i, const char *text)
{
  bool wants_string = policy_settings[i].default_json[0] == '"';
  json_t *v
      = json_loads (text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);

  if (v != NULL && (!wants_string || json_is_string (v)))
    return v;
  json_decref (v);
  return json_string (text);
}

int
policy_check_override (const struct policy_admin *admin, const char *key,
                       const char *value_text, json_t **value_out,
                       moat_error_t *err)
{
  struct policy_report rep = { 0 };
  size_t n, klen = strlen (key);
  const char *const *keys = policy_setting_keys (&n);
  const struct setting_def *d;
  json_t *v;
  int i;

  *value_out = NULL;
  if (klen >= 7 && strcmp (key + klen - 7, ".locked") == 0)
    return moat_error (err, 0,
                       "\"%s\": a setting's lock is set by the administrator "
                       "in admin-settings.json; users cannot change it",
                       key);
  i = policy_setting_find (key);
  if (i < 0)
    {
      const char *hint = suggest (key, keys, n);
      if (hint != NULL)
        return moat_error (
            err, 0, "unknown setting \"%s\"; did you mean \"%s\"?", key, hint);
      return moat_error (err, 0,
                         "unknown setting \"%s\"; `moat settings show` "
                         "lists the settings",
                         key);
    }
  d = &policy_settings[i];
  if (admin != NULL && admin->locked[d->group])
    return moat_error (err, 0,
                       "\"%s\" is locked by the administrator "
                       "(%s.locked is true in admin-settings.json)",
                       d->key, policy_group_names[d->group]);
  v = value_from_text (i, value_text);
  if (v == NULL)
    return moat_error (err, 0, "\"%s\": the value is not valid UTF-8", d->key);
  if (d->check (v, d->key, &rep) < 0 || rep.n_errors > 0)
    {
      cleanup_free char *msg = NULL;
      size_t size = 0;
      FILE *f = open_memstream (&msg, &size);
      if (f != NULL)
        {
          for (size_t k = 0; k < rep.n; k++)
            if (rep.items[k].severity == POLICY_DIAG_ERROR)
              fprintf (f, "%s%s: %s", k > 0 ? "; " : "", rep.items[k].path,
                       rep.items[k].msg);
          fclose (f);
        }
      policy_report_free (&rep);
      json_decref (v);
      return moat_error (err, 0, "%s", msg != NULL ? msg : "invalid value");
    }
  policy_report_free (&rep);
  *value_out = v;
  return 0;
}
