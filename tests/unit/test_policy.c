/* Unit tests of admin-settings.json parsing, validation, the effective
 * policy and user overrides.  Every bad-input case asserts the exact JSON
 * path and message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "pac/fetch.h"
#include "policy/policy.h"

#ifndef FIXTURES
#define FIXTURES "tests/fixtures/settings"
#endif

static int
parse (const char *text, struct policy_report *rep)
{
  struct policy_admin *a = NULL;
  moat_error_t err = NULL;
  int r = policy_admin_parse (text, strlen (text), &a, rep, &err);
  assert_null (err);
  assert_true ((r == 0) == (a != NULL));
  policy_admin_free (a);
  return r;
}

/* The report has a diagnostic with exactly this severity, path and msg. */
static void
has (const struct policy_report *rep, enum policy_diag_severity sev,
     const char *path, const char *msg)
{
  for (size_t i = 0; i < rep->n; i++)
    if (rep->items[i].severity == sev && strcmp (rep->items[i].path, path) == 0
        && strcmp (rep->items[i].msg, msg) == 0)
      return;
  for (size_t i = 0; i < rep->n; i++)
    fprintf (stderr, "  have %s: %s\n", rep->items[i].path, rep->items[i].msg);
  fail_msg ("missing diagnostic %s: %s", path, msg);
}

static void
bad (const char *text, const char *path, const char *msg)
{
  struct policy_report rep = { 0 };
  assert_int_equal (parse (text, &rep), -1);
  has (&rep, POLICY_DIAG_ERROR, path, msg);
  policy_report_free (&rep);
}

#define V2 "{\"configurationFileVersion\": 2, "

static char *
fixture (const char *name, size_t *len)
{
  char path[256];
  char *buf = NULL;
  moat_error_t err = NULL;
  snprintf (path, sizeof path, "%s/%s", FIXTURES, name);
  assert_int_equal (fs_read_file (path, 1 << 20, &buf, len, &err), 0);
  return buf;
}

static void
design_example_valid (void **state)
{
  size_t len;
  cleanup_free char *buf = fixture ("design-example.json", &len);
  struct policy_report rep = { 0 };
  struct policy_admin *a = NULL;
  struct policy *p = NULL;
  moat_error_t err = NULL;

  assert_int_equal (policy_admin_parse (buf, len, &a, &rep, &err), 0);
  assert_int_equal (rep.n, 0);
  assert_int_equal (policy_build (a, NULL, &p, &err), 0);
  assert_true (p->eci.enabled);
  assert_true (p->eci.locked);
  assert_int_equal (p->eci.n_images, 2);
  assert_string_equal (p->eci.images[1], "docker:cli");
  assert_true (p->eci.allow_derived_images);
  assert_int_equal (p->eci.cmd_type, POLICY_CMDLIST_DENY);
  assert_int_equal (p->eci.n_commands, 3);
  assert_string_equal (p->eci.commands[2], "image*");
  assert_int_equal (p->proxy.mode, POLICY_PROXY_MANUAL);
  assert_string_equal (p->proxy.pac, "http://127.0.0.1:8080/proxy.pac");
  assert_int_equal (p->proxy.n_exclude, 2);
  assert_true (policy_port_intercepted (p, 80));
  assert_true (policy_port_intercepted (p, 443));
  assert_false (policy_port_intercepted (p, 8080));
  assert_false (p->proxy.all_ports);
  assert_int_equal (p->filesharing.n_dirs, 2);
  assert_string_equal (p->filesharing.dirs[0], "/home");
  assert_true (policy_admin_present_p (a));
  /* Parsed forms for the guards. */
  {
    struct imageref r;
    assert_int_equal (imageref_parse ("localstack/localstack:3", &r, &err), 0);
    assert_true (imageref_pattern_match (&p->eci.image_patterns[0], &r));
    assert_false (imageref_pattern_match (&p->eci.image_patterns[1], &r));
    imageref_free (&r);
    assert_true (
        netaddr_exclude_match (&p->proxy.excludes[1], "10.2.3.4", 80));
    assert_true (netaddr_exclude_match (&p->proxy.excludes[0],
                                        "internal.company.com", 80));
  }
  policy_free (p);
  policy_admin_free (a);
}

static void
docker_desktop_file_warns (void **state)
{
  size_t len;
  cleanup_free char *buf = fixture ("docker-desktop.json", &len);
  struct policy_report rep = { 0 };
  struct policy_admin *a = NULL;
  moat_error_t err = NULL;

  assert_int_equal (policy_admin_parse (buf, len, &a, &rep, &err), 0);
  assert_int_equal (rep.n_errors, 0);
  has (&rep, POLICY_DIAG_WARNING, "kubernetes",
       "Docker Desktop setting that moat does not apply; ignored");
  has (&rep, POLICY_DIAG_WARNING, "exposeDockerAPIOnTCP2375",
       "Docker Desktop setting that moat does not apply; ignored (moat "
       "never exposes the Docker API on TCP)");
  has (&rep, POLICY_DIAG_WARNING, "containersProxy.embeddedPac",
       "Docker Desktop setting that moat does not apply; ignored (it is "
       "empty)");
  has (&rep, POLICY_DIAG_WARNING, "enableInferenceGPUVariant",
       "Docker Desktop setting that moat does not apply; ignored");
  /* The extension keys are applied now, not warned about. */
  for (size_t i = 0; i < rep.n; i++)
    assert_null (strstr (rep.items[i].path, "xtensionsEnabled"));
  {
    struct policy *p = NULL;
    assert_int_equal (policy_build (a, NULL, &p, &err), 0);
    assert_false (p->extensions.enabled);
    assert_false (p->extensions.only_marketplace);
    policy_free (p);
  }
  policy_report_free (&rep);
  policy_admin_free (a);
}

