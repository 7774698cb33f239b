/* Engine API endpoint table and command-list matching. */
#include "common/strutil.h"
#include "route.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define C_ROUTE(m, p, cmds, grp)                                              \
  {                                                                           \
    m, p, cmds, grp, ROUTE_OP_NONE, 0                                         \
  }

/* Order matters where two patterns can match one path: the specific ones
 * ("/containers/json") come before the name-capturing ones, as the engine
 * registers them.  "**" stands for the engine's {name:.*} (image and
 * container references may contain '/'), "*" for a single segment. */
static const struct engine_route routes[] = {
  /* system */
  { "GET", "/_ping", "", "", ROUTE_OP_NONE, ROUTE_F_ALWAYS },
  { "HEAD", "/_ping", "", "", ROUTE_OP_NONE, ROUTE_F_ALWAYS },
  C_ROUTE ("GET", "/version", "version", "system"),
  C_ROUTE ("GET", "/info", "info,system info", "system"),
  C_ROUTE ("GET", "/events", "events,system events", "system"),
  C_ROUTE ("GET", "/system/df", "system df", "system"),
  C_ROUTE ("POST", "/auth", "login", "system"),

  /* containers */
  C_ROUTE ("GET", "/containers/json", "ps,container ls", "container"),
  { "POST", "/containers/create", "create,run", "container",
    ROUTE_OP_CONTAINER_CREATE, 0 },
  { "POST", "/containers/prune", "container prune,system prune", "container",
    ROUTE_OP_PRUNE, 0 },
  /* another user's container: its Config.Env, command and labels */
  { "GET", "/containers/**/json", "inspect,container inspect,port",
    "container", ROUTE_OP_OWNER, 0 },
  { "GET", "/containers/**/top", "top", "container", ROUTE_OP_OWNER, 0 },
  { "GET", "/containers/**/logs", "logs", "container", ROUTE_OP_OWNER, 0 },
  { "GET", "/containers/**/changes", "diff", "container", ROUTE_OP_OWNER, 0 },
  { "GET", "/containers/**/export", "export", "container", ROUTE_OP_OWNER, 0 },
  C_ROUTE ("GET", "/containers/**/stats", "stats", "container"),
  { "GET", "/containers/**/attach/ws", "attach", "container", ROUTE_OP_OWNER,
    ROUTE_F_HIJACK },
  { "GET", "/containers/**/archive", "cp", "container", ROUTE_OP_ARCHIVE, 0 },
  { "HEAD", "/containers/**/archive", "cp", "container", ROUTE_OP_ARCHIVE, 0 },
  { "PUT", "/containers/**/archive", "cp", "container", ROUTE_OP_ARCHIVE, 0 },
  { "POST", "/containers/**/start", "start,run", "container",
    ROUTE_OP_CONTAINER_START, ROUTE_F_STARTS },
  { "POST", "/containers/**/stop", "stop", "container", ROUTE_OP_OWNER, 0 },
  { "POST", "/containers/**/restart", "restart", "container", ROUTE_OP_OWNER,
    ROUTE_F_STARTS },
  { "POST", "/containers/**/kill", "kill,run,start,attach", "container",
    ROUTE_OP_OWNER, 0 },
  { "POST", "/containers/**/pause", "pause", "container", ROUTE_OP_OWNER, 0 },
  { "POST", "/containers/**/unpause", "unpause", "container", ROUTE_OP_OWNER,
    0 },
  C_ROUTE ("POST", "/containers/**/wait", "wait,run,start", "container"),
  { "POST", "/containers/**/resize", "attach,run,start,exec", "container",
    ROUTE_OP_OWNER, 0 },
  { "POST", "/containers/**/attach", "attach,run,start", "container",
    ROUTE_OP_OWNER, ROUTE_F_HIJACK },
  { "POST", "/containers/**/exec", "exec", "container", ROUTE_OP_OWNER, 0 },
  { "POST", "/containers/**/rename", "rename", "container", ROUTE_OP_OWNER,
    0 },
  { "POST", "/containers/**/update", "update", "container", ROUTE_OP_OWNER,
    0 },
  { "GET", "/containers/**/checkpoints", "checkpoint", "container",
    ROUTE_OP_CHECKPOINT, 0 },
  { "POST", "/containers/**/checkpoints", "checkpoint", "container",
    ROUTE_OP_CHECKPOINT, 0 },
  { "DELETE", "/containers/**/checkpoints/*", "checkpoint", "container",
    ROUTE_OP_CHECKPOINT, 0 },
  { "DELETE", "/containers/**", "rm,run", "container", ROUTE_OP_OWNER, 0 },
  { "POST", "/exec/**/start", "exec", "container", ROUTE_OP_EXEC_OWNER,
    ROUTE_F_HIJACK },
  { "POST", "/exec/**/resize", "exec", "container", ROUTE_OP_EXEC_OWNER, 0 },
  { "GET", "/exec/**/json", "exec", "container", ROUTE_OP_EXEC_OWNER, 0 },
  { "POST", "/commit", "commit", "container", ROUTE_OP_COMMIT, 0 },

  /* images */
  C_ROUTE ("GET", "/images/json", "images,image ls", "image"),
  C_ROUTE ("GET", "/images/search", "search", "image"),
  C_ROUTE ("GET", "/images/get", "save", "image"),
  C_ROUTE ("POST", "/images/load", "load", "image"),
  { "POST", "/images/create", "pull,import,run,create", "image",
    ROUTE_OP_IMAGE_CREATE, 0 },
  { "POST", "/images/prune", "image prune,system prune", "image",
    ROUTE_OP_PRUNE_SHARED, 0 },
  C_ROUTE ("GET", "/images/**/get", "save", "image"),
  C_ROUTE ("GET", "/images/**/history", "history", "image"),
  C_ROUTE ("GET", "/images/**/json", "inspect,image inspect", "image"),
  C_ROUTE ("POST", "/images/**/push", "push", "image"),
  C_ROUTE ("POST", "/images/**/tag", "tag", "image"),
  C_ROUTE ("DELETE", "/images/**", "rmi", "image"),
  C_ROUTE ("GET", "/distribution/**/json", "pull,run,create", "image"),

  /* build */
  { "POST", "/build", "build", "build", ROUTE_OP_BUILD, 0 },
  { "POST", "/build/prune", "builder prune,system prune", "build",
    ROUTE_OP_PRUNE_SHARED, 0 },
  C_ROUTE ("POST", "/build/cancel", "build", "build"),
  { "POST", "/session", "build", "build", ROUTE_OP_BUILDKIT, ROUTE_F_HIJACK },
  { "POST", "/grpc", "build", "build", ROUTE_OP_BUILDKIT, ROUTE_F_HIJACK },

  /* volumes */
  C_ROUTE ("GET", "/volumes", "volume ls", "volume"),
  { "POST", "/volumes/create", "volume create,run,create", "volume",
    ROUTE_OP_VOLUME_CREATE, 0 },
  { "POST", "/volumes/prune", "volume prune,system prune", "volume",
    ROUTE_OP_PRUNE, 0 },
  { "GET", "/volumes/**", "volume inspect", "volume", ROUTE_OP_VOLUME_OWNER,
    0 },
  { "PUT", "/volumes/**", "volume update", "volume", ROUTE_OP_VOLUME_OWNER,
    0 },
  { "DELETE", "/volumes/**", "volume rm", "volume", ROUTE_OP_VOLUME_OWNER, 0 },

  /* networks */
  C_ROUTE ("GET", "/networks", "network ls", "network"),
  C_ROUTE ("GET", "/networks/", "network ls", "network"),
  { "POST", "/networks/create", "network create", "network",
    ROUTE_OP_NETWORK_CREATE, 0 },
  { "POST", "/networks/prune", "network prune,system prune", "network",
    ROUTE_OP_PRUNE, 0 },
  { "POST", "/networks/**/connect", "network connect", "network",
    ROUTE_OP_NETWORK_MEMBER, 0 },
  { "POST", "/networks/**/disconnect", "network disconnect", "network",
    ROUTE_OP_NETWORK_MEMBER, 0 },
  { "GET", "/networks/**", "network inspect", "network",
    ROUTE_OP_NETWORK_OWNER, 0 },
  { "DELETE", "/networks/**", "network rm", "network", ROUTE_OP_NETWORK_OWNER,
    0 },

  /* plugins: installing or configuring one runs privileged code on the
   * host, outside any container isolation. */
  C_ROUTE ("GET", "/plugins", "plugin ls", "plugin"),
  C_ROUTE ("GET", "/plugins/privileges", "plugin install", "plugin"),
  { "POST", "/plugins/pull", "plugin install", "plugin", ROUTE_OP_PLUGIN, 0 },
  { "POST", "/plugins/create", "plugin create", "plugin", ROUTE_OP_PLUGIN, 0 },
  C_ROUTE ("GET", "/plugins/**/json", "plugin inspect", "plugin"),
  { "POST", "/plugins/**/enable", "plugin enable", "plugin", ROUTE_OP_PLUGIN,
    0 },
  C_ROUTE ("POST", "/plugins/**/disable", "plugin disable", "plugin"),
  C_ROUTE ("POST", "/plugins/**/push", "plugin push", "plugin"),
  { "POST", "/plugins/**/upgrade", "plugin upgrade", "plugin", ROUTE_OP_PLUGIN,
    0 },
  { "POST", "/plugins/**/set", "plugin set", "plugin", ROUTE_OP_PLUGIN, 0 },
  C_ROUTE ("DELETE", "/plugins/**", "plugin rm", "plugin"),

  /* swarm: service tasks are created by the engine's own executor, with
   * none of the create checks, so joining a swarm is refused under ECI. */
  C_ROUTE ("GET", "/swarm", "swarm inspect,info", "swarm"),
  { "POST", "/swarm/init", "swarm init", "swarm", ROUTE_OP_SWARM, 0 },
  { "POST", "/swarm/join", "swarm join", "swarm", ROUTE_OP_SWARM, 0 },
  C_ROUTE ("POST", "/swarm/leave", "swarm leave", "swarm"),
  C_ROUTE ("POST", "/swarm/update", "swarm update", "swarm"),
  C_ROUTE ("GET", "/swarm/unlockkey", "swarm unlock-key", "swarm"),
  C_ROUTE ("POST", "/swarm/unlock", "swarm unlock", "swarm"),
  C_ROUTE ("GET", "/services", "service ls", "service"),
  { "POST", "/services/create", "service create", "service", ROUTE_OP_SWARM,
    0 },
  { "POST", "/services/*/update", "service update", "service", ROUTE_OP_SWARM,
    0 },
  C_ROUTE ("GET", "/services/*/logs", "service logs", "service"),
  C_ROUTE ("GET", "/services/*", "service inspect", "service"),
  C_ROUTE ("DELETE", "/services/*", "service rm", "service"),
  C_ROUTE ("GET", "/tasks", "service ps", "service"),
  C_ROUTE ("GET", "/tasks/*/logs", "service logs", "service"),
  C_ROUTE ("GET", "/tasks/*", "service ps", "service"),
  C_ROUTE ("GET", "/nodes", "node ls", "node"),
  C_ROUTE ("POST", "/nodes/*/update", "node update", "node"),
  C_ROUTE ("GET", "/nodes/*", "node inspect", "node"),
  C_ROUTE ("DELETE", "/nodes/*", "node rm", "node"),
  C_ROUTE ("GET", "/secrets", "secret ls", "secret"),
  C_ROUTE ("POST", "/secrets/create", "secret create", "secret"),
  C_ROUTE ("POST", "/secrets/*/update", "secret update", "secret"),
  C_ROUTE ("GET", "/secrets/*", "secret inspect", "secret"),
  C_ROUTE ("DELETE", "/secrets/*", "secret rm", "secret"),
  C_ROUTE ("GET", "/configs", "config ls", "config"),
  C_ROUTE ("POST", "/configs/create", "config create", "config"),
  C_ROUTE ("POST", "/configs/*/update", "config update", "config"),
  C_ROUTE ("GET", "/configs/*", "config inspect", "config"),
  C_ROUTE ("DELETE", "/configs/*", "config rm", "config"),
};

