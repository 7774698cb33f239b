/* Private to the ECI checks (src/engine/eci*.c): the helpers their files
 * share.  Every function here fills a struct eci_verdict and returns -1 on
 * refusal, as the public checks in eci.h do. */
#ifndef MOAT_ENGINE_ECI_INTERNAL_H
#define MOAT_ENGINE_ECI_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "engine/eci.h"
#include "policy/policy.h"

/* ---- eci.c: verdicts and Go-compatible JSON access ---- */

/* Fill v (status, rule, formatted message) and return -1. */
__attribute__ ((format (printf, 4, 5))) int eci_refuse (struct eci_verdict *v,
                                                        int status,
                                                        const char *rule,
                                                        const char *fmt, ...);

/* eci_refuse with 500 "out of memory". */
int eci_oom (struct eci_verdict *v);

/* The value Go would decode into `field` of obj (*out NULL when absent).
 * Returns -1 when two keys fold to the field (Go takes the last, jansson's
 * order is not the document's: refuse rather than guess). */
int eci_obj_get (json_t *obj, const char *field, json_t **out,
                 struct eci_verdict *v);

/* Set field to val (stolen) after removing every key that folds to it. */
int eci_obj_set_canonical (json_t *obj, const char *field, json_t *val);

/* The string's value, or "" for anything that is not a string. */
const char *eci_str_or_empty (json_t *j);

/* s is one of the NULL-terminated list. */
bool eci_in_list (const char *s, const char *const *list);

/* A request body that must be a JSON object of at most ECI_MAX_JSON_BODY
 * bytes (413 / 400 otherwise). */
int eci_parse_object (const char *body, size_t len, json_t **out,
                      struct eci_verdict *v);

/* The body to send: *out / *out_len malloc'd, compact. */
int eci_dump (json_t *root, char **out, size_t *out_len,
              struct eci_verdict *v);

/* ---- eci_bind.c: bind sources ---- */

/* Lexically clean an absolute path (like Go's filepath.Clean); malloc'd,
 * NULL on allocation failure. */
char *eci_lexical_clean (const char *path);

/* HostConfig.VolumesFrom: every source container's binds are checked as
 * binds of the new container of `image`, and each entry is rewritten to
 * the source's full id. */
int eci_check_volumes_from (const struct eci_config *cfg,
                            const struct policy *pol, json_t *hc,
                            const char *image, struct eci_verdict *v);

/* ---- eci_volume.c: drivers and local volume options ---- */

/* Where a driver name is used. */
enum eci_driver_kind
{
  ECI_DRV_VOLUME,
  ECI_DRV_NETWORK,
  ECI_DRV_IPAM,
  ECI_DRV_LOG,
};

/* A driver name as a request gives it (NULL, null or "" = the engine's
 * default): built in, or a plugin name the admin allows. */
int eci_check_driver (const struct policy *pol, enum eci_driver_kind kind,
                      json_t *name, struct eci_verdict *v);

/* Local-driver volume options {"type","o","device"}: none, tmpfs, or a
 * bind of a host path that passes as a bind source of `image`. */
int eci_check_driver_opts (const struct eci_config *cfg,
                           const struct policy *pol, json_t *opts,
                           const char *image, struct eci_verdict *v);

/* ---- eci_hostcfg.c: a create's HostConfig ---- */

/* Refuse a host namespace (`ns`: "pid", "network", ...). */
int eci_ns_refuse (struct eci_verdict *v, const char *ns);

/* Namespaces, Binds, Mounts, devices, cgroups, masks, OOM score, drivers,
 * VolumesFrom of HostConfig hc; socket binds are rewritten in place. */
int eci_check_host_config (const struct eci_config *cfg,
                           const struct policy *pol, json_t *hc,
                           const char *image, struct eci_verdict *v);

/* Add NET_RAW to CapDrop unless the create asks for it. */
int eci_drop_net_raw (json_t *hc, struct eci_verdict *v);

#endif
