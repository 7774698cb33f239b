/* Docker socket exceptions: allow-list matching, digest validation against
 * the registry's answer, derived images, the registry header parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/sockex.h"

#define D1                                                                    \
  "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2                                                                    \
  "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3                                                                    \
  "sha256:3333333333333333333333333333333333333333333333333333333333333333"

struct fake_image
{
  const char *name;
  const char *repo_digests[3];
  const char *layers[4];
};

struct fake
{
  const struct fake_image *images;
  size_t n_images;
  /* registry: "domain/path:tag" -> digest; domain "unreach..." fails */
  const char *const (*remote)[2];
  size_t n_remote;
  int remote_calls;
  int list_calls;
};

static char **
dup_list (const char *const *src, size_t *n)
{
  char **out = calloc (5, sizeof *out);
  *n = 0;
  for (size_t i = 0; src[i] && i < 4; i++)
    out[(*n)++] = strdup (src[i]);
  return out;
}

static int
fake_inspect (void *ctx, const char *name, struct sockex_image *out,
              moat_error_t *err)
{
  struct fake *f = ctx;
  size_t by_id = 0;
  (void)err;
  /* by id, as the list gives it: "sha256:%064zx" of index + 1 */
  if (strncmp (name, "sha256:", 7) == 0)
    by_id = (size_t)strtoull (name + 7, NULL, 16);
  for (size_t i = 0; i < f->n_images; i++)
    if (by_id == i + 1 || strcmp (f->images[i].name, name) == 0)
      {
        out->repo_digests
            = dup_list (f->images[i].repo_digests, &out->n_repo_digests);
        out->layers = dup_list (f->images[i].layers, &out->n_layers);
        /* a distinct id per image; "noid" images have none */
        if (strncmp (name, "noid", 4) != 0
            && asprintf (&out->id, "sha256:%064zx", i + 1) < 0)
          out->id = NULL;
        return 0;
      }
  return 1;
}

/* The engine's image list: every fake image with an id, its name as its
 * one tag (names without a tag too: the decision must skip them). */
static int
fake_list_images (void *ctx, struct sockex_local **out, size_t *n,
                  moat_error_t *err)
{
  struct fake *f = ctx;
  (void)err;
  f->list_calls++;
  *out = calloc (f->n_images + 1, sizeof **out);
  *n = 0;
  for (size_t i = 0; *out != NULL && i < f->n_images; i++)
    {
      struct sockex_local *l = &(*out)[*n];
      if (strncmp (f->images[i].name, "noid", 4) == 0
          || asprintf (&l->id, "sha256:%064zx", i + 1) < 0)
        continue;
      l->tags = calloc (1, sizeof *l->tags);
      l->tags[0] = strdup (f->images[i].name);
      l->n_tags = 1;
      (*n)++;
    }
  return *out != NULL ? 0 : -1;
}

static int
fake_remote (void *ctx, const struct imageref *ref, char **digest,
             moat_error_t *err)
{
  struct fake *f = ctx;
  char key[512];
  f->remote_calls++;
  snprintf (key, sizeof key, "%s/%s:%s", ref->domain, ref->path, ref->tag);
  if (strncmp (ref->domain, "unreach", 7) == 0)
    return moat_error (err, 113, "connection refused");
  for (size_t i = 0; i < f->n_remote; i++)
    if (strcmp (f->remote[i][0], key) == 0)
      {
        *digest = strdup (f->remote[i][1]);
        return 0;
      }
  return moat_error (err, 71, "HTTP 404");
}

static const struct fake_image images[] = {
  { "docker:cli", { "docker@" D1 }, { "L1", "L2" } },
  { "docker.io/library/docker:cli", { "docker@" D1 }, { "L1", "L2" } },
  { "docker@" D1, { "docker@" D1 }, { "L1", "L2" } },
  /* `docker tag evil docker:27`: the name, not the content */
  { "docker:27", { "evil@" D2 }, { "E1" } },
  { "evil:1", { "evil@" D2 }, { "E1" } },
  { "mine:1", { NULL }, { "L1", "L2", "L3" } },
  { "other:1", { NULL }, { "L1", "X2" } },
  { "unreach.example/app:1", { "unreach.example/app@" D3 }, { "U1" } },
  { "testcontainers/ryuk:0.5", { "testcontainers/ryuk@" D3 }, { "R1" } },
  { "noid:1", { "noid@" D1 }, { "N1" } },
  /* built FROM the re-tagged docker:27 (evil's content) */
  { "evilchild:1", { NULL }, { "E1", "E3" } },
  /* built FROM testcontainers/ryuk:0.5 */
  { "ryukchild:1", { NULL }, { "R1", "R2" } },
};