static void
many_problems_all_reported (void **state)
{
  size_t len;
  cleanup_free char *buf = fixture ("bad-many.json", &len);
  struct policy_report rep = { 0 };
  struct policy_admin *a = NULL;
  moat_error_t err = NULL;

  assert_int_equal (policy_admin_parse (buf, len, &a, &rep, &err), -1);
  assert_null (a);
  assert_int_equal (rep.n_errors, 21);
  has (&rep, POLICY_DIAG_ERROR, "containersProxy.exclude[1]",
       "\"10.0.0.0/33\" is not a valid IP address, CIDR or host name: "
       "prefix 33 is larger than 32");
  has (&rep, POLICY_DIAG_ERROR, "fileSharingDirectories",
       "unknown key \"fileSharingDirectories\"; did you mean "
       "\"filesharingDirectories\"?");
  policy_report_free (&rep);
}

static void
version_checks (void **state)
{
  bad ("{}", "configurationFileVersion",
       "missing; moat reads version 2 (\"configurationFileVersion\": 2)");
  bad ("{\"configurationFileVersion\": 3}", "configurationFileVersion",
       "unsupported version 3; moat reads version 2");
  bad ("{\"configurationFileVersion\": \"2\"}", "configurationFileVersion",
       "expected the number 2, found a string");
}

static void
wrong_types (void **state)
{
  bad (V2 "\"enhancedContainerIsolation\": true}",
       "enhancedContainerIsolation",
       "expected an object {\"locked\": ..., \"value\": ...}, found a "
       "boolean");
  bad (V2 "\"enhancedContainerIsolation\": {\"locked\": true, \"value\": "
          "\"yes\"}}",
       "enhancedContainerIsolation.value",
       "expected a boolean, found a string");
  bad (V2 "\"containersProxy\": {\"locked\": 1}}", "containersProxy.locked",
       "expected a boolean, found a number");
  bad (V2 "\"containersProxy\": {\"locked\": true, \"exclude\": "
          "\"a.com\"}}",
       "containersProxy.exclude",
       "expected an array of strings, found a string");
  bad (V2 "\"filesharingDirectories\": {\"locked\": true, \"value\": "
          "[\"/a\", null]}}",
       "filesharingDirectories.value[1]", "expected a string, found null");
  bad (V2 "\"enhancedContainerIsolation\": {\"locked\": true, "
          "\"dockerSocketMount\": []}}",
       "enhancedContainerIsolation.dockerSocketMount",
       "expected an object, found an array");
}

static void
unknown_keys (void **state)
{
  bad (V2 "\"enhancedContainerIsolation\": {\"lockd\": true}}",
       "enhancedContainerIsolation.lockd",
       "unknown key \"lockd\"; did you mean \"locked\"?");
  bad (V2 "\"containersProxy\": {\"locked\": true, \"htps\": \"\"}}",
       "containersProxy.htps",
       "unknown key \"htps\"; did you mean \"https\"?");
  bad (V2 "\"enhancedContainerIsolation\": {\"locked\": true, "
          "\"dockerSocketMount\": {\"imagelist\": {}}}}",
       "enhancedContainerIsolation.dockerSocketMount.imagelist",
       "unknown key \"imagelist\"; did you mean \"imageList\"?");
  bad (V2 "\"zzz\": 1}", "zzz", "unknown key \"zzz\"");
  bad (V2 "\"containersProxy\": {\"locked\": true, \"embeddedPac\": "
          "\"function FindProxyForURL(u,h){return 'DIRECT';}\"}}",
       "containersProxy.embeddedPac",
       "moat does not run embedded PAC scripts; save the script to a file "
       "and set \"pac\": \"file:///path/to/proxy.pac\"");
}

static void
locked_missing_warns (void **state)
{
  struct policy_report rep = { 0 };
  assert_int_equal (
      parse (V2 "\"filesharingDirectories\": {\"value\": [\"/srv\"]}}", &rep),
      0);
  has (&rep, POLICY_DIAG_WARNING, "filesharingDirectories",
       "\"locked\" is missing, so this setting is a default that users may "
       "change");
  policy_report_free (&rep);
}

#define DSM(x)                                                                \
  V2 "\"enhancedContainerIsolation\": {\"locked\": true, "                    \
     "\"dockerSocketMount\": " x "}}"

static void
command_list (void **state)
{
  bad (DSM ("{\"commandList\": {\"type\": \"alow\"}}"),
       "enhancedContainerIsolation.dockerSocketMount.commandList.type",
       "invalid type \"alow\"; expected \"allow\" or \"deny\"; did you mean "
       "\"allow\"?");
  bad (DSM ("{\"commandList\": {\"type\": \"block\"}}"),
       "enhancedContainerIsolation.dockerSocketMount.commandList.type",
       "invalid type \"block\"; expected \"allow\" or \"deny\"");
  bad (DSM ("{\"commandList\": {\"commands\": [\"push\", \"pussh\"]}}"),
       "enhancedContainerIsolation.dockerSocketMount.commandList.commands[1]",
       "unknown docker command \"pussh\"; did you mean \"push\"?");
  bad (DSM ("{\"commandList\": {\"commands\": [\"images*\"]}}"),
       "enhancedContainerIsolation.dockerSocketMount.commandList.commands[0]",
       "unknown docker command \"images*\"; did you mean \"image*\"?");
  bad (DSM ("{\"commandList\": {\"commands\": [\"frobnicate\"]}}"),
       "enhancedContainerIsolation.dockerSocketMount.commandList.commands[0]",
       "unknown docker command \"frobnicate\"; `moat settings --help` lists "
       "the accepted names");
  bad (DSM ("{\"commandList\": {\"commands\": [\"compose\"]}}"),
       "enhancedContainerIsolation.dockerSocketMount.commandList.commands[0]",
       "\"compose\" runs in the docker client and never reaches the socket "
       "as a command of its own; list the commands it sends instead (e.g. "
       "\"container*\", \"image*\")");
}

