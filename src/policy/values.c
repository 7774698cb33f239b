/* The settings moat applies, their defaults, and one validator per kind of
 * value.  The admin file and `moat settings set` both go through these, so
 * a value a user may store is exactly a value an admin may write. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strutil.h"
#include "imageref.h"
#include "internal.h"
#include "netaddr.h"
#include "url.h"

const char *const policy_group_names[GROUP_N] = {
  "enhancedContainerIsolation", "containersProxy",
  "filesharingDirectories",     "extensionsEnabled",
  "onlyMarketplaceExtensions",  "extensionsPrivateMarketplace",
  "extensionSandboxGrants",
};

static int
want_type (const json_t *v, json_type t, const char *what, const char *path,
           struct policy_report *rep)
{
  bool ok = json_typeof (v) == t
            || (t == JSON_TRUE && json_typeof (v) == JSON_FALSE);
  if (ok)
    return 0;
  report_error (rep, path, "expected %s, found %s", what, json_type_desc (v));
  return -1;
}

static int
check_bool (const json_t *v, const char *path, struct policy_report *rep)
{
  return want_type (v, JSON_TRUE, "a boolean", path, rep);
}

static int
check_enum (const json_t *v, const char *path, struct policy_report *rep,
            const char *what, const char *a, const char *b)
{
  const char *cands[] = { a, b };
  const char *s, *hint;

  if (want_type (v, JSON_STRING, "a string", path, rep) < 0)
    return -1;
  s = json_string_value (v);
  if (strcmp (s, a) == 0 || strcmp (s, b) == 0)
    return 0;
  hint = suggest (s, cands, 2);
  if (hint != NULL)
    report_error (rep, path,
                  "invalid %s \"%s\"; expected \"%s\" or \"%s\"; "
                  "did you mean \"%s\"?",
                  what, s, a, b, hint);
  else
    report_error (rep, path, "invalid %s \"%s\"; expected \"%s\" or \"%s\"",
                  what, s, a, b);
  return -1;
}

static int
check_cmd_type (const json_t *v, const char *path, struct policy_report *rep)
{
  return check_enum (v, path, rep, "type", "allow", "deny");
}

static int
check_mode (const json_t *v, const char *path, struct policy_report *rep)
{
  return check_enum (v, path, rep, "mode", "manual", "system");
}

/* Run item() on every element of an array of strings. */
static int
each_string (const json_t *v, const char *path, struct policy_report *rep,
             int (*item) (const char *s, const char *ipath,
                          struct policy_report *rep))
{
  size_t i;
  json_t *e;
  int ret = 0;

  if (want_type (v, JSON_ARRAY, "an array of strings", path, rep) < 0)
    return -1;
  json_array_foreach (v, i, e)
  {
    cleanup_free char *ipath = path_index (path, i);
    if (!json_is_string (e))
      {
        report_error (rep, ipath, "expected a string, found %s",
                      json_type_desc (e));
        ret = -1;
        continue;
      }
    if (item (json_string_value (e), ipath, rep) < 0)
      ret = -1;
  }
  return ret;
}

static int
image_item (const char *s, const char *path, struct policy_report *rep)
{
  cleanup_error moat_error_t err = NULL;
  struct imageref_pattern p;

  if (imageref_pattern_parse (s, &p, &err) < 0)
    {
      report_error (rep, path, "\"%s\" is not a valid image reference: %s", s,
                    moat_error_msg (&err));
      return -1;
    }
  imageref_pattern_free (&p);
  if (strcmp (s, "*") == 0)
    report_warn (rep, path,
                 "\"*\" lets every image mount the Docker "
                 "socket");
  return 0;
}

static int
check_images (const json_t *v, const char *path, struct policy_report *rep)
{
  return each_string (v, path, rep, image_item);
}

/* Client-side commands: they never reach the socket as themselves, so
 * listing them would silently do nothing. */
static const char *const client_only[] = {
  "compose", "buildx", "context", "logout", "manifest", "trust",
  "stack",   "scout",  "init",    "debug",  "sbom",     "help",
};

