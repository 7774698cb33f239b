/* Build context scanner: tar (plain or gzip) -> the Dockerfile -> its ADD
 * sources.  Where this code and the engine could read the same bytes
 * differently, it reads them the stricter way (docs/engine-eci-checks.md,
 * "build contexts"). */
#include "engine/buildscan.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "common/cleanup.h"
#include "common/refusal.h"
#include "engine/buildscan_int.h"
#include "engine/route.h"

/* ---- the tar stream ----------------------------------------------------- */

enum scan_fmt
{
  FMT_UNKNOWN,
  FMT_TAR,
  FMT_GZIP,
};

enum tar_state
{
  TS_HDR,
  TS_DATA,
  TS_END,
};

enum data_kind
{
  DK_SKIP,
  DK_PAX,
  DK_LONGNAME,
  DK_DOCKERFILE,
};

struct build_scan
{
  enum scan_fmt fmt;
  unsigned char magic[8];
  size_t magic_n;
  z_stream z;
  bool z_init;
  bool z_member_end;
  uint64_t raw_in;
  uint64_t raw_safe;
  uint64_t out; /* tar bytes parsed */
  uint64_t end_off;

  enum tar_state ts;
  unsigned char hdr[512];
  size_t hdr_n;
  uint64_t data_left; /* data + padding of the current entry */
  uint64_t keep_left; /* of it, kept (DK_PAX, DK_LONGNAME, DK_DOCKERFILE) */
  enum data_kind kind;
  char *keep;
  size_t keep_n;

  char *pax_path;
  char *long_name;
  bool pax_size_set;
  uint64_t pax_size;

  char *targets[2];
  size_t n_targets;
  struct bases bases;
  char *message;
};

__attribute__ ((format (printf, 2, 3))) static int
scan_refuse (struct build_scan *s, const char *fmt, ...)
{
  va_list ap;
  char *m = NULL;
  if (s->message != NULL)
    return -1;
  va_start (ap, fmt);
  if (vasprintf (&m, fmt, ap) < 0)
    m = NULL;
  va_end (ap);
  s->message = m ? m : strdup (REFUSAL_PREFIX "out of memory");
  return -1;
}

/* A path as the engine places it under the context root: relative,
 * without "." and empty parts, ".." not above the root.  malloc'd. */
static char *
clean_path (const char *p, size_t n)
{
  char *o = malloc (n + 1);
  size_t on = 0, i = 0;
  if (o == NULL)
    return NULL;
  while (i < n)
    {
      size_t st = i;
      while (i < n && p[i] != '/')
        i++;
      size_t l = i - st;
      if (i < n)
        i++;
      if (l == 0 || (l == 1 && p[st] == '.'))
        continue;
      if (l == 2 && p[st] == '.' && p[st + 1] == '.')
        {
          while (on > 0 && o[on - 1] != '/')
            on--;
          if (on > 0)
            on--;
          continue;
        }
      if (on > 0)
        o[on++] = '/';
      memcpy (o + on, p + st, l);
      on += l;
    }
  o[on] = '\0';
  return o;
}

struct build_scan *
build_scan_new (const char *query)
{
  struct build_scan *s = calloc (1, sizeof *s);
  cleanup_free char *df = NULL;
  if (s == NULL)
    return NULL;
  df = query ? engine_query_get (query, "dockerfile") : NULL;
  if (df == NULL || df[0] == '\0')
    {
      free (df);
      df = strdup ("Dockerfile");
      if (df == NULL)
        goto oom;
    }
  s->targets[0] = clean_path (df, strlen (df));
  if (s->targets[0] == NULL)
    goto oom;
  s->n_targets = 1;
  /* the engine falls back to "dockerfile" for a missing "Dockerfile" */
  if (strcmp (s->targets[0], "Dockerfile") == 0)
    {
      s->targets[1] = strdup ("dockerfile");
      if (s->targets[1] == NULL)
        goto oom;
      s->n_targets = 2;
    }
  /* the engine reads the first dockerfile=; two that differ are refused
   * rather than guessed */
  if (query && engine_query_any_other (query, "dockerfile", df)
      && engine_query_any_set (query, "dockerfile"))
    scan_refuse (s, REFUSAL_ECI_BUILD_CONTEXT,
                 "more than one dockerfile parameter");
  return s;
oom:
  build_scan_free (s);
  return NULL;
}

