/* Extension requests on the control socket (docs/extensions.md): the
 * admin keys are checked here, the work is src/ext's, and every install,
 * update and removal is audited (component "extensions").  They run on the
 * main thread, one at a time: an install blocks other control requests
 * for as long as it takes (the guards run on their own threads). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/refusal.h"
#include "ext/ext.h"
#include "ext/market.h"
#include "ext/sandbox.h"
#include "net/decide.h"
#include "net/pac_hook.h"
#include "net/rules.h"
#include "internal.h"

#define MARKET_LIST "/etc/moat/extension-marketplace/extensions.txt"

static json_t *
fail_reply (moat_error_t *err)
{
  json_t *r = json_pack ("{s:b, s:s}", "ok", 0, "error", moat_error_msg (err));
  moat_error_release (err);
  return r;
}

static void
ctx_init (struct moatd *d, struct ext_ctx *c, char **dir)
{
  *dir = NULL;
  if (asprintf (dir, "%s/extensions", d->paths->state_dir) < 0)
    *dir = NULL;
  c->engine_sock = d->engine_sock;
  c->guard_sock = d->paths->docker_sock;
  c->dir = *dir;
  c->socket_wait_ms = 15000;
  c->sandbox_pins = d->policy->extensions.sandbox_grants;
}

static int
policy_allows (struct moatd *d, const char *image, moat_error_t *err)
{
  const struct policy *p = d->policy;
  cleanup_free char *list = moat_paths_join (d->paths, MARKET_LIST);
  const char *root = d->paths->root;

  if (list == NULL)
    return moat_error (err, ENOMEM, "extensions");
  return ext_policy_check (
      p->extensions.enabled, p->extensions.only_marketplace,
      p->extensions.private_marketplace, list,
      root != NULL && root[0] != '\0' ? root : NULL, image, err);
}

/* ---- sandboxes (src/ext/sandbox.h) ----
 *
 * A sandbox call blocks (up to its time limit plus what its host functions
 * take): `extension.call` runs it on a thread of its own and posts the
 * reply back to the main loop through an eventfd (SRC_EXT).  The client
 * may be gone by then: the reply is dropped unless the same client (same
 * pointer, fd and pid, not dead) is still connected. */

struct sbx_job
{
  struct moatd *d;
  struct client *c;
  int fd;
  pid_t pid;
  char *name, *method, *path, *body;
  size_t body_len;
  json_t *reply;
  struct sbx_job *next;
};

static struct
{
  pthread_mutex_t mu;
  pthread_cond_t idle;
  struct sbx_job *done;
  unsigned running;
  int efd;
  struct source src;
  bool started;
} sbx_role = { .mu = PTHREAD_MUTEX_INITIALIZER,
               .idle = PTHREAD_COND_INITIALIZER,
               .efd = -1 };

/* The egress decision a container of this engine gets (docs/extensions.md
 * "request"): not intercepted ports go direct, intercepted ones are
 * decided as the net guard decides a container's connection: its static
 * rules, or the PAC through the guard's own PAC engine (a PAC that is not
 * loaded, or fails, refuses: fail closed).  Runs on the sandbox call's
 * worker thread, never on moatd's loop: a PAC evaluation may take up to
 * its timeout. */
