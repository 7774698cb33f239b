/* Settings management: admin-settings.json (version 2) + unlocked user
 * overrides + defaults -> one effective, immutable policy.
 *
 * Accepts exactly the format of DESIGN.md.  Refuses (as errors naming the
 * JSON path): unknown keys (with a "did you mean"), wrong types, unsupported
 * configurationFileVersion, invalid commandList.type or command names,
 * image references that do not parse, bad CIDRs, port lists, proxy/PAC URLs,
 * files that are not UTF-8, start with a BOM, or are writable by non-root.
 * Keys of Docker Desktop's own admin-settings.json that moat does not apply
 * are warnings.  A typo never silently weakens policy. */
#ifndef MOAT_POLICY_POLICY_H
#define MOAT_POLICY_POLICY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/paths.h"
#include "imageref.h"
#include "netaddr.h"
#include "url.h"

/* Largest admin-settings.json / registry.json moat reads. */
#define POLICY_MAX_FILE_SIZE (1024 * 1024)

enum policy_diag_severity
{
  POLICY_DIAG_ERROR,
  POLICY_DIAG_WARNING,
};

struct policy_diag
{
  enum policy_diag_severity severity;
  char *path; /* JSON path, e.g. "containersProxy.exclude[1]"; "" = file */
  char *msg;
};

struct policy_report
{
  struct policy_diag *items;
  size_t n;
  size_t n_errors;
  bool oom;       /* a diagnostic could not be recorded */
  size_t dropped; /* diagnostics beyond POLICY_MAX_DIAGS, not recorded */
};

/* A hostile file cannot make the report grow without bound. */
#define POLICY_MAX_DIAGS 200

/* Record one diagnostic (path NULL: "?").  Counts every error; past
 * POLICY_MAX_DIAGS it counts the diagnostic as dropped instead, and on an
 * allocation failure sets oom: it never fails. */
void policy_report_add (struct policy_report *rep,
                        enum policy_diag_severity sev, const char *path,
                        const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));
void policy_report_free (struct policy_report *r);
/* "error: containersProxy.exclude[1]: ..." lines, one per diagnostic. */
char *policy_report_format (const struct policy_report *r);
/* The diagnostics of one severity as a JSON array of {path, message}
 * (what `--json` prints); NULL when out of memory. */
json_t *policy_report_json (const struct policy_report *r,
                            enum policy_diag_severity sev);

enum policy_source
{
  POLICY_SRC_DEFAULT,
  POLICY_SRC_ADMIN,
  POLICY_SRC_USER,
  POLICY_SRC_FLEET, /* the admin's values, from a signed fleet copy */
};
/* "default", "admin", "user", "fleet" */
const char *policy_source_name (enum policy_source s);

enum policy_cmdlist_type
{
  POLICY_CMDLIST_DENY,
  POLICY_CMDLIST_ALLOW,
};

enum policy_proxy_mode
{
  POLICY_PROXY_SYSTEM,
  POLICY_PROXY_MANUAL,
};

/* auditExport (docs/audit-export.md): admin-only, no user override. */
enum policy_syslog_transport
{
  POLICY_SYSLOG_NONE,
  POLICY_SYSLOG_UNIX, /* "unix:/dev/log": a datagram socket */
  POLICY_SYSLOG_UDP,  /* RFC 5426 */
  POLICY_SYSLOG_TCP,  /* RFC 6587, octet-counted framing */
};

struct policy_audit_export
{
  bool enabled; /* syslog or journald */
  enum policy_syslog_transport syslog;
  char syslog_target[512];         /* as written; "" = none */
  char host[NETADDR_HOST_MAX + 1]; /* UDP/TCP: name or address */
  uint16_t port;                   /* UDP/TCP */
  char path[108];                  /* UNIX: the socket */
  int facility;                    /* 0-23; default 4 (auth) */
  bool journald;                   /* native journal protocol */
  char journal_socket[108];        /* default /run/systemd/journal/socket */
  size_t max_message;              /* bytes per message; default 8192 */
};

/* Parse and validate an auditExport object (at JSON path `path`) into *x,
 * every problem into rep.  Returns 0 when valid.  v NULL: the defaults
 * (nothing exported). */
int policy_audit_export_parse (const json_t *v, struct policy_audit_export *x,
                               const char *path, struct policy_report *rep);
/* "auth", "local0", ...; NULL for a number that is no facility. */
const char *policy_syslog_facility_name (int facility);

/* The effective policy.  Built once, never mutated; a reload builds a new
 * one.  Consumers read the fields directly. */
struct policy
{
  struct
  {
    bool enabled;
    bool locked;
    char **images; /* as written, already validated */
    size_t n_images;
    struct imageref_pattern *image_patterns; /* images[i], parsed */
    bool allow_derived_images;
    enum policy_cmdlist_type cmd_type;
    char **commands; /* CLI command names or group wildcards ("image*") */
    size_t n_commands;
    /* Engine plugins and non-default built-in drivers (macvlan, syslog...)
     * the admin allows, by name (policy_driver_name_p holds for each). */
    char **drivers;
    size_t n_drivers;
  } eci;
  struct
  {
    bool locked;
    enum policy_proxy_mode mode;
    char *http;  /* "" = none */
    char *https; /* "" = none */
    char *pac;   /* "" = none */
    char **exclude;
    size_t n_exclude;
    struct netaddr_exclude *excludes; /* exclude[i], parsed */
    /* http/https parsed; valid only when the string is not "". */
    struct policy_url http_url;
    struct policy_url https_url;
    char *transparent_ports; /* as written: "*" or "80,443,8000-8100" */
    bool all_ports;
    uint8_t port_bitmap[65536 / 8]; /* bit p set = port p intercepted */
  } proxy;
  struct
  {
    bool locked;
    char **dirs; /* absolute, normalised, no trailing slash */
    size_t n_dirs;
  } filesharing;
  /* Docker Desktop's extension keys (src/ext applies them). */
  struct
  {
    bool enabled;
    bool only_marketplace;
    bool private_marketplace;
    /* extensionSandboxGrants: {NAME or "*": scopes}, NULL when not set
     * (docs/extensions.md "Grants"). */
    json_t *sandbox_grants;
  } extensions;
  struct policy_audit_export audit_export;
  /* For `moat settings show`: [{"key","value","source","locked"}...]. */
  json_t *settings;
};