void
build_scan_free (struct build_scan *s)
{
  size_t i;
  if (s == NULL)
    return;
  if (s->z_init)
    inflateEnd (&s->z);
  free (s->keep);
  free (s->pax_path);
  free (s->long_name);
  for (i = 0; i < s->n_targets; i++)
    free (s->targets[i]);
  free (s->message);
  buildscan_bases_free (&s->bases);
  free (s);
}

size_t
build_scan_bases (const struct build_scan *s, char *const **refs)
{
  *refs = s->bases.refs;
  return s->bases.n;
}

const char *
build_scan_message (const struct build_scan *s)
{
  return s->message;
}

uint64_t
build_scan_safe (const struct build_scan *s)
{
  return s->message ? 0 : s->raw_safe;
}

/* Go's archive/tar numbers: octal (blanks and NULs trimmed) or base-256. */
static int
tar_number (const unsigned char *f, size_t n, uint64_t *v)
{
  uint64_t x = 0;
  size_t i;
  if (n > 0 && (f[0] & 0x80))
    {
      if (f[0] == 0xff)
        return -1; /* negative */
      x = f[0] & 0x7f;
      for (i = 1; i < n; i++)
        {
          if (x >> 55)
            return -1;
          x = (x << 8) | f[i];
        }
      *v = x;
      return x >> 63 ? -1 : 0;
    }
  while (n > 0 && (f[n - 1] == ' ' || f[n - 1] == 0))
    n--;
  i = 0;
  while (i < n && (f[i] == ' ' || f[i] == 0))
    i++;
  for (; i < n; i++)
    {
      if (f[i] < '0' || f[i] > '7' || (x >> 60))
        return -1;
      x = x * 8 + (uint64_t)(f[i] - '0');
    }
  *v = x;
  return 0;
}

/* Go's check: the checksum matches the unsigned or the signed sum. */
static bool
tar_checksum_ok (const unsigned char *h)
{
  uint64_t want;
  int64_t sig = 0;
  uint64_t uns = 0;
  size_t i;
  if (tar_number (h + 148, 8, &want) < 0)
    return false;
  for (i = 0; i < 512; i++)
    {
      unsigned char ch = (i >= 148 && i < 156) ? ' ' : h[i];
      uns += ch;
      sig += (signed char)ch;
    }
  return want == uns || (int64_t)want == sig;
}

static bool
name_hits (const struct build_scan *s, const char *name, bool prefix_too)
{
  size_t i, l = strlen (name);
  for (i = 0; i < s->n_targets; i++)
    {
      const char *t = s->targets[i];
      if (strcmp (t, name) == 0)
        return true;
      if (prefix_too && l > 0 && strncmp (t, name, l) == 0 && t[l] == '/')
        return true;
    }
  return false;
}

static int
keep_append (struct build_scan *s, const unsigned char *p, size_t n)
{
  if (s->keep_n + n > BUILD_SCAN_MAX_DOCKERFILE)
    return scan_refuse (s, REFUSAL_ECI_BUILD_CONTEXT,
                        s->kind == DK_DOCKERFILE
                            ? "the Dockerfile is larger than 1 MiB"
                            : "a tar name record is larger than 1 MiB");
  char *k = realloc (s->keep, s->keep_n + n + 1);
  if (k == NULL)
    return scan_refuse (s, REFUSAL_PREFIX "out of memory");
  s->keep = k;
  memcpy (k + s->keep_n, p, n);
  s->keep_n += n;
  k[s->keep_n] = '\0';
  return 0;
}