static const char *const remote[][2] = {
  { "docker.io/library/docker:cli", D1 },
  { "docker.io/library/docker:27", D1 },
  { "docker.io/testcontainers/ryuk:0.5", D3 },
  { "docker.io/library/noid:1", D1 },
};

struct pol_fx
{
  struct policy pol;
  struct fake f;
  struct sockex_ops ops;
};

static void
set_list (struct pol_fx *x, const char *const *pats, bool derived)
{
  size_t n = 0;
  while (pats[n])
    n++;
  x->pol.eci.n_images = n;
  x->pol.eci.images = (char **)pats;
  x->pol.eci.image_patterns = calloc (n + 1, sizeof (struct imageref_pattern));
  for (size_t i = 0; i < n; i++)
    {
      moat_error_t err = NULL;
      assert_int_equal (imageref_pattern_parse (
                            pats[i], &x->pol.eci.image_patterns[i], &err),
                        0);
    }
  x->pol.eci.allow_derived_images = derived;
}

static void
clear_list (struct pol_fx *x)
{
  for (size_t i = 0; i < x->pol.eci.n_images; i++)
    imageref_pattern_free (&x->pol.eci.image_patterns[i]);
  free (x->pol.eci.image_patterns);
  x->pol.eci.image_patterns = NULL;
  x->pol.eci.n_images = 0;
}

static int
setup (void **state)
{
  struct pol_fx *x = calloc (1, sizeof *x);
  x->f.images = images;
  x->f.n_images = sizeof images / sizeof *images;
  x->f.remote = remote;
  x->f.n_remote = sizeof remote / sizeof *remote;
  x->ops = (struct sockex_ops){ .inspect = fake_inspect,
                                .remote_digest = fake_remote,
                                .list_images = fake_list_images,
                                .ctx = &x->f };
  *state = x;
  return 0;
}

static int
teardown (void **state)
{
  struct pol_fx *x = *state;
  clear_list (x);
  free (x);
  return 0;
}

/* 0 = allowed; 1 = refused with the contract message; 2 = refused with a
 * message of its own (returned in *msg when msg != NULL). */
static int
decide (struct pol_fx *x, const char *image, char **msg)
{
  char *m = NULL;
  char *id = NULL;
  int r = sockex_decide (&x->pol, &x->ops, image, &id, &m);
  int ret = r == 0 ? 0 : (m ? 2 : 1);
  if (r == 0)
    {
      assert_null (m);
      assert_true (sockex_image_id_p (id));
    }
  else
    assert_null (id);
  free (id);
  if (msg)
    *msg = m;
  else
    free (m);
  return ret;
}

/* The id handed back is the one of the image that was inspected (the
 * derived image, not its base), and an allowed image the engine gives no
 * id for is refused: the create could not be pinned to it. */
static void
image_id_pinned (void **state)
{
  struct pol_fx *x = *state;
  static const char *const pats[] = { "docker:cli", "noid:1", NULL };
  char *id = NULL, *m = NULL;
  char want[80];
  set_list (x, pats, true);
  assert_int_equal (sockex_decide (&x->pol, &x->ops, "mine:1", &id, &m), 0);
  for (size_t i = 0; i < x->f.n_images; i++)
    if (strcmp (x->f.images[i].name, "mine:1") == 0)
      snprintf (want, sizeof want, "sha256:%064zx", i + 1);
  assert_string_equal (id, want);
  free (id);
  id = NULL;
  assert_int_equal (sockex_decide (&x->pol, &x->ops, "noid:1", &id, &m), -1);
  assert_null (id);
  assert_non_null (strstr (m, "no image id"));
  free (m);
  assert_false (sockex_image_id_p ("sha256:ABAB"));
  assert_false (sockex_image_id_p (NULL));
}

