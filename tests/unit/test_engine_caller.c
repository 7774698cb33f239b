/* Unit tests of the caller's part of a create (eci_set_caller_labels) and
 * of the docker cp check (src/engine/archive.c) against a fake engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/archive.h"
#include "engine/owner.h"
#include "engine/eci.h"

static json_t *
labels_of (const char *body, size_t len)
{
  json_t *root = json_loadb (body, len, 0, NULL);
  json_t *l;
  assert_non_null (root);
  l = json_object_get (root, "Labels");
  assert_true (json_is_object (l));
  json_incref (l);
  json_decref (root);
  return l;
}

static const char *
label (json_t *l, const char *k)
{
  return json_string_value (json_object_get (l, k));
}

static void
caller_labels_set (void **state)
{
  struct eci_verdict v = { 0 };
  char *out = NULL;
  size_t len = 0;
  const char *body = "{\"Image\":\"busybox\"}";
  json_t *l;
  assert_int_equal (eci_set_caller_labels (body, strlen (body), 1000, 999,
                                           NULL, NULL, &out, &len, &v),
                    0);
  l = labels_of (out, len);
  assert_string_equal (label (l, ECI_CALLER_UID_LABEL), "1000");
  assert_string_equal (label (l, ECI_CALLER_GID_LABEL), "999");
  /* present and empty, so that an image's LABEL cannot supply them */
  assert_string_equal (label (l, ECI_SOCKET_LABEL), "");
  assert_string_equal (label (l, ECI_IMAGE_LABEL), "");
  json_decref (l);
  free (out);
  eci_verdict_clear (&v);
}

/* A non-root caller's host binds reach the engine as the stand-in; the
 * label keeps what was written, keyed by the cleaned destination.  Named
 * volumes, the filtered socket and a root caller's binds stay as they are;
 * a client cannot supply the label. */
static void
nonroot_binds_standin (void **state)
{
  struct eci_verdict v = { 0 };
  char *out = NULL;
  size_t len = 0;
  const char *body
      = "{\"Image\":\"busybox\",\"Labels\":{\"com.moat.binds\":"
        "\"{\\\"/d\\\":{\\\"src\\\":\\\"/etc\\\"}}\"},\"HostConfig\":"
        "{\"Binds\":[\"/tmp/a:/d//x/:ro\",\"vol:/v\",\"/f.sock:/s\"],"
        "\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/tmp/m\",\"Target\":"
        "\"/m\"},{\"Type\":\"volume\",\"Source\":\"n\",\"Target\":\"/n\"}]}}";
  json_t *root, *l, *map, *b;
  v.socket = strdup ("/f.sock");
  assert_int_equal (eci_set_caller_labels (body, strlen (body), 1000, 1000,
                                           "/run/moat/bind-standin", &v, &out,
                                           &len, &v),
                    0);
  root = json_loadb (out, len, 0, NULL);
  b = json_object_get (json_object_get (root, "HostConfig"), "Binds");
  assert_string_equal (json_string_value (json_array_get (b, 0)),
                       "/run/moat/bind-standin:/d//x/:ro");
  assert_string_equal (json_string_value (json_array_get (b, 1)), "vol:/v");
  assert_string_equal (json_string_value (json_array_get (b, 2)),
                       "/f.sock:/s");
  b = json_object_get (json_object_get (root, "HostConfig"), "Mounts");
  assert_string_equal (
      json_string_value (json_object_get (json_array_get (b, 0), "Source")),
      "/run/moat/bind-standin");
  assert_string_equal (
      json_string_value (json_object_get (json_array_get (b, 1), "Source")),
      "n");
  l = json_object_get (root, "Labels");
  map = json_loads (label (l, ECI_BINDS_LABEL), 0, NULL);
  assert_non_null (map);
  assert_int_equal (json_object_size (map), 2);
  assert_string_equal (json_string_value (json_object_get (
                           json_object_get (map, "/d/x"), "src")),
                       "/tmp/a");
  assert_true (json_is_true (
      json_object_get (json_object_get (map, "/d/x"), "create")));
  assert_string_equal (
      json_string_value (json_object_get (json_object_get (map, "/m"), "src")),
      "/tmp/m");
  assert_true (
      json_is_false (json_object_get (json_object_get (map, "/m"), "create")));
  json_decref (map);
  json_decref (root);
  free (out);
  out = NULL;
  /* root: written as is, and the label empty */
  assert_int_equal (eci_set_caller_labels (body, strlen (body), 0, 0,
                                           "/run/moat/bind-standin", &v, &out,
                                           &len, &v),
                    0);
  root = json_loadb (out, len, 0, NULL);
  b = json_object_get (json_object_get (root, "HostConfig"), "Binds");
  assert_string_equal (json_string_value (json_array_get (b, 0)),
                       "/tmp/a:/d//x/:ro");
  assert_string_equal (
      label (json_object_get (root, "Labels"), ECI_BINDS_LABEL), "");
  json_decref (root);
  free (out);
  eci_verdict_clear (&v);
}