/* PAX records "len key=value\n": path and size matter here. */
static int
pax_parse (struct build_scan *s)
{
  const char *p = s->keep, *e = s->keep + s->keep_n;
  while (p < e)
    {
      char *sp;
      unsigned long l = strtoul (p, &sp, 10);
      if (sp == p || *sp != ' ' || l == 0 || l > (size_t)(e - p))
        return scan_refuse (s, REFUSAL_ECI_BUILD_CONTEXT,
                            "a malformed PAX record");
      const char *kv = sp + 1, *end = p + l - 1; /* at the '\n' */
      const char *eq = memchr (kv, '=', (size_t)(end - kv));
      if (eq == NULL || *end != '\n')
        return scan_refuse (s, REFUSAL_ECI_BUILD_CONTEXT,
                            "a malformed PAX record");
      size_t kl = (size_t)(eq - kv);
      const char *v = eq + 1;
      size_t vl = (size_t)(end - v);
      if (kl == 4 && memcmp (kv, "path", 4) == 0)
        {
          free (s->pax_path);
          s->pax_path = strndup (v, vl);
          if (s->pax_path == NULL)
            return scan_refuse (s, REFUSAL_PREFIX "out of memory");
        }
      else if (kl == 4 && memcmp (kv, "size", 4) == 0)
        {
          uint64_t x = 0;
          size_t i;
          if (vl == 0 || vl > 18)
            return scan_refuse (s, REFUSAL_ECI_BUILD_CONTEXT,
                                "a malformed PAX size");
          for (i = 0; i < vl; i++)
            {
              if (v[i] < '0' || v[i] > '9')
                return scan_refuse (s, REFUSAL_ECI_BUILD_CONTEXT,
                                    "a malformed PAX size");
              x = x * 10 + (uint64_t)(v[i] - '0');
            }
          s->pax_size = x;
          s->pax_size_set = true;
        }
      else if (kl >= 10 && strncmp (kv, "GNU.sparse", 10) == 0)
        return scan_refuse (s, REFUSAL_ECI_BUILD_CONTEXT,
                            "sparse files are not supported");
      p += l;
    }
  return 0;
}

/* A kept entry is complete. */
static int
keep_done (struct build_scan *s)
{
  int r = 0;
  char *m = NULL;
  switch (s->kind)
    {
    case DK_PAX:
      r = pax_parse (s);
      break;
    case DK_LONGNAME:
      free (s->long_name);
      s->long_name = strndup (s->keep ? s->keep : "", s->keep_n);
      if (s->long_name == NULL)
        r = scan_refuse (s, REFUSAL_PREFIX "out of memory");
      break;
    case DK_DOCKERFILE:
      if (buildscan_df_check (s->keep ? s->keep : "", s->keep_n, &m, &s->bases)
              < 0
          || (s->bases.oom
              && (m = strdup (REFUSAL_PREFIX "out of memory"), true)))
        {
          if (s->message == NULL)
            s->message = m ? m : strdup (REFUSAL_PREFIX "out of memory");
          else
            free (m);
          r = -1;
        }
      break;
    default:
      break;
    }
  free (s->keep);
  s->keep = NULL;
  s->keep_n = 0;
  s->kind = DK_SKIP;
  return r;
}

/* Does the entry's name, any way the engine could read it, hit the
 * Dockerfile (or, prefix_too, a directory on its way)? */
static int
entry_hits (struct build_scan *s, const unsigned char *h, bool prefix_too,
            bool *hit)
{
  char name[101], prefix[156], both[260];
  const char *cands[4];
  size_t nc = 0, i;
  memcpy (name, h, 100);
  name[100] = '\0';
  cands[nc++] = name;
  if (memcmp (h + 257, "ustar", 5) == 0)
    {
      memcpy (prefix, h + 345, 155);
      prefix[155] = '\0';
      if (prefix[0] != '\0')
        {
          snprintf (both, sizeof both, "%s/%s", prefix, name);
          cands[nc++] = both;
        }
    }
  if (s->pax_path)
    cands[nc++] = s->pax_path;
  if (s->long_name)
    cands[nc++] = s->long_name;
  *hit = false;
  for (i = 0; i < nc && !*hit; i++)
    {
      cleanup_free char *c = clean_path (cands[i], strlen (cands[i]));
      if (c == NULL)
        return scan_refuse (s, REFUSAL_PREFIX "out of memory");
      *hit = name_hits (s, c, prefix_too);
    }
  return 0;
}

