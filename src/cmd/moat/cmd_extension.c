/* moat extension: validate, install, ls, update, rm.  Everything but
 * validating a local metadata.json goes to moatd, which reads images and
 * runs backends as root (docs/extensions.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "ctl/ctl.h"
#include "ext/metadata.h"

/* An install reads an image and waits for a backend: longer than the
 * usual control round trip. */
#define EXT_CTL_TIMEOUT_MS 180000

static void
usage (FILE *out)
{
  fprintf (
      out,
      "Usage: moat extension validate IMAGE|FILE\n"
      "       moat extension install IMAGE [-f]\n"
      "       moat extension ls [--json]\n"
      "       moat extension update IMAGE\n"
      "       moat extension rm NAME [--volumes]\n"
      "       moat extension call NAME METHOD PATH [--data STR]\n"
      "\n"
      "Extensions in Docker Desktop's extension image format.  NAME is\n"
      "the last component of the image's repository (acme/disk-usage ->\n"
      "disk-usage).  Images are read from the engine; moat pulls nothing.\n"
      "\n"
      "Subcommands:\n"
      "  validate  check metadata.json and the image labels; print every\n"
      "            problem as `error: JSON.PATH: message`; exit 1 if any.\n"
      "            A FILE (a path to a metadata.json) is checked without\n"
      "            moatd, labels excepted.\n"
      "  install   ask for confirmation (-f: do not ask; without a\n"
      "            terminal -f is required), read the image's files without\n"
      "            running it, install its UI and start its backend under\n"
      "            ECI on the guarded engine.  Any failure undoes it all.\n"
      "  ls        name, image, version, UI, backend state, host binaries;\n"
      "            --json prints the records.\n"
      "  update    replace an installed extension by another tag of the\n"
      "            same repository; its data and volumes are kept.\n"
      "  rm        remove its backend container, UI files and data;\n"
      "            its volumes only with --volumes (else they are named).\n"
      "  call      (root) call a route of the extension's sandboxed\n"
      "            JavaScript, as its UI does with\n"
      "            ddClient.extension.vm.service (PATH /hello or\n"
      "            /sandbox/hello); prints the body; exit 1 when the\n"
      "            status is 400 or more (the status goes to stderr).\n");
}

static int
call (struct moat_cli *cli, json_t *req, json_t **resp, moat_error_t *err)
{
  cleanup_close int fd = ctl_connect (&cli->paths, err);
  json_t *r = NULL;
  int ret;

  *resp = NULL;
  if (fd < 0)
    {
      json_decref (req);
      return moat_error_wrap (err, "is moatd running (moat up)?");
    }
  ret = ctl_send (fd, req, err);
  json_decref (req);
  if (ret < 0)
    return -1;
  ret = ctl_recv (fd, EXT_CTL_TIMEOUT_MS, &r, err);
  if (ret != 0)
    return ret < 0 ? -1 : moat_error (err, EPIPE, "moatd closed");
  if (!json_is_true (json_object_get (r, "ok")))
    {
      moat_error (err, 0, "%s",
                  json_string_value (json_object_get (r, "error"))
                      ?: "moatd refused");
      json_decref (r);
      return -1;
    }
  *resp = r;
  return 0;
}

static int
print_problems (const char *what, json_t *problems)
{
  size_t i;
  json_t *p;
  json_array_foreach (problems, i, p)
  {
    printf ("error: %s\n", json_string_value (p));
  }
  if (json_array_size (problems) == 0)
    {
      printf ("%s: valid\n", what);
      return 0;
    }
  printf ("%s: invalid (%zu problems)\n", what, json_array_size (problems));
  return 1;
}

static int
cmd_validate (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  struct stat st;
  json_t *resp = NULL;
  int rc;

  if (argc != 2)
    return moat_error (err, EINVAL, "validate takes one IMAGE or FILE");
  if (stat (argv[1], &st) == 0 && S_ISREG (st.st_mode))
    {
      cleanup_free char *buf = NULL;
      struct ext_problems probs = { 0 };
      struct ext_meta m;
      json_t *list = json_array ();
      size_t len = 0;

      if (fs_read_file (argv[1], EXT_META_MAX + 1, &buf, &len, err) < 0)
        {
          json_decref (list);
          if (moat_error_status (err) != EFBIG)
            return -1;
          moat_error_release (err);
          printf ("error: metadata.json: larger than %d bytes\n",
                  EXT_META_MAX);
          return 1;
        }
      ext_meta_parse (buf, len, NULL, &m, &probs);
      ext_meta_free (&m);
      for (size_t i = 0; i < probs.n; i++)
        json_array_append_new (list, json_string (probs.items[i]));
      ext_problems_free (&probs);
      rc = print_problems (argv[1], list);
      json_decref (list);
      return rc;
    }
  if (call (cli,
            json_pack ("{s:s, s:s}", "cmd", "extension.validate", "image",
                       argv[1]),
            &resp, err)
      < 0)
    return -1;
  rc = print_problems (argv[1], json_object_get (resp, "problems"));
  json_decref (resp);
  return rc;
}