static void
forged_labels_removed (void **state)
{
  struct eci_verdict v = { 0 };
  char *out = NULL;
  size_t len = 0;
  const char *body
      = "{\"Image\":\"busybox\",\"labels\":{\"com.moat.caller.uid\":\"0\","
        "\"com.moat.caller.gid\":\"0\",\"COM.MOAT.caller.uid\":\"0\","
        "\"com.moat.image\":\"docker:cli\",\"com.moat.filtered-socket\":"
        "\"/x.sock\",\"com.moat.other\":\"1\",\"keep\":\"me\"}}";
  json_t *l, *root;
  assert_int_equal (eci_set_caller_labels (body, strlen (body), 1000, 999,
                                           NULL, NULL, &out, &len, &v),
                    0);
  /* the client's spelling of Labels is kept, its moat labels are not */
  root = json_loadb (out, len, 0, NULL);
  l = json_object_get (root, "labels");
  assert_non_null (l);
  assert_int_equal (json_object_size (l), 6);
  assert_string_equal (label (l, ECI_CALLER_UID_LABEL), "1000");
  assert_string_equal (label (l, ECI_CALLER_GID_LABEL), "999");
  assert_string_equal (label (l, ECI_SOCKET_LABEL), "");
  assert_string_equal (label (l, ECI_IMAGE_LABEL), "");
  assert_string_equal (label (l, "keep"), "me");
  json_decref (root);
  free (out);
  eci_verdict_clear (&v);
}

/* root (moatd) may set other com.moat.* labels, never the managed ones */
static void
root_keeps_other_moat_labels (void **state)
{
  struct eci_verdict v = { 0 };
  char *out = NULL;
  size_t len = 0;
  const char *body
      = "{\"Labels\":{\"com.moat.extension\":\"x\",\"COM.MOAT.other\":\"1\","
        "\"com.moat.caller.uid\":\"1000\",\"com.moat.image\":\"a\"}}";
  json_t *l;
  assert_int_equal (eci_set_caller_labels (body, strlen (body), 0, 0, NULL,
                                           NULL, &out, &len, &v),
                    0);
  l = labels_of (out, len);
  assert_string_equal (label (l, "com.moat.extension"), "x");
  assert_null (label (l, "COM.MOAT.other"));
  assert_string_equal (label (l, ECI_CALLER_UID_LABEL), "0");
  assert_string_equal (label (l, ECI_IMAGE_LABEL), "");
  json_decref (l);
  free (out);
  eci_verdict_clear (&v);
}

static void
moats_own_labels_kept (void **state)
{
  struct eci_verdict v = { 0 };
  char *out = NULL;
  size_t len = 0;
  /* what eci_check_container_create wrote for an allowed socket mount */
  const char *body = "{\"Image\":\"sha256:aa\",\"Labels\":{"
                     "\"com.moat.filtered-socket\":\"/run/s/1.sock\","
                     "\"com.moat.image\":\"docker:cli\"}}";
  json_t *l;
  v.socket = strdup ("/run/s/1.sock");
  v.image_id = strdup ("sha256:aa");
  assert_int_equal (eci_set_caller_labels (body, strlen (body), 0, 0, NULL, &v,
                                           &out, &len, &v),
                    0);
  l = labels_of (out, len);
  assert_string_equal (label (l, ECI_SOCKET_LABEL), "/run/s/1.sock");
  assert_string_equal (label (l, ECI_IMAGE_LABEL), "docker:cli");
  assert_string_equal (label (l, ECI_CALLER_UID_LABEL), "0");
  json_decref (l);
  free (out);
  eci_verdict_clear (&v);
}

