/* Unit tests of src/engine/eci*.c: create-body checks and rewrites, Go-style
 * key folding, bind-path resolution (on a scratch tree with symlinks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/refusal.h"
#include "engine/eci.h"

struct fx
{
  char root[64];
  char share[PATH_MAX];
  char prot[PATH_MAX];
  char sock[PATH_MAX];
  char *dirs[1];
  const char *protected_paths[1];
  const char *sockets[1];
  struct policy pol;
  struct eci_config cfg;
};

static void
mk (const char *rel, const char *root, int kind, const char *target)
{
  char p[PATH_MAX];
  snprintf (p, sizeof p, "%s/%s", root, rel);
  if (kind == 'd')
    assert_int_equal (mkdir (p, 0755), 0);
  else
    assert_int_equal (symlink (target, p), 0);
}

static int
setup (void **state)
{
  struct fx *f = calloc (1, sizeof *f);
  strcpy (f->root, "/tmp/moat-eci-XXXXXX");
  assert_non_null (mkdtemp (f->root));
  mk ("share", f->root, 'd', NULL);
  mk ("share/sub", f->root, 'd', NULL);
  mk ("moat", f->root, 'd', NULL);
  mk ("run", f->root, 'd', NULL);
  mk ("share/to-etc", f->root, 'l', "/etc");
  mk ("share/to-sub", f->root, 'l', "sub");
  mk ("share/up", f->root, 'l', "..");
  mk ("share/loop", f->root, 'l', "loop");
  snprintf (f->share, sizeof f->share, "%s/share", f->root);
  snprintf (f->prot, sizeof f->prot, "%s/moat", f->root);
  snprintf (f->sock, sizeof f->sock, "%s/run/engine.sock", f->root);
  /* a real socket file inside the share, under a harmless name */
  {
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket (AF_UNIX, SOCK_STREAM, 0);
    snprintf (sa.sun_path, sizeof sa.sun_path, "%s/share/sub/x.sock", f->root);
    assert_int_equal (bind (fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close (fd);
  }
  f->dirs[0] = f->share;
  f->protected_paths[0] = f->prot;
  f->sockets[0] = f->sock;
  f->pol.eci.enabled = true;
  f->pol.filesharing.dirs = f->dirs;
  f->pol.filesharing.n_dirs = 1;
  f->cfg.protected_paths = f->protected_paths;
  f->cfg.n_protected = 1;
  f->cfg.socket_paths = f->sockets;
  f->cfg.n_sockets = 1;
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fx *f = *state;
  char cmd[PATH_MAX + 16];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", f->root);
  assert_int_equal (system (cmd), 0);
  free (f);
  return 0;
}

/* Run the create check; returns status (0 = pass), fills *msg / *body. */
static int
create (struct fx *f, const char *json, char **msg, json_t **body)
{
  char *out = NULL;
  size_t len = 0;
  struct eci_verdict v = { 0 };
  int r = eci_check_container_create (&f->cfg, &f->pol, json, strlen (json),
                                      &out, &len, &v);
  int status = r < 0 ? v.status : 0;
  if (msg)
    *msg = v.message ? strdup (v.message) : NULL;
  if (body)
    *body = out ? json_loadb (out, len, 0, NULL) : NULL;
  free (out);
  eci_verdict_clear (&v);
  return status;
}

static void
runtime_forced (void **state)
{
  struct fx *f = *state;
  json_t *b;
  assert_int_equal (create (f, "{\"Image\":\"busybox\"}", NULL, &b), 0);
  assert_string_equal (json_string_value (json_object_get (
                           json_object_get (b, "HostConfig"), "Runtime")),
                       "moat-runc");
  json_decref (b);
  assert_int_equal (create (f,
                            "{\"Image\":\"busybox\",\"HostConfig\":"
                            "{\"runtime\":\"runc\",\"Memory\":5}}",
                            NULL, &b),
                    0);
  json_t *hc = json_object_get (b, "HostConfig");
  assert_string_equal (json_string_value (json_object_get (hc, "Runtime")),
                       "moat-runc");
  assert_null (json_object_get (hc, "runtime"));
  assert_int_equal (json_integer_value (json_object_get (hc, "Memory")), 5);
  json_decref (b);
  /* a differently spelled HostConfig key becomes the canonical one */
  assert_int_equal (
      create (f, "{\"hostconfig\":{\"Runtime\":\"runc\"}}", NULL, &b), 0);
  assert_null (json_object_get (b, "hostconfig"));
  assert_string_equal (json_string_value (json_object_get (
                           json_object_get (b, "HostConfig"), "Runtime")),
                       "moat-runc");
  json_decref (b);
}

/* CAP_NET_RAW is dropped unless asked for (CapAdd NET_RAW/ALL, Privileged). */
static bool
drops_net_raw (struct fx *f, const char *json)
{
  json_t *b = NULL, *e;
  size_t i;
  bool found = false;
  assert_int_equal (create (f, json, NULL, &b), 0);
  json_array_foreach (
      json_object_get (json_object_get (b, "HostConfig"), "CapDrop"), i,
      e) if (strcmp (json_string_value (e) ?: "", "NET_RAW") == 0) found
      = true;
  json_decref (b);
  return found;
}

static void
net_raw_dropped (void **state)
{
  struct fx *f = *state;
  assert_true (drops_net_raw (f, "{\"Image\":\"busybox\"}"));
  assert_true (drops_net_raw (
      f, "{\"Image\":\"b\",\"HostConfig\":{\"CapDrop\":[\"MKNOD\"]}}"));
  assert_true (drops_net_raw (
      f, "{\"Image\":\"b\",\"HostConfig\":{\"CapAdd\":[\"NET_ADMIN\"]}}"));
  assert_false (drops_net_raw (
      f, "{\"Image\":\"b\",\"HostConfig\":{\"CapAdd\":[\"net_raw\"]}}"));
  assert_false (drops_net_raw (
      f, "{\"Image\":\"b\",\"HostConfig\":{\"CapAdd\":[\"CAP_NET_RAW\"]}}"));
  assert_false (drops_net_raw (
      f, "{\"Image\":\"b\",\"HostConfig\":{\"CapAdd\":[\"ALL\"]}}"));
  assert_false (drops_net_raw (
      f, "{\"Image\":\"b\",\"HostConfig\":{\"Privileged\":true}}"));
  assert_int_equal (create (f,
                            "{\"Image\":\"b\",\"HostConfig\":{\"CapDrop\":5}}",
                            NULL, NULL),
                    400);
}

static void
namespaces_refused (void **state)
{
  struct fx *f = *state;
  const char *fields[] = { "PidMode", "NetworkMode", "IpcMode",
                           "UTSMode", "UsernsMode",  "CgroupnsMode" };
  const char *ns[] = { "pid", "network", "ipc", "uts", "user", "cgroup" };
  for (size_t i = 0; i < 6; i++)
    {
      char json[256], want[160];
      char *msg;
      snprintf (json, sizeof json, "{\"HostConfig\":{\"%s\":\"host\"}}",
                fields[i]);
      snprintf (want, sizeof want,
                "enhanced container isolation: containers can't share the %s "
                "namespace with the host",
                ns[i]);
      assert_int_equal (create (f, json, &msg, NULL), 403);
      assert_string_equal (msg, want);
      free (msg);
      snprintf (json, sizeof json,
                "{\"HostConfig\":{\"%s\":\"container:abc\"}}", fields[i]);
      assert_int_equal (create (f, json, NULL, NULL), 0);
    }
  /* Go folds U+017F (long s) to 's': "PidModſ" is not a key, but
   * "UTSMode" spelled with a long s is */
  assert_int_equal (create (f,
                            "{\"HostConfig\":{\"UTSMode\":\"\","
                            "\"UT\xc5\xbfMode\":\"host\"}}",
                            NULL, NULL),
                    400);
  assert_int_equal (
      create (f, "{\"HostConfig\":{\"UT\xc5\xbfMode\":\"host\"}}", NULL, NULL),
      403);
  assert_int_equal (create (f,
                            "{\"NetworkingConfig\":{\"EndpointsConfig\":"
                            "{\"host\":{}}}}",
                            NULL, NULL),
                    403);
  /* deprecated top-level HostConfig fields */
  assert_int_equal (create (f, "{\"PidMode\":\"host\"}", NULL, NULL), 400);
  assert_int_equal (create (f, "{\"binds\":[\"/:/h\"]}", NULL, NULL), 400);
  /* the engine takes a top-level VolumeDriver even beside a HostConfig
   * whose own is empty (runconfig getHostConfig) */
  assert_int_equal (create (f,
                            "{\"VolumeDriver\":\"../../../x\","
                            "\"HostConfig\":{\"Binds\":[\"v:/x\"]}}",
                            NULL, NULL),
                    400);
  assert_int_equal (
      create (f, "{\"volumedriver\":\"local\",\"HostConfig\":{}}", NULL, NULL),
      400);
}

static void
bad_bodies (void **state)
{
  struct fx *f = *state;
  assert_int_equal (create (f, "", NULL, NULL), 400);
  assert_int_equal (create (f, "[]", NULL, NULL), 400);
  assert_int_equal (create (f, "{\"a\":1,\"a\":2}", NULL, NULL), 400);
  assert_int_equal (create (f, "{\"HostConfig\":\"x\"}", NULL, NULL), 400);
  assert_int_equal (create (f, "{\"HostConfig\":{\"Binds\":{}}}", NULL, NULL),
                    400);
  assert_int_equal (create (f, "{} trailing", NULL, NULL), 400);
}

/* rel starting with "%s" is taken relative to the scratch root */
static int
bind_status (struct fx *f, const char *rel, char **msg)
{
  char json[PATH_MAX * 2], src[PATH_MAX];
  if (strncmp (rel, "%s", 2) == 0)
    snprintf (src, sizeof src, "%s%s", f->root, rel + 2);
  else
    snprintf (src, sizeof src, "%s", rel);
  snprintf (json, sizeof json,
            "{\"Image\":\"img:1\",\"HostConfig\":{\"Binds\":[\"%s:/x:ro\"]}}",
            src);
  return create (f, json, msg, NULL);
}

static void
binds (void **state)
{
  struct fx *f = *state;
  char *msg = NULL;
  assert_int_equal (bind_status (f, "%s/share", NULL), 0);
  assert_int_equal (bind_status (f, "%s/share/sub", NULL), 0);
  assert_int_equal (bind_status (f, "%s/share/to-sub", NULL), 0);
  assert_int_equal (bind_status (f, "%s/share/new/dir", NULL), 0);
  assert_int_equal (bind_status (f, "%s//share/./sub", NULL), 0);
  assert_int_equal (bind_status (f, "%s/share/to-etc", &msg), 403);
  assert_non_null (strstr (msg, "/share/to-etc\" denied; it is outside the "
                                "shared directories"));
  free (msg);
  assert_int_equal (bind_status (f, "%s/share/up", NULL), 403);
  assert_int_equal (bind_status (f, "%s/share/up/share", NULL), 0);
  assert_int_equal (bind_status (f, "%s/share/../moat", NULL), 403);
  assert_int_equal (bind_status (f, "%s/share/loop", NULL), 403);
  assert_int_equal (bind_status (f, "%s/share/missing/../../moat", NULL), 403);
  assert_int_equal (bind_status (f, "%s", NULL), 403);
  /* named volumes are not binds */
  assert_int_equal (
      create (f, "{\"HostConfig\":{\"Binds\":[\"vol:/x\"]}}", NULL, NULL), 0);
}

static void
socket_mounts (void **state)
{
  struct fx *f = *state;
  char *msg = NULL;
  const char *want = "enhanced container isolation: docker socket mount "
                     "denied for container with image \"img:1\"; image is "
                     "not in the allowed list; if you wish to allow it, "
                     "configure the docker socket image list in the moat "
                     "admin settings.";
  assert_int_equal (bind_status (f, "%s/run/engine.sock", &msg), 403);
  assert_string_equal (msg, want);
  free (msg);
  /* parents of a socket */
  assert_int_equal (bind_status (f, "%s/run", NULL), 403);
  assert_int_equal (bind_status (f, "/", &msg), 403);
  assert_string_equal (msg, want);
  free (msg);
  assert_int_equal (bind_status (f, "/var/run", &msg), 403);
  assert_string_equal (msg, want);
  free (msg);
  /* any socket file, whatever its name */
  assert_int_equal (bind_status (f, "%s/share/sub/x.sock", &msg), 403);
  assert_string_equal (msg, want);
  free (msg);
}

#define IMG_ID                                                                \
  "sha256:abababababababababababababababababababababababababababababababab"

static int
allow_all (void *ctx, const struct policy *pol, const char *image,
           const char *path, char **replace, char **image_id, char **message)
{
  (void)ctx;
  (void)pol;
  (void)path;
  (void)message;
  if (strcmp (image, "img:1") != 0)
    return -1;
  if (replace != NULL)
    *replace = strdup ("/filtered/c1.sock");
  *image_id = strdup (IMG_ID);
  return 0;
}

static void
socket_hook (void **state)
{
  struct fx *f = *state;
  char json[PATH_MAX * 3];
  json_t *b;
  f->cfg.socket_mount_allowed = allow_all;
  assert_int_equal (bind_status (f, "%s/run/engine.sock", NULL), 0);
  /* a directory holding a socket is never swapped for it */
  assert_int_equal (bind_status (f, "%s/run", NULL), 403);
  assert_int_equal (bind_status (f, "/", NULL), 403);
  /* the bind (and a Mounts entry) now names the filtered socket, and the
   * container carries the label that ties the socket to it; a forged
   * label is dropped */
  snprintf (json, sizeof json,
            "{\"Image\":\"img:1\",\"Labels\":{\"a\":\"b\"},"
            "\"HostConfig\":{\"Binds\":[\"%s/run/engine.sock:/s:ro\"],"
            "\"Mounts\":[{\"Type\":\"bind\",\"Source\":"
            "\"%s/run/engine.sock\",\"Target\":\"/t\"}]}}",
            f->root, f->root);
  assert_int_equal (create (f, json, NULL, &b), 0);
  json_t *hc = json_object_get (b, "HostConfig");
  assert_string_equal (
      json_string_value (json_array_get (json_object_get (hc, "Binds"), 0)),
      "/filtered/c1.sock:/s:ro");
  assert_string_equal (
      json_string_value (json_object_get (
          json_array_get (json_object_get (hc, "Mounts"), 0), "Source")),
      "/filtered/c1.sock");
  assert_string_equal (json_string_value (json_object_get (
                           json_object_get (b, "Labels"), ECI_SOCKET_LABEL)),
                       "/filtered/c1.sock");
  /* the create runs the image that was checked, whatever the name
   * resolves to by the time the engine reads it */
  assert_string_equal (json_string_value (json_object_get (b, "Image")),
                       IMG_ID);
  assert_string_equal (json_string_value (json_object_get (
                           json_object_get (b, "Labels"), ECI_IMAGE_LABEL)),
                       "img:1");
  json_decref (b);
  assert_int_equal (create (f,
                            "{\"Image\":\"x\",\"Labels\":{\"" ECI_SOCKET_LABEL
                            "\":\"/a\"}}",
                            NULL, &b),
                    0);
  assert_null (
      json_object_get (json_object_get (b, "Labels"), ECI_SOCKET_LABEL));
  json_decref (b);
  f->cfg.socket_mount_allowed = NULL;
}

#define CID_A                                                                 \
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* Containers the fake engine knows, each with one mount. */
static int
fake_inspect (void *ctx, const char *name, char **json, size_t *len)
{
  struct fx *f = ctx;
  const char *type = "bind";
  char src[PATH_MAX + 8];
  if (strcmp (name, "share-c") == 0)
    snprintf (src, sizeof src, "%s/sub", f->share);
  else if (strcmp (name, "etc-c") == 0)
    snprintf (src, sizeof src, "/etc");
  else if (strcmp (name, "sock-c") == 0)
    snprintf (src, sizeof src, "%s", f->sock);
  else if (strcmp (name, "vol-c") == 0)
    type = "volume", snprintf (src, sizeof src, "/var/lib/docker/volumes/v");
  else if (strcmp (name, "broken") == 0)
    return -1;
  else
    return 1;
  if (asprintf (json,
                "{\"Id\":\"" CID_A "\",\"Mounts\":[{\"Type\":\"%s\","
                "\"Source\":\"%s\",\"Destination\":\"/d\"}]}",
                type, src)
      < 0)
    return -1;
  *len = strlen (*json);
  return 0;
}

static int
vf_status (struct fx *f, const char *entry, const char *image, char **msg,
           json_t **body)
{
  char json[512];
  snprintf (json, sizeof json,
            "{\"Image\":\"%s\",\"HostConfig\":{\"VolumesFrom\":"
            "[\"%s\"]}}",
            image, entry);
  return create (f, json, msg, body);
}

/* VolumesFrom: the source's binds are the new container's binds. */
static void
volumes_from (void **state)
{
  struct fx *f = *state;
  char *msg = NULL;
  json_t *b;
  /* no way to look: refused */
  assert_int_equal (vf_status (f, "share-c", "busybox", NULL, NULL), 403);
  f->cfg.inspect_container = fake_inspect;
  f->cfg.inspect_ctx = f;
  /* an ordinary shared directory passes, the entry names the id */
  assert_int_equal (vf_status (f, "share-c:ro", "busybox", NULL, &b), 0);
  assert_string_equal (
      json_string_value (json_array_get (
          json_object_get (json_object_get (b, "HostConfig"), "VolumesFrom"),
          0)),
      CID_A ":ro");
  json_decref (b);
  assert_int_equal (vf_status (f, "vol-c", "busybox", NULL, NULL), 0);
  /* a bind outside the shared directories */
  assert_int_equal (vf_status (f, "etc-c", "busybox", &msg, NULL), 403);
  assert_string_equal (msg, "enhanced container isolation: bind mount of "
                            "\"/etc\" denied; it is outside the shared "
                            "directories");
  free (msg);
  /* the engine socket, for the new container's image */
  assert_int_equal (vf_status (f, "sock-c:rw", "other:1", &msg, NULL), 403);
  assert_non_null (strstr (msg, "docker socket mount denied for container "
                                "with image \"other:1\""));
  free (msg);
  /* an allowed image inherits it: no socket of its own, pinned */
  f->cfg.socket_mount_allowed = allow_all;
  assert_int_equal (vf_status (f, "sock-c", "img:1", NULL, &b), 0);
  assert_string_equal (json_string_value (json_object_get (b, "Image")),
                       IMG_ID);
  assert_null (
      json_object_get (json_object_get (b, "Labels"), ECI_SOCKET_LABEL));
  json_decref (b);
  assert_int_equal (vf_status (f, "sock-c", "other:1", NULL, NULL), 403);
  f->cfg.socket_mount_allowed = NULL;
  /* unknown, unreachable, malformed */
  assert_int_equal (vf_status (f, "nope", "busybox", &msg, NULL), 404);
  assert_string_equal (msg, "No such container: nope");
  free (msg);
  assert_int_equal (vf_status (f, "broken", "busybox", NULL, NULL), 502);
  assert_int_equal (vf_status (f, "../x", "busybox", NULL, NULL), 400);
  assert_int_equal (vf_status (f, "a?b", "busybox", NULL, NULL), 400);
  assert_int_equal (vf_status (f, ":ro", "busybox", NULL, NULL), 400);
  assert_int_equal (
      create (f, "{\"HostConfig\":{\"VolumesFrom\":\"x\"}}", NULL, NULL), 400);
  f->cfg.inspect_container = NULL;
}

static void
mounts_and_volumes (void **state)
{
  struct fx *f = *state;
  char json[PATH_MAX * 2];
  char *out = NULL;
  size_t len;
  struct eci_verdict v = { 0 };
  assert_int_equal (create (f,
                            "{\"HostConfig\":{\"Mounts\":[{\"Type\":"
                            "\"bind\",\"Source\":\"/etc\",\"Target\":"
                            "\"/x\"}]}}",
                            NULL, NULL),
                    403);
  assert_int_equal (create (f,
                            "{\"HostConfig\":{\"Mounts\":[{\"Type\":"
                            "\"volume\",\"Target\":\"/x\",\"VolumeOptions\":"
                            "{\"DriverConfig\":{\"Name\":\"local\","
                            "\"Options\":{\"type\":\"none\",\"o\":\"bind\","
                            "\"device\":\"/etc\"}}}}]}}",
                            NULL, NULL),
                    403);
  assert_int_equal (create (f,
                            "{\"HostConfig\":{\"Mounts\":[{\"Type\":"
                            "\"tmpfs\",\"Target\":\"/x\"}]}}",
                            NULL, NULL),
                    0);
  snprintf (json, sizeof json,
            "{\"Name\":\"v\",\"Driver\":\"local\",\"DriverOpts\":{\"type\":"
            "\"none\",\"o\":\"bind\",\"device\":\"%s/share\"}}",
            f->root);
  assert_int_equal (eci_check_volume_create (&f->cfg, &f->pol, json,
                                             strlen (json), &out, &len, &v),
                    0);
  free (out);
  const char *bad = "{\"Name\":\"v\",\"DriverOpts\":{\"o\":\"bind\","
                    "\"device\":\"/etc\"}}";
  assert_int_equal (eci_check_volume_create (&f->cfg, &f->pol, bad,
                                             strlen (bad), &out, &len, &v),
                    -1);
  assert_int_equal (v.status, 403);
  eci_verdict_clear (&v);
}

/* Run the volume create check; returns status (0 = pass). */
static int
volume (struct fx *f, const char *json, char **msg)
{
  char *out = NULL;
  size_t len = 0;
  struct eci_verdict v = { 0 };
  int r = eci_check_volume_create (&f->cfg, &f->pol, json, strlen (json), &out,
                                   &len, &v);
  int status = r < 0 ? v.status : 0;
  if (msg)
    *msg = v.message ? strdup (v.message) : NULL;
  free (out);
  eci_verdict_clear (&v);
  return status;
}

/* A local volume's DriverOpts as a volume create and as a --mount
 * volume-opt. */
static int
local_opts (struct fx *f, const char *opts, char **msg)
{
  char json[PATH_MAX * 2];
  char *m2 = NULL;
  int a, b;
  snprintf (json, sizeof json, "{\"Name\":\"v\",\"DriverOpts\":%s}", opts);
  a = volume (f, json, msg);
  snprintf (json, sizeof json,
            "{\"Image\":\"busybox\",\"HostConfig\":{\"Mounts\":[{\"Type\":"
            "\"volume\",\"Target\":\"/h\",\"VolumeOptions\":{\"DriverConfig\":"
            "{\"Options\":%s}}}]}}",
            opts);
  b = create (f, json, &m2, NULL);
  free (m2);
  assert_int_equal (a, b);
  return a;
}

/* Hole 1: a local volume's device is a bind source, judged exactly like
 * one; every mount option is known; no fs type but tmpfs and bind. */
static void
local_volume_options (void **state)
{
  struct fx *f = *state;
  char opts[PATH_MAX * 2];
  char *msg = NULL;
  /* the reproducer: dockerd resolves a relative device against its cwd */
  assert_int_equal (local_opts (f,
                                "{\"type\":\"none\",\"o\":\"bind\","
                                "\"device\":\"../..\"}",
                                &msg),
                    403);
  assert_string_equal (msg, "enhanced container isolation: volume device "
                            "\"../..\" denied; a bind volume's device must "
                            "be an absolute, clean host path");
  free (msg);
  assert_int_equal (
      local_opts (f, "{\"o\":\"rbind\",\"device\":\"etc\"}", NULL), 403);
  /* not clean: the engine and the guard could read it two ways */
  snprintf (opts, sizeof opts,
            "{\"type\":\"none\",\"o\":\"bind\",\"device\":\"%s/share/"
            "sub/../sub\"}",
            f->root);
  assert_int_equal (local_opts (f, opts, NULL), 403);
  snprintf (opts, sizeof opts,
            "{\"type\":\"none\",\"o\":\"bind,ro,nosuid\",\"device\":\"%s/"
            "share/sub\"}",
            f->root);
  assert_int_equal (local_opts (f, opts, NULL), 0);
  /* rbind under any type is a bind: judged */
  assert_int_equal (local_opts (f,
                                "{\"type\":\"ext4\",\"o\":\"rbind\","
                                "\"device\":\"/etc\"}",
                                NULL),
                    403);
  /* a symlink out of the share is judged by where it leads */
  snprintf (opts, sizeof opts,
            "{\"type\":\"none\",\"o\":\"bind\",\"device\":\"%s/share/"
            "to-etc\"}",
            f->root);
  assert_int_equal (local_opts (f, opts, NULL), 403);
  /* overlay names host directories in its options */
  snprintf (opts, sizeof opts,
            "{\"type\":\"overlay\",\"device\":\"overlay\",\"o\":\"lowerdir="
            "%s/share:/etc,upperdir=%s/share/sub,workdir=%s/share/w\"}",
            f->root, f->root, f->root);
  assert_int_equal (local_opts (f, opts, &msg), 403);
  assert_string_equal (msg, "enhanced container isolation: volume type "
                            "\"overlay\" denied; only tmpfs volumes and bind "
                            "volumes of shared directories are accepted");
  free (msg);
  /* a host block device */
  assert_int_equal (local_opts (f,
                                "{\"type\":\"ext4\",\"device\":\"/dev/"
                                "loop0\"}",
                                NULL),
                    403);
  /* the host kernel mounting a server as root, outside the net guard */
  assert_int_equal (local_opts (f,
                                "{\"type\":\"nfs\",\"o\":\"addr=10.0.0.1\","
                                "\"device\":\":/export\"}",
                                NULL),
                    403);
  assert_int_equal (
      local_opts (f, "{\"type\":\"proc\",\"device\":\"proc\"}", NULL), 403);
  /* tmpfs: memory, no host path */
  assert_int_equal (local_opts (f,
                                "{\"type\":\"tmpfs\",\"device\":\"tmpfs\","
                                "\"o\":\"size=100m,uid=1000,mode=0700\"}",
                                NULL),
                    0);
  /* options the engine would apply to the host mount */
  snprintf (opts, sizeof opts,
            "{\"type\":\"none\",\"o\":\"bind,remount\",\"device\":\"%s/"
            "share\"}",
            f->root);
  assert_int_equal (local_opts (f, opts, &msg), 403);
  assert_string_equal (msg, "enhanced container isolation: volume option "
                            "\"remount\" denied");
  free (msg);
  assert_int_equal (local_opts (f,
                                "{\"type\":\"tmpfs\",\"device\":\"x\","
                                "\"o\":\"size=1m,rshared\"}",
                                NULL),
                    403);
  /* keys the local driver does not know (or a folded spelling of one) */
  assert_int_equal (local_opts (f,
                                "{\"type\":\"tmpfs\",\"device\":\"x\","
                                "\"Device\":\"/etc\"}",
                                NULL),
                    403);
  assert_int_equal (local_opts (f, "{\"o\":1}", NULL), 400);
  assert_int_equal (local_opts (f, "{}", NULL), 0);
}

/* Hole 3: a driver name is joined to the engine's plugin directory. */
static void
driver_names (void **state)
{
  struct fx *f = *state;
  char *msg = NULL;
  char *allowed[] = { "macvlan", "syslog", "nfsplug" };
  assert_int_equal (
      volume (f, "{\"Name\":\"v\",\"Driver\":\"../../tmp/x/evil\"}", &msg),
      403);
  assert_string_equal (msg, "enhanced container isolation: volume driver "
                            "\"../../tmp/x/evil\" denied; it is not a plugin "
                            "name");
  free (msg);
  assert_int_equal (
      volume (f, "{\"Name\":\"v\",\"Driver\":\"nfsplug\"}", &msg), 403);
  assert_string_equal (
      msg, "enhanced container isolation: volume driver "
           "\"nfsplug\" denied; it is not in the allowed list; if you "
           "wish to allow it, add it to "
           "enhancedContainerIsolation.allowedDrivers in the "
           "moat admin settings.");
  free (msg);
  assert_int_equal (volume (f, "{\"Name\":\"v\",\"Driver\":\"local\"}", NULL),
                    0);
  assert_int_equal (volume (f, "{\"Name\":\"v\",\"driver\":\"\"}", NULL), 0);
  assert_int_equal (volume (f, "{\"Name\":\"v\",\"Driver\":5}", NULL), 400);
  assert_int_equal (create (f,
                            "{\"HostConfig\":{\"VolumeDriver\":\"../../x\"}}",
                            NULL, NULL),
                    403);
  assert_int_equal (create (f,
                            "{\"HostConfig\":{\"Mounts\":[{\"Type\":"
                            "\"volume\",\"Source\":\"v\",\"Target\":\"/x\","
                            "\"VolumeOptions\":{\"DriverConfig\":{\"Name\":"
                            "\"../../x\"}}}]}}",
                            NULL, NULL),
                    403);
  assert_int_equal (create (f,
                            "{\"HostConfig\":{\"LogConfig\":{\"Type\":"
                            "\"../../../tmp/evil\"}}}",
                            NULL, NULL),
                    403);
  assert_int_equal (
      create (f, "{\"HostConfig\":{\"LogConfig\":{\"Type\":\"syslog\"}}}",
              &msg, NULL),
      403);
  assert_string_equal (
      msg, "enhanced container isolation: log driver "
           "\"syslog\" denied; it is not in the allowed list; if you "
           "wish to allow it, add it to "
           "enhancedContainerIsolation.allowedDrivers in the "
           "moat admin settings.");
  free (msg);
  assert_int_equal (
      create (f,
              "{\"HostConfig\":{\"LogConfig\":{\"Type\":\"json-file\","
              "\"Config\":{\"max-size\":\"1m\"}}}}",
              NULL, NULL),
      0);
  assert_int_equal (create (f,
                            "{\"HostConfig\":{\"LogConfig\":{\"Type\":\"\"}}}",
                            NULL, NULL),
                    0);
  f->pol.eci.drivers = allowed;
  f->pol.eci.n_drivers = 3;
  assert_int_equal (
      create (f, "{\"HostConfig\":{\"LogConfig\":{\"Type\":\"syslog\"}}}",
              NULL, NULL),
      0);
  assert_int_equal (
      volume (f, "{\"Name\":\"v\",\"Driver\":\"nfsplug\"}", NULL), 0);
  assert_int_equal (create (f,
                            "{\"HostConfig\":{\"VolumeDriver\":\"nfsplug\"}}",
                            NULL, NULL),
                    0);
  /* an allowed plugin's options are its own business */
  assert_int_equal (
      volume (f,
              "{\"Name\":\"v\",\"Driver\":\"nfsplug\",\"DriverOpts\":"
              "{\"share\":\"srv:/x\"}}",
              NULL),
      0);
  f->pol.eci.drivers = NULL;
  f->pol.eci.n_drivers = 0;
}

/* Block I/O limits name a device path the engine stat()s as host root:
 * only clean paths under /dev, not through /dev/shm or /dev/fd. */
static void
blkio_device_paths (void **state)
{
  struct fx *f = *state;
  static const char *const ok_paths[]
      = { "/dev/sda", "/dev/mapper/vg-root", "/dev/disk/by-id/x" };
  static const char *const bad[] = {
    "/root/.ssh/id_rsa", "/dev/shm/x", "/dev/fd/5/etc", "/dev/../etc/x",
    "/dev//sda",         "/dev/",      "dev/sda",       "/dev/sda/",
    "/dev/./sda",        "",
  };
  static const char *const fields[]
      = { "BlkioWeightDevice", "blkiodevicereadbps", "BlkioDeviceWriteBps",
          "BlkioDeviceReadIOps", "BlkioDeviceWriteIOps" };
  char body[512];
  for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++)
    {
      for (size_t i = 0; i < sizeof ok_paths / sizeof ok_paths[0]; i++)
        {
          snprintf (body, sizeof body,
                    "{\"HostConfig\":{\"%s\":[{\"Path\":\"%s\",\"Rate\":1}]}}",
                    fields[k], ok_paths[i]);
          assert_int_equal (create (f, body, NULL, NULL), 0);
        }
      for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        {
          char *msg = NULL;
          char want[512];
          snprintf (body, sizeof body,
                    "{\"HostConfig\":{\"%s\":[{\"Path\":\"%s\",\"Rate\":1}]}}",
                    fields[k], bad[i]);
          assert_int_equal (create (f, body, &msg, NULL), 403);
          snprintf (want, sizeof want, REFUSAL_ECI_BLKIO_DEVICE, bad[i]);
          assert_string_equal (msg, want);
          free (msg);
        }
    }
}

