/* Image name provenance (engine/imgprov.h): normalisation as the engine
 * names images, what a request binds, what is recorded after its answer,
 * and the create decision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/imgpend.h"
#include "engine/imgprov.h"

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define IDE                                                                   \
  "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
#define IDP                                                                   \
  "sha256:1111111111111111111111111111111111111111111111111111111111111111"

static void
norm (void **state)
{
  const struct
  {
    const char *in, *out;
  } t[] = {
    { "busybox", "docker.io/library/busybox:latest" },
    { "busybox:1.36", "docker.io/library/busybox:1.36" },
    { "library/busybox", "docker.io/library/busybox:latest" },
    { "docker.io/busybox", "docker.io/library/busybox:latest" },
    { "index.docker.io/library/busybox:latest",
      "docker.io/library/busybox:latest" },
    { "me/app:2", "docker.io/me/app:2" },
    { "localhost/app", "localhost/app:latest" },
    { "localhost:5000/a/b:c", "localhost:5000/a/b:c" },
    { "reg.example/x", "reg.example/x:latest" },
    { "0123456789ab", "docker.io/library/0123456789ab:latest" },
    { "busybox@sha256:" H64, NULL },
    { H64, NULL },
    { "sha256:" H64, NULL },
    { "busybox:", NULL },
    { "", NULL },
    { "a/../b", NULL },
    { "a?b", NULL },
    { "/busybox", NULL },
  };
  (void)state;
  for (size_t i = 0; i < sizeof t / sizeof *t; i++)
    {
      char *n = engine_image_norm (t[i].in);
      if ((n == NULL) != (t[i].out == NULL)
          || (n != NULL && strcmp (n, t[i].out) != 0))
        fail_msg ("\"%s\" -> \"%s\", want \"%s\"", t[i].in, n ? n : "(null)",
                  t[i].out ? t[i].out : "(null)");
      free (n);
    }
}

static void
prov_of (void **state)
{
  char *names = NULL;
  (void)state;
  assert_int_equal (engine_image_prov_of ("POST", "/images/abc/tag",
                                          "repo=busybox&tag=x", 1000, &names),
                    IMGPROV_NAMES);
  assert_string_equal (names, "busybox:x");
  free (names);
  assert_int_equal (
      engine_image_prov_of ("POST", "/build", "t=a&q=1&t=b%3A2", 1000, &names),
      IMGPROV_NAMES);
  assert_string_equal (names, "a\nb:2");
  free (names);
  assert_int_equal (engine_image_prov_of ("POST", "/commit",
                                          "container=c&repo=r", 1000, &names),
                    IMGPROV_NAMES);
  assert_string_equal (names, "r");
  free (names);
  assert_int_equal (engine_image_prov_of ("POST", "/images/create",
                                          "fromSrc=-&repo=imp&tag=1", 1000,
                                          &names),
                    IMGPROV_NAMES);
  assert_string_equal (names, "imp:1");
  free (names);
  assert_int_equal (
      engine_image_prov_of ("POST", "/images/load", "", 1000, &names),
      IMGPROV_LOAD);
  assert_null (names);
  /* everyone's pulls; not by digest */
  assert_int_equal (engine_image_prov_of ("POST", "/images/create",
                                          "fromImage=busybox&tag=latest", 0,
                                          &names),
                    IMGPROV_PULL);
  assert_string_equal (names, "busybox:latest");
  free (names);
  assert_int_equal (engine_image_prov_of ("POST", "/images/create",
                                          "fromImage=busybox&tag=sha256:" H64,
                                          1000, &names),
                    IMGPROV_NONE);
  /* root's bindings are not recorded; nor reads */
  assert_int_equal (engine_image_prov_of ("POST", "/images/abc/tag",
                                          "repo=busybox", 0, &names),
                    IMGPROV_NONE);
  assert_int_equal (
      engine_image_prov_of ("GET", "/images/abc/json", "", 1000, &names),
      IMGPROV_NONE);
  assert_int_equal (
      engine_image_prov_of ("POST", "/images/abc/tag", "", 1000, &names),
      IMGPROV_NONE);
}

/* the engine, as the records see it */
static int
fake_get (void *ctx, const char *path, char **body, size_t *len)
{
  const char *a = NULL;
  (void)ctx;
  if (strcmp (path, "/images/busybox/json") == 0
      || strcmp (path, "/images/docker.io/library/loaded:1/json") == 0
      || strcmp (path, "/images/loaded:1/json") == 0)
    a = "{\"Id\":\"" IDE "\"}";
  else if (strcmp (path,
                   "/images/docker.io/library/busybox@sha256:" H64 "/json")
           == 0)
    a = "{\"Id\":\"" IDP "\"}";
  else if (strcmp (path, "/images/down/json") == 0)
    return -1;
  if (a == NULL)
    return 1;
  *body = strdup (a);
  *len = strlen (a);
  return 0;
}

