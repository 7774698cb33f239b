/* Unit tests of the engine guard's pure decision (src/engine/decide.c):
 * one test per rule, in the order decide.c applies them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <llhttp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/refusal.h"
#include "engine/decide.h"
#include "engine/request.h"

static char *deny_push[] = { "push" };
static char *allow_ps[] = { "ps" };

static struct policy
eci_policy (void)
{
  struct policy p;
  memset (&p, 0, sizeof p);
  p.eci.enabled = true;
  p.eci.cmd_type = POLICY_CMDLIST_DENY;
  p.eci.commands = deny_push;
  p.eci.n_commands = 1;
  return p;
}

static struct engine_head_facts
facts (int method, const char *uri)
{
  struct engine_head_facts f = {
    .method = method,
    .http_major = 1,
    .headers_valid = true,
    .raw_uri = uri,
    .caller_uid = 1000,
  };
  return f;
}

/* decide, expect a refusal, return nothing (d cleared) */
static void
expect_refuse (const struct engine_head_facts *f, const struct policy *pol,
               int status, const char *rule, bool close, const char *msg)
{
  struct engine_decision d;
  assert_int_equal (engine_decide (f, pol, &d), 0);
  assert_int_equal (d.verdict, ENGINE_REFUSE);
  assert_int_equal (d.status, status);
  if (rule)
    assert_string_equal (d.rule, rule);
  else
    assert_null (d.rule);
  assert_int_equal (d.close, close);
  if (msg)
    assert_string_equal (d.message, msg);
  else
    assert_true (strncmp (d.message, REFUSAL_PREFIX, strlen (REFUSAL_PREFIX))
                 == 0);
  engine_decision_clear (&d);
}

static void
protocol_rules (void **state)
{
  struct policy p = eci_policy ();
  struct engine_head_facts f = facts (HTTP_GET, "/info");
  (void)state;
  f.http_major = 2;
  expect_refuse (&f, &p, 505, NULL, true, REFUSAL_ENGINE_HTTP_VERSION);
  f = facts (HTTP_PATCH, "/info");
  expect_refuse (&f, &p, 405, NULL, true, REFUSAL_ENGINE_METHOD);
  f = facts (HTTP_OPTIONS, "/info");
  expect_refuse (&f, &p, 405, NULL, true, REFUSAL_ENGINE_METHOD);
  f = facts (HTTP_GET, "/info");
  f.headers_valid = false;
  expect_refuse (&f, &p, 400, NULL, true, REFUSAL_ENGINE_HEADER);
  /* a URI that is not clean keeps the connection */
  f = facts (HTTP_GET, "/containers/../info");
  expect_refuse (&f, &p, 400, NULL, false, REFUSAL_ENGINE_URI);
  f = facts (HTTP_GET, "info");
  expect_refuse (&f, &p, 400, NULL, false, REFUSAL_ENGINE_URI);
}

static void
no_policy_only_ping (void **state)
{
  struct engine_head_facts f = facts (HTTP_GET, "/_ping");
  struct engine_decision d;
  (void)state;
  assert_int_equal (engine_decide (&f, NULL, &d), 0);
  assert_int_equal (d.verdict, ENGINE_ALLOW);
  engine_decision_clear (&d);
  f = facts (HTTP_GET, "/v1.41/info");
  expect_refuse (&f, NULL, 503, NULL, false, REFUSAL_ENGINE_NO_POLICY);
}

static void
command_list (void **state)
{
  struct policy p = eci_policy ();
  struct engine_head_facts f = facts (HTTP_POST, "/v1.41/images/x/push");
  struct engine_decision d;
  char msg[512];
  (void)state;
  /* the main socket: no command list */
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_ALLOW);
  engine_decision_clear (&d);
  /* a filtered socket: the contract text, with the URI as received */
  f.command_list = true;
  snprintf (msg, sizeof msg, REFUSAL_ENGINE_COMMAND_LIST,
            "/v1.41/images/x/push");
  assert_non_null (strstr (msg, "docker command \"/v1.41/images/x/push\" is "
                                "blocked; if you wish to allow it"));
  expect_refuse (&f, &p, 403, "commandList", false, msg);
  /* allow list: only ps; unknown endpoints refused; /_ping passes */
  p.eci.cmd_type = POLICY_CMDLIST_ALLOW;
  p.eci.commands = allow_ps;
  f = facts (HTTP_GET, "/containers/json");
  f.command_list = true;
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_ALLOW);
  engine_decision_clear (&d);
  f = facts (HTTP_GET, "/no/such/endpoint");
  f.command_list = true;
  expect_refuse (&f, &p, 403, "commandList", false, NULL);
  f = facts (HTTP_GET, "/_ping");
  f.command_list = true;
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_ALLOW);
  engine_decision_clear (&d);
}