static void
image_list (void **state)
{
  struct policy_report rep = { 0 };
  assert_int_equal (
      parse (
          DSM ("{\"imageList\": {\"images\": [\"*\", \"testcontainers/*:*\","
               " \"docker:cli\", \"alpine@sha256:"
               "0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
               "abcdef\", \"localhost:5000/x/y:1.0\"]}}"),
          &rep),
      0);
  has (&rep, POLICY_DIAG_WARNING,
       "enhancedContainerIsolation.dockerSocketMount.imageList.images[0]",
       "\"*\" lets every image mount the Docker socket");
  policy_report_free (&rep);
  bad (DSM ("{\"imageList\": {\"images\": [\"ok\", \"Docker:CLI\"]}}"),
       "enhancedContainerIsolation.dockerSocketMount.imageList.images[1]",
       "\"Docker:CLI\" is not a valid image reference: repository name must "
       "be lowercase");
  bad (DSM ("{\"imageList\": {\"images\": [\"alpine@sha256:abc\"]}}"),
       "enhancedContainerIsolation.dockerSocketMount.imageList.images[0]",
       "\"alpine@sha256:abc\" is not a valid image reference: digest "
       "`sha256:abc` must have exactly 64 lowercase hex digits");
  bad (DSM ("{\"imageList\": {\"images\": [\"a/*b\"]}}"),
       "enhancedContainerIsolation.dockerSocketMount.imageList.images[0]",
       "\"a/*b\" is not a valid image reference: `*` is allowed only as the "
       "whole image (\"*\"), the whole tag (\"NAME:*\") or the last path "
       "component (\"PREFIX/*\")");
  bad (DSM ("{\"imageList\": {\"allowDerivedImages\": \"yes\"}}"),
       "enhancedContainerIsolation.dockerSocketMount.imageList."
       "allowDerivedImages",
       "expected a boolean, found a string");
}

#define ECI_KEYS(x)                                                           \
  V2 "\"enhancedContainerIsolation\": {\"locked\": true, " x "}}"

/* enhancedContainerIsolation.allowedDrivers: plugin and driver names only;
 * a path (what the engine would join to its plugin directory) never. */
static void
allowed_drivers (void **state)
{
  struct policy_report rep = { 0 };
  struct policy_admin *a = NULL;
  struct policy *p = NULL;
  moat_error_t err = NULL;
  const char *ok = ECI_KEYS ("\"allowedDrivers\": [\"macvlan\", "
                             "\"my_nfs-plugin.v2\"]");
  assert_int_equal (policy_admin_parse (ok, strlen (ok), &a, &rep, &err), 0);
  assert_int_equal (policy_build (a, NULL, &p, &err), 0);
  assert_int_equal (p->eci.n_drivers, 2);
  assert_string_equal (p->eci.drivers[1], "my_nfs-plugin.v2");
  assert_true (policy_driver_allowed_p (p, "macvlan"));
  assert_false (policy_driver_allowed_p (p, "ipvlan"));
  policy_free (p);
  policy_admin_free (a);
  policy_report_free (&rep);
  bad (ECI_KEYS ("\"allowedDrivers\": [\"ok\", \"../../tmp/evil\"]"),
       "enhancedContainerIsolation.allowedDrivers[1]",
       "\"../../tmp/evil\" is not a driver or plugin name: names are letters, "
       "digits, '_', '.' and '-', starting with a letter or digit, without "
       "\"..\"");
  bad (ECI_KEYS ("\"allowedDrivers\": [\"vieux/sshfs:latest\"]"),
       "enhancedContainerIsolation.allowedDrivers[0]",
       "\"vieux/sshfs:latest\" is not a driver or plugin name: names are "
       "letters, digits, '_', '.' and '-', starting with a letter or digit, "
       "without \"..\"");
  bad (ECI_KEYS ("\"allowedDrivers\": \"macvlan\""),
       "enhancedContainerIsolation.allowedDrivers",
       "expected an array of strings, found a string");
  bad (ECI_KEYS ("\"allowedDriver\": []"),
       "enhancedContainerIsolation.allowedDriver",
       "unknown key \"allowedDriver\"; did you mean \"allowedDrivers\"?");
  assert_true (policy_driver_name_p ("json-file"));
  assert_false (policy_driver_name_p (""));
  assert_false (policy_driver_name_p ("a..b"));
  assert_false (policy_driver_name_p (".hidden"));
  assert_false (policy_driver_name_p ("a/b"));
}

#define CP(x) V2 "\"containersProxy\": {\"locked\": true, " x "}}"