static char notes[1024];

static int
fake_note (void *ctx, const char *name, const char *id, int64_t uid)
{
  size_t n = strlen (notes);
  (void)ctx;
  snprintf (notes + n, sizeof notes - n, "%s=%s/%lld;", name, id + 7 + 60,
            (long long)uid);
  return 0;
}

static int
bad_note (void *ctx, const char *name, const char *id, int64_t uid)
{
  (void)ctx, (void)name, (void)id, (void)uid;
  return -1;
}

static void
record (void **state)
{
  static const char load[]
      = "{\"stream\":\"Loaded image: loaded:1\\n\"}\r\n"
        "{\"stream\":\"Loaded image ID: sha256:" H64 "\\n\"}\r\n";
  static const char pull[] = "{\"status\":\"Digest: sha256:" H64 "\"}\r\n"
                             "{\"status\":\"Status: Downloaded newer image "
                             "for busybox:latest\"}\r\n";
  (void)state;
  notes[0] = '\0';
  /* a name gone since is no failure; an engine that cannot be asked or a
   * record that cannot be written is (the binding stays in flight) */
  assert_int_equal (
      engine_image_prov_record (fake_get, NULL, fake_note, NULL, IMGPROV_NAMES,
                                "busybox\nnosuch:1\n", NULL, 0, 1001),
      0);
  assert_string_equal (notes, "docker.io/library/busybox:latest=eeee/1001;");
  notes[0] = '\0';
  assert_int_equal (engine_image_prov_record (fake_get, NULL, fake_note, NULL,
                                              IMGPROV_NAMES, "down\nbusybox",
                                              NULL, 0, 1001),
                    -1);
  assert_string_equal (notes, "docker.io/library/busybox:latest=eeee/1001;");
  assert_int_equal (engine_image_prov_record (fake_get, NULL, bad_note, NULL,
                                              IMGPROV_NAMES, "busybox", NULL,
                                              0, 1001),
                    -1);
  notes[0] = '\0';
  engine_image_prov_record (fake_get, NULL, fake_note, NULL, IMGPROV_LOAD,
                            NULL, load, sizeof load - 1, 1001);
  assert_string_equal (notes, "docker.io/library/loaded:1=eeee/1001;");
  /* a pull: by the digest it answered, not what the name points at */
  notes[0] = '\0';
  engine_image_prov_record (fake_get, NULL, fake_note, NULL, IMGPROV_PULL,
                            "busybox", pull, sizeof pull - 1, 1001);
  assert_string_equal (notes, "docker.io/library/busybox:latest=1111/-1;");
  notes[0] = '\0';
  engine_image_prov_record (fake_get, NULL, fake_note, NULL, IMGPROV_PULL,
                            "busybox", "{}", 2, 1001);
  assert_string_equal (notes, "");
}

static int
fake_namer (void *ctx, const char *name, const char *id, uid_t caller,
            uid_t *other)
{
  (void)ctx;
  if (strcmp (name, "docker.io/library/busybox:latest") == 0
      && strcmp (id, IDE) == 0 && caller != 1001)
    {
      *other = 1001;
      return 1;
    }
  return 0;
}

static void
create_check (void **state)
{
  struct eci_verdict v = { 0 };
  (void)state;
  const char *b = "{\"Image\":\"busybox\"}";
  assert_int_equal (engine_image_name_check (fake_get, NULL, fake_namer, NULL,
                                             b, strlen (b), 1000, &v),
                    -1);
  assert_int_equal (v.status, 403);
  assert_string_equal (v.rule, "eci.image-owner");
  assert_string_equal (
      v.message, "enhanced container isolation: image \"busybox\" was "
                 "given that name by another user (uid 1001); run it "
                 "by its id (" IDE ") if you trust it, or pull it again");
  eci_verdict_clear (&v);
  /* its namer, by id, a folded key, no such image, no namer */
  assert_int_equal (engine_image_name_check (fake_get, NULL, fake_namer, NULL,
                                             b, strlen (b), 1001, &v),
                    0);
  const char *pass[] = { "{\"Image\":\"" IDE "\"}", "{\"Image\":\"x\"}",
                         "{\"Image\":\"busybox@sha256:" H64 "\"}", "{}" };
  for (size_t i = 0; i < sizeof pass / sizeof *pass; i++)
    assert_int_equal (engine_image_name_check (fake_get, NULL, fake_namer,
                                               NULL, pass[i], strlen (pass[i]),
                                               1000, &v),
                      0);
  b = "{\"image\":\"busybox\"}";
  assert_int_equal (engine_image_name_check (fake_get, NULL, fake_namer, NULL,
                                             b, strlen (b), 1000, &v),
                    -1);
  eci_verdict_clear (&v);
  b = "{\"Image\":\"down\"}";
  assert_int_equal (engine_image_name_check (fake_get, NULL, fake_namer, NULL,
                                             b, strlen (b), 1000, &v),
                    -1);
  assert_int_equal (v.status, 502);
  eci_verdict_clear (&v);
  b = "{\"Image\":\"busybox\"}";
  assert_int_equal (engine_image_name_check (fake_get, NULL, NULL, NULL, b,
                                             strlen (b), 1000, &v),
                    0);
}

