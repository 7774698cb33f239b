/* Unit tests of src/engine/route.c: URI decoding, endpoint classification,
 * command-list matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "engine/route.h"

static const struct engine_route *
classify_uri (const char *method, const char *uri)
{
  struct engine_uri u;
  const struct engine_route *r;
  assert_int_equal (engine_uri_parse (uri, strlen (uri), &u), 0);
  r = engine_route_classify (method, u.path);
  engine_uri_free (&u);
  return r;
}

static void
uri_version_and_decoding (void **state)
{
  struct engine_uri u;
  const char *s = "/v1.41/containers%2Fjson?all=1";
  assert_int_equal (engine_uri_parse (s, strlen (s), &u), 0);
  assert_string_equal (u.path, "/containers/json");
  assert_string_equal (u.version, "1.41");
  assert_string_equal (u.query, "all=1");
  engine_uri_free (&u);
  s = "/_ping";
  assert_int_equal (engine_uri_parse (s, strlen (s), &u), 0);
  assert_string_equal (u.path, "/_ping");
  assert_string_equal (u.version, "");
  engine_uri_free (&u);
  /* "/version" is an endpoint, not a prefix */
  s = "/version";
  assert_int_equal (engine_uri_parse (s, strlen (s), &u), 0);
  assert_string_equal (u.path, "/version");
  engine_uri_free (&u);
}