static void
by_reference (void **state)
{
  struct pol_fx *x = *state;
  static const char *const pats[] = { "docker:cli", NULL };
  set_list (x, pats, false);
  assert_int_equal (decide (x, "docker:cli", NULL), 0);
  assert_int_equal (decide (x, "docker.io/library/docker:cli", NULL), 0);
  assert_int_equal (decide (x, "evil:1", NULL), 1);
  assert_int_equal (decide (x, "docker:27", NULL), 1);
  /* not in the list: the registry is not even asked */
  x->f.remote_calls = 0;
  assert_int_equal (decide (x, "mine:1", NULL), 1);
  assert_int_equal (x->f.remote_calls, 0);
  /* no list, no exception */
  clear_list (x);
  assert_int_equal (decide (x, "docker:cli", NULL), 1);
}

static void
impostor_tag (void **state)
{
  struct pol_fx *x = *state;
  static const char *const pats[] = { "docker:*", NULL };
  set_list (x, pats, false);
  /* the registry says docker:27 is D1; the local docker:27 is evil (D2) */
  assert_int_equal (decide (x, "docker:27", NULL), 1);
  assert_int_equal (decide (x, "docker:cli", NULL), 0);
}

static void
pinned (void **state)
{
  struct pol_fx *x = *state;
  static const char *const pats[]
      = { "docker@" D1, "unreach.example/*:*", NULL };
  set_list (x, pats, false);
  x->f.remote_calls = 0;
  assert_int_equal (decide (x, "docker@" D1, NULL), 0);
  assert_int_equal (x->f.remote_calls, 0);
  /* a tag pattern-less digest list does not cover tags */
  assert_int_equal (decide (x, "docker:cli", NULL), 1);
}

static void
unreachable_fails_closed (void **state)
{
  struct pol_fx *x = *state;
  static const char *const pats[] = { "unreach.example/*:*", NULL };
  char *m = NULL;
  set_list (x, pats, false);
  assert_int_equal (decide (x, "unreach.example/app:1", &m), 2);
  assert_non_null (strstr (m, "docker socket mount denied for container "
                              "with image \"unreach.example/app:1\"; the "
                              "registry of \"unreach.example/app:1\" cannot "
                              "be reached"));
  assert_non_null (strstr (m, "connection refused"));
  free (m);
}

static void
wildcards (void **state)
{
  struct pol_fx *x = *state;
  static const char *const pats[] = { "testcontainers/*:*", NULL };
  static const char *const all[] = { "*", NULL };
  set_list (x, pats, false);
  assert_int_equal (decide (x, "testcontainers/ryuk:0.5", NULL), 0);
  assert_int_equal (decide (x, "docker:cli", NULL), 1);
  clear_list (x);
  set_list (x, all, false);
  assert_int_equal (decide (x, "docker:cli", NULL), 0);
  /* "*" still needs the image to be what its name says */
  assert_int_equal (decide (x, "docker:27", NULL), 1);
  /* and a local-only image has nothing to validate against: the
   * registry's answer (404 here) is given as the reason */
  char *m = NULL;
  assert_int_equal (decide (x, "mine:1", &m), 2);
  assert_non_null (strstr (m, "HTTP 404"));
  free (m);
}

static void
derived (void **state)
{
  struct pol_fx *x = *state;
  static const char *const pats[] = { "docker:cli", NULL };
  set_list (x, pats, false);
  assert_int_equal (decide (x, "mine:1", NULL), 1);
  x->pol.eci.allow_derived_images = true;
  assert_int_equal (decide (x, "mine:1", NULL), 0);
  /* shares only the first layer */
  assert_int_equal (decide (x, "other:1", NULL), 1);
  assert_int_equal (decide (x, "evil:1", NULL), 1);
}

static void
derived_from_impostor (void **state)
{
  struct pol_fx *x = *state;
  static const char *const pats[] = { "docker:27", NULL };
  set_list (x, pats, true);
  /* evil:1 starts with the layers of the local docker:27, but that one is
   * not what the registry calls docker:27 */
  assert_int_equal (decide (x, "evil:1", NULL), 1);
}