/* The parsed admin file (or defaults when there is none). Opaque. */
struct policy_admin;

/* Parse and validate admin-settings.json bytes.  Returns 0 and *out when
 * there are no errors (warnings may be in rep); -1 with rep filled when the
 * document is invalid, or with *err set for other failures. */
int policy_admin_parse (const char *buf, size_t len, struct policy_admin **out,
                        struct policy_report *rep, moat_error_t *err);

/* Read paths->admin_settings with size, ownership and permission checks and
 * parse it.  A missing file gives the defaults (and *out is still set). */
int policy_admin_load (const struct moat_paths *paths,
                       struct policy_admin **out, struct policy_report *rep,
                       moat_error_t *err);

/* Like policy_admin_load for any file (`moat settings validate FILE`).
 * Ownership is checked up to stop_at; when owner_errors is false a file
 * writable by non-root is a warning (a draft outside /etc/moat), else an
 * error.  A missing file is an error (*err). */
int policy_admin_load_file (const char *path, const char *stop_at,
                            bool owner_errors, struct policy_admin **out,
                            struct policy_report *rep, moat_error_t *err);

/* True when the admin file existed (false: built-in defaults only). */
bool policy_admin_present_p (const struct policy_admin *a);

/* Mark a as a verified fleet copy (docs/fleet.md): its values show as
 * source "fleet" in the effective policy's settings rows. */
void policy_admin_set_fleet (struct policy_admin *a);

void policy_admin_free (struct policy_admin *a);

/* The setting keys users and `moat settings show` name, in display order
 * ("enhancedContainerIsolation", "containersProxy.http", ...). */
const char *const *policy_setting_keys (size_t *n);

/* The canonical key for a user-typed key ("enhancedContainerIsolation.value"
 * -> "enhancedContainerIsolation"), or NULL when it is not a setting. */
const char *policy_setting_canonical (const char *key);

/* Docker CLI command names and group wildcards ("image*") accepted in
 * dockerSocketMount.commandList.commands; the engine guard maps API
 * requests to these names. */
const char *const *policy_command_names (size_t *n);
bool policy_command_known_p (const char *name);

/* Effective policy from the admin file and user overrides (a JSON object
 * {"dotted.key": value} keyed by canonical keys, see
 * policy_setting_canonical).  admin may be NULL (defaults only).  Overrides
 * of keys that are locked, unknown or whose value no longer validates are
 * ignored (they can only exist if the admin locked a key after the user set
 * it, or after a downgrade): the result is never weaker than the admin's
 * file. */
int policy_build (const struct policy_admin *admin, json_t *overrides,
                  struct policy **out, moat_error_t *err);

void policy_free (struct policy *p);

/* Check a user's `moat settings set KEY VALUE`.  VALUE is parsed as JSON when
 * it is valid JSON, else taken as a string (for a string setting, non-string
 * JSON is taken as its text: "443" stays "443").  admin may be NULL.
 * Refuses unknown keys (did you mean), "<group>.locked", locked keys ("...
 * is locked by the administrator ...") and invalid values (the same
 * validators as the file; the message names the key/element path).  On
 * success *value_out holds the value to store under
 * policy_setting_canonical (KEY). */
int policy_check_override (const struct policy_admin *admin, const char *key,
                           const char *value_text, json_t **value_out,
                           moat_error_t *err);

/* A name the engine may look a plugin up by without leaving its plugin
 * directories: [A-Za-z0-9][A-Za-z0-9_.-]*, no "..", at most 128 bytes.
 * The engine joins a driver name to /run/docker/plugins/ lexically, so
 * anything else could name a socket anywhere on the host. */
bool policy_driver_name_p (const char *name);

/* True when the admin allows driver or plugin `name`
 * (enhancedContainerIsolation.allowedDrivers). */
bool policy_driver_allowed_p (const struct policy *p, const char *name);

/* Parse p->proxy's strings (exclude, http, https, transparentPorts) into
 * its typed fields (excludes, http_url, https_url, all_ports and
 * port_bitmap) with the one parser of each (url.h, netaddr.h).
 * policy_build does it; a caller that fills a struct policy by hand (the
 * net guard's test runner, unit tests) calls it too.  p->proxy.excludes is
 * allocated when NULL (free it, or policy_free a built policy).  Refuses a
 * value the validator would refuse, naming it. */
int policy_proxy_parse (struct policy *p, moat_error_t *err);

/* True when port is intercepted by the net guard. */
bool policy_port_intercepted (const struct policy *p, uint16_t port);

/* "a boolean", "a string", ... for the type errors of a JSON path report
 * (the settings validator's, and the extension metadata checker's). */
const char *json_type_desc (const json_t *v);

#endif