static int
command_item (const char *s, const char *path, struct policy_report *rep)
{
  size_t n;
  const char *const *names = policy_command_names (&n);
  const char *hint;

  if (policy_command_known_p (s))
    return 0;
  for (size_t i = 0; i < sizeof client_only / sizeof client_only[0]; i++)
    if (strcmp (s, client_only[i]) == 0)
      {
        report_error (rep, path,
                      "\"%s\" runs in the docker client and never reaches "
                      "the socket as a command of its own; list the commands "
                      "it sends instead (e.g. \"container*\", \"image*\")",
                      s);
        return -1;
      }
  hint = report_full_p (rep) ? NULL : suggest (s, names, n);
  if (hint != NULL)
    report_error (rep, path,
                  "unknown docker command \"%s\"; did you mean "
                  "\"%s\"?",
                  s, hint);
  else
    report_error (rep, path,
                  "unknown docker command \"%s\"; `moat settings --help` "
                  "lists the accepted names",
                  s);
  return -1;
}

static int
check_commands (const json_t *v, const char *path, struct policy_report *rep)
{
  return each_string (v, path, rep, command_item);
}

#define DRIVER_NAME_MAX 128

bool
policy_driver_name_p (const char *s)
{
  return strstr (s, "..") == NULL
         && engine_name_p (s, strlen (s), DRIVER_NAME_MAX);
}

bool
policy_driver_allowed_p (const struct policy *p, const char *name)
{
  for (size_t i = 0; p != NULL && i < p->eci.n_drivers; i++)
    if (strcmp (p->eci.drivers[i], name) == 0)
      return true;
  return false;
}

static int
driver_item (const char *s, const char *path, struct policy_report *rep)
{
  if (policy_driver_name_p (s))
    return 0;
  report_error (rep, path,
                "\"%s\" is not a driver or plugin name: names are letters, "
                "digits, '_', '.' and '-', starting with a letter or digit, "
                "without \"..\"",
                s);
  return -1;
}

static int
check_drivers (const json_t *v, const char *path, struct policy_report *rep)
{
  return each_string (v, path, rep, driver_item);
}

static int
check_string (const json_t *v, const char *path, struct policy_report *rep,
              const char **out)
{
  if (want_type (v, JSON_STRING, "a string", path, rep) < 0)
    return -1;
  *out = json_string_value (v);
  return 0;
}

static int
check_proxy (const json_t *v, const char *path, struct policy_report *rep)
{
  cleanup_error moat_error_t err = NULL;
  struct policy_url u;
  const char *s;

  if (check_string (v, path, rep, &s) < 0)
    return -1;
  if (s[0] == '\0' || policy_proxy_url_parse (s, &u, &err) == 0)
    return 0;
  report_error (rep, path, "\"%s\" is not a valid proxy URL: %s", s,
                moat_error_msg (&err));
  return -1;
}

/* A file:// PAC follows the rules of admin-settings.json (one descriptor,
 * no symlinks, root-owned up to "/", a regular file): a PAC a non-root user
 * could change would let them route every container's traffic.  A file
 * that does not exist yet is accepted (moatd fails closed until it does);
 * one this caller may not open (a non-root validator) gets a warning. */
static int
check_pac_file (const char *url, const char *upath, const char *path,
                struct policy_report *rep)
{
  cleanup_error moat_error_t err = NULL;
  cleanup_free char *file = pct_decode (upath, strlen (upath), true);
  const char *m, *tail;
  int fd;

  if (file == NULL)
    {
      report_error (rep, path,
                    "\"%s\" is not a valid PAC URL: a malformed "
                    "%%-escape",
                    url);
      return -1;
    }
  fd = fs_open_trusted (file, NULL, &err);
  if (fd >= 0)
    {
      close (fd);
      return 0;
    }
  if (moat_error_status (&err) == ENOENT)
    return 0;
  if (moat_error_status (&err) == EACCES)
    {
      report_warn (rep, path, "could not check the PAC file: %s",
                   moat_error_msg (&err));
      return 0;
    }
  m = moat_error_msg (&err);
  tail = moat_error_status (&err) == EPERM
             ? strstr (m, ": Operation not permitted")
             : NULL;
  report_error (rep, path, "moat ignores this PAC file: %.*s",
                tail != NULL ? (int)(tail - m) : (int)strlen (m), m);
  return -1;
}