static void
proxy_values (void **state)
{
  bad (CP ("\"exclude\": [\"a.com\", \"10.0.0.0/33\"]"),
       "containersProxy.exclude[1]",
       "\"10.0.0.0/33\" is not a valid IP address, CIDR or host name: "
       "prefix 33 is larger than 32");
  bad (CP ("\"exclude\": [\"300.1.1.1\"]"), "containersProxy.exclude[0]",
       "\"300.1.1.1\" is not a valid IP address, CIDR or host name: "
       "`300.1.1.1` is not an IPv4 or IPv6 address");
  bad (CP ("\"exclude\": [\"-bad.com\"]"), "containersProxy.exclude[0]",
       "\"-bad.com\" is not a valid IP address, CIDR or host name");
  bad (CP ("\"transparentPorts\": \"80,0,70000,90-10\""),
       "containersProxy.transparentPorts",
       "\"80,0,70000,90-10\" is not a valid port list: `0` is not a port "
       "number 1-65535; `70000` is not a port number 1-65535; port range "
       "`90-10` is empty (90 > 10)");
  bad (CP ("\"transparentPorts\": \"80,,443\""),
       "containersProxy.transparentPorts",
       "\"80,,443\" is not a valid port list: empty item");
  bad (CP ("\"http\": \"ftp://p:21\""), "containersProxy.http",
       "\"ftp://p:21\" is not a valid proxy URL: the scheme must be "
       "http://, https://, socks5://, socks5h:// or socks4://");
  bad (CP ("\"https\": \"http://p:99999\""), "containersProxy.https",
       "\"http://p:99999\" is not a valid proxy URL: port 99999 is out of "
       "range 1-65535");
  bad (CP ("\"http\": \"http://p:3128/path\""), "containersProxy.http",
       "\"http://p:3128/path\" is not a valid proxy URL: a proxy URL has no "
       "path, query or fragment (`/path`)");
  bad (CP ("\"pac\": \"gopher://x/p.pac\""), "containersProxy.pac",
       "\"gopher://x/p.pac\" is not a valid PAC URL: the scheme must be "
       "http://, https:// or file://");
  bad (CP ("\"pac\": \"file://relative/p.pac\""), "containersProxy.pac",
       "\"file://relative/p.pac\" is not a valid PAC URL: a file URL must "
       "be file:///absolute/path");
  bad (CP ("\"mode\": \"manul\""), "containersProxy.mode",
       "invalid mode \"manul\"; expected \"manual\" or \"system\"; did you "
       "mean \"manual\"?");
  struct policy_report rep = { 0 };
  assert_int_equal (
      parse (CP ("\"http\": \"http://u:p@proxy:3128\", \"https\": "
                 "\"socks5://[::1]:1080\", \"pac\": \"file:///etc/p.pac\", "
                 "\"exclude\": [\"*.corp\", \".x.org\", \"::1\", "
                 "\"fd00::/8\", \"a.b\"], \"transparentPorts\": \"*\""),
             &rep),
      0);
  policy_report_free (&rep);
}

static void
filesharing_paths (void **state)
{
  bad (V2 "\"filesharingDirectories\": {\"locked\": true, \"value\": "
          "[\"home\"]}}",
       "filesharingDirectories.value[0]", "\"home\" is not an absolute path");
  bad (V2 "\"filesharingDirectories\": {\"locked\": true, \"value\": "
          "[\"/tmp/../etc/\"]}}",
       "filesharingDirectories.value[0]",
       "\"/tmp/../etc/\" is not normalised; write \"/etc\"");
  bad (V2 "\"filesharingDirectories\": {\"locked\": true, \"value\": "
          "[\"/a//b\"]}}",
       "filesharingDirectories.value[0]",
       "\"/a//b\" is not normalised; write \"/a/b\"");
  /* moat's own directories, under any root, never */
  bad (V2 "\"filesharingDirectories\": {\"locked\": true, \"value\": "
          "[\"/run/moat\"]}}",
       "filesharingDirectories.value[0]",
       "\"/run/moat\" is moat's own directory (/run/moat) or inside it; it "
       "can never be shared");
  bad (V2 "\"filesharingDirectories\": {\"locked\": true, \"value\": "
          "[\"/tmp/moat-test-x/var/lib/moat/engine\"]}}",
       "filesharingDirectories.value[0]",
       "\"/tmp/moat-test-x/var/lib/moat/engine\" is moat's own directory "
       "(/var/lib/moat) or inside it; it can never be shared");
  bad (V2 "\"filesharingDirectories\": {\"locked\": true, \"value\": "
          "[\"/srv\", \"/var/run/moat/sockets\"]}}",
       "filesharingDirectories.value[1]",
       "\"/var/run/moat/sockets\" is moat's own directory (/var/run/moat) or "
       "inside it; it can never be shared");
  bad (V2 "\"filesharingDirectories\": {\"locked\": true, \"value\": "
          "[\"/etc/moat\"]}}",
       "filesharingDirectories.value[0]",
       "\"/etc/moat\" is moat's own directory (/etc/moat) or inside it; it "
       "can never be shared");
  {
    /* parents and look-alikes are fine: binds into moat's directories are
     * refused when they are checked */
    const char *fine[] = { "/",
                           "/var",
                           "/run",
                           "/home/moat",
                           "/run/moatx",
                           "/var/lib/moatdata",
                           "/tmp/moat-test-x" };
    for (size_t i = 0; i < sizeof fine / sizeof *fine; i++)
      {
        struct policy_report rep = { 0 };
        char doc[256];
        snprintf (doc, sizeof doc,
                  V2 "\"filesharingDirectories\": {\"value\": "
                     "[\"%s\"]}}",
                  fine[i]);
        if (parse (doc, &rep) != 0)
          fail_msg ("\"%s\" refused", fine[i]);
        policy_report_free (&rep);
      }
  }
  /* settings set: the same validator */
  {
    json_t *v = NULL;
    moat_error_t err = NULL;
    assert_int_equal (policy_check_override (NULL, "filesharingDirectories",
                                             "[\"/home\", \"/run/moat\"]", &v,
                                             &err),
                      -1);
    assert_non_null (strstr (moat_error_msg (&err),
                             "\"/run/moat\" is moat's own directory"));
    moat_error_release (&err);
    assert_null (v);
  }
}