/* Docker Desktop warns before an install; moat's own words, and what moat
 * does about each risk. */
static int
confirm (struct moat_cli *cli, const char *image, moat_error_t *err)
{
  char line[16];
  json_t *resp = NULL, *sb;

  if (!isatty (STDIN_FILENO))
    return moat_error (err, 0,
                       "installing `%s` needs a confirmation and stdin is not "
                       "a terminal; run with -f to install without asking",
                       image);
  /* What its sandboxed JavaScript would be granted, asked of moatd
   * (which reads the image and applies the administrator's pins). */
  if (call (cli,
            json_pack ("{s:s, s:s}", "cmd", "extension.validate", "image",
                       image),
            &resp, err)
      < 0)
    return -1;
  sb = json_object_get (resp, "sandbox");
  if (json_is_object (sb))
    {
      char *req = json_dumps (json_object_get (sb, "requestedScopes"),
                              JSON_COMPACT | JSON_SORT_KEYS);
      char *gr = json_dumps (json_object_get (sb, "grants"),
                             JSON_COMPACT | JSON_SORT_KEYS);
      fprintf (stderr,
               "It ships sandboxed JavaScript (%s) that requests the scopes\n"
               "  %s\nand would be granted\n  %s\n",
               json_string_value (json_object_get (sb, "script")) ?: "?",
               req ? req : "?", gr ? gr : "?");
      free (req);
      free (gr);
    }
  json_decref (resp);
  fprintf (stderr,
           "Extensions are third-party code.  `%s` may ship a UI that calls\n"
           "its backend and the Docker API, a backend that runs as a\n"
           "container (under moat's isolation), and programs that run on\n"
           "this machine as you.  Install it only if you trust its "
           "publisher.\n"
           "Install `%s`? [y/N] ",
           image, image);
  if (fgets (line, sizeof line, stdin) == NULL
      || (line[0] != 'y' && line[0] != 'Y'))
    return moat_error (err, 0, "not installed: not confirmed");
  return 0;
}

static int
cmd_install (struct moat_cli *cli, int argc, char **argv, moat_error_t *err,
             bool update)
{
  const char *image = NULL;
  bool force = false;
  json_t *resp = NULL, *e;

  for (int i = 1; i < argc; i++)
    {
      if (!update
          && (strcmp (argv[i], "-f") == 0 || strcmp (argv[i], "--force") == 0))
        force = true;
      else if (argv[i][0] == '-')
        return moat_error (err, EINVAL, "unknown option `%s`", argv[i]);
      else if (image == NULL)
        image = argv[i];
      else
        return moat_error (err, EINVAL, "one IMAGE only");
    }
  if (image == NULL)
    return moat_error (err, EINVAL, "%s IMAGE", update ? "update" : "install");
  if (!update && !force && confirm (cli, image, err) < 0)
    return -1;
  if (call (cli,
            json_pack ("{s:s, s:s}", "cmd",
                       update ? "extension.update" : "extension.install",
                       "image", image),
            &resp, err)
      < 0)
    return -1;
  e = json_object_get (resp, "extension");
  printf ("%s extension %s (%s)\n", update ? "updated" : "installed",
          json_string_value (json_object_get (e, "name")),
          json_string_value (json_object_get (e, "image")));
  {
    json_t *g = json_object_get (json_object_get (e, "sandbox"), "grants");
    if (json_is_object (g))
      {
        char *t = json_dumps (g, JSON_COMPACT | JSON_SORT_KEYS);
        printf ("sandbox scopes granted: %s\n", t ? t : "?");
        free (t);
      }
  }
  json_decref (resp);
  return 0;
}