#define CID "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

/* containers as the engine keeps them: Config.Image as created, .Image
 * the id it resolved, the creator's label */
static int
ctr_get (void *ctx, const char *path, char **body, size_t *len)
{
  static const struct
  {
    const char *path, *ans;
  } t[] = {
    /* the race: busybox (B's binding of IDE), created for uid 1000 */
    { "/containers/raced/json",
      "{\"Id\":\"" CID "\",\"Name\":\"/raced\",\"Image\":\"" IDE "\","
      "\"Config\":{\"Image\":\"busybox\",\"Labels\":{"
      "\"com.moat.caller.uid\":\"1000\"}}}" },
    { "/containers/" CID "/json",
      "{\"Id\":\"" CID "\",\"Name\":\"/raced\",\"Image\":\"" IDE "\","
      "\"Config\":{\"Image\":\"busybox\",\"Labels\":{"
      "\"com.moat.caller.uid\":\"1000\"}}}" },
    /* the namer's own, root's, unlabelled, by id, by digest, a pull's */
    { "/containers/bown/json",
      "{\"Id\":\"" CID "\",\"Image\":\"" IDE "\",\"Config\":{\"Image\":"
      "\"busybox\",\"Labels\":{\"com.moat.caller.uid\":\"1001\"}}}" },
    { "/containers/rootc/json",
      "{\"Id\":\"" CID "\",\"Image\":\"" IDE "\",\"Config\":{\"Image\":"
      "\"busybox\",\"Labels\":{\"com.moat.caller.uid\":\"0\"}}}" },
    { "/containers/nolabel/json",
      "{\"Id\":\"" CID "\",\"Image\":\"" IDE "\",\"Config\":{\"Image\":"
      "\"busybox\",\"Labels\":null}}" },
    { "/containers/byid/json",
      "{\"Id\":\"" CID "\",\"Image\":\"" IDE "\",\"Config\":{\"Image\":"
      "\"" IDE "\",\"Labels\":{\"com.moat.caller.uid\":\"1000\"}}}" },
    { "/containers/bydigest/json",
      "{\"Id\":\"" CID "\",\"Image\":\"" IDE "\",\"Config\":{\"Image\":"
      "\"busybox@sha256:" H64 "\",\"Labels\":{\"com.moat.caller.uid\":"
      "\"1000\"}}}" },
    { "/containers/pulled/json",
      "{\"Id\":\"" CID "\",\"Image\":\"" IDP "\",\"Config\":{\"Image\":"
      "\"busybox\",\"Labels\":{\"com.moat.caller.uid\":\"1000\"}}}" },
    /* a label that is no uid is root's (only root writes one) */
    { "/containers/badlabel/json",
      "{\"Id\":\"" CID "\",\"Image\":\"" IDE "\",\"Config\":{\"Image\":"
      "\"busybox\",\"Labels\":{\"com.moat.caller.uid\":\"-5\"}}}" },
    /* answers that cannot be trusted */
    { "/containers/noimage/json",
      "{\"Id\":\"" CID "\",\"Config\":{\"Image\":\"busybox\",\"Labels\":{"
      "\"com.moat.caller.uid\":\"1000\"}}}" },
    { "/containers/badid/json", "{\"Id\":\"abc\"}" },
    { "/containers/notjson/json", "<html>" },
  };
  (void)ctx;
  if (strcmp (path, "/containers/down/json") == 0)
    return -1;
  for (size_t i = 0; i < sizeof t / sizeof *t; i++)
    if (strcmp (path, t[i].path) == 0)
      {
        *body = strdup (t[i].ans);
        *len = strlen (t[i].ans);
        return 0;
      }
  return 1;
}