static void
bad_labels_refused (void **state)
{
  const char *bodies[] = {
    "{\"Labels\":[\"com.moat.caller.uid=0\"]}",
    "{\"Labels\":{},\"labels\":{\"com.moat.caller.uid\":\"0\"}}",
    "[1]",
  };
  for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++)
    {
      struct eci_verdict v = { 0 };
      char *out = NULL;
      size_t len = 0;
      assert_int_equal (eci_set_caller_labels (bodies[i], strlen (bodies[i]),
                                               1000, 1000, NULL, NULL, &out,
                                               &len, &v),
                        -1);
      assert_int_equal (v.status, 400);
      assert_null (out);
      eci_verdict_clear (&v);
    }
}

/* ---- docker cp ---------------------------------------------------------- */

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define IDA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define IDB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define IDC "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static int
fake_get (void *ctx, const char *path, char **body, size_t *len)
{
  static const struct
  {
    const char *path, *json;
  } answers[] = {
    { "/containers/plain/json",
      "{\"Id\":\"" ID64 "\",\"Mounts\":[{\"Type\":\"volume\",\"Name\":\"v\","
      "\"Driver\":\"local\",\"Source\":\"/var/lib/docker/volumes/v/_data\"},"
      "{\"Type\":\"tmpfs\",\"Destination\":\"/t\"}]}" },
    { "/containers/withbind/json",
      "{\"Id\":\"" ID64 "\",\"Mounts\":[{\"Type\":\"bind\",\"Source\":"
      "\"/home/u/share\"}]}" },
    { "/containers/standin/json",
      "{\"Id\":\"" ID64 "\",\"Mounts\":[{\"Type\":\"bind\",\"Source\":"
      "\"/run/moat/bind-standin\",\"Destination\":\"/src\"}],\"Config\":"
      "{\"Labels\":{\"com.moat.binds\":\"{\\\"/src\\\":{\\\"src\\\":"
      "\\\"/home/u/p\\\",\\\"create\\\":true}}\"}}}" },
    { "/containers/devvol/json",
      "{\"Id\":\"" ID64 "\",\"Mounts\":[{\"Type\":\"volume\",\"Name\":\"dv\","
      "\"Driver\":\"local\"}]}" },
    { "/containers/plugvol/json",
      "{\"Id\":\"" ID64 "\",\"Mounts\":[{\"Type\":\"volume\",\"Name\":\"pv\","
      "\"Driver\":\"evil\"}]}" },
    { "/containers/odd/json",
      "{\"Id\":\"" ID64 "\",\"Mounts\":[{\"Type\":\"cluster\"}]}" },
    { "/containers/noid/json", "{\"Mounts\":[]}" },
    { "/containers/mine/json", "{\"Id\":\"" ID64 "\",\"Config\":{\"Labels\":{"
                               "\"com.moat.caller.uid\":\"1000\"}}}" },
    { "/containers/theirs/json",
      "{\"Id\":\"" ID64 "\",\"Config\":{\"Labels\":{"
      "\"com.moat.caller.uid\":\"1001\"}}}" },
    { "/containers/prefix/json",
      "{\"Id\":\"" ID64 "\",\"Config\":{\"Labels\":{"
      "\"com.moat.caller.uid\":\"10000\"}}}" },
    { "/containers/nolabel/json",
      "{\"Id\":\"" ID64 "\",\"Config\":{\"Labels\":null}}" },
    { "/containers/numlabel/json",
      "{\"Id\":\"" ID64 "\",\"Config\":{\"Labels\":{"
      "\"com.moat.caller.uid\":1000}}}" },
    { "/containers/" IDA "/json",
      "{\"Id\":\"" IDA "\",\"Config\":{\"Labels\":{"
      "\"com.moat.caller.uid\":\"1000\"}}}" },
    { "/containers/" IDB "/json",
      "{\"Id\":\"" IDB "\",\"Config\":{\"Labels\":{"
      "\"com.moat.caller.uid\":\"1001\"}}}" },
    { "/exec/minex/json",
      "{\"ID\":\"" ID64 "\",\"ContainerID\":\"" IDA "\"}" },
    { "/exec/theirex/json",
      "{\"ID\":\"" ID64 "\",\"ContainerID\":\"" IDB "\"}" },
    { "/exec/noctr/json", "{\"ID\":\"" ID64 "\"}" },
    { "/exec/shortctr/json",
      "{\"ID\":\"" ID64 "\",\"ContainerID\":\"aaaa\"}" },
    { "/exec/goneex/json",
      "{\"ID\":\"" ID64 "\",\"ContainerID\":\"" IDC "\"}" },
    { "/images/extimg/json",
      "{\"Id\":\"sha256:" ID64 "\",\"Config\":{\"Labels\":{"
      "\"com.docker.compose.project\":\"moat-ext-x\"}}}" },
    { "/images/legacyimg:1/json",
      "{\"Id\":\"sha256:" ID64 "\",\"Config\":{\"Labels\":{"
      "\"com.docker.compose.project\":\"MoatExtX\"}}}" },
    { "/images/myimg/json",
      "{\"Id\":\"sha256:" ID64 "\",\"Config\":{\"Labels\":{"
      "\"com.docker.compose.project\":\"myproj\"}}}" },
    { "/images/plainimg/json", "{\"Id\":\"sha256:" ID64 "\",\"Config\":{}}" },
    { "/volumes/v", "{\"Name\":\"v\",\"Options\":null}" },
    { "/volumes/dv",
      "{\"Name\":\"dv\",\"Options\":{\"type\":\"none\",\"o\":\"bind\","
      "\"device\":\"/home/u\"}}" },
  };
  (void)ctx;
  if (strcmp (path, "/containers/down/json") == 0
      || strcmp (path, "/exec/downex/json") == 0
      || strcmp (path, "/images/downimg/json") == 0)
    return -1;
  for (size_t i = 0; i < sizeof answers / sizeof *answers; i++)
    if (strcmp (path, answers[i].path) == 0)
      {
        *body = strdup (answers[i].json);
        *len = strlen (*body);
        return 0;
      }
  return 1;
}