/* A wildcard pattern names no one base: any local image whose tag matches
 * it and that passes the digest check is one (Docker Desktop 4.36). */
static void
derived_wildcard (void **state)
{
  struct pol_fx *x = *state;
  static const char *const tag_any[] = { "docker:*", NULL };
  static const char *const prefix[] = { "testcontainers/*:*", NULL };
  static const char *const all[] = { "*", NULL };
  set_list (x, tag_any, false);
  assert_int_equal (decide (x, "mine:1", NULL), 1);
  assert_int_equal (x->f.list_calls, 0);
  x->pol.eci.allow_derived_images = true;
  /* FROM docker:cli, which the registry vouches for */
  assert_int_equal (decide (x, "mine:1", NULL), 0);
  /* shares only the first layer of docker:cli */
  assert_int_equal (decide (x, "other:1", NULL), 1);
  /* FROM the local docker:27, which is evil re-tagged: its digest is not
   * the registry's docker:27 */
  assert_int_equal (decide (x, "evilchild:1", NULL), 1);
  clear_list (x);
  set_list (x, prefix, true);
  assert_int_equal (decide (x, "ryukchild:1", NULL), 0);
  assert_int_equal (decide (x, "mine:1", NULL), 1);
  clear_list (x);
  set_list (x, all, true);
  assert_int_equal (decide (x, "mine:1", NULL), 0);
  assert_int_equal (decide (x, "ryukchild:1", NULL), 0);
  /* refused: the registry knows no evilchild:1 nor evil:1 (404, named),
   * and the local docker:27 is not its docker:27 */
  assert_int_not_equal (decide (x, "evilchild:1", NULL), 0);
  /* without a way to list local images, a wildcard names no base */
  clear_list (x);
  set_list (x, tag_any, true);
  x->ops.list_images = NULL;
  assert_int_equal (decide (x, "mine:1", NULL), 1);
}

static void
digest_header (void **state)
{
  char out[SOCKEX_DIGEST_MAX];
  const char *h;
  (void)state;
  h = "Docker-Content-Digest: " D1 "\r\n";
  assert_int_equal (sockex_parse_digest_header (h, strlen (h), out), 1);
  assert_string_equal (out, D1);
  h = "docker-content-digest:\t" D2 "  \r\n";
  assert_int_equal (sockex_parse_digest_header (h, strlen (h), out), 1);
  assert_string_equal (out, D2);
  h = "Docker-Content-Digest: sha256:123\r\n";
  assert_int_equal (sockex_parse_digest_header (h, strlen (h), out), 0);
  h = "Docker-Content-Digest: md5:" D1 "\r\n";
  assert_int_equal (sockex_parse_digest_header (h, strlen (h), out), 0);
  h = "Docker-Content-Digest: sha256:"
      "111111111111111111111111111111111111111111111111111111111111111G\r\n";
  assert_int_equal (sockex_parse_digest_header (h, strlen (h), out), 0);
  h = "Content-Length: 12\r\n";
  assert_int_equal (sockex_parse_digest_header (h, strlen (h), out), 0);
  h = "Docker-Content-Digest";
  assert_int_equal (sockex_parse_digest_header (h, strlen (h), out), 0);
}

static void
inspect_parse (void **state)
{
  struct sockex_image im;
  moat_error_t err = NULL;
  const char *j
      = "{\"Id\":\"x\",\"RepoDigests\":[\"a@" D1 "\"],"
        "\"RootFS\":{\"Type\":\"layers\",\"Layers\":[\"L1\",\"L2\"]}}";
  (void)state;
  assert_int_equal (sockex_image_parse (j, strlen (j), &im, &err), 0);
  assert_int_equal (im.n_repo_digests, 1);
  assert_int_equal (im.n_layers, 2);
  assert_string_equal (im.layers[1], "L2");
  sockex_image_free (&im);
  j = "{\"RepoDigests\":null}";
  assert_int_equal (sockex_image_parse (j, strlen (j), &im, &err), 0);
  assert_int_equal (im.n_layers, 0);
  sockex_image_free (&im);
  j = "{\"RepoDigests\":[1]}";
  assert_int_equal (sockex_image_parse (j, strlen (j), &im, &err), -1);
  moat_error_release (&err);
  j = "[]";
  assert_int_equal (sockex_image_parse (j, strlen (j), &im, &err), -1);
  moat_error_release (&err);
}