/* Hole 2 and the HostConfig pass: host devices, cgroup placement, masks. */
static void
host_config_fields (void **state)
{
  struct fx *f = *state;
  char *msg = NULL;
  assert_int_equal (create (f,
                            "{\"HostConfig\":{\"DeviceCgroupRules\":"
                            "[\"b 7:* rwm\"]}}",
                            &msg, NULL),
                    403);
  assert_string_equal (msg, "enhanced container isolation: device cgroup "
                            "rules can't be set; they would give access to "
                            "host devices");
  free (msg);
  assert_int_equal (
      create (f, "{\"HostConfig\":{\"DeviceCgroupRules\":[]}}", NULL, NULL),
      0);
  assert_int_equal (create (f,
                            "{\"HostConfig\":{\"Devices\":[{\"PathOnHost\":"
                            "\"/dev/loop0\",\"PathInContainer\":\"/dev/"
                            "loop0\",\"CgroupPermissions\":\"rwm\"}]}}",
                            &msg, NULL),
                    403);
  assert_string_equal (msg, "enhanced container isolation: host device "
                            "\"/dev/loop0\" can't be given to a container; "
                            "only /dev/fuse, /dev/net/tun and the standard "
                            "character devices (null, zero, full, random, "
                            "urandom, tty) can");
  free (msg);
  assert_int_equal (create (f,
                            "{\"HostConfig\":{\"Devices\":[{\"PathOnHost\":"
                            "\"/dev/../dev/sda\"}]}}",
                            NULL, NULL),
                    403);
  assert_int_equal (create (f,
                            "{\"HostConfig\":{\"Devices\":[{\"PathOnHost\":"
                            "\"/dev\"}]}}",
                            NULL, NULL),
                    403);
  /* a path through a link a user could swap, even to a safe device */
  assert_int_equal (create (f,
                            "{\"HostConfig\":{\"Devices\":[{\"PathOnHost\":"
                            "\"/dev/../dev/fuse\"}]}}",
                            NULL, NULL),
                    403);
  assert_int_equal (create (f,
                            "{\"HostConfig\":{\"Devices\":[{\"PathOnHost\":"
                            "\"/dev/fuse\",\"PathInContainer\":\"/dev/fuse\","
                            "\"CgroupPermissions\":\"rwm\"}]}}",
                            NULL, NULL),
                    0);
  assert_int_equal (create (f,
                            "{\"HostConfig\":{\"DeviceRequests\":[{"
                            "\"Driver\":\"nvidia\",\"Count\":-1}]}}",
                            NULL, NULL),
                    403);
  assert_int_equal (
      create (f, "{\"HostConfig\":{\"CgroupParent\":\"../../init.scope\"}}",
              &msg, NULL),
      403);
  assert_string_equal (msg, "enhanced container isolation: a cgroup parent "
                            "can't be set; containers stay in the engine's "
                            "cgroup");
  free (msg);
  assert_int_equal (
      create (f, "{\"HostConfig\":{\"CgroupParent\":\"\"}}", NULL, NULL), 0);
  assert_int_equal (create (f,
                            "{\"HostConfig\":{\"SecurityOpt\":["
                            "\"systempaths=unconfined\"]}}",
                            &msg, NULL),
                    403);
  assert_string_equal (msg, "enhanced container isolation: security option "
                            "\"systempaths=unconfined\" denied; /proc and "
                            "/sys stay masked");
  free (msg);
  assert_int_equal (create (f,
                            "{\"HostConfig\":{\"SecurityOpt\":["
                            "\"systempaths:unconfined\"]}}",
                            NULL, NULL),
                    403);
  assert_int_equal (create (f,
                            "{\"HostConfig\":{\"SecurityOpt\":["
                            "\"no-new-privileges\",\"seccomp=unconfined\"]}}",
                            NULL, NULL),
                    0);
  assert_int_equal (
      create (f, "{\"HostConfig\":{\"MaskedPaths\":[]}}", &msg, NULL), 403);
  assert_string_equal (msg, "enhanced container isolation: "
                            "HostConfig.MaskedPaths can't be set "
                            "(--security-opt systempaths=unconfined); /proc "
                            "and /sys stay masked");
  free (msg);
  assert_int_equal (
      create (f, "{\"HostConfig\":{\"ReadonlyPaths\":[]}}", NULL, NULL), 403);
  assert_int_equal (
      create (f, "{\"HostConfig\":{\"MaskedPaths\":null}}", NULL, NULL), 0);
  /* the kernel would kill host processes before the container */
  assert_int_equal (
      create (f, "{\"HostConfig\":{\"OomScoreAdj\":-1000}}", &msg, NULL), 403);
  assert_string_equal (msg, "enhanced container isolation: a negative OOM "
                            "score adjustment can't be set; the kernel would "
                            "kill host processes first");
  free (msg);
  assert_int_equal (
      create (f, "{\"HostConfig\":{\"OomScoreAdj\":500}}", NULL, NULL), 0);
}