static int
check_pac (const json_t *v, const char *path, struct policy_report *rep)
{
  cleanup_error moat_error_t err = NULL;
  struct policy_url u;
  const char *s;

  if (check_string (v, path, rep, &s) < 0)
    return -1;
  if (s[0] == '\0')
    return 0;
  if (policy_pac_url_parse (s, &u, &err) < 0)
    {
      report_error (rep, path, "\"%s\" is not a valid PAC URL: %s", s,
                    moat_error_msg (&err));
      return -1;
    }
  if (u.scheme == POLICY_URL_FILE)
    return check_pac_file (s, u.path, path, rep);
  return 0;
}

static int
exclude_item (const char *s, const char *path, struct policy_report *rep)
{
  cleanup_error moat_error_t err = NULL;
  struct netaddr_exclude e;

  if (netaddr_exclude_parse (s, &e, &err) == 0)
    return 0;
  report_error (rep, path, "%s", moat_error_msg (&err));
  return -1;
}

static int
check_exclude (const json_t *v, const char *path, struct policy_report *rep)
{
  return each_string (v, path, rep, exclude_item);
}

static int
check_ports (const json_t *v, const char *path, struct policy_report *rep)
{
  cleanup_error moat_error_t err = NULL;
  uint8_t bitmap[65536 / 8];
  bool all;
  const char *s;

  if (check_string (v, path, rep, &s) < 0)
    return -1;
  if (netaddr_parse_ports (s, &all, bitmap, &err) == 0)
    return 0;
  report_error (rep, path, "\"%s\" is not a valid port list: %s", s,
                moat_error_msg (&err));
  return -1;
}

/* Lexically normalise an absolute path: collapse "//", drop "." and trailing
 * "/", resolve ".." (never above "/"). */
static char *
normalise_path (const char *s)
{
  char *out = malloc (strlen (s) + 2);
  size_t n = 0;

  if (out == NULL)
    return NULL;
  while (*s != '\0')
    {
      const char *end;
      size_t len;
      while (*s == '/')
        s++;
      end = strchrnul (s, '/');
      len = (size_t)(end - s);
      if (len == 0 || (len == 1 && s[0] == '.'))
        ;
      else if (len == 2 && s[0] == '.' && s[1] == '.')
        {
          while (n > 0 && out[n - 1] != '/')
            n--;
          if (n > 0)
            n--;
        }
      else
        {
          out[n++] = '/';
          memcpy (out + n, s, len);
          n += len;
        }
      s = end;
    }
  if (n == 0)
    out[n++] = '/';
  out[n] = '\0';
  return out;
}

/* moat's own directories, as component runs under any MOAT_ROOT: its
 * configuration, state (with the engine's data root), run directory
 * (sockets, the engine's exec root) and logs.  Longer runs first
 * ("var/run/moat" before "run/moat"). */
static const struct
{
  const char *name;
  const char *parts[3];
} own_dirs[] = {
  { "/etc/moat", { "etc", "moat", NULL } },
  { "/var/lib/moat", { "var", "lib", "moat" } },
  { "/var/run/moat", { "var", "run", "moat" } },
  { "/run/moat", { "run", "moat", NULL } },
  { "/var/log/moat", { "var", "log", "moat" } },
};

/* The moat directory a normalised absolute path is or lies in, or NULL.
 * Lexical (the setting is a list of names); the engine guard and moat-runc
 * resolve binds and refuse these directories through symlinks too. */
static const char *
own_dir_p (const char *norm)
{
  for (size_t d = 0; d < sizeof own_dirs / sizeof own_dirs[0]; d++)
    for (const char *p = norm; p != NULL && *p == '/'; p = strchr (p + 1, '/'))
      {
        const char *const *parts = own_dirs[d].parts;
        const char *q = p;
        size_t k = 0;
        for (; k < 3 && parts[k] != NULL; k++)
          {
            size_t l = strlen (parts[k]);
            if (q[0] != '/' || strncmp (q + 1, parts[k], l) != 0
                || (q[1 + l] != '/' && q[1 + l] != '\0'))
              break;
            q += 1 + l;
          }
        if (k == 3 || parts[k] == NULL)
          return own_dirs[d].name;
      }
  return NULL;
}