/* GET /images/json: images with an id and a tag, "<none>:<none>" and
 * malformed entries left out; anything but an array refused. */
static void
local_parse (void **state)
{
  struct sockex_local *l = NULL;
  size_t n = 0;
  moat_error_t err = NULL;
  const char *j
      = "[{\"Id\":\"" D1 "\",\"RepoTags\":[\"a:1\",\"<none>:<none>\","
        "\"b:2\"]},"
        "{\"Id\":\"" D2 "\",\"RepoTags\":null},"
        "{\"Id\":\"nohex\",\"RepoTags\":[\"c:1\"]},"
        "{\"Id\":\"" D3 "\",\"RepoTags\":[7, \"d:1\"]}, 5]";
  (void)state;
  assert_int_equal (sockex_local_parse (j, strlen (j), &l, &n, &err), 0);
  assert_int_equal (n, 2);
  assert_string_equal (l[0].id, D1);
  assert_int_equal (l[0].n_tags, 2);
  assert_string_equal (l[0].tags[1], "b:2");
  assert_string_equal (l[1].id, D3);
  assert_int_equal (l[1].n_tags, 1);
  assert_string_equal (l[1].tags[0], "d:1");
  sockex_local_free (l, n);
  j = "{}";
  assert_int_equal (sockex_local_parse (j, strlen (j), &l, &n, &err), -1);
  assert_null (l);
  moat_error_release (&err);
}

static void
registry_unreachable (void **state)
{
  struct sockex_registry *r = sockex_registry_new (60, 2000);
  struct imageref ref = { 0 };
  moat_error_t err = NULL;
  char *d = NULL;
  (void)state;
  /* port 1 on loopback: nothing listens; never any other address */
  assert_int_equal (imageref_parse ("127.0.0.1:1/x:1", &ref, &err), 0);
  assert_int_equal (sockex_registry_digest (r, &ref, &d, &err), -1);
  assert_non_null (
      strstr (moat_error_msg (&err), "http://127.0.0.1:1/v2/x/manifests/1"));
  moat_error_release (&err);
  imageref_free (&ref);
  sockex_registry_free (r);
}

/* A one-purpose registry on 127.0.0.1: answers every request with
 * Docker-Content-Digest D1 and records the last request head. */
struct mini_registry
{
  int lfd;
  int port;
  int requests;
  char last[4096];
  pthread_t th;
};

static void *
mini_serve (void *arg)
{
  struct mini_registry *m = arg;
  for (;;)
    {
      int fd = accept (m->lfd, NULL, NULL);
      ssize_t n, got = 0;
      if (fd < 0)
        return NULL;
      while (got < (ssize_t)sizeof m->last - 1
             && (n = read (fd, m->last + got, sizeof m->last - 1 - got)) > 0)
        {
          got += n;
          m->last[got] = '\0';
          if (strstr (m->last, "\r\n\r\n"))
            break;
        }
      m->requests++;
      const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                         "Docker-Content-Digest: " D1 "\r\n"
                         "Connection: close\r\n\r\n";
      if (write (fd, resp, strlen (resp)) < 0)
        {
        }
      close (fd);
    }
}