static int
sbx_egress (void *ud, const char *host, const char *addr, unsigned port,
            char *proxy, size_t proxy_size, moat_error_t *err)
{
  struct moatd *d = ud;
  struct net_system_proxy sys = {
    .http = getenv ("http_proxy") ?: getenv ("HTTP_PROXY"),
    .https = getenv ("HTTPS_PROXY") ?: getenv ("https_proxy"),
    .no_proxy = getenv ("NO_PROXY") ?: getenv ("no_proxy"),
  };
  struct net_rules *rules = NULL;
  cleanup_free struct net_addr *hosts = NULL;
  size_t n_hosts = 0;
  struct net_query q = { .port = (uint16_t)port, .hostname = host };
  struct net_decision dec;
  char why[256] = "";
  int ret = -1;

  proxy[0] = 0;
  if (!moatd_net_running_p (d))
    return 0; /* no net guard: containers go direct as well */
  struct policy_snap *s = policy_snap_acquire (&d->snaps);
  if (s == NULL)
    return moat_error (err, 0, "enhanced container isolation: no policy");
  if (net_rules_compile (policy_snap_get (s), &sys, &rules, err) < 0)
    goto out;
  if (!net_rules_port_p (rules, (uint16_t)port))
    {
      ret = 0;
      goto out;
    }
  if (net_addr_parse (addr, &q.dst) < 0
      || net_host_addrs (&hosts, &n_hosts, err) < 0)
    {
      if (*err == NULL)
        moat_error (err, EINVAL, "address `%s`", addr);
      goto out;
    }
  const struct net_decider dd = { .rules = rules,
                                  .host = hosts,
                                  .n_host = n_hosts,
                                  .decide = net_pac_decide,
                                  .ctx = moatd_net_pac (d) };
  net_decide (&dd, &q, false, &dec, why, sizeof why);
  if (net_decision_refuse_p (&dec))
    {
      moat_error (err, 0,
                  "enhanced container isolation: request to %s (%s port %u) "
                  "refused by the containers' egress policy: %s%s%s",
                  host, addr, port, dec.rule, why[0] ? ": " : "", why);
      goto out;
    }
  const struct proxy_hop *h = &dec.route.hops[0];
  static const char *const scheme[] = { [PROXY_HTTP] = "http",
                                        [PROXY_HTTPS] = "https",
                                        [PROXY_SOCKS4] = "socks4",
                                        [PROXY_SOCKS5] = "socks5" };
  if (h->kind != PROXY_DIRECT)
    snprintf (proxy, proxy_size, "%s://%s%s%s:%u", scheme[h->kind],
              strchr (h->host, ':') ? "[" : "", h->host,
              strchr (h->host, ':') ? "]" : "", (unsigned)h->port);
  ret = 0;
out:
  net_rules_free (rules);
  policy_snap_release (s);
  return ret;
}

int
moatd_ext_start (struct moatd *d, moat_error_t *err)
{
  cleanup_free char *dir = NULL;
  cleanup_free char *netns = NULL;
  struct ext_sandbox_conf conf = {
    .exe = d->cfg.sandbox_exe,
    .guard_sock = d->paths->docker_sock,
    .egress = sbx_egress,
    .egress_ud = d,
  };
  if (asprintf (&dir, "%s/extensions", d->paths->state_dir) < 0)
    return moat_error (err, ENOMEM, "extensions");
  if (d->cfg.engine_netns != NULL
      && asprintf (&netns, "/run/netns/%s", d->cfg.engine_netns) < 0)
    return moat_error (err, ENOMEM, "extensions");
  conf.ext_dir = dir;
  conf.netns = netns;
  if (ext_sandbox_init (&conf, err) < 0)
    return -1;
  sbx_role.efd = eventfd (0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (sbx_role.efd < 0)
    return moat_error (err, errno, "eventfd");
  sbx_role.src.kind = SRC_EXT;
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &sbx_role.src };
  if (epoll_ctl (d->epfd, EPOLL_CTL_ADD, sbx_role.efd, &ev) < 0)
    return moat_error (err, errno, "epoll_ctl");
  sbx_role.started = true;
  return 0;
}

static void
job_free (struct sbx_job *j)
{
  free (j->name);
  free (j->method);
  free (j->path);
  free (j->body);
  json_decref (j->reply);
  free (j);
}

void
moatd_ext_stop (struct moatd *d)
{
  (void)d;
  if (!sbx_role.started)
    return;
  /* Calls in flight end by their own time limits. */
  pthread_mutex_lock (&sbx_role.mu);
  while (sbx_role.running > 0)
    pthread_cond_wait (&sbx_role.idle, &sbx_role.mu);
  struct sbx_job *j = sbx_role.done;
  sbx_role.done = NULL;
  pthread_mutex_unlock (&sbx_role.mu);
  while (j != NULL)
    {
      struct sbx_job *n = j->next;
      job_free (j);
      j = n;
    }
  ext_sandbox_shutdown ();
  close (sbx_role.efd);
  sbx_role.efd = -1;
  sbx_role.started = false;
}

