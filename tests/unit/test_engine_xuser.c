/* Unit tests of other users' volumes, networks and prunes
 * (src/engine/xuser.c): the prune filters a non-root caller's prune is
 * sent with, and the owner checks against a fake engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/refusal.h"
#include "common/strutil.h"
#include "engine/xuser.h"

/* the filters= of a rewritten prune URI, decoded */
static json_t *
filters_of (const char *uri)
{
  const char *q = strstr (uri, "?filters=");
  char *dec;
  json_t *j;
  assert_non_null (q);
  assert_null (strchr (q + 9, '&'));
  dec = pct_decode (q + 9, strlen (q + 9), true);
  assert_non_null (dec);
  j = json_loads (dec, 0, NULL);
  free (dec);
  assert_non_null (j);
  return j;
}

static void
prune_adds_owner_label (void **state)
{
  struct eci_verdict v = { 0 };
  char *uri = NULL;
  json_t *f;
  (void)state;

  assert_int_equal (
      engine_prune_uri ("1.41", "/containers/prune", "", 1000, &uri, &v), 0);
  assert_true (strncmp (uri, "/v1.41/containers/prune?filters=", 32) == 0);
  f = filters_of (uri);
  assert_true (json_is_true (json_object_get (json_object_get (f, "label"),
                                              "com.moat.caller.uid=1000")));
  assert_int_equal (json_object_size (f), 1);
  json_decref (f);
  free (uri);

  /* the caller's own filters kept; another uid's label ANDed, not
   * replacing; the legacy list form folded; other parameters dropped */
  assert_int_equal (
      engine_prune_uri ("", "/volumes/prune",
                        "filters=%7B%22label%22%3A%5B%22com.moat.caller.uid%"
                        "3D0%22%5D%2C%22until%22%3A%7B%2224h%22%3Atrue%7D%"
                        "7D&filters=%7B%7D&x=1",
                        1000, &uri, &v),
      0);
  assert_true (strncmp (uri, "/volumes/prune?filters=", 23) == 0);
  f = filters_of (uri);
  assert_true (json_is_true (json_object_get (json_object_get (f, "label"),
                                              "com.moat.caller.uid=1000")));
  assert_true (json_is_true (json_object_get (json_object_get (f, "label"),
                                              "com.moat.caller.uid=0")));
  assert_true (
      json_is_true (json_object_get (json_object_get (f, "until"), "24h")));
  json_decref (f);
  free (uri);
}

static void
prune_bad_filters (void **state)
{
  static const char *const bad[] = {
    "filters=notjson", "filters=%5B%5D",      /* [] */
    "filters=%7B%22label%22%3A1%7D",          /* {"label":1} */
    "filters=%7B%22label%22%3A%5B1%5D%7D",    /* {"label":[1]} */
    "filters=%7B%22a%22%3A1%2C%22a%22%3A2%7D" /* duplicate keys */
  };
  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      struct eci_verdict v = { 0 };
      char *uri = NULL;
      assert_int_equal (
          engine_prune_uri ("", "/networks/prune", bad[i], 1000, &uri, &v),
          -1);
      assert_null (uri);
      assert_int_equal (v.status, 400);
      eci_verdict_clear (&v);
    }
}

/* ---- a fake engine: volumes by name, with their owner uid ---- */

struct fake
{
  const char *names[8];
  const char *owners[8]; /* NULL: no label */
  int n;
  const char *race_owner; /* a create is answered, but the volume is this
                             uid's (another made it in between) */
  int posts;
  char last_post[512];
};

/* networks: anet (uid 1001), bnet (1000), bridge (the engine's), rnet
 * (root's: no label) */
static int
fake_net (const char *path, char **body, size_t *len)
{
  static const char *const nets[][2] = {
    { "anet", "{\"Name\":\"anet\",\"Labels\":{\"com.moat.caller.uid\":"
              "\"1001\"}}" },
    { "bnet", "{\"Name\":\"bnet\",\"Labels\":{\"com.moat.caller.uid\":"
              "\"1000\"}}" },
    { "bridge", "{\"Name\":\"bridge\",\"Labels\":{}}" },
    { "0123456789ab", "{\"Name\":\"anet\",\"Labels\":{\"com.moat.caller."
                      "uid\":\"1001\"}}" },
    { "rnet", "{\"Name\":\"rnet\",\"Labels\":{}}" },
  };
  for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
    if (strcmp (path + strlen ("/networks/"), nets[i][0]) == 0)
      {
        *body = strdup (nets[i][1]);
        *len = strlen (*body);
        return 0;
      }
  return 1;
}