/* Run the network create check; returns status (0 = pass). */
static int
network (struct fx *f, const char *json, char **msg)
{
  char *out = NULL;
  size_t len = 0;
  struct eci_verdict v = { 0 };
  int r = eci_check_network_create (&f->cfg, &f->pol, json, strlen (json),
                                    &out, &len, &v);
  int status = r < 0 ? v.status : 0;
  if (msg)
    *msg = v.message ? strdup (v.message) : NULL;
  free (out);
  eci_verdict_clear (&v);
  return status;
}

/* Issue 11 item 1: user networks stay on engine bridges in the pool. */
static void
network_create (void **state)
{
  struct fx *f = *state;
  char *msg = NULL;
  char *allowed[] = { "macvlan" };
  const char *cidrs[] = { "10.213.0.1/24", "10.214.0.0/16" };
  assert_int_equal (network (f, "{\"Name\":\"n\"}", NULL), 0);
  assert_int_equal (
      network (f, "{\"Name\":\"n\",\"Driver\":\"bridge\"}", NULL), 0);
  assert_int_equal (network (f,
                             "{\"Name\":\"n\",\"Driver\":\"macvlan\","
                             "\"Options\":{\"parent\":\"eth0\"}}",
                             &msg),
                    403);
  assert_string_equal (
      msg, "enhanced container isolation: network driver "
           "\"macvlan\" denied; it is not in the allowed list; if you "
           "wish to allow it, add it to "
           "enhancedContainerIsolation.allowedDrivers in the "
           "moat admin settings.");
  free (msg);
  assert_int_equal (
      network (f, "{\"Name\":\"n\",\"Driver\":\"ipvlan\"}", NULL), 403);
  assert_int_equal (
      network (f, "{\"Name\":\"n\",\"driver\":\"../../../tmp/evil\"}", NULL),
      403);
  assert_int_equal (network (f,
                             "{\"Name\":\"n\",\"IPAM\":{\"Driver\":\"../"
                             "x\"}}",
                             NULL),
                    403);
  assert_int_equal (network (f,
                             "{\"Name\":\"n\",\"IPAM\":{\"Driver\":"
                             "\"default\"}}",
                             NULL),
                    0);
  assert_int_equal (network (f,
                             "{\"Name\":\"n\",\"Options\":{\"com.docker."
                             "network.bridge.name\":\"eth0\"}}",
                             &msg),
                    403);
  assert_string_equal (msg, "enhanced container isolation: network option "
                            "\"com.docker.network.bridge.name\" denied; user "
                            "networks get the engine's own bridge");
  free (msg);
  assert_int_equal (network (f,
                             "{\"Name\":\"n\",\"Options\":{\"com.docker."
                             "network.driver.mtu\":\"1400\"}}",
                             NULL),
                    0);
  /* no pool known (external engine): subnets are not restricted */
  assert_int_equal (network (f,
                             "{\"Name\":\"n\",\"IPAM\":{\"Config\":[{"
                             "\"Subnet\":\"192.168.213.0/24\"}]}}",
                             NULL),
                    0);
  f->cfg.container_cidrs = cidrs;
  f->cfg.n_container_cidrs = 2;
  assert_int_equal (network (f,
                             "{\"Name\":\"n\",\"IPAM\":{\"Config\":[{"
                             "\"Subnet\":\"192.168.213.0/24\"}]}}",
                             &msg),
                    403);
  assert_string_equal (msg, "enhanced container isolation: subnet "
                            "\"192.168.213.0/24\" denied; user networks must "
                            "lie inside moat's address pool "
                            "(10.213.0.1/24, 10.214.0.0/16)");
  free (msg);
  assert_int_equal (network (f,
                             "{\"Name\":\"n\",\"IPAM\":{\"Config\":[{"
                             "\"Subnet\":\"10.214.9.0/24\",\"Gateway\":"
                             "\"10.214.9.1\"}]}}",
                             NULL),
                    0);
  assert_int_equal (network (f,
                             "{\"Name\":\"n\",\"IPAM\":{\"Config\":[{"
                             "\"Subnet\":\"10.0.0.0/8\"}]}}",
                             NULL),
                    403);
  assert_int_equal (network (f,
                             "{\"Name\":\"n\",\"EnableIPv6\":true,\"IPAM\":"
                             "{\"Config\":[{\"Subnet\":\"fd00:1::/64\"}]}}",
                             NULL),
                    403);
  assert_int_equal (network (f,
                             "{\"Name\":\"n\",\"IPAM\":{\"Config\":[{"
                             "\"Subnet\":\"bogus\"}]}}",
                             NULL),
                    400);
  f->pol.eci.drivers = allowed;
  f->pol.eci.n_drivers = 1;
  assert_int_equal (
      network (f, "{\"Name\":\"n\",\"Driver\":\"macvlan\"}", NULL), 0);
  f->pol.eci.drivers = NULL;
  f->pol.eci.n_drivers = 0;
  f->cfg.container_cidrs = NULL;
  f->cfg.n_container_cidrs = 0;
}