static void
registry_lookup_and_cache (void **state)
{
  struct mini_registry m = { 0 };
  struct sockaddr_in sa
      = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t sl = sizeof sa;
  struct imageref ref = { 0 };
  moat_error_t err = NULL;
  char name[64], *d = NULL;
  struct sockex_registry *r;
  (void)state;
  m.lfd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true (m.lfd >= 0);
  assert_int_equal (bind (m.lfd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal (listen (m.lfd, 8), 0);
  assert_int_equal (getsockname (m.lfd, (struct sockaddr *)&sa, &sl), 0);
  m.port = ntohs (sa.sin_port);
  assert_int_equal (pthread_create (&m.th, NULL, mini_serve, &m), 0);

  snprintf (name, sizeof name, "127.0.0.1:%d/team/app:2", m.port);
  assert_int_equal (imageref_parse (name, &ref, &err), 0);
  r = sockex_registry_new (60, 2000);
  assert_int_equal (sockex_registry_digest (r, &ref, &d, &err), 0);
  assert_string_equal (d, D1);
  free (d);
  assert_int_equal (m.requests, 1);
  assert_non_null (strstr (m.last, "HEAD /v2/team/app/manifests/2 HTTP/1.1"));
  assert_non_null (
      strstr (m.last, "application/vnd.docker.distribution.manifest.v2+json"));
  assert_non_null (strstr (m.last, "application/vnd.oci.image.index.v1+json"));
  /* cached: no second request within the TTL */
  assert_int_equal (sockex_registry_digest (r, &ref, &d, &err), 0);
  free (d);
  assert_int_equal (m.requests, 1);
  sockex_registry_free (r);
  /* TTL 0: every lookup asks again */
  r = sockex_registry_new (0, 2000);
  assert_int_equal (sockex_registry_digest (r, &ref, &d, &err), 0);
  free (d);
  assert_int_equal (sockex_registry_digest (r, &ref, &d, &err), 0);
  free (d);
  assert_int_equal (m.requests, 3);
  sockex_registry_free (r);
  imageref_free (&ref);
  shutdown (m.lfd, SHUT_RDWR);
  close (m.lfd);
  pthread_join (m.th, NULL);
}

/* A restored filtered socket goes only into the container whose first
 * process moatd found: the cgroup path must name that container first. */
static void
cgroup_names (void **state)
{
  (void)state;
  const char *a
      = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  const char *b
      = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  char p[512];
  snprintf (p, sizeof p, "/docker/%s\n", a);
  assert_true (sockex_cgroup_names_p (p, a));
  assert_false (sockex_cgroup_names_p (p, b));
  snprintf (p, sizeof p, "/docker/%s/init", a);
  assert_true (sockex_cgroup_names_p (p, a));
  snprintf (p, sizeof p, "/system.slice/docker-%s.scope", a);
  assert_true (sockex_cgroup_names_p (p, a));
  /* container b (delegated cgroup) names a sub-cgroup after a */
  snprintf (p, sizeof p, "/docker/%s/%s", b, a);
  assert_false (sockex_cgroup_names_p (p, a));
  snprintf (p, sizeof p, "/system.slice/docker-%s.scope/%s", b, a);
  assert_false (sockex_cgroup_names_p (p, a));
  /* a host process, and near misses */
  assert_false (sockex_cgroup_names_p ("/user.slice/session-1.scope", a));
  assert_false (sockex_cgroup_names_p ("/", a));
  snprintf (p, sizeof p, "/docker/%sx", a);
  assert_false (sockex_cgroup_names_p (p, a));
  snprintf (p, sizeof p, "/docker/x%s", a);
  assert_false (sockex_cgroup_names_p (p, a));
  snprintf (p, sizeof p, "/docker/%s", a);
  assert_false (sockex_cgroup_names_p (p, "aaaa"));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (by_reference, setup, teardown),
    cmocka_unit_test_setup_teardown (image_id_pinned, setup, teardown),
    cmocka_unit_test_setup_teardown (impostor_tag, setup, teardown),
    cmocka_unit_test_setup_teardown (pinned, setup, teardown),
    cmocka_unit_test_setup_teardown (unreachable_fails_closed, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (wildcards, setup, teardown),
    cmocka_unit_test_setup_teardown (derived, setup, teardown),
    cmocka_unit_test_setup_teardown (derived_from_impostor, setup, teardown),
    cmocka_unit_test_setup_teardown (derived_wildcard, setup, teardown),
    cmocka_unit_test (digest_header),
    cmocka_unit_test (inspect_parse),
    cmocka_unit_test (local_parse),
    cmocka_unit_test (registry_unreachable),
    cmocka_unit_test (registry_lookup_and_cache),
    cmocka_unit_test (cgroup_names),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