static void
encoding_and_syntax (void **state)
{
  struct policy_report rep = { 0 };
  struct policy_admin *a = NULL;
  moat_error_t err = NULL;
  const char bom[] = "\xef\xbb\xbf{\"configurationFileVersion\": 2}";
  const char latin1[]
      = "{\"configurationFileVersion\": 2, \"x\": \"caf\xe9\"}";
  const char overlong[] = "{\"a\": \"\xc0\xaf\"}";

  assert_int_equal (policy_admin_parse (bom, sizeof bom - 1, &a, &rep, &err),
                    -1);
  has (&rep, POLICY_DIAG_ERROR, "",
       "the file starts with a UTF-8 byte order mark (BOM); save it as UTF-8 "
       "without a BOM");
  policy_report_free (&rep);
  assert_int_equal (
      policy_admin_parse (latin1, sizeof latin1 - 1, &a, &rep, &err), -1);
  has (&rep, POLICY_DIAG_ERROR, "",
       "the file is not valid UTF-8 (byte 0xe9 at line 1, column 42)");
  policy_report_free (&rep);
  assert_int_equal (
      policy_admin_parse (overlong, sizeof overlong - 1, &a, &rep, &err), -1);
  has (&rep, POLICY_DIAG_ERROR, "",
       "the file is not valid UTF-8 (byte 0xc0 at line 1, column 8)");
  policy_report_free (&rep);
  bad ("{\"configurationFileVersion\": 2, \"configurationFileVersion\": 2}",
       "",
       "invalid JSON at line 1, column 58: duplicate key "
       "\"configurationFileVersion\"");
  bad ("[1]", "", "the file must hold a JSON object, found an array");
  bad ("{", "",
       "invalid JSON at line 1, column 1: string or '}' expected near end of "
       "file");
}

static char *
make_root (void)
{
  char *root = strdup ("/tmp/moat-test-policy-XXXXXX");
  char *dir = NULL;
  assert_non_null (mkdtemp (root));
  assert_int_equal (chmod (root, 0755), 0);
  assert_true (asprintf (&dir, "%s/etc/moat", root) > 0);
  assert_int_equal (fs_mkdir_p (dir, 0755, NULL), 0);
  free (dir);
  return root;
}

static void
load_from_disk (void **state)
{
  cleanup_free char *root = make_root ();
  struct moat_paths paths;
  struct policy_report rep = { 0 };
  struct policy_admin *a = NULL;
  moat_error_t err = NULL;
  FILE *f;
  char cmd[512];

  assert_int_equal (moat_paths_init (&paths, root, &err), 0);
  /* No file: defaults, not present. */
  assert_int_equal (policy_admin_load (&paths, &a, &rep, &err), 0);
  assert_false (policy_admin_present_p (a));
  policy_admin_free (a);

  f = fopen (paths.admin_settings, "w");
  assert_non_null (f);
  fputs ("{\"configurationFileVersion\": 2}", f);
  fclose (f);
  assert_int_equal (chmod (paths.admin_settings, 0644), 0);
  if (geteuid () == 0)
    {
      assert_int_equal (policy_admin_load (&paths, &a, &rep, &err), 0);
      assert_true (policy_admin_present_p (a));
      policy_admin_free (a);
      assert_int_equal (chmod (paths.admin_settings, 0666), 0);
      assert_int_equal (policy_admin_load (&paths, &a, &rep, &err), -1);
      assert_null (a);
      {
        char *want = NULL;
        assert_true (asprintf (&want,
                               "moat ignores this file: `%s` is "
                               "writable by all users",
                               paths.admin_settings)
                     > 0);
        has (&rep, POLICY_DIAG_ERROR, "", want);
        free (want);
      }
      policy_report_free (&rep);
    }
  /* Larger than POLICY_MAX_FILE_SIZE. */
  assert_int_equal (chmod (paths.admin_settings, 0644), 0);
  assert_int_equal (truncate (paths.admin_settings, POLICY_MAX_FILE_SIZE + 1),
                    0);
  assert_int_equal (policy_admin_load (&paths, &a, &rep, &err), -1);
  has (&rep, POLICY_DIAG_ERROR, "", "the file is larger than 1048576 bytes");
  policy_report_free (&rep);
  moat_paths_free (&paths);
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", root);
  assert_int_equal (system (cmd), 0);
}

/* Hole 9: admin-settings.json is a symlink into a directory a user
 * controls, and the user swaps a root-owned strict file with their own
 * permissive one (renameat2 RENAME_EXCHANGE in a loop).  Checking by path
 * and then reading by path lets the user's file through now and then;
 * moat must never load it.  Bounded: 10 s, or until a load wins. */