static void
eci_route_refusals (void **state)
{
  struct policy p = eci_policy ();
  struct engine_head_facts f;
  struct engine_decision d;
  (void)state;
  f = facts (HTTP_POST, "/session");
  expect_refuse (&f, &p, 403, "eci.buildkit", false, REFUSAL_ENGINE_BUILDKIT);
  f = facts (HTTP_POST, "/v1.44/swarm/init");
  expect_refuse (&f, &p, 403, "eci.swarm", false, REFUSAL_ENGINE_SWARM);
  f = facts (HTTP_POST, "/services/create");
  expect_refuse (&f, &p, 403, "eci.swarm", false, REFUSAL_ENGINE_SWARM);
  f = facts (HTTP_POST, "/plugins/pull?remote=x");
  expect_refuse (&f, &p, 403, "eci.plugin", false, REFUSAL_ENGINE_PLUGIN);
  /* by query */
  f = facts (HTTP_POST, "/build?networkmode=host");
  expect_refuse (&f, &p, 403, "eci.namespace", false,
                 REFUSAL_PREFIX "containers can't share the network "
                                "namespace with the host");
  f = facts (HTTP_POST, "/build?version=2");
  expect_refuse (&f, &p, 403, "eci.buildkit", false, NULL);
  f = facts (HTTP_POST, "/images/create?fromSrc=http://x/y.tar");
  expect_refuse (&f, &p, 403, "eci.fetch", false, NULL);
  /* the same without ECI pass */
  p.eci.enabled = false;
  const char *uris[] = { "/session", "/swarm/init", "/plugins/pull",
                         "/build?networkmode=host" };
  for (size_t i = 0; i < sizeof uris / sizeof *uris; i++)
    {
      f = facts (HTTP_POST, uris[i]);
      assert_int_equal (engine_decide (&f, &p, &d), 0);
      assert_int_equal (d.verdict, ENGINE_ALLOW);
      assert_false (d.eci);
      engine_decision_clear (&d);
    }
}

static void
bodies_to_check (void **state)
{
  struct policy p = eci_policy ();
  struct engine_head_facts f;
  struct engine_decision d;
  (void)state;
  f = facts (HTTP_POST, "/v1.41/containers/create?name=web");
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_CHECK);
  assert_int_equal (d.op, ROUTE_OP_CONTAINER_CREATE);
  assert_true (d.eci);
  assert_string_equal (d.container, "web");
  engine_decision_clear (&d);
  /* ECI off: a create still gets its caller's labels */
  p.eci.enabled = false;
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_CHECK);
  assert_int_equal (d.op, ROUTE_OP_CONTAINER_CREATE);
  assert_false (d.eci);
  engine_decision_clear (&d);
  p.eci.enabled = true;
  f = facts (HTTP_POST, "/volumes/create");
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_CHECK);
  assert_int_equal (d.op, ROUTE_OP_VOLUME_CREATE);
  engine_decision_clear (&d);
  f = facts (HTTP_POST, "/networks/create");
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.op, ROUTE_OP_NETWORK_CREATE);
  engine_decision_clear (&d);
  /* start: always checked under ECI (its image, engine/imgprov.h; a
   * body, a pre-1.24 HostConfig); the container as named, for the check */
  f = facts (HTTP_POST, "/v1.41/containers/abc/start?detachKeys=x");
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_CHECK);
  assert_int_equal (d.op, ROUTE_OP_CONTAINER_START);
  assert_string_equal (d.container, "abc");
  assert_string_equal (d.archive, "abc");
  assert_string_equal (d.query, "detachKeys=x");
  assert_string_equal (d.version, "1.41");
  assert_true (d.route->flags & ROUTE_F_STARTS);
  engine_decision_clear (&d);
  f.has_body = true;
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_CHECK);
  assert_int_equal (d.op, ROUTE_OP_CONTAINER_START);
  engine_decision_clear (&d);
}