static void
build_query (void **state)
{
  struct eci_verdict v = { 0 };
  assert_int_equal (eci_check_build ("t=x&networkmode=default", &v), 0);
  assert_int_equal (eci_check_build ("t=x&networkmode=host", &v), -1);
  eci_verdict_clear (&v);
  assert_int_equal (eci_check_build ("version=2", &v), -1);
  assert_string_equal (v.rule, "eci.buildkit");
  eci_verdict_clear (&v);
  assert_int_equal (eci_check_build ("version=1", &v), 0);
  /* a non-root caller's build steps join no container's namespaces and
   * no user network (the engine creates them without the create checks) */
  assert_int_equal (eci_check_build_network ("t=x", &v), 0);
  assert_int_equal (eci_check_build_network (
                        "networkmode=&networkmode=default&networkmode=bridge"
                        "&networkmode=none",
                        &v),
                    0);
  assert_int_equal (eci_check_build_network (
                        "networkmode=default&networkmode=container%3Aa", &v),
                    -1);
  assert_int_equal (v.status, 403);
  assert_string_equal (v.rule, "eci.namespace");
  assert_string_equal (
      v.message, "enhanced container isolation: docker build --network "
                 "\"container:a\" is refused for users other than root: the "
                 "engine creates build steps itself, without the checks of a "
                 "create, so a step can't join a container's namespaces or a "
                 "user network; build with the default network or --network "
                 "none");
  eci_verdict_clear (&v);
  assert_int_equal (eci_check_build_network ("networkmode=anet", &v), -1);
  eci_verdict_clear (&v);
  assert_int_equal (eci_check_build_network ("networkmode=Bridge", &v), -1);
  eci_verdict_clear (&v);
  /* the engine would fetch the context itself, as host root */
  assert_int_equal (
      eci_check_build ("remote=http%3A%2F%2F169.254.169.254%2Fx", &v), -1);
  assert_int_equal (v.status, 403);
  assert_string_equal (
      v.message, "enhanced container isolation: the engine would fetch "
                 "\"http://169.254.169.254/x\" itself, from the host and "
                 "outside the net guard; fetch it yourself and send it "
                 "as the build context");
  eci_verdict_clear (&v);
  assert_int_equal (eci_check_image_create ("fromImage=busybox&tag=1", &v), 0);
  assert_int_equal (eci_check_image_create ("fromSrc=-&repo=x", &v), 0);
  assert_int_equal (
      eci_check_image_create ("fromSrc=-&fromSrc=http://10.0.0.1/r.tar", &v),
      -1);
  assert_int_equal (v.status, 403);
  eci_verdict_clear (&v);
  /* build steps are containers too: no cgroup placement */
  assert_int_equal (eci_check_build ("t=x&cgroupparent=/", &v), -1);
  assert_int_equal (v.status, 403);
  eci_verdict_clear (&v);
}

