/* Extension UIs on their own origins (docs/extensions.md, "The UI"): the
 * installed UI files, the storage generation, and the calls moatd makes
 * to a backend for the UI's ddClient.
 *
 * Nothing here knows HTTP serving; src/web serves, the daemon glues.
 * Errors follow common/error.h; nothing here exits. */
#ifndef MOAT_EXT_UI_H
#define MOAT_EXT_UI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "ext/ext.h"

#define EXT_UI_MAX_FILE (4 * 1024 * 1024)    /* a UI file served */
#define EXT_CALL_MAX_REPLY (4 * 1024 * 1024) /* a backend's answer */
#define EXT_CALL_TIMEOUT_MS 30000            /* a backend call, at most */
#define EXT_UI_GEN_LEN 32                    /* hex characters */

/* name is an installed extension's name (a DNS label). */
bool ext_ui_name_p (const char *name);

/* {"name","title","src","generation"} of an installed extension with a
 * UI, or NULL (not installed, no UI, damaged record).  The generation is
 * made at the first call after an install, kept by update, gone with rm
 * (the file <dir>/<name>/ui-generation): the browser's storage of the
 * origin is cleared when it changes. */
json_t *ext_ui_info (const char *dir, const char *name);

/* ext_ui_info of every installed extension with a UI. */
json_t *ext_ui_list (const char *dir);

/* Open rel (a decoded URL path without its leading '/') inside the
 * extension's installed UI directory: resolved inside that directory
 * (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS |
 * RESOLVE_NO_XDEV), no ".." component, a regular file of at most
 * EXT_UI_MAX_FILE bytes.  0 and *fd, *size; -1 with errno (ENOENT for
 * anything that is not such a file, EFBIG). */
int ext_ui_open (const char *dir, const char *name, const char *rel, int *fd,
                 size_t *size);

/* A backend's answer. */
struct ext_reply
{
  int status;
  char ctype[128];
  char *body; /* malloc'd, NUL-terminated */
  size_t len;
};
void ext_reply_free (struct ext_reply *r);

/* An HTTP request to the backend of name, over its socket (ext_socket_open:
 * resolved in the container's root).  method: GET, POST, PUT, PATCH,
 * DELETE or HEAD; path: "/...", printable, no spaces.  Blocks up to
 * timeout_ms: call it from a worker thread, never moatd's loop. */
int ext_backend_call (const struct ext_ctx *c, const char *name,
                      const char *method, const char *path, const char *ctype,
                      const void *body, size_t len, int timeout_ms,
                      struct ext_reply *out, moat_error_t *err);

#endif