static void
uri_refusals (void **state)
{
  struct engine_uri u;
  const char *bad[] = {
    "",       "containers/json", "*",      "http://x/containers/json",
    "/a/%zz", "/a/%4",           "/a%00b", "/a//b",
    "/a/./b", "/a/../b",         "/a/..",  "/a%2F..%2Fb",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal (engine_uri_parse (bad[i], strlen (bad[i]), &u), -1);
}

static void
classify_known (void **state)
{
  const struct
  {
    const char *m, *uri, *cmd, *group;
    enum engine_route_op op;
  } t[] = {
    { "GET", "/v1.41/containers/json", "ps", "container", ROUTE_OP_NONE },
    { "POST", "/v1.41/containers/create?name=x", "create", "container",
      ROUTE_OP_CONTAINER_CREATE },
    { "POST", "/containers/abc/start", "start", "container",
      ROUTE_OP_CONTAINER_START },
    { "GET", "/containers/abc/json", "inspect", "container", ROUTE_OP_OWNER },
    { "POST", "/v1.41/images/docker.io/library/busybox/push?tag=latest",
      "push", "image", ROUTE_OP_NONE },
    { "POST", "/images/localhost:5000/a/b/tag", "tag", "image",
      ROUTE_OP_NONE },
    { "DELETE", "/images/sha256:abc", "rmi", "image", ROUTE_OP_NONE },
    { "GET", "/images/get?names=a", "save", "image", ROUTE_OP_NONE },
    { "POST", "/images/load", "load", "image", ROUTE_OP_NONE },
    { "POST", "/build?t=x", "build", "build", ROUTE_OP_BUILD },
    { "POST", "/session", "build", "build", ROUTE_OP_BUILDKIT },
    { "POST", "/volumes/create", "volume create", "volume",
      ROUTE_OP_VOLUME_CREATE },
    { "GET", "/networks", "network ls", "network", ROUTE_OP_NONE },
    { "POST", "/networks/create", "network create", "network",
      ROUTE_OP_NETWORK_CREATE },
    { "POST", "/images/create?fromImage=x", "pull", "image",
      ROUTE_OP_IMAGE_CREATE },
    { "POST", "/networks/n1/connect", "network connect", "network",
      ROUTE_OP_NETWORK_MEMBER },
    { "POST", "/networks/n1/disconnect", "network disconnect", "network",
      ROUTE_OP_NETWORK_MEMBER },
    { "GET", "/containers/a/b/logs?follow=1", "logs", "container",
      ROUTE_OP_OWNER },
    { "DELETE", "/containers/c1?force=1", "rm", "container", ROUTE_OP_OWNER },
    { "DELETE", "/containers/c1/checkpoints/x", "checkpoint", "container",
      ROUTE_OP_CHECKPOINT },
    { "POST", "/commit?container=c1", "commit", "container", ROUTE_OP_COMMIT },
    { "GET", "/containers/c1/stats", "stats", "container", ROUTE_OP_NONE },
    { "GET", "/events?since=1", "events", "system", ROUTE_OP_NONE },
    { "POST", "/swarm/init", "swarm init", "swarm", ROUTE_OP_SWARM },
    { "POST", "/plugins/pull?remote=x", "plugin install", "plugin",
      ROUTE_OP_PLUGIN },
    { "PUT", "/containers/c/archive?path=/", "cp", "container",
      ROUTE_OP_ARCHIVE },
    { "HEAD", "/containers/c/archive?path=/", "cp", "container",
      ROUTE_OP_ARCHIVE },
    { "GET", "/containers/c/archive?path=/", "cp", "container",
      ROUTE_OP_ARCHIVE },
  };
  for (size_t i = 0; i < sizeof t / sizeof *t; i++)
    {
      const struct engine_route *r = classify_uri (t[i].m, t[i].uri);
      assert_true (engine_route_has_command (r, t[i].cmd));
      assert_string_equal (r->group, t[i].group);
      assert_int_equal (r->op, t[i].op);
    }
  assert_true (classify_uri ("POST", "/containers/c/attach?stream=1")->flags
               & ROUTE_F_HIJACK);
  assert_true (classify_uri ("POST", "/exec/e1/start")->flags
               & ROUTE_F_HIJACK);
  assert_false (classify_uri ("GET", "/containers/c/logs")->flags
                & ROUTE_F_HIJACK);
  assert_true (classify_uri ("HEAD", "/_ping")->flags & ROUTE_F_ALWAYS);
}

static void
classify_unknown (void **state)
{
  assert_ptr_equal (classify_uri ("GET", "/nope"), &engine_route_unknown);
  assert_ptr_equal (classify_uri ("PATCH", "/containers/json"),
                    &engine_route_unknown);
  /* a second version prefix is not an endpoint */
  assert_ptr_equal (classify_uri ("GET", "/v1.41/v1.40/containers/json"),
                    &engine_route_unknown);
}

static bool
allows (enum policy_cmdlist_type t, const char *entries, const char *m,
        const char *uri)
{
  char *copy = strdup (entries);
  char *v[16];
  size_t n = 0;
  for (char *tok = strtok (copy, ";"); tok && n < 16; tok = strtok (NULL, ";"))
    v[n++] = tok;
  bool r = engine_cmdlist_allows (t, v, n, classify_uri (m, uri));
  free (copy);
  return r;
}

static void
cmdlist_deny (void **state)
{
  const enum policy_cmdlist_type D = POLICY_CMDLIST_DENY;
  assert_false (allows (D, "push", "POST", "/images/a/push"));
  assert_true (allows (D, "push", "GET", "/containers/json"));
  assert_false (allows (D, "image*", "GET", "/images/json"));
  assert_false (allows (D, "image*", "POST", "/images/a/tag"));
  assert_true (allows (D, "image*", "GET", "/containers/json"));
  assert_false (allows (D, "container*", "POST", "/containers/create"));
  assert_false (allows (D, "run", "POST", "/containers/create"));
  assert_false (allows (D, "build*", "POST", "/build"));
  assert_false (allows (D, "network create", "POST", "/networks/create"));
  assert_true (allows (D, "network create", "GET", "/networks"));
  assert_false (allows (D, "*", "GET", "/info"));
  /* /_ping always passes; unknown endpoints never do */
  assert_true (allows (D, "*", "HEAD", "/_ping"));
  assert_false (allows (D, "push", "GET", "/whatever"));
  /* management commands cover their group; "system" only its verbs */
  assert_false (allows (D, "network", "POST", "/networks/create"));
  assert_false (allows (D, "image", "POST", "/images/a/push"));
  assert_false (allows (D, "container", "POST", "/containers/x/start"));
  assert_true (allows (D, "container", "GET", "/images/json"));
  assert_false (allows (D, "builder", "POST", "/build"));
  assert_false (allows (D, "system", "GET", "/system/df"));
  assert_false (allows (D, "system", "GET", "/info"));
  assert_true (allows (D, "system", "GET", "/version"));
  assert_false (allows (D, "port", "GET", "/containers/c/json"));
  assert_false (allows (D, "checkpoint", "POST", "/containers/c/checkpoints"));
  /* "imag*" is not a group */
  assert_true (allows (D, "imag*", "GET", "/images/json"));
}

static void
cmdlist_allow (void **state)
{
  const enum policy_cmdlist_type A = POLICY_CMDLIST_ALLOW;
  assert_true (allows (A, "ps", "GET", "/containers/json"));
  assert_false (allows (A, "ps", "POST", "/containers/create"));
  assert_true (allows (A, "run", "POST", "/containers/create"));
  assert_true (allows (A, "run", "POST", "/containers/x/start"));
  assert_true (allows (A, "container*", "POST", "/containers/x/wait"));
  assert_false (allows (A, "container*", "GET", "/images/json"));
  assert_true (allows (A, "ps", "GET", "/_ping"));
  assert_false (allows (A, "*", "GET", "/nope"));
}

static void
query_values (void **state)
{
  char *v = engine_query_get ("a=1&name=my%20c&name=second", "name");
  assert_string_equal (v, "my c");
  free (v);
  v = engine_query_get ("a=1+2", "a");
  assert_string_equal (v, "1 2");
  free (v);
  assert_null (engine_query_get ("a=1", "b"));
  assert_true (engine_query_any_set ("remote=&remote=x", "remote"));
  assert_false (engine_query_any_set ("remote=&t=x", "remote"));
  assert_true (
      engine_query_any_other ("fromSrc=-;fromSrc=%68ttp://x", "fromSrc", "-"));
  assert_false (engine_query_any_other ("fromSrc=%2D&repo=r", "fromSrc", "-"));
  assert_true (engine_query_any_equal ("networkmode=bridge&networkmode=HOST",
                                       "networkmode", "host"));
  assert_true (
      engine_query_any_equal ("x=1;networkmode=host", "networkmode", "host"));
  assert_true (
      engine_query_any_equal ("network%6Dode=h%6Fst", "networkmode", "host"));
  assert_false (
      engine_query_any_equal ("networkmode=hostx", "networkmode", "host"));
}

/* What each docker CLI command of a group calls (docs/engine-api-commands.md,
 * "Command groups"): every endpoint must be known, carry that command in
 * its CLI column, and be refused by a deny list of "<group>*" and of the
 * management command.  Docker documents "system*" as "all docker system
 * ... commands", and `docker system prune` calls the prune endpoints of
 * four other groups. */
static const struct
{
  const char *cli;      /* "system prune" */
  const char *wildcard; /* "system*" */
  const char *method;
  const char *uri;
} cli_calls[] = {
  { "system df", "system*", "GET", "/v1.41/system/df" },
  { "system events", "system*", "GET", "/v1.41/events" },
  { "system info", "system*", "GET", "/v1.41/info" },
  { "system prune", "system*", "POST", "/v1.41/containers/prune" },
  { "system prune", "system*", "POST", "/v1.41/networks/prune" },
  { "system prune", "system*", "POST", "/v1.41/images/prune" },
  { "system prune", "system*", "POST", "/v1.41/build/prune" },
  { "system prune", "system*", "POST", "/v1.41/volumes/prune" },
  { "container ls", "container*", "GET", "/v1.41/containers/json" },
  { "container prune", "container*", "POST", "/v1.41/containers/prune" },
  { "container inspect", "container*", "GET", "/v1.41/containers/c/json" },
  { "image ls", "image*", "GET", "/v1.41/images/json" },
  { "image prune", "image*", "POST", "/v1.41/images/prune" },
  { "image inspect", "image*", "GET", "/v1.41/images/busybox/json" },
  { "builder prune", "build*", "POST", "/v1.41/build/prune" },
  { "volume ls", "volume*", "GET", "/v1.41/volumes" },
  { "volume create", "volume*", "POST", "/v1.41/volumes/create" },
  { "volume inspect", "volume*", "GET", "/v1.41/volumes/v" },
  { "volume rm", "volume*", "DELETE", "/v1.41/volumes/v" },
  { "volume prune", "volume*", "POST", "/v1.41/volumes/prune" },
  { "volume update", "volume*", "PUT", "/v1.41/volumes/v" },
  { "network ls", "network*", "GET", "/v1.41/networks" },
  { "network create", "network*", "POST", "/v1.41/networks/create" },
  { "network connect", "network*", "POST", "/v1.41/networks/n/connect" },
  { "network disconnect", "network*", "POST", "/v1.41/networks/n/disconnect" },
  { "network inspect", "network*", "GET", "/v1.41/networks/n" },
  { "network rm", "network*", "DELETE", "/v1.41/networks/n" },
  { "network prune", "network*", "POST", "/v1.41/networks/prune" },
};

static void
cli_groups_cover_their_endpoints (void **state)
{
  for (size_t i = 0; i < sizeof cli_calls / sizeof cli_calls[0]; i++)
    {
      const struct engine_route *r
          = classify_uri (cli_calls[i].method, cli_calls[i].uri);
      char mgmt[32];
      char *v[1];
      size_t n = strcspn (cli_calls[i].cli, " ");
      if (r == &engine_route_unknown)
        fail_msg ("%s %s is not classified", cli_calls[i].method,
                  cli_calls[i].uri);
      if (!engine_route_has_command (r, cli_calls[i].cli))
        fail_msg ("%s %s does not list \"%s\"", cli_calls[i].method,
                  cli_calls[i].uri, cli_calls[i].cli);
      v[0] = (char *)cli_calls[i].wildcard;
      if (engine_cmdlist_allows (POLICY_CMDLIST_DENY, v, 1, r))
        fail_msg ("deny \"%s\" lets `docker %s` (%s %s) through",
                  cli_calls[i].wildcard, cli_calls[i].cli, cli_calls[i].method,
                  cli_calls[i].uri);
      if (!engine_cmdlist_allows (POLICY_CMDLIST_ALLOW, v, 1, r))
        fail_msg ("allow \"%s\" does not let `docker %s` through",
                  cli_calls[i].wildcard, cli_calls[i].cli);
      memcpy (mgmt, cli_calls[i].cli, n);
      mgmt[n] = '\0';
      v[0] = mgmt;
      if (engine_cmdlist_allows (POLICY_CMDLIST_DENY, v, 1, r))
        fail_msg ("deny \"%s\" lets `docker %s` through", mgmt,
                  cli_calls[i].cli);
    }
  /* and no further: a group wildcard is not every endpoint */
  assert_true (
      allows (POLICY_CMDLIST_DENY, "system*", "POST", "/containers/create"));
  assert_true (allows (POLICY_CMDLIST_DENY, "system*", "GET", "/images/json"));
  assert_true (
      allows (POLICY_CMDLIST_DENY, "volume*", "POST", "/containers/prune"));
  assert_true (allows (POLICY_CMDLIST_DENY, "imag*", "POST", "/images/prune"));
}

/* Every name moat's settings validator accepts must match at least one
 * endpoint, or a deny entry would be a silent no-op.  The list comes from
 * the validator itself, so a name added there is checked here too. */
static void
policy_names_all_match (void **state)
{
  size_t n, n_names;
  const char *const *names = policy_command_names (&n_names);
  const struct engine_route *t = engine_route_table (&n);
  assert_true (n_names > 40);
  for (size_t k = 0; k < n_names; k++)
    {
      char *v[1] = { (char *)names[k] };
      bool hit = false;
      for (size_t i = 0; i < n && !hit; i++)
        hit = !engine_cmdlist_allows (POLICY_CMDLIST_DENY, v, 1, &t[i]);
      if (!hit)
        fail_msg ("command list entry \"%s\" matches no endpoint", names[k]);
    }
}

static void
table_is_sane (void **state)
{
  size_t n;
  const struct engine_route *t = engine_route_table (&n);
  assert_true (n > 80);
  for (size_t i = 0; i < n; i++)
    {
      assert_true (t[i].pattern[0] == '/');
      /* every endpoint but /_ping belongs to a group and names a command */
      if (!(t[i].flags & ROUTE_F_ALWAYS))
        {
          assert_true (t[i].group[0] != '\0');
          assert_true (t[i].commands[0] != '\0');
        }
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (uri_version_and_decoding),
    cmocka_unit_test (uri_refusals),
    cmocka_unit_test (classify_known),
    cmocka_unit_test (classify_unknown),
    cmocka_unit_test (cmdlist_deny),
    cmocka_unit_test (cmdlist_allow),
    cmocka_unit_test (cli_groups_cover_their_endpoints),
    cmocka_unit_test (query_values),
    cmocka_unit_test (policy_names_all_match),
    cmocka_unit_test (table_is_sane),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