const struct engine_route engine_route_unknown
    = { "", "", "unknown", "", ROUTE_OP_NONE, 0 };

size_t
engine_route_suffix_len (const struct engine_route *r)
{
  static const char pre[] = "/containers/**";
  static const char exec_pre[] = "/exec/**";
  if (strncmp (r->pattern, pre, sizeof pre - 1) == 0)
    return strlen (r->pattern + sizeof pre - 1);
  if (strncmp (r->pattern, exec_pre, sizeof exec_pre - 1) == 0)
    return strlen (r->pattern + sizeof exec_pre - 1);
  return 0;
}

const struct engine_route *
engine_route_table (size_t *n)
{
  *n = sizeof routes / sizeof routes[0];
  return routes;
}

static bool
path_clean_p (const char *p)
{
  size_t n = strlen (p);
  if (strstr (p, "//") || strstr (p, "/./") || strstr (p, "/../"))
    return false;
  if ((n >= 2 && strcmp (p + n - 2, "/.") == 0)
      || (n >= 3 && strcmp (p + n - 3, "/..") == 0))
    return false;
  return true;
}

int
engine_uri_parse (const char *uri, size_t len, struct engine_uri *out)
{
  const char *q;
  size_t plen;
  char *path;

  memset (out, 0, sizeof *out);
  out->query = "";
  if (len == 0 || uri[0] != '/' || memchr (uri, '\0', len) != NULL)
    return -1;
  q = memchr (uri, '?', len);
  plen = q ? (size_t)(q - uri) : len;
  if (q)
    out->query = q + 1;
  path = pct_decode (uri, plen, true);
  if (path == NULL || !path_clean_p (path))
    {
      free (path);
      return -1;
    }
  /* Optional /v{version:[0-9.]+} prefix, as the engine registers it. */
  if (path[1] == 'v')
    {
      size_t i = 2;
      while (path[i] == '.' || (path[i] >= '0' && path[i] <= '9'))
        i++;
      if (i > 2 && (path[i] == '/' || path[i] == '\0')
          && i - 2 < sizeof out->version)
        {
          memcpy (out->version, path + 2, i - 2);
          out->version[i - 2] = '\0';
          if (path[i] == '\0')
            path[1] = '\0';
          else
            memmove (path, path + i, strlen (path + i) + 1);
        }
    }
  out->path = path;
  return 0;
}

