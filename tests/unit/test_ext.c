/* Unit tests of the extension format: metadata.json, the labels, image
 * names, paths inside the image, and the private marketplace list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ext/files.h"
#include "ext/market.h"
#include "ext/metadata.h"
#include "ext/tar.h"

/* Append one ustar entry (header + data padded to 512) to buf at *len. */
static void
tar_add (char *buf, size_t *len, const char *name, char type, const char *data,
         const char *link)
{
  char *h = buf + *len;
  size_t n = data != NULL ? strlen (data) : 0;
  unsigned sum = 0;

  memset (h, 0, 512);
  snprintf (h, 100, "%s", name);
  snprintf (h + 100, 8, "%07o", 0644);
  snprintf (h + 124, 12, "%011o", (unsigned)(n & 0777777));
  h[156] = type;
  if (link != NULL)
    snprintf (h + 157, 100, "%s", link);
  memcpy (h + 257, "ustar", 6);
  memset (h + 148, ' ', 8);
  for (int i = 0; i < 512; i++)
    sum += (unsigned char)h[i];
  snprintf (h + 148, 8, "%06o", sum);
  *len += 512;
  if (n > 0)
    {
      memset (buf + *len, 0, (n + 511) / 512 * 512);
      memcpy (buf + *len, data, n);
      *len += (n + 511) / 512 * 512;
    }
}

static char *
tmpdir (void)
{
  char t[] = "/tmp/test-ext-XXXXXX";
  char *d = mkdtemp (t);
  assert_non_null (d);
  return strdup (d);
}

static void
rm_rf (const char *d)
{
  int fd = open ("/", O_RDONLY | O_DIRECTORY);
  moat_error_t err = NULL;
  assert_int_equal (ext_rm_tree_at (fd, d + 1, &err), 0);
  close (fd);
}

static void
unpack (void **state)
{
  static char buf[64 * 1024];
  size_t len = 0;
  char *d = tmpdir ();
  int fd = open (d, O_RDONLY | O_DIRECTORY);
  moat_error_t err = NULL;
  struct stat st;

  tar_add (buf, &len, "ui/", '5', NULL, NULL);
  tar_add (buf, &len, "ui/index.html", '0', "<html>", NULL);
  tar_add (buf, &len, "ui/css/", '5', NULL, NULL);
  tar_add (buf, &len, "ui/css/a.css", '0', "body{}", NULL);
  memset (buf + len, 0, 1024);
  len += 1024;
  assert_int_equal (ext_unpack_at (fd, buf, len, "ui", NULL, &err), 0);
  assert_int_equal (fstatat (fd, "css/a.css", &st, AT_SYMLINK_NOFOLLOW), 0);
  assert_int_equal (st.st_size, 6);
  assert_int_equal (st.st_mode & 07777, 0644);
  close (fd);
  rm_rf (d);
  free (d);
}

/* Links, escapes and truncation are refused; nothing is written outside. */
static void
unpack_hostile (void **state)
{
  static char buf[64 * 1024];
  struct
  {
    const char *name;
    char type;
    const char *link;
    const char *want;
  } cases[] = {
    { "ui/passwd", '2', "/etc/passwd", "is a symbolic link" },
    { "ui/hard", '1', "ui/../../etc/passwd", "is a hard link" },
    { "ui/../../escaped", '0', NULL, "leaves the directory" },
    { "ui/dev", '3', NULL, "is a special file" },
  };

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      size_t len = 0;
      char *d = tmpdir ();
      int fd = open (d, O_RDONLY | O_DIRECTORY);
      moat_error_t err = NULL;

      tar_add (buf, &len, "ui/", '5', NULL, NULL);
      tar_add (buf, &len, cases[i].name, cases[i].type,
               cases[i].type == '0' ? "x" : NULL, cases[i].link);
      memset (buf + len, 0, 1024);
      len += 1024;
      assert_int_equal (ext_unpack_at (fd, buf, len, "ui", NULL, &err), -1);
      if (strstr (moat_error_msg (&err), cases[i].want) == NULL)
        fail_msg ("%s: %s", cases[i].name, moat_error_msg (&err));
      moat_error_release (&err);
      assert_int_not_equal (access ("/tmp/escaped", F_OK), 0);
      close (fd);
      rm_rf (d);
      free (d);
    }
  /* A size field larger than what follows. */
  {
    size_t len = 0;
    struct ext_tar_entry e;
    size_t off = 0;
    moat_error_t err = NULL;
    tar_add (buf, &len, "ui/big", '0', "abc", NULL);
    snprintf (buf + 124, 12, "%011o", 077777777);
    assert_int_equal (ext_tar_next (buf, len, &off, &e, &err), -1);
    moat_error_release (&err);
  }
}

static void
has (const struct ext_problems *p, const char *want)
{
  for (size_t i = 0; i < p->n; i++)
    if (strcmp (p->items[i], want) == 0)
      return;
  for (size_t i = 0; i < p->n; i++)
    fprintf (stderr, "  have %s\n", p->items[i]);
  fail_msg ("missing problem %s", want);
}