static int
dir_item (const char *s, const char *path, struct policy_report *rep)
{
  const char *own;
  cleanup_free char *norm = NULL;

  if (s[0] != '/')
    {
      report_error (rep, path, "\"%s\" is not an absolute path", s);
      return -1;
    }
  norm = normalise_path (s);
  if (norm == NULL)
    {
      rep->oom = true;
      return -1;
    }
  if (strcmp (norm, s) != 0)
    {
      /* The engine guard compares prefixes; "/home/../etc" must not be read
       * one way here and another way there. */
      report_error (rep, path, "\"%s\" is not normalised; write \"%s\"", s,
                    norm);
      return -1;
    }
  /* A shared moat directory would hand containers the engine's sockets,
   * the engine's data and moat's own policy and state. */
  own = own_dir_p (s);
  if (own != NULL)
    {
      report_error (rep, path,
                    "\"%s\" is moat's own directory (%s) or inside it; it "
                    "can never be shared",
                    s, own);
      return -1;
    }
  if (strcmp (s, "/") == 0)
    report_warn (rep, path,
                 "sharing \"/\" lets containers bind-mount every "
                 "host path");
  return 0;
}

static int
check_dirs (const json_t *v, const char *path, struct policy_report *rep)
{
  return each_string (v, path, rep, dir_item);
}

#define ECI "enhancedContainerIsolation"
#define DSM ECI ".dockerSocketMount"
#define CP "containersProxy"
/* extensionSandboxGrants: null (not pinned) or {NAME or "*": {scope:
 * {...}}}, the most an extension's sandbox may be granted
 * (docs/extensions.md "Grants"); the scope names and shapes are those of
 * moat.sandbox.requestedScopes. */
static int
check_string_array (const json_t *v, const char *path,
                    struct policy_report *rep)
{
  size_t i;
  json_t *x;
  if (!json_is_array (v))
    {
      report_error (rep, path, "expected an array of strings, found %s",
                    json_type_desc (v));
      return -1;
    }
  json_array_foreach (v, i, x)
  {
    if (!json_is_string (x) || json_string_length (x) == 0
        || json_string_length (x) > 1024)
      {
        report_error (rep, path,
                      "[%zu]: expected a string of 1 to 1024 "
                      "bytes",
                      i);
        return -1;
      }
  }
  return 0;
}

static int
check_sandbox_grants (const json_t *v, const char *path,
                      struct policy_report *rep)
{
  const char *name, *scope, *k;
  json_t *sc, *body, *x;
  int ret = 0;

  if (json_is_null (v))
    return 0;
  if (!json_is_object (v))
    {
      report_error (rep, path,
                    "expected null or an object of extension names, found %s",
                    json_type_desc (v));
      return -1;
    }
  json_object_foreach ((json_t *)v, name, sc)
  {
    size_t n = strlen (name);
    if (strcmp (name, "*") != 0
        && (n == 0 || n > 63
            || strspn (name, "abcdefghijklmnopqrstuvwxyz0123456789-") != n))
      {
        report_error (rep, path, "`%s`: not an extension name nor \"*\"",
                      name);
        ret = -1;
        continue;
      }
    if (!json_is_object (sc))
      {
        report_error (rep, path, "%s: expected an object of scopes, found %s",
                      name, json_type_desc (sc));
        ret = -1;
        continue;
      }
    json_object_foreach (sc, scope, body)
    {
      char sub[192];
      snprintf (sub, sizeof sub, "%s.%s.%.32s", path, name, scope);
      if (!json_is_object (body))
        {
          report_error (rep, sub, "expected an object, found %s",
                        json_type_desc (body));
          ret = -1;
          continue;
        }
      bool log_like = strcmp (scope, "log") == 0
                      || strcmp (scope, "sleep") == 0
                      || strcmp (scope, "storage") == 0;
      if (!log_like && strcmp (scope, "request") != 0
          && strcmp (scope, "docker") != 0)
        {
          report_error (rep, sub,
                        "unknown scope (request, log, sleep, "
                        "storage, docker)");
          ret = -1;
          continue;
        }
      json_object_foreach (body, k, x)
      {
        bool known
            = (strcmp (scope, "request") == 0
               && (strcmp (k, "urls") == 0 || strcmp (k, "methods") == 0))
              || (strcmp (scope, "docker") == 0
                  && strcmp (k, "commands") == 0);
        if (!known)
          {
            report_error (rep, sub, "unknown key `%s`", k);
            ret = -1;
          }
        else if (check_string_array (x, sub, rep) < 0)
          ret = -1;
      }
    }
  }
  return ret;
}