/* Under ECI every docker cp is checked: a non-root caller's for any host
 * path, root's for a bind moat stood in for (engine/archive.h). */
static void
archive_checked (void **state)
{
  struct policy p = eci_policy ();
  struct engine_head_facts f
      = facts (HTTP_PUT, "/v1.43/containers/a/b/archive?path=/x");
  struct engine_decision d;
  (void)state;
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_CHECK);
  assert_int_equal (d.op, ROUTE_OP_ARCHIVE);
  assert_string_equal (d.archive, "a/b"); /* the engine's {name:.*} */
  assert_string_equal (d.query, "path=/x");
  assert_string_equal (d.version, "1.43");
  engine_decision_clear (&d);
  f.caller_uid = 0;
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_CHECK);
  assert_int_equal (d.op, ROUTE_OP_ARCHIVE);
  engine_decision_clear (&d);
  /* ECI off: not checked */
  f.caller_uid = 1000;
  p.eci.enabled = false;
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_ALLOW);
  engine_decision_clear (&d);
}

static void
plain_requests_allowed (void **state)
{
  struct policy p = eci_policy ();
  struct engine_head_facts f
      = facts (HTTP_GET, "/v1.41/containers/c1/stats?stream=0");
  struct engine_decision d;
  (void)state;
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_ALLOW);
  assert_string_equal (d.route->group, "container");
  assert_string_equal (d.container, "c1");
  engine_decision_clear (&d);
  /* inspect shows the container's environment: its owner's only */
  f = facts (HTTP_GET, "/v1.41/containers/c1/json");
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_CHECK);
  assert_int_equal (d.op, ROUTE_OP_OWNER);
  engine_decision_clear (&d);
  f = facts (HTTP_HEAD, "/_ping");
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_ALLOW);
  engine_decision_clear (&d);
  /* rm is checked for the owner (owner_checked); stats is not */
  f = facts (HTTP_GET, "/containers/c1/stats?stream=0");
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_ALLOW);
  engine_decision_clear (&d);
}

/* Under ECI an endpoint moat does not know is refused, main socket
 * included: the pre-1.24 copy endpoint reads through mounts as host root
 * like docker cp.  Without ECI it is forwarded as before. */
static void
unknown_endpoints (void **state)
{
  struct policy p = eci_policy ();
  struct engine_head_facts f = facts (HTTP_POST, "/v1.23/containers/c1/copy");
  struct engine_decision d;
  char msg[512];
  (void)state;
  snprintf (msg, sizeof msg, REFUSAL_ENGINE_UNKNOWN_ENDPOINT, "POST",
            "/v1.23/containers/c1/copy");
  expect_refuse (&f, &p, 403, "eci.endpoint", false, msg);
  f = facts (HTTP_POST, "/containers/c1/copy");
  expect_refuse (&f, &p, 403, "eci.endpoint", false, NULL);
  f = facts (HTTP_GET, "/debug/pprof/goroutine?debug=2");
  expect_refuse (&f, &p, 403, "eci.endpoint", false, NULL);
  f = facts (HTTP_GET, "/debug/vars");
  expect_refuse (&f, &p, 403, "eci.endpoint", false, NULL);
  /* the engine's other spelling of `docker network ls` is known */
  f = facts (HTTP_GET, "/v1.41/networks/");
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_ALLOW);
  engine_decision_clear (&d);
  p.eci.enabled = false;
  f = facts (HTTP_POST, "/v1.23/containers/c1/copy");
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_ALLOW);
  engine_decision_clear (&d);
}

/* exec and attach under ECI are checked for the container's owner (the
 * guard skips the check for root); the name and suffix are kept */