static int
parse (const char *json, struct ext_meta *m, struct ext_problems *p)
{
  return ext_meta_parse (json, strlen (json), "acme/disk:1.0", m, p);
}

static void
valid_docker_example (void **state)
{
  struct ext_meta m;
  struct ext_problems p = { 0 };
  const char *j
      = "{\"icon\": \"docker.svg\","
        " \"ui\": {\"dashboard-tab\": {\"title\": \"Disk\", \"root\": \"/ui\","
        "  \"src\": \"index.html\", \"backend\": {\"socket\": \"b.sock\"}}},"
        " \"vm\": {\"image\": \"${DESKTOP_PLUGIN_IMAGE}\","
        "  \"exposes\": {\"socket\": \"b.sock\"}},"
        " \"host\": {\"binaries\": [{\"darwin\": [{\"path\": \"/darwin/c\"}],"
        "  \"linux\": [{\"path\": \"/linux/c\"}]}]}}";

  assert_int_equal (parse (j, &m, &p), 0);
  assert_int_equal (p.n, 0);
  assert_string_equal (m.icon, "docker.svg");
  assert_string_equal (m.ui_root, "ui");
  assert_string_equal (m.ui_src, "index.html");
  assert_string_equal (m.vm_image, "acme/disk:1.0");
  assert_string_equal (m.vm_socket, "b.sock");
  assert_int_equal (m.n_binaries, 1);
  assert_string_equal (m.binaries[0], "linux/c");
  ext_meta_free (&m);
}

static void
every_problem_named (void **state)
{
  struct ext_meta m;
  struct ext_problems p = { 0 };
  const char *j
      = "{\"icon\": \"../etc/passwd\", \"colour\": 1,"
        " \"ui\": {\"dashboard-tab\": {\"title\": 3, \"root\": \"a/../../x\","
        "  \"sorce\": \"x\"}},"
        " \"vm\": {\"image\": \"x\", \"composefile\": \"c.yml\","
        "  \"exposes\": {\"socket\": \"../s\"}},"
        " \"host\": {\"binaries\": [{\"linux\": [{\"path\": \"/\"}],"
        "  \"plan9\": []}]}}";

  assert_int_equal (parse (j, &m, &p), -1);
  has (&p, "icon: \"../etc/passwd\" is not a path inside the image (no "
           "\"..\", not the image root itself, at most 255 bytes)");
  has (&p, "colour: unknown key");
  has (&p, "ui.dashboard-tab.title: must be a string, not a number");
  has (&p, "ui.dashboard-tab.sorce: unknown key");
  has (&p, "ui.dashboard-tab.src: missing");
  has (&p, "vm: has both \"image\" and \"composefile\"; give one");
  has (&p, "vm.exposes.socket: \"../s\" is not a socket file name "
           "([A-Za-z0-9._-], at most 64 bytes)");
  has (&p, "host.binaries[0].plan9: unknown key");
  has (&p, "host.binaries[0].linux[0].path: \"/\" is not a path inside the "
           "image (no \"..\", not the image root itself, at most 255 bytes)");
  assert_true (p.n >= 10);
  ext_problems_free (&p);
  ext_meta_free (&m);
}

static void
malformed (void **state)
{
  struct ext_meta m;
  struct ext_problems p = { 0 };

  assert_int_equal (parse ("{\"icon\": ", &m, &p), -1);
  assert_int_equal (p.n, 1);
  assert_non_null (strstr (p.items[0], "metadata.json: not valid JSON"));
  ext_problems_free (&p);
  ext_meta_free (&m);
  assert_int_equal (parse ("[]", &m, &p), -1);
  has (&p, "metadata.json: must be an object, not an array");
  ext_problems_free (&p);
  ext_meta_free (&m);
  assert_int_equal (parse ("{\"icon\": \"a\", \"icon\": \"b\"}", &m, &p), -1);
  ext_problems_free (&p);
  ext_meta_free (&m);
  assert_int_equal (parse ("{}", &m, &p), -1);
  has (&p, "icon: missing");
  ext_problems_free (&p);
  ext_meta_free (&m);
  {
    size_t n = EXT_META_MAX + 10;
    char *big = malloc (n + 1);
    memset (big, ' ', n);
    big[n] = '\0';
    assert_int_equal (parse (big, &m, &p), -1);
    has (&p, "metadata.json: larger than 65536 bytes");
    free (big);
    ext_problems_free (&p);
    ext_meta_free (&m);
  }
}

static void
labels (void **state)
{
  struct ext_problems p = { 0 };
  json_t *l
      = json_pack ("{s:s, s:s, s:s, s:s}", "org.opencontainers.image.title",
                   "Disk", "org.opencontainers.image.description", "",
                   "org.opencontainers.image.vendor", "Acme",
                   "com.docker.desktop.extension.api.version", ">= 0.3.0");

  assert_int_equal (ext_labels_check (l, &p), -1);
  assert_int_equal (p.n, 2);
  has (&p, "labels[\"org.opencontainers.image.description\"]: must be a "
           "non-empty string");
  has (&p, "labels[\"com.docker.desktop.extension.icon\"]: missing (a label "
           "Docker requires)");
  ext_problems_free (&p);
  assert_int_equal (ext_labels_check (json_null (), &p), -1);
  assert_int_equal (p.n, 5);
  ext_problems_free (&p);
  json_decref (l);
}