static int
archive (const char *name, char **id, struct eci_verdict *v)
{
  return engine_archive_check (fake_get, NULL, name, id, v);
}

static void
archive_decisions (void **state)
{
  struct eci_verdict v = { 0 };
  char *id = NULL;
  assert_int_equal (archive ("plain", &id, &v), 0);
  assert_string_equal (id, ID64);
  free (id);
  assert_int_equal (archive ("/plain", &id, &v), -1); /* no such (fake) */
  assert_int_equal (v.status, 404);
  eci_verdict_clear (&v);

  assert_int_equal (archive ("withbind", &id, &v), -1);
  assert_null (id);
  assert_int_equal (v.status, 403);
  assert_string_equal (v.rule, "eci.archive");
  assert_string_equal (
      v.message,
      "enhanced container isolation: docker cp to or from container "
      "\"withbind\" is blocked: it mounts the host path \"/home/u/share\", "
      "which the engine would read and write as host root; copy into the "
      "shared directory on the host instead");
  eci_verdict_clear (&v);

  assert_int_equal (archive ("standin", &id, &v), -1);
  assert_non_null (strstr (v.message, "mounts the host path \"/home/u/p\""));
  eci_verdict_clear (&v);

  const char *refused[] = { "devvol", "plugvol", "odd",  "noid", "down",
                            "gone",   "a/b",     "../x", "a?b",  "" };
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
    {
      if (archive (refused[i], &id, &v) != -1)
        fail_msg ("docker cp on \"%s\" passed", refused[i]);
      assert_null (id);
      assert_non_null (v.message);
      eci_verdict_clear (&v);
    }
  assert_int_equal (engine_archive_check (NULL, NULL, "plain", &id, &v), -1);
  eci_verdict_clear (&v);

  /* root: only a bind moat stood in for is refused */
  const char *si = "/run/moat/bind-standin";
  const char *root_ok[] = { "plain", "withbind", "devvol", "plugvol", "odd" };
  for (size_t i = 0; i < sizeof root_ok / sizeof *root_ok; i++)
    {
      if (engine_archive_check_root (fake_get, NULL, root_ok[i], si, &id, &v)
          != 0)
        fail_msg ("root's docker cp on \"%s\" refused", root_ok[i]);
      free (id);
    }
  assert_int_equal (
      engine_archive_check_root (fake_get, NULL, "standin", si, &id, &v), -1);
  assert_int_equal (v.status, 403);
  assert_non_null (strstr (v.message, "its bind mount at \"/src\" is its "
                                      "creator's"));
  eci_verdict_clear (&v);
  assert_int_equal (
      engine_archive_check_root (fake_get, NULL, "standin", NULL, &id, &v), 0);
  free (id);
}

