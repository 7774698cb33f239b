/* A build's context under ECI: relayed to the engine while
 * engine/buildscan.c reads it, its end withheld until the scanner has
 * decided.  A refusal cuts the engine's connection (it sees a truncated
 * context and builds nothing) and answers the client.
 * docs/engine-eci-checks.md, "build contexts". */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "common/refusal.h"
#include "engine/buildscan.h"
#include "engine/guard_int.h"
#include "engine/imgprov.h"

/* Most body bytes held back at once (the tar's end and what follows it,
 * or a gzip stretch that yields no tar bytes).  More is refused. */
#define BUILD_HELD_MAX (1024 * 1024)

static int
forward (struct conn *c, const char *p, size_t n)
{
  if (n == 0)
    return 0;
  if (c->chunked_out)
    {
      if (io_buf_printf (&c->uout, "%zx\r\n", n) < 0
          || io_buf_append (&c->uout, p, n) < 0
          || io_buf_append (&c->uout, "\r\n", 2) < 0)
        return -1;
      return 0;
    }
  return io_buf_append (&c->uout, p, n);
}

static void
build_refuse (struct conn *c, const char *message)
{
  const char *m = message ? message : REFUSAL_ENGINE_REFUSED;
  guard_audit (c, "eci.build", "refused", m, NULL);
  /* the engine gets a cut request: it unpacks nothing further */
  io_handle_close (c->g->loop, &c->hu);
  io_buf_free (&c->uout);
  io_buf_free (&c->bheld);
  if (c->pend_n != 1 || c->cout.len > 0)
    {
      /* earlier answers, or the engine's own already begun: nothing
       * can be said cleanly */
      c->dead = true;
      c->rs = RS_DISCARD;
      return;
    }
  c->pend_n = 0;
  c->uin_eof = false;
  guard_local_answer (c, 403, m, true);
  c->rs = RS_DISCARD;
}

int
guard_build_start (struct conn *c)
{
  guard_build_clear (c);
  c->bscan = build_scan_new (c->query);
  return c->bscan ? 0 : -1;
}

void
guard_build_clear (struct conn *c)
{
  build_scan_free (c->bscan);
  c->bscan = NULL;
  io_buf_free (&c->bheld);
  c->bfed = c->bsent = 0;
}

/* Send the held bytes up to `safe` (never the body's last byte before the
 * decision: a tar without end blocks ends with the body). */
static int
release (struct conn *c, uint64_t safe, bool all)
{
  if (!all && safe + 1 > c->bfed)
    safe = c->bfed > 0 ? c->bfed - 1 : 0;
  if (all)
    safe = c->bfed;
  if (safe > c->bsent)
    {
      size_t n = (size_t)(safe - c->bsent);
      if (forward (c, c->bheld.d + c->bheld.off, n) < 0)
        return -1;
      io_buf_consume (&c->bheld, n);
      c->bsent = safe;
    }
  if (c->bheld.len > BUILD_HELD_MAX)
    {
      char msg[200];
      snprintf (msg, sizeof msg, REFUSAL_ECI_BUILD_CONTEXT,
                "more than 1 MiB of it would have to be held back");
      build_refuse (c, msg);
    }
  return 0;
}

int
guard_build_body (struct conn *c, const char *at, size_t len)
{
  if (io_buf_append (&c->bheld, at, len) < 0)
    return -1;
  c->bfed += len;
  if (build_scan_feed (c->bscan, at, len) < 0)
    {
      build_refuse (c, build_scan_message (c->bscan));
      return 0;
    }
  return release (c, build_scan_safe (c->bscan), false);
}

/* Let the rest of the body through and end the request as the loop
 * would have. */
static void
build_pass (struct conn *c)
{
  if (release (c, 0, true) < 0
      || (c->chunked_out && io_buf_append (&c->uout, "0\r\n\r\n", 5) < 0))
    {
      log_warn ("engine guard: cannot hold a build context: %s",
                strerror (errno));
      c->dead = true;
    }
  guard_build_clear (c);
}

static bool ref_plain (const char *r);

struct cache_refs
{
  char *out; /* lines "?<ref>\n" */
  size_t len;
  bool oom;
};