static int
cmd_ls (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  bool as_json = argc == 2 && strcmp (argv[1], "--json") == 0;
  json_t *resp = NULL, *list, *e;
  size_t i;

  if (argc > 2 || (argc == 2 && !as_json))
    return moat_error (err, EINVAL, "ls [--json]");
  if (call (cli, json_pack ("{s:s}", "cmd", "extension.ls"), &resp, err) < 0)
    return -1;
  list = json_object_get (resp, "extensions");
  if (as_json)
    {
      char *s = json_dumps (list, JSON_INDENT (2));
      printf ("%s\n", s ? s : "[]");
      free (s);
      json_decref (resp);
      return 0;
    }
  printf ("%-20s %-32s %-10s %-4s %-8s %-12s %s\n", "NAME", "IMAGE", "VERSION",
          "UI", "BACKEND", "SANDBOX", "HOST BINARIES");
  json_array_foreach (list, i, e)
  {
    json_t *be = json_object_get (e, "backend");
    json_t *bins = json_object_get (e, "host_binaries");
    size_t j;
    printf (
        "%-20s %-32s %-10s %-4s %-8s ",
        json_string_value (json_object_get (e, "name")),
        json_string_value (json_object_get (e, "image")) ?: "?",
        json_string_value (json_object_get (e, "version")) ?: "?",
        json_string_value (json_object_get (json_object_get (e, "ui"), "src"))
            ? "yes"
            : "no",
        json_string_value (json_object_get (be, "state")) ?: "none");
    printf ("%-12s ", json_string_value (json_object_get (
                          json_object_get (e, "sandbox"), "state"))
                          ?: "-");
    for (j = 0; j < json_array_size (bins); j++)
      printf ("%s%s", j ? "," : "",
              json_string_value (json_array_get (bins, j)));
    printf ("%s\n", json_array_size (bins) ? "" : "-");
  }
  json_decref (resp);
  return 0;
}

static int
cmd_rm (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  const char *name = NULL;
  bool volumes = false;
  json_t *resp = NULL, *left;
  size_t i;

  for (int k = 1; k < argc; k++)
    {
      if (strcmp (argv[k], "--volumes") == 0)
        volumes = true;
      else if (argv[k][0] == '-')
        return moat_error (err, EINVAL, "unknown option `%s`", argv[k]);
      else if (name == NULL)
        name = argv[k];
      else
        return moat_error (err, EINVAL, "one NAME only");
    }
  if (name == NULL)
    return moat_error (err, EINVAL, "rm NAME [--volumes]");
  if (call (cli,
            json_pack ("{s:s, s:s, s:b}", "cmd", "extension.rm", "name", name,
                       "volumes", volumes),
            &resp, err)
      < 0)
    return -1;
  printf ("removed extension %s\n", name);
  left = json_object_get (resp, "volumes_left");
  if (json_array_size (left) > 0)
    {
      printf ("volumes left:");
      for (i = 0; i < json_array_size (left); i++)
        printf (" %s", json_string_value (json_array_get (left, i)));
      printf ("\n(remove them with `moat extension rm %s --volumes` before "
              "removing the extension, or `docker volume rm`)\n",
              name);
    }
  json_decref (resp);
  return 0;
}

static int
cmd_call (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  const char *pos[3] = { NULL, NULL, NULL };
  const char *data = NULL;
  json_t *resp = NULL, *req;
  size_t n = 0;
  int status;

  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--data") == 0 && i + 1 < argc)
        data = argv[++i];
      else if (argv[i][0] == '-' && argv[i][1] != 0)
        return moat_error (err, EINVAL, "unknown option `%s`", argv[i]);
      else if (n < 3)
        pos[n++] = argv[i];
      else
        return moat_error (err, EINVAL, "call NAME METHOD PATH [--data STR]");
    }
  if (n != 3)
    return moat_error (err, EINVAL, "call NAME METHOD PATH [--data STR]");
  req = json_pack ("{s:s, s:s, s:s, s:s}", "cmd", "extension.call", "name",
                   pos[0], "method", pos[1], "path", pos[2]);
  if (req != NULL && data != NULL)
    json_object_set_new (req, "data", json_string (data));
  if (req == NULL)
    return moat_error (err, EINVAL, "arguments must be UTF-8");
  if (call (cli, req, &resp, err) < 0)
    return -1;
  status = (int)json_integer_value (json_object_get (resp, "status"));
  fputs (json_string_value (json_object_get (resp, "body")) ?: "", stdout);
  printf ("\n");
  fflush (stdout); /* the body first, then the status on stderr */
  json_decref (resp);
  if (status >= 400)
    {
      fprintf (stderr, "moat: status %d\n", status);
      return 1;
    }
  return 0;
}

int
cli_extension (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  if (argc < 2 || cli_wants_help (argc, argv))
    {
      usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
  if (strcmp (argv[1], "validate") == 0)
    return cmd_validate (cli, argc - 1, argv + 1, err);
  if (strcmp (argv[1], "install") == 0)
    return cmd_install (cli, argc - 1, argv + 1, err, false);
  if (strcmp (argv[1], "update") == 0)
    return cmd_install (cli, argc - 1, argv + 1, err, true);
  if (strcmp (argv[1], "ls") == 0)
    return cmd_ls (cli, argc - 1, argv + 1, err);
  if (strcmp (argv[1], "rm") == 0)
    return cmd_rm (cli, argc - 1, argv + 1, err);
  if (strcmp (argv[1], "call") == 0)
    return cmd_call (cli, argc - 1, argv + 1, err);
  usage (stderr);
  return 2;
}