void
engine_uri_free (struct engine_uri *u)
{
  free (u->path);
  u->path = NULL;
}

/* Match path segments against pattern segments.  "*" = exactly one
 * non-empty segment; "**" = one or more segments. */
static bool
match_segments (const char *pat, const char *path)
{
  while (*pat == '/' && *path == '/')
    {
      const char *pe, *se;
      size_t pl, sl;
      pat++;
      path++;
      pe = strchrnul (pat, '/');
      se = strchrnul (path, '/');
      pl = (size_t)(pe - pat);
      sl = (size_t)(se - path);
      if (pl == 2 && pat[0] == '*' && pat[1] == '*')
        {
          /* Try every split: at least one segment consumed. */
          if (sl == 0)
            return false;
          for (const char *s = se;; s = strchrnul (s + 1, '/'))
            {
              if (match_segments (pe, s))
                return true;
              if (*s == '\0')
                return false;
            }
        }
      if (pl == 1 && pat[0] == '*')
        {
          if (sl == 0)
            return false;
        }
      else if (pl != sl || memcmp (pat, path, pl) != 0)
        return false;
      pat = pe;
      path = se;
    }
  return *pat == '\0' && *path == '\0';
}

const struct engine_route *
engine_route_classify (const char *method, const char *path)
{
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
    if (strcmp (routes[i].method, method) == 0
        && match_segments (routes[i].pattern, path))
      return &routes[i];
  return &engine_route_unknown;
}