static bool
cache_refs_cb (const char *k, const char *v, void *ctx)
{
  struct cache_refs *cr = ctx;
  json_t *a;
  size_t i;
  if (strcmp (k, "cachefrom") != 0)
    return false;
  a = json_loads (v, 0, NULL);
  for (i = 0; i < json_array_size (a) && !cr->oom; i++)
    {
      const char *ref = json_string_value (json_array_get (a, i));
      size_t l = ref ? strlen (ref) : 0;
      char *n;
      if (ref == NULL || !ref_plain (ref))
        continue; /* no image the engine could find */
      n = realloc (cr->out, cr->len + l + 3);
      if (n == NULL)
        {
          cr->oom = true;
          break;
        }
      cr->out = n;
      n[cr->len++] = '?';
      memcpy (n + cr->len, ref, l);
      cr->len += l;
      n[cr->len++] = '\n';
      n[cr->len] = '\0';
    }
  json_decref (a);
  return cr->oom;
}

/* Every image reference of every cachefrom= (a JSON array of strings; the
 * engine reads the first, all are checked) that the engine could look
 * up. */
static int
cache_refs (const char *query, struct cache_refs *cr)
{
  engine_query_each (query ? query : "", cache_refs_cb, cr);
  return cr->oom ? -1 : 0;
}

int
guard_build_end (struct conn *c)
{
  char *const *refs;
  size_t n, i, len = 0;
  struct cache_refs cr = { NULL, 0, false };
  struct check_job *j;
  if (build_scan_finish (c->bscan) < 0)
    {
      build_refuse (c, build_scan_message (c->bscan));
      guard_build_clear (c);
      return -1;
    }
  n = build_scan_bases (c->bscan, &refs);
  /* --cache-from images give the build their layers for steps whose
   * command matches their history: another user's name for one is
   * another user's content in the caller's image */
  if (c->caller_uid != 0 && cache_refs (c->query, &cr) < 0)
    {
      free (cr.out);
      c->dead = true;
      return 1;
    }
  if ((n == 0 && cr.len == 0) || c->g->cfg.engine_get == NULL)
    {
      free (cr.out);
      if (release (c, 0, true) < 0)
        c->dead = true;
      guard_build_clear (c);
      return 0;
    }
  /* the base images' ONBUILD triggers run in this build: look them up
   * (the engine, on a worker) before the context's end goes */
  j = calloc (1, sizeof *j);
  for (i = 0; i < n; i++)
    len += strlen (refs[i]) + 1;
  if (j == NULL || (j->body = malloc (len + cr.len + 1)) == NULL)
    {
      free (cr.out);
      free (j);
      c->dead = true;
      return 1;
    }
  j->len = 0;
  for (i = 0; i < n; i++)
    {
      size_t l = strlen (refs[i]);
      memcpy (j->body + j->len, refs[i], l);
      j->body[j->len + l] = '\n';
      j->len += l + 1;
    }
  if (cr.len > 0)
    memcpy (j->body + j->len, cr.out, cr.len);
  j->len += cr.len;
  free (cr.out);
  j->body[j->len] = '\0';
  j->op = JOB_BUILD_BASES;
  j->pidfd = -1;
  j->caller_uid = c->caller_uid;
  j->caller_gid = c->caller_gid;
  guard_submit_job (c, j);
  return 1;
}

/* A reference the engine's route reads as one path segment run: the
 * characters of image references only. */
static bool
ref_plain (const char *r)
{
  if (*r == '\0')
    return false;
  for (; *r; r++)
    if (!((*r >= 'a' && *r <= 'z') || (*r >= 'A' && *r <= 'Z')
          || (*r >= '0' && *r <= '9') || strchr ("._-/:@", *r) != NULL))
      return false;
  return true;
}

static int
bases_refuse (struct check_job *j, const char *ref, const char *why)
{
  char *m = NULL;
  if (asprintf (&m, REFUSAL_ECI_BUILD_BASE, ref, why) < 0)
    m = NULL;
  j->v.message = m;
  j->v.status = 403;
  j->v.rule = "eci.build";
  return -1;
}

/* A base that can't be looked up: absent (the engine would pull it) or
 * not a plain reference. */
static int
bases_refuse_unchecked (struct check_job *j, bool absent, const char *ref)
{
  char *m = NULL;
  if ((absent ? asprintf (&m, REFUSAL_ECI_BUILD_BASE_ABSENT, ref)
              : asprintf (&m, REFUSAL_ECI_BUILD_BASE_VAR, ref))
      < 0)
    m = NULL;
  j->v.message = m;
  j->v.status = 403;
  j->v.rule = "eci.build";
  return -1;
}