static int
down_namer (void *ctx, const char *name, const char *id, uid_t caller,
            uid_t *other)
{
  (void)ctx, (void)name, (void)id, (void)caller, (void)other;
  return -1;
}

static void
start_check (void **state)
{
  struct eci_verdict v = { 0 };
  char *id = NULL;
  (void)state;
  /* the raced container, by name and by its id: refused, for any caller
   * (the check is the creator's, not the caller's) */
  const char *raced[] = { "raced", "/raced", CID };
  for (size_t i = 0; i < sizeof raced / sizeof *raced; i++)
    {
      assert_int_equal (engine_image_start_check (ctr_get, NULL, fake_namer,
                                                  NULL, raced[i], &id, &v),
                        -1);
      assert_null (id);
      assert_int_equal (v.status, 403);
      assert_string_equal (v.rule, "eci.image-owner");
      assert_string_equal (
          v.message,
          "enhanced container isolation: container \"raced\" can't start: "
          "its image \"busybox\" (" IDE ") was given that name by another "
          "user (uid 1001), not by the container's creator (uid 1000); "
          "create it from the image's id if you trust it, or pull the "
          "image again");
      eci_verdict_clear (&v);
    }
  /* what passes, with the id it is sent for */
  const char *pass[] = { "bown",     "rootc",  "nolabel", "byid",
                         "bydigest", "pulled", "badlabel" };
  for (size_t i = 0; i < sizeof pass / sizeof *pass; i++)
    {
      if (engine_image_start_check (ctr_get, NULL, fake_namer, NULL, pass[i],
                                    &id, &v)
          != 0)
        fail_msg ("%s refused: %s", pass[i], v.message);
      assert_string_equal (id, CID);
      free (id);
      id = NULL;
    }
  /* no namer: passes, still by id */
  assert_int_equal (
      engine_image_start_check (ctr_get, NULL, NULL, NULL, "raced", &id, &v),
      0);
  assert_string_equal (id, CID);
  free (id);
  id = NULL;
  /* no such container: 404, never sent by name; bad names likewise */
  const char *none[] = { "nosuch", "", "a/../b", "a?b", "x y" };
  for (size_t i = 0; i < sizeof none / sizeof *none; i++)
    {
      assert_int_equal (engine_image_start_check (ctr_get, NULL, fake_namer,
                                                  NULL, none[i], &id, &v),
                        -1);
      assert_int_equal (v.status, 404);
      assert_null (id);
      eci_verdict_clear (&v);
    }
  /* fail closed: no engine, a bad answer, no record */
  const char *down[] = { "down", "noimage", "badid", "notjson" };
  for (size_t i = 0; i < sizeof down / sizeof *down; i++)
    {
      assert_int_equal (engine_image_start_check (ctr_get, NULL, fake_namer,
                                                  NULL, down[i], &id, &v),
                        -1);
      assert_int_equal (v.status, 502);
      assert_null (id);
      eci_verdict_clear (&v);
    }
  assert_int_equal (engine_image_start_check (NULL, NULL, fake_namer, NULL,
                                              "raced", &id, &v),
                    -1);
  assert_int_equal (v.status, 502);
  eci_verdict_clear (&v);
  assert_int_equal (engine_image_start_check (ctr_get, NULL, down_namer, NULL,
                                              "raced", &id, &v),
                    -1);
  assert_int_equal (v.status, 502);
  assert_string_equal (v.message,
                       "moat: cannot tell who named image \"busybox\"");
  eci_verdict_clear (&v);
}

/* the guard's namer: a binding in flight blames first (guard_prov.c) */
static int
flight_namer (void *ctx, const char *name, const char *id, uid_t caller,
              uid_t *other)
{
  if (engine_image_pending_find (ctx, name, caller, other) > 0)
    return 2;
  return fake_namer (NULL, name, id, caller, other);
}

/* a non-root binding sent, its answer not seen: a create and a start of
 * that name by anyone but its binder are refused, whatever id the name
 * has now (here root's) and whatever the records say; gone once dropped */