static void
symlink_swap_race_never_wins (void **state)
{
  cleanup_free char *root = make_root ();
  char udir[] = "/tmp/moat-test-race-XXXXXX";
  char cur[64], alt[64], cmd[512];
  struct moat_paths paths;
  moat_error_t err = NULL;
  struct timespec t0, now;
  unsigned long tries = 0, refused = 0, won = 0;
  pid_t pid;
  FILE *f;

  if (geteuid () != 0)
    skip ();
  assert_int_equal (moat_paths_init (&paths, root, &err), 0);
  assert_non_null (mkdtemp (udir));
  assert_int_equal (chmod (udir, 0755), 0);
  snprintf (cur, sizeof cur, "%s/cur", udir);
  snprintf (alt, sizeof alt, "%s/alt", udir);
  f = fopen (cur, "w");
  assert_non_null (f);
  fputs ("{\"configurationFileVersion\": 2, \"enhancedContainerIsolation\": "
         "{\"locked\": true, \"value\": true}}",
         f);
  fclose (f);
  f = fopen (alt, "w");
  assert_non_null (f);
  fputs ("{\"configurationFileVersion\": 2, \"enhancedContainerIsolation\": "
         "{\"locked\": true, \"value\": false}}",
         f);
  fclose (f);
  assert_int_equal (chmod (cur, 0644), 0);
  assert_int_equal (chmod (alt, 0644), 0);
  assert_int_equal (chown (alt, 65534, 65534), 0);
  assert_int_equal (chown (udir, 65534, 65534), 0);
  assert_int_equal (symlink (cur, paths.admin_settings), 0);

  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      /* The user: owns udir, swaps the two names forever. */
      if (setgroups (0, NULL) < 0 || setgid (65534) < 0 || setuid (65534) < 0)
        _exit (2);
      for (;;)
        (void)renameat2 (AT_FDCWD, cur, AT_FDCWD, alt, RENAME_EXCHANGE);
    }
  clock_gettime (CLOCK_MONOTONIC, &t0);
  do
    {
      struct policy_report rep = { 0 };
      struct policy_admin *a = NULL;
      struct policy *p = NULL;
      moat_error_t e = NULL;

      tries++;
      if (policy_admin_load (&paths, &a, &rep, &e) == 0)
        {
          assert_int_equal (policy_build (a, NULL, &p, &e), 0);
          if (!p->eci.enabled)
            won++;
          policy_free (p);
        }
      else
        refused++;
      policy_admin_free (a);
      policy_report_free (&rep);
      moat_error_release (&e);
      clock_gettime (CLOCK_MONOTONIC, &now);
    }
  while (won == 0 && now.tv_sec - t0.tv_sec < 10);
  kill (pid, SIGKILL);
  waitpid (pid, NULL, 0);
  fprintf (stderr, "# race: %lu loads, %lu refused, %lu won by the user\n",
           tries, refused, won);
  assert_int_equal (won, 0);
  /* A symlink is refused, whichever file it points to at the moment. */
  assert_int_equal (refused, tries);
  unlink (paths.admin_settings);
  moat_paths_free (&paths);
  snprintf (cmd, sizeof cmd, "rm -rf '%s' '%s'", root, udir);
  assert_int_equal (system (cmd), 0);
}

/* Hole 10: a file:// PAC follows admin-settings.json's ownership rule, in
 * validation (the admin file, `moat settings validate`, `settings set`)
 * and when moatd loads it (pac_fetch). */
static void
pac_file_must_be_roots (void **state)
{
  char dir[] = "/tmp/moat-test-pac-XXXXXX";
  char pac[64], link[64], later[64], text[512], url[96], cmd[128];
  const char *body = "function FindProxyForURL(u, h) { return 'DIRECT'; }";
  struct policy_report rep = { 0 };
  moat_error_t err = NULL;
  char *got = NULL;
  size_t len;
  FILE *f;

  if (geteuid () != 0)
    skip ();
  assert_non_null (mkdtemp (dir));
  assert_int_equal (chmod (dir, 0755), 0);
  snprintf (pac, sizeof pac, "%s/proxy.pac", dir);
  snprintf (link, sizeof link, "%s/link.pac", dir);
  f = fopen (pac, "w");
  assert_non_null (f);
  fputs (body, f);
  fclose (f);
  assert_int_equal (chmod (pac, 0644), 0);
  assert_int_equal (symlink (pac, link), 0);
#define PAC_DOC(u)                                                            \
  (snprintf (text, sizeof text, CP ("\"pac\": \"file://%s\""), (u)), text)

  /* Root's file: valid, and loaded. */
  assert_int_equal (parse (PAC_DOC (pac), &rep), 0);
  policy_report_free (&rep);
  snprintf (url, sizeof url, "file://%s", pac);
  assert_int_equal (pac_fetch (url, 2000, &got, &len, &err), 0);
  assert_string_equal (got, body);
  free (got);
  got = NULL;
  /* A missing file is accepted (moatd fails closed until it exists). */
  snprintf (later, sizeof later, "%s/later.pac", dir);
  assert_int_equal (parse (PAC_DOC (later), &rep), 0);
  policy_report_free (&rep);

  /* A user's file: refused by validation and at load. */
  assert_int_equal (chown (pac, 65534, 65534), 0);
  {
    char want[256];
    snprintf (want, sizeof want,
              "moat ignores this PAC file: `%s` is owned by uid 65534, not "
              "root; a non-root user could change it",
              pac);
    assert_int_equal (parse (PAC_DOC (pac), &rep), -1);
    has (&rep, POLICY_DIAG_ERROR, "containersProxy.pac", want);
    policy_report_free (&rep);
  }
  assert_int_equal (pac_fetch (url, 2000, &got, &len, &err), -1);
  assert_null (got);
  assert_non_null (strstr (moat_error_msg (&err), "not root"));
  moat_error_release (&err);
  assert_int_equal (chown (pac, 0, 0), 0);
  /* A user's directory, a symlink, a FIFO: refused the same way. */
  assert_int_equal (chown (dir, 65534, 65534), 0);
  assert_int_equal (parse (PAC_DOC (pac), &rep), -1);
  policy_report_free (&rep);
  assert_int_equal (pac_fetch (url, 2000, &got, &len, &err), -1);
  moat_error_release (&err);
  assert_int_equal (chown (dir, 0, 0), 0);
  assert_int_equal (parse (PAC_DOC (link), &rep), -1);
  policy_report_free (&rep);
  snprintf (url, sizeof url, "file://%s", link);
  assert_int_equal (pac_fetch (url, 2000, &got, &len, &err), -1);
  assert_non_null (strstr (moat_error_msg (&err), "symbolic link"));
  moat_error_release (&err);
  unlink (link);
  assert_int_equal (mkfifo (link, 0644), 0);
  assert_int_equal (parse (PAC_DOC (link), &rep), -1);
  policy_report_free (&rep);
  assert_int_equal (pac_fetch (url, 2000, &got, &len, &err), -1);
  assert_non_null (strstr (moat_error_msg (&err), "FIFO"));
  moat_error_release (&err);
  /* A user may not point an unlocked pac at their own file either. */
  assert_int_equal (chown (pac, 65534, 65534), 0);
  {
    struct policy_admin *a = NULL;
    json_t *value = NULL;
    snprintf (url, sizeof url, "file://%s", pac);
    const char *unlocked = V2 "\"containersProxy\": {\"locked\": false}}";
    assert_int_equal (
        policy_admin_parse (unlocked, strlen (unlocked), &a, &rep, &err), 0);
    policy_report_free (&rep);
    assert_int_equal (
        policy_check_override (a, "containersProxy.pac", url, &value, &err),
        -1);
    assert_non_null (strstr (moat_error_msg (&err), "not root"));
    moat_error_release (&err);
    json_decref (value);
    policy_admin_free (a);
  }
#undef PAC_DOC
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal (system (cmd), 0);
}