static void
owner_checked (void **state)
{
  struct policy p = eci_policy ();
  struct engine_head_facts f = facts (HTTP_POST, "/v1.41/containers/a/b/exec");
  struct engine_decision d;
  (void)state;
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_CHECK);
  assert_int_equal (d.op, ROUTE_OP_OWNER);
  assert_string_equal (d.archive, "a/b");
  assert_string_equal (d.version, "1.41");
  engine_decision_clear (&d);
  f = facts (HTTP_GET, "/containers/c1/attach/ws?stream=1");
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.op, ROUTE_OP_OWNER);
  assert_string_equal (d.archive, "c1");
  assert_string_equal (d.query, "stream=1");
  engine_decision_clear (&d);
  f = facts (HTTP_POST, "/containers/c1/attach?stream=1");
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.op, ROUTE_OP_OWNER);
  assert_string_equal (d.archive, "c1");
  engine_decision_clear (&d);
  /* every endpoint that reads, acts on one container: logs, rm... */
  f = facts (HTTP_DELETE, "/v1.41/containers/a/b?force=1");
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.op, ROUTE_OP_OWNER);
  assert_string_equal (d.archive, "a/b");
  assert_string_equal (d.query, "force=1");
  engine_decision_clear (&d);
  f = facts (HTTP_GET, "/containers/c1/logs");
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.op, ROUTE_OP_OWNER);
  assert_string_equal (d.archive, "c1");
  engine_decision_clear (&d);
  /* commit: its query is checked */
  f = facts (HTTP_POST, "/commit?container=c1&repo=x");
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_CHECK);
  assert_int_equal (d.op, ROUTE_OP_COMMIT);
  assert_string_equal (d.archive, "container=c1&repo=x");
  engine_decision_clear (&d);
  /* checkpoints: root's only */
  f = facts (HTTP_POST, "/containers/c1/checkpoints");
  f.caller_uid = 1000;
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_REFUSE);
  assert_string_equal (d.rule, "eci.checkpoint");
  engine_decision_clear (&d);
  f.caller_uid = 0;
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_ALLOW);
  engine_decision_clear (&d);
  f = facts (HTTP_POST, "/containers/c1/start?checkpoint-dir=/x&checkpoint=c");
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_REFUSE);
  assert_string_equal (d.rule, "eci.checkpoint");
  engine_decision_clear (&d);
  /* a form body would be read as parameters */
  f = facts (HTTP_POST, "/commit?container=c1");
  f.has_body = true;
  f.form_type = "application/x-www-form-urlencoded";
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_REFUSE);
  assert_int_equal (d.status, 415);
  assert_string_equal (d.rule, "eci.form");
  engine_decision_clear (&d);
  /* the exec endpoints: the exec id between /exec/ and the suffix */
  f = facts (HTTP_POST, "/v1.41/exec/e1/start");
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_CHECK);
  assert_int_equal (d.op, ROUTE_OP_EXEC_OWNER);
  assert_string_equal (d.archive, "e1");
  engine_decision_clear (&d);
  f = facts (HTTP_POST, "/exec/e1/resize?h=1&w=1");
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.op, ROUTE_OP_EXEC_OWNER);
  assert_string_equal (d.archive, "e1");
  assert_string_equal (d.query, "h=1&w=1");
  engine_decision_clear (&d);
  f = facts (HTTP_GET, "/exec/a/b/json");
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.op, ROUTE_OP_EXEC_OWNER);
  assert_string_equal (d.archive, "a/b");
  engine_decision_clear (&d);
  p.eci.enabled = false;
  f = facts (HTTP_POST, "/exec/e1/start");
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_ALLOW);
  engine_decision_clear (&d);
  f = facts (HTTP_POST, "/containers/c1/exec");
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_ALLOW);
  engine_decision_clear (&d);
}

/* The Content-Type of a head as the engine (Go's mime.ParseMediaType:
 * up to ';', TrimSpace, ToLower) reads it: form types found in any
 * spelling; NULL for other types. */
static char *
form_type_of (const char *ct)
{
  struct engine_req r;
  char head[512];
  char *t;
  snprintf (head, sizeof head,
            "POST /images/create HTTP/1.1\r\nHost: x\r\n%s\r\n"
            "Content-Length: 1\r\n\r\n",
            ct);
  engine_req_init (&r, 65536, NULL, NULL);
  assert_int_equal (llhttp_execute (&r.p, head, strlen (head)), HPE_PAUSED);
  t = engine_req_form_type (&r);
  engine_req_free (&r);
  return t;
}