void
moatd_ext_drain (struct moatd *d)
{
  uint64_t n;
  if (read (sbx_role.efd, &n, sizeof n) < 0 && errno != EAGAIN)
    log_warn ("read extension eventfd: %s", strerror (errno));
  pthread_mutex_lock (&sbx_role.mu);
  struct sbx_job *j = sbx_role.done;
  sbx_role.done = NULL;
  pthread_mutex_unlock (&sbx_role.mu);
  while (j != NULL)
    {
      struct sbx_job *next = j->next;
      for (struct client *c = d->clients; c != NULL; c = c->next)
        if (c == j->c && !c->dead && c->fd == j->fd && c->pid == j->pid)
          {
            moatd_client_send (d, c, j->reply);
            break;
          }
      job_free (j);
      j = next;
    }
}

static void *
sbx_thread (void *arg)
{
  struct sbx_job *j = arg;
  moat_error_t err = NULL;
  char *reply = NULL;
  size_t len = 0;
  int status = 0;
  char endpoint[1200];
  char detail[32];
  uint64_t one = 1;

  snprintf (endpoint, sizeof endpoint, "%s %s /sandbox%s", j->name, j->method,
            j->path);
  /* the caller is root (sbx_call): its docker scope acts as root */
  if (ext_sandbox_call (j->name, j->method, j->path, j->body, j->body_len, 0,
                        &status, &reply, &len, &err)
      < 0)
    {
      j->reply
          = json_pack ("{s:b, s:s}", "ok", 0, "error", moat_error_msg (&err));
      snprintf (detail, sizeof detail, "error");
    }
  else
    {
      j->reply = json_pack ("{s:b, s:i, s:s%}", "ok", 1, "status", status,
                            "body", reply, len);
      if (j->reply == NULL) /* not UTF-8 */
        j->reply = json_pack ("{s:b, s:i, s:s}", "ok", 1, "status", 502,
                              "body", "the route's reply is not UTF-8");
      snprintf (detail, sizeof detail, "status %d", status);
    }
  struct audit_record r = {
    .component = "extensions",
    .caller_uid = 0,
    .caller_pid = j->pid,
    .rule = "extension.call",
    .endpoint = endpoint,
    .outcome = err != NULL    ? "error"
               : status < 500 ? "applied"
                              : "failed",
    .detail = err != NULL ? moat_error_msg (&err) : detail,
  };
  moatd_audit_post (j->d, &r);
  moat_error_release (&err);
  free (reply);
  pthread_mutex_lock (&sbx_role.mu);
  j->next = sbx_role.done;
  sbx_role.done = j;
  if (write (sbx_role.efd, &one, sizeof one) < 0)
    (void)0; /* the counter is full: the loop is awake anyway */
  sbx_role.running--;
  pthread_cond_broadcast (&sbx_role.idle);
  pthread_mutex_unlock (&sbx_role.mu);
  return NULL;
}

/* extension.call {name, method, path, data?}: root only (a test and admin
 * tool; the UI's calls come through the dashboard as the extension).  The
 * reply is sent later, by moatd_ext_drain; returns NULL then. */
