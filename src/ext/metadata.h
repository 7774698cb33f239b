/* Docker Desktop's extension format: metadata.json at the image root and
 * the image labels (docs/extensions.md).  Everything here reads untrusted
 * bytes from an image: sizes are bounded, every path is refused unless it
 * stays inside the image, and every problem is named by its JSON path. */
#ifndef MOAT_EXT_METADATA_H
#define MOAT_EXT_METADATA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

#define EXT_META_MAX                                                          \
  (64 * 1024)           /* metadata.json larger than this: refused            \
                         */
#define EXT_NAME_MAX 63 /* one DNS label: <name>.ext.localhost */
#define EXT_MAX_PROBLEMS 64
#define EXT_MAX_BINARIES 32

/* Every problem found, "<json path>: <what is wrong>" each. */
struct ext_problems
{
  char *items[EXT_MAX_PROBLEMS];
  size_t n;
  bool truncated;
};

void ext_problems_add (struct ext_problems *p, const char *path,
                       const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
void ext_problems_free (struct ext_problems *p);
/* All problems on one line, "; "-separated (malloc'd, NULL on ENOMEM). */
char *ext_problems_join (const struct ext_problems *p);

/* The parsed metadata.  Paths are inside the image, normalised: no leading
 * '/', no "." or ".." components, no empty components. */
struct ext_meta
{
  char *icon;
  bool has_ui;
  char *ui_title;
  char *ui_root;
  char *ui_src;
  char *ui_socket; /* ui.dashboard-tab.backend.socket, may be NULL */
  char *vm_image;  /* ${DESKTOP_PLUGIN_IMAGE} substituted; NULL if none */
  char *vm_compose;
  char *vm_socket;                  /* vm.exposes.socket, may be NULL */
  char *binaries[EXT_MAX_BINARIES]; /* host.binaries[*].linux[*].path */
  size_t n_binaries;
  char *sandbox_script;   /* moat.sandbox.script, may be NULL */
  json_t *sandbox_scopes; /* moat.sandbox.requestedScopes, may be NULL */
};

void ext_meta_free (struct ext_meta *m);

/* Parse and check metadata.json bytes.  image (may be NULL: then
 * ${DESKTOP_PLUGIN_IMAGE} is left as written) is what the placeholder
 * stands for.  Returns 0 when there is no problem, -1 with every problem
 * in probs (and *out partly filled: free it either way). */
int ext_meta_parse (const char *buf, size_t len, const char *image,
                    struct ext_meta *out, struct ext_problems *probs);

/* The image's labels (Config.Labels, an object or null): the five labels
 * Docker requires, each a non-empty string.  Problems are named
 * `labels["<label>"]`.  Returns 0 or -1. */
int ext_labels_check (const json_t *labels, struct ext_problems *probs);

/* A path inside the image: accepts "ui", "/ui", "./ui/x"; refuses "..",
 * a NUL or backslash, an empty result (the image root itself), and more
 * than 255 bytes.  Returns the normalised copy or NULL (errno EINVAL or
 * ENOMEM). */
char *ext_image_path (const char *p);

/* NAME of the extension an image reference names: the last component of
 * its repository ("acme/disk-usage:1.0" -> "disk-usage").  It must be a DNS
 * label (lower-case letters, digits, '-', not at either end, at most 63):
 * it becomes the UI's origin.  Returns 0 or -1 with *err. */
int ext_name_from_image (const char *image, char *out, size_t outsz,
                         moat_error_t *err);

/* The reference with its tag made explicit ("acme/x" -> "acme/x:latest",
 * "docker.io/acme/x:1" -> "acme/x:1"); a digest reference is kept as it
 * is.  malloc'd, NULL on ENOMEM. */
char *ext_image_canonical (const char *image);

#endif