bool
engine_route_has_command (const struct engine_route *r, const char *command)
{
  size_t n = strlen (command);
  const char *p = r->commands;
  while (*p)
    {
      const char *e = strchrnul (p, ',');
      if ((size_t)(e - p) == n && memcmp (p, command, n) == 0)
        return true;
      p = *e ? e + 1 : e;
    }
  return false;
}

/* Management commands (`docker network ...`) and the group whose
 * endpoints they cover.  `docker system` is the exception: its verbs (df,
 * events, info, prune) are matched by name, so that denying "system" does
 * not block `docker version` or `docker login`. */
static const struct
{
  const char *name;
  const char *group;
} mgmt[] = {
  { "container", "container" }, { "image", "image" },
  { "network", "network" },     { "volume", "volume" },
  { "builder", "build" },       { "plugin", "plugin" },
  { "swarm", "swarm" },         { "service", "service" },
  { "node", "node" },           { "secret", "secret" },
  { "config", "config" },
};

static bool
has_command_prefix (const struct engine_route *r, const char *word)
{
  size_t n = strlen (word);
  const char *p = r->commands;
  while (*p)
    {
      const char *e = strchrnul (p, ',');
      if ((size_t)(e - p) > n && memcmp (p, word, n) == 0 && p[n] == ' ')
        return true;
      p = *e ? e + 1 : e;
    }
  return false;
}

static bool
entry_matches (const char *entry, const struct engine_route *r)
{
  size_t n = strlen (entry);
  if (n == 0)
    return false;
  if (strcmp (entry, "*") == 0)
    return true;
  if (entry[n - 1] == '*')
    {
      /* "<group>*": every `docker <group> ...` command, so the endpoints
       * of the group and those a verb of that management command calls
       * in another group ("system*" covers `docker system prune`, whose
       * endpoints are /containers/prune, /images/prune, ...). */
      char word[32];
      if (n - 1 >= sizeof word)
        return false;
      memcpy (word, entry, n - 1);
      word[n - 1] = '\0';
      return (r->group[0] != '\0' && strcmp (r->group, word) == 0)
             || has_command_prefix (r, word);
    }
  for (size_t i = 0; i < sizeof mgmt / sizeof mgmt[0]; i++)
    if (strcmp (entry, mgmt[i].name) == 0)
      return strcmp (r->group, mgmt[i].group) == 0;
  if (strcmp (entry, "system") == 0)
    return has_command_prefix (r, "system");
  return engine_route_has_command (r, entry);
}