static void
names_and_paths (void **state)
{
  char n[64];
  moat_error_t err = NULL;
  char *s;

  assert_int_equal (
      ext_name_from_image ("acme/disk-usage:1.0", n, sizeof n, &err), 0);
  assert_string_equal (n, "disk-usage");
  assert_int_equal (
      ext_name_from_image ("localhost:5000/a/b/web", n, sizeof n, &err), 0);
  assert_string_equal (n, "web");
  assert_int_equal (ext_name_from_image ("x/web@sha256:ab", n, sizeof n, &err),
                    0);
  assert_string_equal (n, "web");
  assert_int_equal (ext_name_from_image ("acme/Disk", n, sizeof n, &err), -1);
  moat_error_release (&err);
  assert_int_equal (ext_name_from_image ("acme/my_ext", n, sizeof n, &err),
                    -1);
  moat_error_release (&err);
  assert_int_equal (ext_name_from_image ("acme/-x", n, sizeof n, &err), -1);
  moat_error_release (&err);

  s = ext_image_path ("/ui/./index.html");
  assert_string_equal (s, "ui/index.html");
  free (s);
  s = ext_image_path ("ui//x/");
  assert_string_equal (s, "ui/x");
  free (s);
  assert_null (ext_image_path ("ui/../../etc"));
  assert_null (ext_image_path (".."));
  assert_null (ext_image_path ("/"));
  assert_null (ext_image_path ("./."));
  assert_null (ext_image_path ("a\\b"));

  s = ext_image_canonical ("docker.io/acme/x");
  assert_string_equal (s, "acme/x:latest");
  free (s);
  s = ext_image_canonical ("localhost:5000/x");
  assert_string_equal (s, "localhost:5000/x:latest");
  free (s);
  s = ext_image_canonical ("acme/x:1.2");
  assert_string_equal (s, "acme/x:1.2");
  free (s);
}

static void
marketplace (void **state)
{
  struct ext_market m;
  struct ext_problems p = { 0 };
  const char *txt = "# approved\n"
                    "acme/disk:1.0\n"
                    "  acme/logs  \r\n"
                    "\n"
                    "docker.io/other/thing:2 # not a comment\n"
                    "bad ref here\n";

  assert_int_equal (ext_market_parse (txt, strlen (txt), &m, &p), -1);
  has (&p, "extensions.txt:5: \"docker.io/other/thing:2 # not a comment\" is "
           "not an org/repo:tag reference");
  has (&p, "extensions.txt:6: \"bad ref here\" is not an org/repo:tag "
           "reference");
  ext_problems_free (&p);
  ext_market_free (&m);

  txt = "# approved\nacme/disk:1.0\n  acme/logs  \r\ndocker.io/o/t:2\n";
  assert_int_equal (ext_market_parse (txt, strlen (txt), &m, &p), 0);
  assert_int_equal (m.n, 3);
  assert_true (ext_market_allows_p (&m, "acme/disk:1.0"));
  assert_false (ext_market_allows_p (&m, "acme/disk:1.1"));
  assert_false (ext_market_allows_p (&m, "acme/disk"));
  assert_true (ext_market_allows_p (&m, "acme/logs"));
  assert_true (ext_market_allows_p (&m, "acme/logs:latest"));
  assert_true (ext_market_allows_p (&m, "o/t:2"));
  assert_false (ext_market_allows_p (&m, "evil/disk:1.0"));
  ext_market_free (&m);
}

static void
policy_decision (void **state)
{
  moat_error_t err = NULL;

  assert_int_equal (
      ext_policy_check (true, false, false, "/nonexistent", NULL, "a/b", &err),
      0);
  assert_int_equal (ext_policy_check (false, false, false, "/nonexistent",
                                      NULL, "a/b", &err),
                    -1);
  assert_string_equal (moat_error_msg (&err),
                       "extensions: extensions are disabled by your "
                       "administrator (extensionsEnabled)");
  moat_error_release (&err);
  /* A missing list allows nothing. */
  assert_int_equal (
      ext_policy_check (true, true, false, "/nonexistent", NULL, "a/b", &err),
      -1);
  assert_string_equal (moat_error_msg (&err),
                       "extensions: \"a/b\" is not an allowed extension; ask "
                       "your administrator to add it to the private "
                       "marketplace");
  moat_error_release (&err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (valid_docker_example),
    cmocka_unit_test (every_problem_named),
    cmocka_unit_test (malformed),
    cmocka_unit_test (labels),
    cmocka_unit_test (names_and_paths),
    cmocka_unit_test (marketplace),
    cmocka_unit_test (policy_decision),
    cmocka_unit_test (unpack),
    cmocka_unit_test (unpack_hostile),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