static json_t *
sbx_call (struct moatd *d, struct client *c, json_t *req)
{
  const char *name = json_string_value (json_object_get (req, "name"));
  const char *method = json_string_value (json_object_get (req, "method"));
  const char *path = json_string_value (json_object_get (req, "path"));
  json_t *data = json_object_get (req, "data");
  struct sbx_job *j;
  pthread_t t;
  pthread_attr_t attr;

  if (c->uid != 0)
    return json_pack ("{s:b, s:s}", "ok", 0, "error",
                      "only root may call an extension's sandbox from the "
                      "command line");
  if (!sbx_role.started)
    return json_pack ("{s:b, s:s}", "ok", 0, "error",
                      "extension sandboxes are not running");
  if (name == NULL || method == NULL || path == NULL
      || (data != NULL && !json_is_string (data)))
    return json_pack ("{s:b, s:s}", "ok", 0, "error",
                      "extension.call needs \"name\", \"method\", \"path\"");
  if (strncmp (path, "/sandbox/", 9) == 0)
    path += 8; /* as the UI writes it */
  j = calloc (1, sizeof *j);
  if (j == NULL)
    return json_pack ("{s:b, s:s}", "ok", 0, "error", "out of memory");
  j->d = d;
  j->c = c;
  j->fd = c->fd;
  j->pid = c->pid;
  j->name = strdup (name);
  j->method = strdup (method);
  j->path = strdup (path);
  if (data != NULL)
    {
      j->body_len = json_string_length (data);
      j->body = malloc (j->body_len + 1);
      if (j->body != NULL)
        memcpy (j->body, json_string_value (data), j->body_len + 1);
    }
  if (j->name == NULL || j->method == NULL || j->path == NULL
      || (data != NULL && j->body == NULL))
    {
      job_free (j);
      return json_pack ("{s:b, s:s}", "ok", 0, "error", "out of memory");
    }
  pthread_attr_init (&attr);
  pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
  pthread_mutex_lock (&sbx_role.mu);
  sbx_role.running++;
  pthread_mutex_unlock (&sbx_role.mu);
  if (pthread_create (&t, &attr, sbx_thread, j) != 0)
    {
      pthread_mutex_lock (&sbx_role.mu);
      sbx_role.running--;
      pthread_mutex_unlock (&sbx_role.mu);
      pthread_attr_destroy (&attr);
      job_free (j);
      return json_pack ("{s:b, s:s}", "ok", 0, "error",
                        "cannot start a thread");
    }
  pthread_attr_destroy (&attr);
  return NULL;
}

/* ls: the sandbox's state next to what the record says it was granted. */
static void
sbx_ls (json_t *list)
{
  size_t i;
  json_t *e;
  json_array_foreach (list, i, e)
  {
    json_t *sb = json_object_get (e, "sandbox");
    const char *name = json_string_value (json_object_get (e, "name"));
    if (!json_is_object (sb) || name == NULL)
      continue;
    json_t *st = ext_sandbox_status (name);
    if (st == NULL)
      st = json_pack ("{s:s, s:i, s:i, s:s}", "state", "idle", "failures", 0,
                      "starts", 0, "last_error", "");
    json_object_update (sb, st);
    json_decref (st);
  }
}