void
guard_build_bases_run (struct engine_guard *g, struct check_job *j)
{
  char *save = NULL, *ref;
  j->r = 0;
  for (ref = strtok_r (j->body, "\n", &save); ref != NULL && j->r == 0;
       ref = strtok_r (NULL, "\n", &save))
    {
      cleanup_free char *path = NULL, *body = NULL;
      size_t blen = 0, i;
      json_t *root, *ob;
      /* a --cache-from image (cache_refs): whose name it is, nothing
       * else (one that is absent is skipped by the engine) */
      if (ref[0] == '?')
        {
          struct eci_verdict iv = { 0 };
          if (guard_prov_wait (g) < 0)
            {
              j->v.status = 502;
              j->v.rule = "eci.image-owner";
              j->v.message = strdup (REFUSAL_ERR_IMAGE_RECORDS);
              j->r = -1;
            }
          else if (engine_image_ref_check (
                       g->cfg.engine_get, g->cfg.engine_get_ctx,
                       guard_prov_namer, g, ref + 1, j->caller_uid, &iv)
                   < 0)
            {
              eci_verdict_clear (&j->v);
              j->v = iv;
              j->r = -1;
            }
          continue;
        }
      /* a reference with a variable, or one no image can have: its
       * triggers can't be looked up (docs/engine-eci-checks.md) */
      if (!ref_plain (ref))
        {
          j->r = bases_refuse_unchecked (j, false, ref);
          break;
        }
      if (asprintf (&path, "/images/%s/json", ref) < 0)
        {
          path = NULL;
          j->r = bases_refuse (j, ref, "out of memory");
          break;
        }
      int r = g->cfg.engine_get (g->cfg.engine_get_ctx, path, &body, &blen);
      if (r == 1)
        {
          /* not here: the engine would pull it, triggers unchecked */
          j->r = bases_refuse_unchecked (j, true, ref);
          break;
        }
      if (r < 0)
        {
          j->r = bases_refuse (j, ref,
                               "the engine could not be asked about it");
          break;
        }
      /* a base another user gave its name: the build would run their
       * code, and the result would carry it under the caller's name */
      if (j->caller_uid != 0)
        {
          struct eci_verdict iv = { 0 };
          if (guard_prov_wait (g) < 0)
            {
              j->v.status = 502;
              j->v.rule = "eci.image-owner";
              j->v.message = strdup (REFUSAL_ERR_IMAGE_RECORDS);
              j->r = -1;
              break;
            }
          if (engine_image_ref_check (g->cfg.engine_get, g->cfg.engine_get_ctx,
                                      guard_prov_namer, g, ref, j->caller_uid,
                                      &iv)
              < 0)
            {
              eci_verdict_clear (&j->v);
              j->v = iv;
              j->r = -1;
              break;
            }
        }
      root = json_loadb (body, blen, 0, NULL);
      ob = json_object_get (json_object_get (root, "Config"), "OnBuild");
      for (i = 0; i < json_array_size (ob) && j->r == 0; i++)
        {
          json_t *t = json_array_get (ob, i);
          char *m = NULL;
          if (!json_is_string (t))
            continue;
          if (build_dockerfile_check (json_string_value (t),
                                      json_string_length (t), &m)
              < 0)
            {
              const char *why = m ? m : "an ONBUILD trigger";
              if (strncmp (why, REFUSAL_PREFIX, strlen (REFUSAL_PREFIX)) == 0)
                why += strlen (REFUSAL_PREFIX);
              j->r = bases_refuse (j, ref, why);
            }
          free (m);
        }
      if (root == NULL)
        j->r = bases_refuse (j, ref, "the engine's answer is not JSON");
      json_decref (root);
    }
}

void
guard_build_bases_finish (struct conn *c, struct check_job *j)
{
  if (j->r < 0)
    {
      build_refuse (c, j->v.message);
      guard_build_clear (c);
      if (!c->dead)
        guard_emit_local (c);
      return;
    }
  build_pass (c);
  if (!c->dead)
    c->rs = c->local_close ? RS_CLOSED : RS_HEAD;
}