static int
tar_header (struct build_scan *s)
{
  const unsigned char *h = s->hdr;
  uint64_t size;
  size_t i;
  bool zero = true, hit = false;
  char type = (char)h[156];
  for (i = 0; i < 512 && zero; i++)
    zero = h[i] == 0;
  if (zero)
    {
      s->ts = TS_END;
      s->end_off = s->out - 512;
      return 0;
    }
  if (!tar_checksum_ok (h) || tar_number (h + 124, 12, &size) < 0)
    return scan_refuse (s, REFUSAL_ECI_BUILD_CONTEXT,
                        "the body is not a tar archive (or a malformed one)");
  s->kind = DK_SKIP;
  switch (type)
    {
    case 'x':
    case 'g':
      /* Go's reader: each PAX header replaces the records before it; a
       * global one is returned as an entry of its own, which also drops
       * a pending GNU long name */
      free (s->pax_path);
      s->pax_path = NULL;
      s->pax_size_set = false;
      if (type == 'g')
        {
          free (s->long_name);
          s->long_name = NULL;
          break;
        }
      s->kind = DK_PAX;
      break;
    case 'L':
      s->kind = DK_LONGNAME;
      break;
    case 'K':
      break;
    case 'S':
      return scan_refuse (s, REFUSAL_ECI_BUILD_CONTEXT,
                          "sparse files are not supported");
    default:
      if (s->pax_size_set)
        size = s->pax_size;
      if (entry_hits (s, h, type == '1' || type == '2', &hit) < 0)
        return -1;
      if (hit && (type == '1' || type == '2'))
        return scan_refuse (
            s, REFUSAL_ECI_BUILD_CONTEXT,
            "the Dockerfile (or a directory on its path) is a link");
      /* header-only types carry no data, whatever their size says */
      if (type == '1' || type == '2' || type == '3' || type == '4'
          || type == '5' || type == '6')
        size = 0;
      else if (hit)
        s->kind = DK_DOCKERFILE;
      free (s->pax_path);
      free (s->long_name);
      s->pax_path = s->long_name = NULL;
      s->pax_size_set = false;
      break;
    }
  if (size > UINT64_MAX - 511)
    return scan_refuse (s, REFUSAL_ECI_BUILD_CONTEXT, "a malformed tar size");
  s->data_left = (size + 511) / 512 * 512;
  s->keep_left = s->kind == DK_SKIP ? 0 : size;
  s->ts = TS_DATA;
  if (s->data_left == 0)
    {
      s->ts = TS_HDR;
      if (s->kind != DK_SKIP)
        return keep_done (s);
    }
  return 0;
}

/* Decompressed tar bytes. */
static int
tar_feed (struct build_scan *s, const unsigned char *p, size_t n)
{
  while (n > 0 && s->message == NULL)
    {
      size_t k;
      switch (s->ts)
        {
        case TS_END:
          s->out += n;
          return 0;
        case TS_HDR:
          k = 512 - s->hdr_n;
          if (k > n)
            k = n;
          memcpy (s->hdr + s->hdr_n, p, k);
          s->hdr_n += k;
          s->out += k;
          p += k;
          n -= k;
          if (s->hdr_n == 512)
            {
              s->hdr_n = 0;
              if (tar_header (s) < 0)
                return -1;
            }
          break;
        case TS_DATA:
          k = n < s->data_left ? n : (size_t)s->data_left;
          if (s->keep_left > 0)
            {
              size_t kk = k < s->keep_left ? k : (size_t)s->keep_left;
              if (keep_append (s, p, kk) < 0)
                return -1;
              s->keep_left -= kk;
            }
          s->data_left -= k;
          s->out += k;
          p += k;
          n -= k;
          if (s->data_left == 0)
            {
              s->ts = TS_HDR;
              if (s->kind != DK_SKIP && keep_done (s) < 0)
                return -1;
            }
          break;
        }
    }
  return s->message ? -1 : 0;
}

/* May the engine have every tar byte parsed so far?  Not the end blocks,
 * nor a header block that is all zeros so far (it may become them). */
static bool
tar_safe (const struct build_scan *s)
{
  size_t i;
  if (s->ts == TS_END)
    return false;
  if (s->ts == TS_HDR)
    for (i = 0; i < s->hdr_n; i++)
      if (s->hdr[i] != 0)
        return true;
  return s->ts != TS_HDR || s->hdr_n == 0;
}

static void
tar_update_safe_plain (struct build_scan *s)
{
  if (s->ts == TS_END)
    s->raw_safe = s->end_off;
  else if (!tar_safe (s))
    s->raw_safe = s->out - s->hdr_n;
  else
    s->raw_safe = s->out;
}