static const char *
row_field (const struct policy *p, const char *key, const char *field)
{
  size_t i;
  json_t *row;
  json_array_foreach (p->settings, i, row)
  {
    if (strcmp (json_string_value (json_object_get (row, "key")), key) == 0)
      {
        json_t *v = json_object_get (row, field);
        if (json_is_string (v))
          return json_string_value (v);
        return json_is_true (v) ? "true" : "false";
      }
  }
  return NULL;
}

static void
effective_precedence (void **state)
{
  const char *text
      = V2 "\"containersProxy\": {\"locked\": false, \"http\": "
           "\"http://admin:3128\", \"transparentPorts\": \"80\"}, "
           "\"enhancedContainerIsolation\": {\"locked\": true, \"value\": "
           "true}}";
  struct policy_report rep = { 0 };
  struct policy_admin *a = NULL;
  struct policy *p = NULL;
  moat_error_t err = NULL;
  json_t *ov = json_pack ("{s:s, s:b, s:s, s:s}", "containersProxy.http",
                          "http://user:8080", "enhancedContainerIsolation", 0,
                          "containersProxy.transparentPorts", "99999",
                          "filesharingDirectories", "/x");

  assert_int_equal (policy_admin_parse (text, strlen (text), &a, &rep, &err),
                    0);
  assert_int_equal (policy_build (a, ov, &p, &err), 0);
  /* user beats admin unlocked */
  assert_string_equal (p->proxy.http, "http://user:8080");
  assert_string_equal (p->proxy.http_url.host, "user");
  assert_int_equal (p->proxy.http_url.port, 8080);
  assert_string_equal (row_field (p, "containersProxy.http", "source"),
                       "user");
  /* admin locked beats user */
  assert_true (p->eci.enabled);
  assert_string_equal (row_field (p, "enhancedContainerIsolation", "source"),
                       "admin");
  assert_string_equal (row_field (p, "enhancedContainerIsolation", "locked"),
                       "true");
  /* sub-keys inherit the lock: default, but locked */
  assert_string_equal (
      row_field (p,
                 "enhancedContainerIsolation.dockerSocketMount.commandList."
                 "type",
                 "source"),
      "default");
  assert_string_equal (
      row_field (p,
                 "enhancedContainerIsolation.dockerSocketMount.commandList."
                 "type",
                 "locked"),
      "true");
  /* an invalid stored override falls back to the admin value */
  assert_string_equal (p->proxy.transparent_ports, "80");
  assert_true (policy_port_intercepted (p, 80));
  /* an override of the wrong type is dropped: moat's default stays */
  assert_int_equal (p->filesharing.n_dirs, 2);
  assert_string_equal (row_field (p, "filesharingDirectories", "source"),
                       "default");
  /* 16 of Docker Desktop's and extensionSandboxGrants */
  assert_int_equal (json_array_size (p->settings), 17);
  policy_free (p);
  policy_admin_free (a);
  json_decref (ov);
  policy_report_free (&rep);
}

static void
defaults (void **state)
{
  struct policy *p = NULL;
  moat_error_t err = NULL;
  assert_int_equal (policy_build (NULL, NULL, &p, &err), 0);
  assert_true (p->eci.enabled);
  assert_false (p->eci.locked);
  assert_int_equal (p->eci.n_images, 0);
  assert_int_equal (p->eci.cmd_type, POLICY_CMDLIST_DENY);
  assert_int_equal (p->proxy.mode, POLICY_PROXY_MANUAL);
  assert_string_equal (p->proxy.http, "");
  assert_false (policy_port_intercepted (p, 80));
  assert_int_equal (p->filesharing.n_dirs, 2);
  assert_string_equal (row_field (p, "containersProxy.mode", "source"),
                       "default");
  policy_free (p);
}