static int
fake_get (void *ctx, const char *path, char **body, size_t *len)
{
  struct fake *f = ctx;
  if (strncmp (path, "/networks/", 10) == 0)
    return fake_net (path, body, len);
  for (int i = 0; i < f->n; i++)
    {
      char want[64];
      snprintf (want, sizeof want, "/volumes/%s", f->names[i]);
      if (strcmp (path, want) != 0)
        continue;
      if (f->owners[i] == NULL)
        assert_true (
            asprintf (body, "{\"Name\":\"%s\",\"Labels\":null}", f->names[i])
            > 0);
      else
        assert_true (asprintf (body,
                               "{\"Name\":\"%s\",\"Labels\":{\"com.moat."
                               "caller.uid\":\"%s\"}}",
                               f->names[i], f->owners[i])
                     > 0);
      *len = strlen (*body);
      return 0;
    }
  return 1;
}

static int
fake_post (void *ctx, const char *path, const char *body, size_t len)
{
  struct fake *f = ctx;
  json_t *j = json_loadb (body, len, 0, NULL);
  assert_string_equal (path, "/volumes/create");
  assert_non_null (j);
  snprintf (f->last_post, sizeof f->last_post, "%.*s", (int)len, body);
  f->names[f->n] = strdup (json_string_value (json_object_get (j, "Name")));
  f->owners[f->n]
      = f->race_owner
            ? f->race_owner
            : strdup (json_string_value (json_object_get (
                json_object_get (j, "Labels"), "com.moat.caller.uid")));
  f->n++;
  f->posts++;
  json_decref (j);
  return 201;
}

static int
create (struct fake *f, const char *body, struct eci_verdict *v)
{
  return engine_create_objects_check (fake_get, fake_post, f, body,
                                      strlen (body), 1000, 1000, v);
}