static void
form_types (void **state)
{
  static const char *const form[] = {
    "Content-Type: application/x-www-form-urlencoded",
    "content-type: Application/X-WWW-Form-Urlencoded; charset=utf-8",
    "Content-Type:   multipart/form-data; boundary=B",
    "Content-Type: application/x-www-form-urlencoded ;x=y",
    /* Go's TrimSpace and ToLower beyond ASCII: U+00A0, U+3000, U+0130 */
    "Content-Type: \xc2\xa0"
    "application/x-www-form-urlencoded\xe3\x80\x80",
    "Content-Type: appl\xc4\xb0"
    "cation/x-www-form-urlencoded",
    "Content-Type: application/json\r\nContent-Type: multipart/form-data",
  };
  static const char *const other[] = {
    "Content-Type: application/json",
    "Content-Type: application/x-tar",
    "Content-Type: application/x-www-form-urlencodedx",
    "Content-Type: multipart/mixed; boundary=B",
    "X-Content-Type: multipart/form-data",
    "Content-Type: text/plain; x=application/x-www-form-urlencoded",
  };
  (void)state;
  for (size_t i = 0; i < sizeof form / sizeof form[0]; i++)
    {
      char *t = form_type_of (form[i]);
      if (t == NULL)
        fail_msg ("not seen as a form: %s", form[i]);
      free (t);
    }
  for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
    {
      char *t = form_type_of (other[i]);
      if (t != NULL)
        fail_msg ("seen as a form: %s", other[i]);
    }
}

/* Under ECI a form-typed body is refused on every route: the engine
 * would merge its fields into the query the guard checked in the URL.
 * A form type without a body, or ECI off, is forwarded. */
static void
form_bodies (void **state)
{
  struct policy p = eci_policy ();
  struct engine_head_facts f
      = facts (HTTP_POST, "/v1.41/images/create?fromSrc=-");
  struct engine_decision d;
  char msg[512];
  (void)state;
  f.has_body = true;
  f.form_type = "application/x-www-form-urlencoded";
  snprintf (msg, sizeof msg, REFUSAL_ENGINE_FORM_BODY, 128,
            "application/x-www-form-urlencoded");
  expect_refuse (&f, &p, 415, "eci.form", false, msg);
  f = facts (HTTP_POST, "/build");
  f.has_body = true;
  f.form_type = "multipart/form-data; boundary=B";
  expect_refuse (&f, &p, 415, "eci.form", false, NULL);
  f.has_body = false;
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_not_equal (d.verdict, ENGINE_REFUSE);
  engine_decision_clear (&d);
  p.eci.enabled = false;
  f = facts (HTTP_POST, "/images/create?fromSrc=-");
  f.has_body = true;
  f.form_type = "application/x-www-form-urlencoded";
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_ALLOW);
  engine_decision_clear (&d);
}

/* docker top's ps_args under ECI: standard formats and -o pid,... pass;
 * renamed columns, formats not starting with pid, no header, several
 * different values are refused. */
static void
top_ps_args (void **state)
{
  static const char *const pass[] = {
    "/containers/c/top",
    "/containers/c/top?ps_args=",
    "/containers/c/top?ps_args=-ef",
    "/containers/c/top?ps_args=aux",
    "/v1.41/containers/c/top?ps_args=-o%20pid,user,args",
    "/containers/c/top?ps_args=-eo+pid,args+ww+e",
    "/containers/c/top?ps_args=axopid,args",
    "/containers/c/top?ps_args=-ef+--forest&ps_args=-ef+--forest",
  };
  static const char *const refused[] = {
    "/containers/c/top?ps_args=-o%20args,tty,pid%20e%20-p%201",
    "/containers/c/top?ps_args=-oetimes=PID,args%20e%20-e",
    "/containers/c/top?ps_args=-o+pid=X,args",
    "/containers/c/top?ps_args=-O+args",
    "/containers/c/top?ps_args=auxh",
    "/containers/c/top?ps_args=-e+--no-headers+-o+pid,args",
    "/containers/c/top?ps_args=-e+--format+args,pid",
    "/containers/c/top?ps_args=-o",
    "/containers/c/top?ps_args=-o+pidx",
    "/containers/c/top?ps_args=%25p%20%25a",
    "/containers/c/top?ps_args=-ef&ps_args=-o+args,pid",
    "/containers/c/top?ps_args=-o%09args,pid",
  };
  struct policy p = eci_policy ();
  struct engine_decision d;
  (void)state;
  for (size_t i = 0; i < sizeof pass / sizeof pass[0]; i++)
    {
      struct engine_head_facts f = facts (HTTP_GET, pass[i]);
      assert_int_equal (engine_decide (&f, &p, &d), 0);
      /* passed on to the owner rule of the route (eci.owner) */
      if (d.verdict == ENGINE_REFUSE)
        fail_msg ("refused: %s", pass[i]);
      engine_decision_clear (&d);
    }
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
    {
      struct engine_head_facts f = facts (HTTP_GET, refused[i]);
      assert_int_equal (engine_decide (&f, &p, &d), 0);
      if (d.verdict != ENGINE_REFUSE || strcmp (d.rule, "eci.top") != 0)
        fail_msg ("not refused: %s", refused[i]);
      engine_decision_clear (&d);
    }
}