static void
override_checks (void **state)
{
  const char *text = V2 "\"containersProxy\": {\"locked\": true}, "
                        "\"filesharingDirectories\": {\"locked\": false, "
                        "\"value\": [\"/srv\"]}}";
  struct policy_report rep = { 0 };
  struct policy_admin *a = NULL;
  moat_error_t err = NULL;
  json_t *v = NULL;

  assert_int_equal (policy_admin_parse (text, strlen (text), &a, &rep, &err),
                    0);
  assert_int_equal (policy_check_override (a, "containersProxy.http",
                                           "http://x:1", &v, &err),
                    -1);
  assert_string_equal (moat_error_msg (&err),
                       "\"containersProxy.http\" is locked by the "
                       "administrator (containersProxy.locked is true in "
                       "admin-settings.json)");
  moat_error_release (&err);
  assert_int_equal (
      policy_check_override (a, "filesharingDirectorys", "[]", &v, &err), -1);
  assert_string_equal (moat_error_msg (&err),
                       "unknown setting \"filesharingDirectorys\"; did you "
                       "mean \"filesharingDirectories\"?");
  moat_error_release (&err);
  assert_int_equal (policy_check_override (a, "filesharingDirectories",
                                           "[\"rel\", \"/ok\"]", &v, &err),
                    -1);
  assert_string_equal (moat_error_msg (&err),
                       "filesharingDirectories[0]: \"rel\" is not an "
                       "absolute path");
  moat_error_release (&err);
  assert_int_equal (policy_check_override (a, "filesharingDirectories.locked",
                                           "false", &v, &err),
                    -1);
  moat_error_release (&err);
  assert_int_equal (policy_check_override (a, "filesharingDirectories",
                                           "[\"/data\"]", &v, &err),
                    0);
  assert_true (json_is_array (v));
  json_decref (v);
  /* ECI unlocked here: a bare word for a boolean is refused */
  assert_int_equal (
      policy_check_override (a, "enhancedContainerIsolation", "yes", &v, &err),
      -1);
  assert_string_equal (moat_error_msg (&err),
                       "enhancedContainerIsolation: expected a boolean, "
                       "found a string");
  moat_error_release (&err);
  assert_int_equal (policy_check_override (a,
                                           "enhancedContainerIsolation.value",
                                           "false", &v, &err),
                    0);
  assert_true (json_is_false (v));
  json_decref (v);
  assert_string_equal (
      policy_setting_canonical ("enhancedContainerIsolation.value"),
      "enhancedContainerIsolation");
  assert_null (policy_setting_canonical ("nope"));
  policy_admin_free (a);
  /* With no admin file, string settings take numbers as text. */
  assert_int_equal (policy_check_override (NULL,
                                           "containersProxy.transparentPorts",
                                           "443", &v, &err),
                    0);
  assert_string_equal (json_string_value (v), "443");
  json_decref (v);
}

static void
report_format (void **state)
{
  struct policy_report rep = { 0 };
  cleanup_free char *s = NULL;
  assert_int_equal (parse (V2 "\"zzz\": 1, \"kubernetes\": {}}", &rep), -1);
  s = policy_report_format (&rep);
  assert_string_equal (s, "error: zzz: unknown key \"zzz\"\n"
                          "warning: kubernetes: Docker Desktop setting that "
                          "moat does not apply; ignored\n");
  policy_report_free (&rep);
}

/* extensionSandboxGrants (docs/settings.md): validated, and the effective
 * policy carries the object (NULL when not set). */
static void
sandbox_grants (void **state)
{
  struct policy_report rep = { 0 };
  struct policy_admin *a = NULL;
  struct policy *p = NULL;
  moat_error_t err = NULL;
  const char *good
      = "{\"configurationFileVersion\": 2, \"extensionSandboxGrants\": "
        "{\"locked\": true, \"value\": {\"disk-usage\": {\"log\": {}, "
        "\"request\": {\"urls\": [\"https://a/*\"], \"methods\": "
        "[\"GET\"]}}, \"*\": {}}}}";
  assert_int_equal (policy_admin_parse (good, strlen (good), &a, &rep, &err),
                    0);
  assert_int_equal (policy_build (a, NULL, &p, &err), 0);
  assert_non_null (p->extensions.sandbox_grants);
  assert_non_null (
      json_object_get (p->extensions.sandbox_grants, "disk-usage"));
  policy_free (p);
  policy_admin_free (a);
  policy_report_free (&rep);
  bad ("{\"configurationFileVersion\": 2, \"extensionSandboxGrants\": "
       "{\"locked\": true, \"value\": {\"Bad_Name\": {}}}}",
       "extensionSandboxGrants.value",
       "`Bad_Name`: not an extension name nor \"*\"");
  bad ("{\"configurationFileVersion\": 2, \"extensionSandboxGrants\": "
       "{\"locked\": true, \"value\": {\"x\": {\"exec\": {}}}}}",
       "extensionSandboxGrants.value.x.exec",
       "unknown scope (request, log, sleep, storage, docker)");
  bad ("{\"configurationFileVersion\": 2, \"extensionSandboxGrants\": "
       "{\"locked\": true, \"value\": {\"x\": {\"request\": "
       "{\"urls\": [1]}}}}}",
       "extensionSandboxGrants.value.x.request",
       "[0]: expected a string of 1 to 1024 bytes");
  bad ("{\"configurationFileVersion\": 2, \"extensionSandboxGrants\": "
       "{\"locked\": true, \"value\": []}}",
       "extensionSandboxGrants.value",
       "expected null or an object of extension names, found an array");
  (void)state;
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (design_example_valid),
    cmocka_unit_test (docker_desktop_file_warns),
    cmocka_unit_test (many_problems_all_reported),
    cmocka_unit_test (version_checks),
    cmocka_unit_test (wrong_types),
    cmocka_unit_test (unknown_keys),
    cmocka_unit_test (locked_missing_warns),
    cmocka_unit_test (command_list),
    cmocka_unit_test (image_list),
    cmocka_unit_test (allowed_drivers),
    cmocka_unit_test (proxy_values),
    cmocka_unit_test (filesharing_paths),
    cmocka_unit_test (encoding_and_syntax),
    cmocka_unit_test (load_from_disk),
    cmocka_unit_test (symlink_swap_race_never_wins),
    cmocka_unit_test (pac_file_must_be_roots),
    cmocka_unit_test (effective_precedence),
    cmocka_unit_test (defaults),
    cmocka_unit_test (override_checks),
    cmocka_unit_test (report_format),
    cmocka_unit_test (sandbox_grants),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