static void
volumes_of_others (void **state)
{
  static const char race[] = "1001";
  struct fake f = { .names = { "avol", "rvol", "bvol" },
                    .owners = { "1001", NULL, "1000" },
                    .n = 3 };
  static const char *const refused[] = {
    "{\"HostConfig\":{\"Binds\":[\"avol:/x\"]}}",
    "{\"HostConfig\":{\"Binds\":[\"bvol:/y\",\"avol:/x:ro\"]}}",
    "{\"hostconfig\":{\"binds\":[\"rvol:/x\"]}}",
    "{\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\",\"Source\":"
    "\"avol\",\"Target\":\"/x\"}]}}",
    "{\"HostConfig\":{\"mounts\":[{\"type\":\"Volume\",\"source\":"
    "\"avol\",\"target\":\"/x\"}]}}",
  };
  struct eci_verdict v = { 0 };
  (void)state;
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
    {
      assert_int_equal (create (&f, refused[i], &v), -1);
      assert_int_equal (v.status, 403);
      assert_non_null (strstr (v.message, "was created by another user"));
      eci_verdict_clear (&v);
    }
  assert_int_equal (f.posts, 0);
  /* the caller's own, host paths, anonymous volumes: nothing asked */
  assert_int_equal (
      create (&f,
              "{\"HostConfig\":{\"Binds\":[\"bvol:/x\",\"/tmp:/t\",\"/anon\"],"
              "\"Mounts\":[{\"Type\":\"volume\",\"Target\":\"/y\"}]}}",
              &v),
      0);
  assert_int_equal (f.posts, 0);
  /* a new one is made, the caller's */
  assert_int_equal (
      create (&f, "{\"HostConfig\":{\"Binds\":[\"newv:/x\"]}}", &v), 0);
  assert_int_equal (f.posts, 1);
  assert_non_null (strstr (f.last_post, "\"com.moat.caller.uid\":\"1000\""));
  /* with the mount's driver, options and labels; no forged owner */
  assert_int_equal (
      create (
          &f,
          "{\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\",\"Source\":"
          "\"newm\",\"Target\":\"/x\",\"VolumeOptions\":{\"Labels\":{"
          "\"l\":\"1\",\"com.moat.caller.uid\":\"1001\"},\"DriverConfig\":{"
          "\"Name\":\"local\",\"Options\":{\"type\":\"tmpfs\"}}}}]}}",
          &v),
      0);
  assert_non_null (strstr (f.last_post, "\"l\":\"1\""));
  assert_non_null (strstr (f.last_post, "\"type\":\"tmpfs\""));
  assert_non_null (strstr (f.last_post, "\"Driver\":\"local\""));
  assert_null (strstr (f.last_post, "1001"));
  /* another user made it between the look and the create */
  f.race_owner = race;
  assert_int_equal (
      create (&f, "{\"HostConfig\":{\"Binds\":[\"racy:/x\"]}}", &v), -1);
  assert_int_equal (v.status, 403);
  eci_verdict_clear (&v);
  /* an extension backend's volume, made by a container create */
  f.race_owner = NULL;
  {
    int posts = f.posts;
    assert_int_equal (
        create (&f, "{\"HostConfig\":{\"Binds\":[\"moat-ext-x_data:/x\"]}}",
                &v),
        -1);
    assert_string_equal (v.rule, "eci.ext-project");
    eci_verdict_clear (&v);
    assert_int_equal (
        create (
            &f,
            "{\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\","
            "\"Source\":\"v2\",\"Target\":\"/x\",\"VolumeOptions\":{"
            "\"Labels\":{\"com.docker.compose.project\":\"moat-ext-x\"}}}]}}",
            &v),
        -1);
    assert_string_equal (v.rule, "eci.ext-project");
    eci_verdict_clear (&v);
    assert_int_equal (f.posts, posts);
  }
  /* a name no volume can have, which could change the URL */
  assert_int_equal (
      create (&f, "{\"HostConfig\":{\"Binds\":[\"a?b:/x\"]}}", &v), -1);
  assert_int_equal (v.status, 400);
  eci_verdict_clear (&v);
  /* the routes: inspect / rm */
  assert_int_equal (engine_volume_owner_check (fake_get, &f, "bvol", 1000, &v),
                    0);
  assert_int_equal (engine_volume_owner_check (fake_get, &f, "avol", 1000, &v),
                    -1);
  assert_int_equal (v.status, 403);
  eci_verdict_clear (&v);
  assert_int_equal (engine_volume_owner_check (fake_get, &f, "nope", 1000, &v),
                    -1);
  assert_int_equal (v.status, 404);
  eci_verdict_clear (&v);
  for (int i = 3; i < f.n; i++)
    {
      free ((char *)f.names[i]);
      if (f.owners[i] != race)
        free ((char *)f.owners[i]);
    }
}

static void
volume_create_labels (void **state)
{
  struct fake f = { .names = { "avol" }, .owners = { "1001" }, .n = 1 };
  struct eci_verdict v = { 0 };
  char *out = NULL;
  size_t n = 0;
  static const char body[]
      = "{\"Name\":\"mine\",\"Labels\":{\"com.moat.caller.uid\":\"1001\","
        "\"COM.MOAT.x\":\"y\",\"keep\":\"1\"}}";
  (void)state;
  assert_int_equal (engine_volume_create_owner (fake_get, &f, body,
                                                strlen (body), 1000, 1000,
                                                &out, &n, &v),
                    0);
  assert_non_null (strstr (out, "\"com.moat.caller.uid\":\"1000\""));
  assert_non_null (strstr (out, "\"keep\":\"1\""));
  assert_null (strstr (out, "COM.MOAT"));
  free (out);
  assert_int_equal (engine_volume_create_owner (fake_get, &f,
                                                "{\"Name\":\"avol\"}", 15,
                                                1000, 1000, &out, &n, &v),
                    -1);
  assert_int_equal (v.status, 403);
  eci_verdict_clear (&v);
}