bool
engine_cmdlist_allows (enum policy_cmdlist_type type, char *const *entries,
                       size_t n_entries, const struct engine_route *r)
{
  bool any = false;
  if (r->flags & ROUTE_F_ALWAYS)
    return true;
  if (r == &engine_route_unknown)
    return false;
  for (size_t i = 0; i < n_entries && !any; i++)
    any = entry_matches (entries[i], r);
  return type == POLICY_CMDLIST_DENY ? !any : any;
}

/* Calls fn on every key=value pair of a raw query, split on '&' and ';'
 * (engines built with Go < 1.17 split on both), '+' read as space, both
 * sides percent-decoded.  Stops when fn returns true; returns that. */
static bool
query_each (const char *query,
            bool (*fn) (const char *k, const char *v, void *ctx), void *ctx)
{
  const char *p = query;
  while (*p)
    {
      const char *e = p;
      while (*e && *e != '&' && *e != ';')
        e++;
      size_t len = (size_t)(e - p);
      char *raw = strndup (p, len);
      if (raw)
        {
          for (char *c = raw; *c; c++)
            if (*c == '+')
              *c = ' ';
          char *eq = strchr (raw, '=');
          if (eq)
            *eq = '\0';
          char *k = pct_decode (raw, strlen (raw), true);
          char *v
              = eq ? pct_decode (eq + 1, strlen (eq + 1), true) : strdup ("");
          bool stop = k && v && fn (k, v, ctx);
          free (k);
          free (v);
          free (raw);
          if (stop)
            return true;
        }
      p = *e ? e + 1 : e;
    }
  return false;
}

bool
engine_query_each (const char *query,
                   bool (*fn) (const char *k, const char *v, void *ctx),
                   void *ctx)
{
  return query_each (query, fn, ctx);
}

struct query_get_ctx
{
  const char *name;
  const char *value; /* for query_any_equal */
  char *out;
};

static bool
query_get_cb (const char *k, const char *v, void *ctx)
{
  struct query_get_ctx *c = ctx;
  if (strcmp (k, c->name) != 0)
    return false;
  c->out = strdup (v);
  return true;
}

char *
engine_query_get (const char *query, const char *name)
{
  struct query_get_ctx c = { name, NULL, NULL };
  query_each (query, query_get_cb, &c);
  return c.out;
}

static bool
query_eq_cb (const char *k, const char *v, void *ctx)
{
  struct query_get_ctx *c = ctx;
  return strcmp (k, c->name) == 0 && strcasecmp (v, c->value) == 0;
}

bool
engine_query_any_equal (const char *query, const char *name, const char *value)
{
  struct query_get_ctx c = { name, value, NULL };
  return query_each (query, query_eq_cb, &c);
}

static bool
query_set_cb (const char *k, const char *v, void *ctx)
{
  struct query_get_ctx *c = ctx;
  return strcmp (k, c->name) == 0 && v[0] != '\0';
}

bool
engine_query_any_set (const char *query, const char *name)
{
  struct query_get_ctx c = { name, NULL, NULL };
  return query_each (query, query_set_cb, &c);
}

/* The engine's boolean query values: false is "", "0", "no", "false" or
 * "none" (case and surrounding spaces ignored); anything else is true. */
static bool
query_true_cb (const char *k, const char *v, void *ctx)
{
  static const char *const no[] = { "", "0", "no", "false", "none" };
  struct query_get_ctx *c = ctx;
  size_t a = 0, b = strlen (v), i;
  if (strcmp (k, c->name) != 0)
    return false;
  while (a < b && isspace ((unsigned char)v[a]))
    a++;
  while (b > a && isspace ((unsigned char)v[b - 1]))
    b--;
  for (i = 0; i < sizeof no / sizeof no[0]; i++)
    if (strlen (no[i]) == b - a && strncasecmp (v + a, no[i], b - a) == 0)
      return false;
  return true;
}

bool
engine_query_any_true (const char *query, const char *name)
{
  struct query_get_ctx c = { name, NULL, NULL };
  return query_each (query, query_true_cb, &c);
}

static bool
query_other_cb (const char *k, const char *v, void *ctx)
{
  struct query_get_ctx *c = ctx;
  return strcmp (k, c->name) == 0 && strcmp (v, c->value) != 0;
}

bool
engine_query_any_other (const char *query, const char *name, const char *value)
{
  struct query_get_ctx c = { name, value, NULL };
  return query_each (query, query_other_cb, &c);
}