const struct setting_def policy_settings[] = {
  { ECI, ECI ".value", GROUP_ECI, check_bool, "true" },
  { DSM ".imageList.images", NULL, GROUP_ECI, check_images, "[]" },
  { DSM ".imageList.allowDerivedImages", NULL, GROUP_ECI, check_bool,
    "false" },
  { DSM ".commandList.type", NULL, GROUP_ECI, check_cmd_type, "\"deny\"" },
  { DSM ".commandList.commands", NULL, GROUP_ECI, check_commands, "[]" },
  { ECI ".allowedDrivers", NULL, GROUP_ECI, check_drivers, "[]" },
  { CP ".mode", NULL, GROUP_PROXY, check_mode, "\"manual\"" },
  { CP ".http", NULL, GROUP_PROXY, check_proxy, "\"\"" },
  { CP ".https", NULL, GROUP_PROXY, check_proxy, "\"\"" },
  { CP ".exclude", NULL, GROUP_PROXY, check_exclude, "[]" },
  { CP ".pac", NULL, GROUP_PROXY, check_pac, "\"\"" },
  { CP ".transparentPorts", NULL, GROUP_PROXY, check_ports, "\"\"" },
  { "filesharingDirectories", "filesharingDirectories.value",
    GROUP_FILESHARING, check_dirs, "[\"/home\", \"/tmp\"]" },
  { "extensionsEnabled", "extensionsEnabled.value", GROUP_EXT_ENABLED,
    check_bool, "true" },
  { "onlyMarketplaceExtensions", "onlyMarketplaceExtensions.value",
    GROUP_EXT_ONLY_MARKET, check_bool, "false" },
  { "extensionsPrivateMarketplace", "extensionsPrivateMarketplace.value",
    GROUP_EXT_PRIVATE_MARKET, check_bool, "false" },
  { "extensionSandboxGrants", "extensionSandboxGrants.value",
    GROUP_EXT_SANDBOX_GRANTS, check_sandbox_grants, "null" },
};
const size_t policy_n_settings
    = sizeof policy_settings / sizeof policy_settings[0];

_Static_assert(sizeof policy_settings / sizeof policy_settings[0] == SET_N,
               "policy_settings and enum setting_id differ");

int
policy_setting_find (const char *key)
{
  for (size_t i = 0; i < policy_n_settings; i++)
    {
      const struct setting_def *d = &policy_settings[i];
      if (strcmp (d->key, key) == 0
          || (d->file_path != NULL && strcmp (d->file_path, key) == 0))
        return (int)i;
    }
  return -1;
}

const char *const *
policy_setting_keys (size_t *n)
{
  static const char *const keys[] = {
    ECI,
    DSM ".imageList.images",
    DSM ".imageList.allowDerivedImages",
    DSM ".commandList.type",
    DSM ".commandList.commands",
    ECI ".allowedDrivers",
    CP ".mode",
    CP ".http",
    CP ".https",
    CP ".exclude",
    CP ".pac",
    CP ".transparentPorts",
    "filesharingDirectories",
    "extensionsEnabled",
    "onlyMarketplaceExtensions",
    "extensionsPrivateMarketplace",
    "extensionSandboxGrants",
  };
  _Static_assert(sizeof keys / sizeof keys[0]
                     == sizeof policy_settings / sizeof policy_settings[0],
                 "keys and policy_settings differ");
  *n = sizeof keys / sizeof keys[0];
  return keys;
}

const char *
policy_setting_canonical (const char *key)
{
  int i = policy_setting_find (key);
  return i < 0 ? NULL : policy_settings[i].key;
}