static void
inflight (void **state)
{
  struct engine_image_pending p;
  struct eci_verdict v = { 0 };
  uint64_t t = 0;
  char *id = NULL;
  const char *b = "{\"Image\":\"loaded:1\"}";
  (void)state;
  engine_image_pending_init (&p);
  assert_int_equal (engine_image_name_check (fake_get, NULL, flight_namer, &p,
                                             b, strlen (b), 1000, &v),
                    0);
  assert_int_equal (
      engine_image_pending_add (&p, "docker.io/loaded:1", 1001, &t), 0);
  assert_true (t != 0);
  assert_int_equal (engine_image_name_check (fake_get, NULL, flight_namer, &p,
                                             b, strlen (b), 1000, &v),
                    -1);
  assert_int_equal (v.status, 403);
  assert_string_equal (v.rule, "eci.image-owner");
  assert_string_equal (
      v.message,
      "enhanced container isolation: image \"loaded:1\" is being given "
      "that name by another user (uid 1001) whose request moat has not "
      "seen answered; run it by its id (" IDE ") if you trust it");
  eci_verdict_clear (&v);
  /* its binder's own create passes; by id passes */
  assert_int_equal (engine_image_name_check (fake_get, NULL, flight_namer, &p,
                                             b, strlen (b), 1001, &v),
                    0);
  b = "{\"Image\":\"" IDE "\"}";
  assert_int_equal (engine_image_name_check (fake_get, NULL, flight_namer, &p,
                                             b, strlen (b), 1000, &v),
                    0);
  engine_image_pending_drop (&p, t);
  b = "{\"Image\":\"loaded:1\"}";
  assert_int_equal (engine_image_name_check (fake_get, NULL, flight_namer, &p,
                                             b, strlen (b), 1000, &v),
                    0);
  /* at start: the busybox container of creator 1001; its own binding in
   * flight passes, another user's does not */
  assert_int_equal (engine_image_pending_add (&p, "busybox", 1001, &t), 0);
  assert_int_equal (engine_image_start_check (ctr_get, NULL, flight_namer, &p,
                                              "bown", &id, &v),
                    0);
  free (id);
  id = NULL;
  engine_image_pending_drop (&p, t);
  assert_int_equal (engine_image_pending_add (&p, "busybox", 1002, &t), 0);
  assert_int_equal (engine_image_start_check (ctr_get, NULL, flight_namer, &p,
                                              "bown", &id, &v),
                    -1);
  assert_null (id);
  assert_int_equal (v.status, 403);
  assert_string_equal (
      v.message,
      "enhanced container isolation: container \"bown\" can't start: its "
      "image \"busybox\" (" IDE ") is being given that name by another "
      "user (uid 1002) whose request moat has not seen answered, not by "
      "the container's creator (uid 1001); create it from the image's id "
      "if you trust it");
  eci_verdict_clear (&v);
  engine_image_pending_drop (&p, t);
  assert_int_equal (engine_image_start_check (ctr_get, NULL, flight_namer, &p,
                                              "bown", &id, &v),
                    0);
  free (id);
  engine_image_pending_free (&p);
}

/* the answer scanned as it passes: any split, any amount of progress
 * before the lines that matter */
static void
scan (void **state)
{
  static const char tail[] = "{\"stream\":\"Loaded image: a:1\\n\"}\r\n"
                             "{\"stream\":\"Loaded image: b/c:2\\n\"}\r\n";
  struct io_buf win = { 0 }, keep = { 0 };
  char pad[1000];
  (void)state;
  memset (pad, 'x', sizeof pad);
  for (int i = 0; i < 2000; i++) /* 2 MB of progress */
    assert_int_equal (
        engine_image_prov_scan (IMGPROV_LOAD, &win, &keep, pad, sizeof pad),
        0);
  assert_true (io_buf_len (&win) <= 1200);
  for (size_t i = 0; i < sizeof tail - 1; i++) /* byte by byte */
    assert_int_equal (
        engine_image_prov_scan (IMGPROV_LOAD, &win, &keep, tail + i, 1), 0);
  assert_int_equal (io_buf_len (&keep), 38);
  assert_memory_equal (io_buf_data (&keep),
                       "Loaded image: a:1\nLoaded image: b/c:2\n", 38);
  io_buf_free (&win);
  io_buf_free (&keep);
  assert_int_equal (engine_image_prov_scan (
                        IMGPROV_PULL, &win, &keep,
                        "{\"status\":\"Digest: sha256:" H64 "\"}",
                        strlen ("{\"status\":\"Digest: sha256:" H64 "\"}")),
                    0);
  assert_int_equal (io_buf_len (&keep), 80);
  io_buf_free (&win);
  io_buf_free (&keep);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (norm),     cmocka_unit_test (prov_of),
    cmocka_unit_test (record),   cmocka_unit_test (create_check),
    cmocka_unit_test (scan),     cmocka_unit_test (start_check),
    cmocka_unit_test (inflight),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