static int
gzip_feed (struct build_scan *s, const unsigned char *p, size_t n)
{
  unsigned char tmp[16384];
  while (n > 0)
    {
      /* slices: the safe point moves at slice ends only */
      size_t slice = n < 512 ? n : 512;
      if (s->z_member_end)
        {
          if (inflateReset (&s->z) != Z_OK)
            return scan_refuse (s, REFUSAL_PREFIX "out of memory");
          s->z_member_end = false;
        }
      s->z.next_in = (unsigned char *)p;
      s->z.avail_in = (uInt)slice;
      while (s->z.avail_in > 0 || s->z.avail_out == 0)
        {
          s->z.next_out = tmp;
          s->z.avail_out = sizeof tmp;
          int zr = inflate (&s->z, Z_NO_FLUSH);
          if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
            return scan_refuse (s, REFUSAL_ECI_BUILD_CONTEXT,
                                "malformed gzip data");
          if (tar_feed (s, tmp, sizeof tmp - s->z.avail_out) < 0)
            return -1;
          if (zr == Z_STREAM_END)
            {
              /* another member may follow, as for the engine */
              if (s->z.avail_in > 0)
                {
                  if (inflateReset (&s->z) != Z_OK)
                    return scan_refuse (s, REFUSAL_PREFIX "out of memory");
                }
              else
                {
                  s->z_member_end = true;
                  break;
                }
            }
          else if (zr == Z_BUF_ERROR && s->z.avail_in == 0)
            break;
          if (s->ts == TS_END)
            break; /* nothing after the end matters */
        }
      s->raw_in += slice;
      p += slice;
      n -= slice;
      if (s->ts == TS_END)
        {
          s->raw_in += n;
          return 0;
        }
      if (tar_safe (s))
        s->raw_safe = s->raw_in;
    }
  return 0;
}

/* Decide the format from the first bytes, as the engine's
 * DecompressStream does. */
static int
detect (struct build_scan *s)
{
  static const unsigned char gz[] = { 0x1f, 0x8b, 0x08 };
  static const unsigned char bz[] = { 'B', 'Z', 'h' };
  static const unsigned char xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };
  static const unsigned char zst[] = { 0x28, 0xb5, 0x2f, 0xfd };
  const unsigned char *m = s->magic;
  if (memcmp (m, gz, 3) == 0)
    {
      if (inflateInit2 (&s->z, 16 + 15) != Z_OK)
        return scan_refuse (s, REFUSAL_PREFIX "out of memory");
      s->z_init = true;
      s->fmt = FMT_GZIP;
      return 0;
    }
  if (memcmp (m, bz, 3) == 0 || memcmp (m, xz, 6) == 0
      || memcmp (m, zst, 4) == 0
      || ((m[0] & 0xf0) == 0x50 && m[1] == 0x2a && m[2] == 0x4d
          && m[3] == 0x18))
    return scan_refuse (s, REFUSAL_ECI_BUILD_CONTEXT,
                        "only plain and gzip-compressed contexts are "
                        "supported (bzip2, xz and zstd are not)");
  s->fmt = FMT_TAR;
  return 0;
}

static int
feed_detected (struct build_scan *s, const unsigned char *p, size_t n)
{
  if (s->fmt == FMT_GZIP)
    return gzip_feed (s, p, n);
  s->raw_in += n;
  if (tar_feed (s, p, n) < 0)
    return -1;
  tar_update_safe_plain (s);
  return 0;
}

int
build_scan_feed (struct build_scan *s, const char *p, size_t n)
{
  const unsigned char *u = (const unsigned char *)p;
  if (s->message)
    return -1;
  if (s->fmt == FMT_UNKNOWN)
    {
      size_t k = sizeof s->magic - 2 - s->magic_n; /* 6 bytes decide */
      if (k > n)
        k = n;
      memcpy (s->magic + s->magic_n, u, k);
      s->magic_n += k;
      u += k;
      n -= k;
      if (s->magic_n < 6)
        return 0;
      if (detect (s) < 0)
        return -1;
      if (feed_detected (s, s->magic, s->magic_n) < 0)
        return -1;
    }
  if (n > 0 && feed_detected (s, u, n) < 0)
    return -1;
  return s->message ? -1 : 0;
}

int
build_scan_finish (struct build_scan *s)
{
  if (s->message)
    return -1;
  if (s->fmt == FMT_UNKNOWN && s->magic_n > 0)
    {
      /* shorter than any magic: the engine reads it as a tar */
      s->fmt = FMT_TAR;
      if (feed_detected (s, s->magic, s->magic_n) < 0)
        return -1;
    }
  /* a Dockerfile cut short: the engine fails to unpack it, but what is
   * there is checked all the same */
  if (s->kind == DK_DOCKERFILE && keep_done (s) < 0)
    return -1;
  return s->message ? -1 : 0;
}