/* filesharingDirectories ["/"] (unlocked, a user's choice) still never
 * shares moat's own directories: the bind check refuses them, also
 * through a symlink. */
static void
shared_root_never_shares_moat (void **state)
{
  char root[] = "/tmp/moat-caller-XXXXXX";
  char prot[128], sub[160], link[160], other[160];
  char *dirs[] = { "/" };
  const char *protected_paths[1];
  struct policy pol;
  struct eci_config cfg;
  assert_non_null (mkdtemp (root));
  snprintf (prot, sizeof prot, "%s/run/moat", root);
  snprintf (sub, sizeof sub, "%s/run", root);
  assert_int_equal (mkdir (sub, 0755), 0);
  assert_int_equal (mkdir (prot, 0755), 0);
  snprintf (sub, sizeof sub, "%s/sockets", prot);
  assert_int_equal (mkdir (sub, 0755), 0);
  snprintf (link, sizeof link, "%s/innocent", root);
  assert_int_equal (symlink (prot, link), 0);
  snprintf (other, sizeof other, "%s/work", root);
  assert_int_equal (mkdir (other, 0755), 0);
  protected_paths[0] = prot;
  memset (&cfg, 0, sizeof cfg);
  cfg.protected_paths = protected_paths;
  cfg.n_protected = 1;
  memset (&pol, 0, sizeof pol);
  pol.eci.enabled = true;
  pol.filesharing.dirs = dirs;
  pol.filesharing.n_dirs = 1;
  const char *refused[] = { prot, sub, link, "/" };
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
    {
      struct eci_verdict v = { 0 };
      if (eci_check_bind (&cfg, &pol, refused[i], NULL, &v) != -1)
        fail_msg ("bind of %s passed", refused[i]);
      assert_non_null (v.message);
      eci_verdict_clear (&v);
    }
  {
    struct eci_verdict v = { 0 };
    assert_int_equal (eci_check_bind (&cfg, &pol, other, NULL, &v), 0);
    eci_verdict_clear (&v);
  }
  char cmd[96];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", root);
  assert_int_equal (system (cmd), 0);
}

/* exec and attach: a non-root caller's own containers only */
static void
owner_decisions (void **state)
{
  struct eci_verdict v = { 0 };
  char *id = NULL;
  (void)state;
  assert_int_equal (engine_owner_check (fake_get, NULL, "mine", 1000, &id, &v),
                    0);
  assert_string_equal (id, ID64);
  free (id);
  id = NULL;
  assert_int_equal (
      engine_owner_check (fake_get, NULL, "theirs", 1000, &id, &v), -1);
  assert_null (id);
  assert_int_equal (v.status, 403);
  assert_string_equal (v.rule, "eci.owner");
  assert_string_equal (v.message,
                       "enhanced container isolation: container \"theirs\" "
                       "was created by another user; only the user who "
                       "created it (or root) may use it");
  eci_verdict_clear (&v);
  const char *refused[] = { "prefix", "nolabel", "numlabel", "noid", "down",
                            "gone",   "a/b",     "../x",     "" };
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
    {
      if (engine_owner_check (fake_get, NULL, refused[i], 1000, &id, &v) != -1)
        fail_msg ("exec into \"%s\" passed", refused[i]);
      assert_null (id);
      assert_string_equal (v.rule, "eci.owner");
      eci_verdict_clear (&v);
    }
  assert_int_equal (engine_owner_check (fake_get, NULL, "gone", 1000, &id, &v),
                    -1);
  assert_int_equal (v.status, 404);
  eci_verdict_clear (&v);
  assert_int_equal (engine_owner_check (fake_get, NULL, "down", 1000, &id, &v),
                    -1);
  assert_int_equal (v.status, 502);
  eci_verdict_clear (&v);
  assert_int_equal (engine_owner_check (NULL, NULL, "mine", 1000, &id, &v),
                    -1);
  assert_int_equal (v.status, 403);
  eci_verdict_clear (&v);
}