json_t *
moatd_ext_request (struct moatd *d, struct client *c, const char *cmd,
                   json_t *req)
{
  const char *image = json_string_value (json_object_get (req, "image"));
  const char *name = json_string_value (json_object_get (req, "name"));
  cleanup_free char *dir = NULL;
  moat_error_t err = NULL;
  struct ext_ctx ctx;
  struct audit_record r = {
    .component = "extensions",
    .caller_uid = c->uid,
    .caller_pid = c->pid,
  };
  json_t *out = NULL, *reply;
  int ret;

  ctx_init (d, &ctx, &dir);
  if (dir == NULL)
    return json_pack ("{s:b, s:s}", "ok", 0, "error", "out of memory");
  if (strcmp (cmd, "extension.call") == 0)
    return sbx_call (d, c, req);
  if (strcmp (cmd, "extension.ls") == 0)
    {
      if (ext_list (&ctx, &out, &err) < 0)
        {
          json_decref (out);
          return fail_reply (&err);
        }
      sbx_ls (out);
      return json_pack ("{s:b, s:o}", "ok", 1, "extensions", out);
    }
  if (strcmp (cmd, "extension.validate") == 0)
    {
      struct ext_problems probs = { 0 };
      json_t *list;
      if (image == NULL)
        return json_pack ("{s:b, s:s}", "ok", 0, "error",
                          "extension.validate needs \"image\"");
      ret = ext_validate_image (&ctx, image, &probs, &err);
      if (ret < 0 && err != NULL)
        {
          ext_problems_free (&probs);
          return fail_reply (&err);
        }
      list = json_array ();
      for (size_t i = 0; i < probs.n; i++)
        json_array_append_new (list, json_string (probs.items[i]));
      ext_problems_free (&probs);
      {
        /* What an install would grant its sandbox (the install prompt). */
        json_t *sb = NULL;
        if (ret == 0 && ext_sandbox_preview (&ctx, image, &sb, &err) < 0)
          moat_error_release (&err);
        return json_pack ("{s:b, s:b, s:o, s:o*}", "ok", 1, "valid", ret == 0,
                          "problems", list, "sandbox", sb);
      }
    }
  if (d->guard == NULL && strcmp (cmd, "extension.rm") != 0)
    return json_pack ("{s:b, s:s}", "ok", 0, "error",
                      "extensions need the engine guard (moat up without "
                      "--no-guard): backends run on the guarded engine");
  /* moatd creates the backend (and runs a compose file's services) as
   * itself, a root caller: only root may choose what it runs */
  if (c->uid != 0
      && (strcmp (cmd, "extension.install") == 0
          || strcmp (cmd, "extension.update") == 0
          || strcmp (cmd, "extension.rm") == 0))
    {
      r.rule = cmd;
      r.endpoint = image != NULL ? image : name;
      r.outcome = "refused";
      r.detail = REFUSAL_EXTENSION_ROOT_ONLY;
      moatd_audit_record (d, &r);
      return json_pack ("{s:b, s:s}", "ok", 0, "error",
                        REFUSAL_EXTENSION_ROOT_ONLY);
    }
  /* An extension's engine work (its backend, a compose file's services,
   * their removal) is the installing admin's: gated as the caller, like
   * the caller's own docker calls (docs/signin.md). */
  if ((strcmp (cmd, "extension.install") == 0
       || strcmp (cmd, "extension.update") == 0
       || strcmp (cmd, "extension.rm") == 0)
      && moatd_session_gate_refusal (d, c->uid) != NULL)
    {
      r.rule = "signin";
      r.endpoint = image != NULL ? image : name;
      r.outcome = "refused";
      r.detail = moatd_session_gate_refusal (d, c->uid);
      moatd_audit_record (d, &r);
      return json_pack ("{s:b, s:s}", "ok", 0, "error",
                        moatd_session_gate_refusal (d, c->uid));
    }
  if (strcmp (cmd, "extension.install") == 0
      || strcmp (cmd, "extension.update") == 0)
    {
      bool install = strcmp (cmd, "extension.install") == 0;
      r.rule = cmd;
      r.endpoint = image;
      if (image == NULL)
        return json_pack ("{s:b, s:s}", "ok", 0, "error", "needs \"image\"");
      if (policy_allows (d, image, &err) < 0)
        {
          r.outcome = "refused";
          r.detail = moat_error_msg (&err);
          moatd_audit_record (d, &r);
          return fail_reply (&err);
        }
      ret = install ? ext_install (&ctx, image, c->uid, &out, &err)
                    : ext_update (&ctx, image, c->uid, &out, &err);
      r.outcome = ret < 0 ? "error" : "applied";
      r.detail = ret < 0 ? moat_error_msg (&err) : NULL;
      moatd_audit_record (d, &r);
      if (ret < 0)
        return fail_reply (&err);
      log_info ("uid %d %s extension %s", (int)c->uid,
                install ? "installed" : "updated", image);
      {
        const char *n = json_string_value (json_object_get (out, "name"));
        if (n != NULL)
          ext_sandbox_forget (n); /* the new script, a fresh start */
      }
      return json_pack ("{s:b, s:o}", "ok", 1, "extension", out);
    }
  if (strcmp (cmd, "extension.rm") == 0)
    {
      bool volumes = json_is_true (json_object_get (req, "volumes"));
      if (name == NULL)
        return json_pack ("{s:b, s:s}", "ok", 0, "error", "needs \"name\"");
      r.rule = cmd;
      r.endpoint = name;
      ret = ext_remove (&ctx, name, volumes, &out, &err);
      r.outcome = ret < 0 ? "error" : "applied";
      r.detail = ret < 0 ? moat_error_msg (&err) : NULL;
      moatd_audit_record (d, &r);
      if (ret < 0)
        {
          json_decref (out);
          return fail_reply (&err);
        }
      log_info ("uid %d removed extension %s", (int)c->uid, name);
      ext_sandbox_forget (name);
      return json_pack ("{s:b, s:o}", "ok", 1, "volumes_left", out);
    }
  reply = json_pack ("{s:b, s:s}", "ok", 0, "error",
                     "unknown extension command");
  return reply;
}