static void
networks_of_others (void **state)
{
  struct fake f = { 0 };
  struct eci_verdict v = { 0 };
  char *out = NULL;
  size_t n = 0;
  static const char *const refused[] = {
    "{\"HostConfig\":{\"NetworkMode\":\"anet\"}}",
    "{\"HostConfig\":{\"NetworkMode\":\"0123456789ab\"}}",
    "{\"HostConfig\":{\"NetworkMode\":\"rnet\"}}",
    "{\"networkingconfig\":{\"endpointsconfig\":{\"anet\":{}}}}",
    "{\"HostConfig\":{\"NetworkMode\":\"bnet\"},\"NetworkingConfig\":{"
    "\"EndpointsConfig\":{\"bnet\":{},\"anet\":{}}}}",
  };
  static const char *const by_id[] = {
    "{\"NetworkingConfig\":{\"EndpointsConfig\":{\"bnet\":{\"NetworkID\":"
    "\"anet\"}}}}",
    "{\"NetworkingConfig\":{\"EndpointsConfig\":{\"bnet\":{\"networkid\":"
    "\"0123456789ab\"}}}}",
  };
  static const char *const pass[] = {
    "{\"HostConfig\":{\"NetworkMode\":\"default\"}}",
    "{\"HostConfig\":{\"NetworkMode\":\"bridge\"}}",
    "{\"HostConfig\":{\"NetworkMode\":\"none\"}}",
    "{\"HostConfig\":{\"NetworkMode\":\"container:x\"}}",
    "{\"HostConfig\":{\"NetworkMode\":\"bnet\"},\"NetworkingConfig\":{"
    "\"EndpointsConfig\":{\"bnet\":{}}}}",
    /* none such: the engine's own error */
    "{\"HostConfig\":{\"NetworkMode\":\"nosuch\"}}",
  };
  (void)state;
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
    {
      assert_int_equal (create (&f, refused[i], &v), -1);
      assert_int_equal (v.status, 403);
      assert_non_null (strstr (v.message, "network \""));
      eci_verdict_clear (&v);
    }
  for (size_t i = 0; i < sizeof by_id / sizeof by_id[0]; i++)
    {
      assert_int_equal (create (&f, by_id[i], &v), -1);
      assert_int_equal (v.status, 403);
      eci_verdict_clear (&v);
    }
  {
    static const char conn[]
        = "{\"Container\":\"c\",\"EndpointConfig\":{\"NetworkID\":\"anet\"}}";
    static const char own[]
        = "{\"Container\":\"c\",\"EndpointConfig\":{\"NetworkID\":\"bnet\"}}";
    assert_int_equal (engine_network_endpoint_check (fake_get, &f, conn,
                                                     strlen (conn), 1000, &v),
                      -1);
    assert_int_equal (v.status, 403);
    eci_verdict_clear (&v);
    assert_int_equal (engine_network_endpoint_check (fake_get, &f, own,
                                                     strlen (own), 1000, &v),
                      0);
  }
  for (size_t i = 0; i < sizeof pass / sizeof pass[0]; i++)
    if (create (&f, pass[i], &v) != 0)
      fail_msg ("refused: %s: %s", pass[i], v.message);
  assert_int_equal (
      create (&f, "{\"HostConfig\":{\"NetworkMode\":\"a/b\"}}", &v), -1);
  assert_int_equal (v.status, 400);
  eci_verdict_clear (&v);
  assert_int_equal (
      engine_network_owner_check (fake_get, &f, "bridge", 1000, &v), 0);
  assert_int_equal (
      engine_network_owner_check (fake_get, &f, "bnet", 1000, &v), 0);
  assert_int_equal (
      engine_network_owner_check (fake_get, &f, "anet", 1000, &v), -1);
  eci_verdict_clear (&v);
  assert_int_equal (
      engine_network_create_owner ("{\"Name\":\"n\",\"checkduplicate\":false}",
                                   35, 1000, 1000, &out, &n, &v),
      0);
  assert_non_null (strstr (out, "\"CheckDuplicate\":true"));
  assert_null (strstr (out, "checkduplicate"));
  assert_non_null (strstr (out, "\"com.moat.caller.uid\":\"1000\""));
  free (out);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (prune_adds_owner_label),
    cmocka_unit_test (prune_bad_filters),
    cmocka_unit_test (volumes_of_others),
    cmocka_unit_test (volume_create_labels),
    cmocka_unit_test (networks_of_others),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