/* commit's query, network connect's body, a create's container
 * references: the owner rule (engine/owner.h) */
static void
owner_elsewhere (void **state)
{
  struct eci_verdict v = { 0 };
  char *out = NULL;
  size_t olen = 0;
  (void)state;
  assert_int_equal (engine_commit_owner_check (
                        fake_get, NULL, "container=mine&repo=x", 1000, &v),
                    0);
  assert_int_equal (engine_commit_owner_check (
                        fake_get, NULL, "repo=x&container=theirs", 1000, &v),
                    -1);
  assert_string_equal (v.rule, "eci.owner");
  eci_verdict_clear (&v);
  assert_int_equal (
      engine_commit_owner_check (fake_get, NULL,
                                 "container=mine&container=theirs", 1000, &v),
      -1);
  assert_int_equal (v.status, 400);
  eci_verdict_clear (&v);

  assert_int_equal (engine_network_member_check (fake_get, NULL,
                                                 "{\"Container\":\"mine\"}",
                                                 20, 1000, &out, &olen, &v),
                    0);
  assert_string_equal (out, "{\"Container\":\"" ID64 "\"}");
  free (out);
  out = NULL;
  const char *bad[]
      = { "{\"container\":\"theirs\"}", "{\"Container\":\"nolabel\"}",
          "{\"Container\":\"mine\",\"container\":\"theirs\"}",
          "{\"Container\":7}", "[]" };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      if (engine_network_member_check (fake_get, NULL, bad[i], strlen (bad[i]),
                                       1000, &out, &olen, &v)
          != -1)
        fail_msg ("network connect \"%s\" passed", bad[i]);
      assert_null (out);
      eci_verdict_clear (&v);
    }

  const char *okc[]
      = { "{\"HostConfig\":{\"NetworkMode\":\"container:mine\","
          "\"PidMode\":\"host\",\"Links\":[\"/mine:/x/a\"],"
          "\"VolumesFrom\":[\"" IDA ":ro\"]}}",
          "{\"HostConfig\":{\"NetworkMode\":\"bridge\"}}", "{}" };
  for (size_t i = 0; i < sizeof okc / sizeof *okc; i++)
    if (engine_create_refs_check (fake_get, NULL, okc[i], strlen (okc[i]),
                                  1000, &v)
        != 0)
      fail_msg ("create \"%s\" refused: %s", okc[i], v.message);
  const char *badc[] = {
    "{\"HostConfig\":{\"NetworkMode\":\"container:theirs\"}}",
    "{\"HostConfig\":{\"pidmode\":\"container:theirs\"}}",
    "{\"HostConfig\":{\"IpcMode\":\"container:nolabel\"}}",
    "{\"HostConfig\":{\"Links\":[\"theirs:a\"]}}",
    "{\"HostConfig\":{\"Links\":[\"/theirs\"]}}",
    "{\"HostConfig\":{\"VolumesFrom\":[\"" IDB ":rw\"]}}",
    "{\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":{\"Links\":"
    "[\"theirs:a\"]}}}}",
    "{\"HostConfig\":{\"NetworkMode\":\"container:mine\","
    "\"networkmode\":\"container:theirs\"}}",
  };
  for (size_t i = 0; i < sizeof badc / sizeof *badc; i++)
    {
      if (engine_create_refs_check (fake_get, NULL, badc[i], strlen (badc[i]),
                                    1000, &v)
          != -1)
        fail_msg ("create \"%s\" passed", badc[i]);
      eci_verdict_clear (&v);
    }
}