static void
key_folding (void **state)
{
  assert_true (eci_json_key_fold_eq ("hostconfig", "HostConfig"));
  assert_true (eci_json_key_fold_eq ("HO\xc5\xbfTCONFIG", "HostConfig"));
  assert_true (eci_json_key_fold_eq ("Networ\xe2\x84\xaaMode", "NetworkMode"));
  assert_false (eci_json_key_fold_eq ("HostConfig2", "HostConfig"));
  assert_false (eci_json_key_fold_eq ("H\xc3\xb6stConfig", "HostConfig"));
}

static void
resolve (void **state)
{
  struct fx *f = *state;
  char p[PATH_MAX], want[PATH_MAX];
  char *r;
  snprintf (p, sizeof p, "%s/share/to-sub/../sub/./x", f->root);
  snprintf (want, sizeof want, "%s/share/sub/x", f->root);
  r = eci_resolve_host_path (p);
  assert_string_equal (r, want);
  free (r);
  r = eci_resolve_host_path ("/../..//etc/");
  assert_string_equal (r, "/etc");
  free (r);
  assert_null (eci_resolve_host_path ("relative"));
}

/* Objects docker-compose would adopt into an extension's backend project
 * (moat-ext-<name>): a non-root caller may not make them. */
static void
ext_project_reserved (void **state)
{
  (void)state;
  const struct
  {
    const char *body;
    bool with_name;
  } refused[] = {
    { "{\"Labels\":{\"com.docker.compose.project\":\"moat-ext-x\"}}", false },
    { "{\"Labels\":{\"com.docker.compose.project\":\"MOAT-EXT-x\"}}", false },
    { "{\"labels\":{\"com.docker.compose.project\":\"moat-ext-x\"}}", false },
    /* U+017F folds to s, as encoding/json reads it */
    { "{\"Label\u017f\":{\"com.docker.compose.project\":\"moat-ext-x\"}}",
      false },
    { "{\"Name\":\"moat-ext-x_default\"}", true },
    { "{\"name\":\"Moat-Ext-x_data\"}", true },
    { "{\"Name\":\"v\",\"Labels\":{\"com.docker.compose.project\":"
      "\"moat-ext-x\"}}",
      true },
    /* two keys Go folds to one field: refused, not guessed */
    { "{\"Labels\":{},\"labels\":{\"com.docker.compose.project\":"
      "\"moat-ext-x\"}}",
      false },
    { "not json", false },
    /* compose 1.x's legacy project name: without '-' and '_' */
    { "{\"Labels\":{\"com.docker.compose.project\":\"moatextx\"}}", false },
    { "{\"Name\":\"moatextx_default\"}", true },
    { "{\"Name\":\"moat_ext_x_data\"}", true },
    { "{\"Name\":\"-moat-ext-x\"}", true },
  };
  const struct
  {
    const char *body;
    bool with_name;
  } passed[] = {
    { "", true },
    { "  ", false },
    { "{}", true },
    { "{\"Labels\":null,\"Name\":\"\"}", true },
    { "{\"Labels\":{\"com.docker.compose.project\":\"myproj\"}}", false },
    { "{\"Labels\":{\"com.docker.compose.project\":\"ext-moat-x\"}}", false },
    { "{\"Labels\":{\"other\":\"moat-ext-x\"}}", false },
    /* a container's name is not adopted */
    { "{\"Name\":\"moat-ext-x\"}", false },
    { "{\"Name\":\"my-moat-ext-x\"}", true },
    { "{\"Name\":\"moat\"}", true },
    { "{\"Name\":\"moatex\"}", true },
    { "{\"Name\":\"moat-other\"}", true },
  };
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
    {
      struct eci_verdict v = { 0 };
      if (eci_check_ext_reserved (refused[i].body, strlen (refused[i].body),
                                  "volume", refused[i].with_name, &v)
          != -1)
        fail_msg ("passed: %s", refused[i].body);
      assert_non_null (v.message);
      eci_verdict_clear (&v);
    }
  for (size_t i = 0; i < sizeof passed / sizeof *passed; i++)
    {
      struct eci_verdict v = { 0 };
      if (eci_check_ext_reserved (passed[i].body, strlen (passed[i].body),
                                  "network", passed[i].with_name, &v)
          != 0)
        fail_msg ("refused: %s: %s", passed[i].body, v.message);
      eci_verdict_clear (&v);
    }
  struct eci_verdict v = { 0 };
  const char *b
      = "{\"Labels\":{\"com.docker.compose.project\":\"moat-ext-x\"}}";
  assert_int_equal (
      eci_check_ext_reserved (b, strlen (b), "container", false, &v), -1);
  assert_int_equal (v.status, 403);
  assert_string_equal (v.rule, "eci.ext-project");
  assert_string_equal (
      v.message,
      "enhanced container isolation: container labelled "
      "com.docker.compose.project=\"moat-ext-x\" refused; compose "
      "projects moat-ext-* (and compose's legacy spelling moatext*) "
      "are moat's extension backends, which only root (moatd) may "
      "create");
  eci_verdict_clear (&v);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (ext_project_reserved),
    cmocka_unit_test_setup_teardown (runtime_forced, setup, teardown),
    cmocka_unit_test_setup_teardown (net_raw_dropped, setup, teardown),
    cmocka_unit_test_setup_teardown (namespaces_refused, setup, teardown),
    cmocka_unit_test_setup_teardown (bad_bodies, setup, teardown),
    cmocka_unit_test_setup_teardown (binds, setup, teardown),
    cmocka_unit_test_setup_teardown (socket_mounts, setup, teardown),
    cmocka_unit_test_setup_teardown (socket_hook, setup, teardown),
    cmocka_unit_test_setup_teardown (volumes_from, setup, teardown),
    cmocka_unit_test_setup_teardown (mounts_and_volumes, setup, teardown),
    cmocka_unit_test_setup_teardown (local_volume_options, setup, teardown),
    cmocka_unit_test_setup_teardown (driver_names, setup, teardown),
    cmocka_unit_test_setup_teardown (host_config_fields, setup, teardown),
    cmocka_unit_test_setup_teardown (blkio_device_paths, setup, teardown),
    cmocka_unit_test_setup_teardown (network_create, setup, teardown),
    cmocka_unit_test (build_query),
    cmocka_unit_test (key_folding),
    cmocka_unit_test_setup_teardown (resolve, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