/* Prunes under ECI (engine/xuser.h): a non-root caller's container,
 * volume and network prunes are sent with its owner label filter; image
 * and build-cache prunes are refused; root's pass as they are. */
static void
prunes (void **state)
{
  static const char *const own[] = {
    "/v1.41/containers/prune",
    "/volumes/prune?filters=%7B%7D",
    "/networks/prune?filters=%7B%22until%22%3A%7B%221h%22%3Atrue%7D%7D",
  };
  struct policy p = eci_policy ();
  struct engine_decision d;
  struct engine_head_facts f;
  (void)state;
  for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
    {
      f = facts (HTTP_POST, own[i]);
      assert_int_equal (engine_decide (&f, &p, &d), 0);
      assert_int_equal (d.verdict, ENGINE_ALLOW);
      assert_non_null (d.uri);
      assert_non_null (strstr (d.uri, "com.moat.caller.uid%3D1000"));
      engine_decision_clear (&d);
      f.caller_uid = 0;
      assert_int_equal (engine_decide (&f, &p, &d), 0);
      assert_int_equal (d.verdict, ENGINE_ALLOW);
      assert_null (d.uri);
      engine_decision_clear (&d);
    }
  f = facts (HTTP_POST, "/v1.41/images/prune?filters=%7B%7D");
  expect_refuse (&f, &p, 403, "eci.owner", false, REFUSAL_PRUNE_IMAGES);
  f = facts (HTTP_POST, "/build/prune");
  expect_refuse (&f, &p, 403, "eci.owner", false, REFUSAL_PRUNE_BUILD);
  f = facts (HTTP_POST, "/networks/prune?filters=x");
  expect_refuse (&f, &p, 400, "eci.json", false,
                 "enhanced container isolation: invalid filters");
  f = facts (HTTP_POST, "/build/prune");
  f.caller_uid = 0;
  assert_int_equal (engine_decide (&f, &p, &d), 0);
  assert_int_equal (d.verdict, ENGINE_ALLOW);
  engine_decision_clear (&d);
}

/* A filtered socket's registry requests name their registry, and one
 * that cannot be read is refused (form bodies: form_bodies). */
static void
form_body_and_registry (void **state)
{
  (void)state;
  struct policy pol = eci_policy ();
  struct engine_decision d;
  struct engine_head_facts f
      = facts (HTTP_POST, "/v1.41/images/create?fromImage=busybox");
  f.has_body = true; /* a tar body of an import, say */
  assert_int_equal (engine_decide (&f, &pol, &d), 0);
  assert_int_equal (d.verdict, ENGINE_ALLOW);
  assert_null (d.registry); /* the host's socket: not decided */
  engine_decision_clear (&d);
  f.has_body = false;
  f.command_list = true;
  assert_int_equal (engine_decide (&f, &pol, &d), 0);
  assert_int_equal (d.verdict, ENGINE_ALLOW);
  assert_string_equal (d.registry, "registry-1.docker.io");
  assert_int_equal (d.registry_port, 443);
  engine_decision_clear (&d);
  f = facts (HTTP_POST, "/images/create?fromImage=a%20b");
  f.command_list = true;
  assert_int_equal (engine_decide (&f, &pol, &d), 0);
  assert_int_equal (d.verdict, ENGINE_REFUSE);
  assert_string_equal (d.rule, "airgap.registry");
  engine_decision_clear (&d);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (protocol_rules),
    cmocka_unit_test (form_body_and_registry),
    cmocka_unit_test (no_policy_only_ping),
    cmocka_unit_test (command_list),
    cmocka_unit_test (eci_route_refusals),
    cmocka_unit_test (bodies_to_check),
    cmocka_unit_test (archive_checked),
    cmocka_unit_test (plain_requests_allowed),
    cmocka_unit_test (unknown_endpoints),
    cmocka_unit_test (owner_checked),
    cmocka_unit_test (form_types),
    cmocka_unit_test (form_bodies),
    cmocka_unit_test (top_ps_args),
    cmocka_unit_test (prunes),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