/* /exec/{id}/...: the owner rule, for the exec's container */
static void
exec_owner_decisions (void **state)
{
  struct eci_verdict v = { 0 };
  char *id = NULL;
  (void)state;
  assert_int_equal (
      engine_exec_owner_check (fake_get, NULL, "minex", 1000, &id, &v), 0);
  assert_string_equal (id, ID64);
  free (id);
  id = NULL;
  assert_int_equal (
      engine_exec_owner_check (fake_get, NULL, "theirex", 1000, &id, &v), -1);
  assert_null (id);
  assert_int_equal (v.status, 403);
  assert_string_equal (v.rule, "eci.owner");
  assert_string_equal (v.message,
                       "enhanced container isolation: container \"" IDB
                       "\" was created by another user; only the user who "
                       "created it (or root) may use it");
  eci_verdict_clear (&v);
  const struct
  {
    const char *name;
    int status;
  } refused[] = {
    { "noex", 404 },     { "downex", 502 },  { "noctr", 502 },
    { "shortctr", 502 }, { "goneex", 404 },  { "a/../minex", 404 },
    { "", 404 },         { "minex?x", 404 },
  };
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
    {
      if (engine_exec_owner_check (fake_get, NULL, refused[i].name, 1000, &id,
                                   &v)
          != -1)
        fail_msg ("exec \"%s\" passed", refused[i].name);
      assert_null (id);
      assert_string_equal (v.rule, "eci.owner");
      if (v.status != refused[i].status)
        fail_msg ("exec \"%s\": %d", refused[i].name, v.status);
      eci_verdict_clear (&v);
    }
  assert_int_equal (
      engine_exec_owner_check (NULL, NULL, "minex", 1000, &id, &v), -1);
  assert_int_equal (v.status, 403);
  eci_verdict_clear (&v);
}

/* a container inherits its image's labels: an image labelled as an
 * extension's compose project is refused to a non-root create */
static void
ext_image_decisions (void **state)
{
  struct eci_verdict v = { 0 };
  (void)state;
  const char *refused[] = {
    "{\"Image\":\"extimg\"}",
    "{\"image\":\"legacyimg:1\"}",
    "{\"Image\":\"downimg\"}",
  };
  const char *passed[] = {
    "{\"Image\":\"myimg\"}",     "{\"Image\":\"plainimg\"}",
    "{\"Image\":\"noimg\"}",     "{}",
    "{\"Image\":\"\"}",          "{\"Image\":\"extimg?x=1\"}",
    "{\"Image\":\"../extimg\"}",
  };
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
    {
      if (eci_check_ext_image (fake_get, NULL, refused[i], strlen (refused[i]),
                               &v)
          != -1)
        fail_msg ("passed: %s", refused[i]);
      assert_string_equal (v.rule, "eci.ext-project");
      eci_verdict_clear (&v);
    }
  for (size_t i = 0; i < sizeof passed / sizeof *passed; i++)
    {
      if (eci_check_ext_image (fake_get, NULL, passed[i], strlen (passed[i]),
                               &v)
          != 0)
        fail_msg ("refused: %s: %s", passed[i], v.message);
      eci_verdict_clear (&v);
    }
  const char *b = "{\"Image\":\"extimg\"}";
  assert_int_equal (eci_check_ext_image (fake_get, NULL, b, strlen (b), &v),
                    -1);
  assert_int_equal (v.status, 403);
  assert_string_equal (
      v.message,
      "enhanced container isolation: image \"extimg\" is labelled "
      "com.docker.compose.project=\"moat-ext-x\", which its containers would "
      "carry; compose projects moat-ext-* (and compose's legacy spelling "
      "moatext*) are moat's extension backends, which only root (moatd) may "
      "create");
  eci_verdict_clear (&v);
  assert_int_equal (eci_check_ext_image (NULL, NULL, b, strlen (b), &v), -1);
  assert_int_equal (v.status, 502);
  eci_verdict_clear (&v);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (caller_labels_set),
    cmocka_unit_test (forged_labels_removed),
    cmocka_unit_test (nonroot_binds_standin),
    cmocka_unit_test (moats_own_labels_kept),
    cmocka_unit_test (root_keeps_other_moat_labels),
    cmocka_unit_test (bad_labels_refused),
    cmocka_unit_test (archive_decisions),
    cmocka_unit_test (owner_decisions),
    cmocka_unit_test (exec_owner_decisions),
    cmocka_unit_test (owner_elsewhere),
    cmocka_unit_test (ext_image_decisions),
    cmocka_unit_test (shared_root_never_shares_moat),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
