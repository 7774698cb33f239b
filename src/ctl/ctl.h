/* Control protocol between the moat CLI and moatd.
 *
 * Transport: the unix socket paths->control_sock (mode 0660, group docker
 * when that group exists).  Framing: one JSON object per line, each way;
 * lines longer than CTL_MAX_LINE are refused.  moatd identifies the caller
 * with SO_PEERCRED.
 *
 * Requests {"cmd": NAME, ...}; responses {"ok": true, ...} or
 * {"ok": false, "error": "message"}.  Commands:
 *   ping                                  -> {"ok":true,"pid":N}
 *   status                                -> {"ok":true,"moatd":{...},
 *                                             "policy":{...},"errors":[...]}
 *   settings.show                         -> {"ok":true,"settings":[{"key",
 *                                             "value","source","locked"}]}
 *   settings.set {"key","value"}          -> value is the text the user typed
 *   signin.policy                         -> {"ok":true,"allowedOrgs":[...],
 *                                             "source":PATH}
 *   audit.list {"limit"?, "since_id"?}    -> {"ok":true,"records":[...]}
 *   audit.follow {"since_id"?}            -> a stream of {"record":{...}}
 *                                             lines until the client leaves
 *   policy.reload                         -> re-read the admin files now
 *                                             (and re-check every sign-in
 *                                             session in the directory)
 *   signin.login {"user","password"}      -> sign the caller's uid in; as
 *                                             signin.whoami, or ok:false
 *                                             "sign-in failed: ..."
 *   signin.logout                         -> {"ok":true,"signed_out":bool}
 *   signin.whoami                         -> {"ok":true,"signed_in":bool,
 *                                             "uid","user","orgs":[...],
 *                                             "allowedOrgs":[...],
 *                                             "enforced","satisfied",
 *                                             "expires_at"} (docs/signin.md)
 *   dashboard.ticket                      -> {"ok":true,"url":URL,
 *                                             "expires_in_s":60}: a one-time
 *                                             sign-in URL for the caller's
 *                                             uid (docs/dashboard.md)

 *   extension.validate {"image"}          -> {"ok":true,"valid":B,
 *                                             "problems":[...]}
 *   extension.install|update {"image"}    -> {"ok":true,"extension":{...}}
 *   extension.rm {"name","volumes"?}      -> {"ok":true,"volumes_left":[]}
 *   extension.ls                          -> {"ok":true,"extensions":[...]}
 */
#ifndef MOAT_CTL_CTL_H
#define MOAT_CTL_CTL_H

#include <jansson.h>

#include "common/error.h"
#include "common/paths.h"

#define CTL_MAX_LINE (1024 * 1024)

/* Connect to moatd's control socket; returns a CLOEXEC fd. */
int ctl_connect (const struct moat_paths *paths, moat_error_t *err);

/* Write one JSON object as a line. */
int ctl_send (int fd, json_t *msg, moat_error_t *err);

/* Read one line (up to CTL_MAX_LINE) and parse it. timeout_ms < 0 waits
 * forever.  Returns 0 and *msg, 1 on orderly EOF, -1 on error. */
int ctl_recv (int fd, int timeout_ms, json_t **msg, moat_error_t *err);

/* Round trip: connect, send, read one response.  When the response has
 * "ok": false, returns -1 with its "error" as the message. */
int ctl_call (const struct moat_paths *paths, json_t *req, json_t **resp,
              moat_error_t *err);
/* The same, waiting at most timeout_ms for the response (ctl_call: 30 s).
 * A refusal ("ok": false) is the one error with status 0. */
int ctl_call_timeout (const struct moat_paths *paths, json_t *req,
                      int timeout_ms, json_t **resp, moat_error_t *err);

#endif
