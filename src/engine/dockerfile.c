/* The Dockerfile's text: ADD (and ONBUILD ADD) sources that would make
 * the engine fetch a URL, and the images it builds FROM.  Read the
 * stricter way wherever this code and the engine's parser could differ
 * (docs/engine-eci-checks.md, "Build contexts"). */
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/refusal.h"
#include "engine/buildscan.h"
#include "engine/buildscan_int.h"

/* ---- the Dockerfile ----------------------------------------------------- */

/* The ADD source shown in a refusal: printable, short. */
static char *
shown (const char *w, size_t n)
{
  size_t m = n > 120 ? 120 : n, i;
  char *s = malloc (m + 4);
  if (s == NULL)
    return NULL;
  for (i = 0; i < m; i++)
    {
      unsigned char ch = (unsigned char)w[i];
      s[i] = (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') ? '?'
                                                                  : (char)ch;
    }
  if (m < n)
    memcpy (s + m, "...", 4);
  else
    s[m] = '\0';
  return s;
}

__attribute__ ((format (printf, 2, 3))) static int
df_refuse (char **message, const char *fmt, ...)
{
  va_list ap;
  char *m = NULL;
  va_start (ap, fmt);
  if (vasprintf (&m, fmt, ap) < 0)
    m = NULL;
  va_end (ap);
  free (*message);
  *message = m;
  return -1;
}

/* One ADD source (or any word of an ADD): refuse a URL, and, where
 * var_checked, a variable. */
static int
check_word (const char *w, size_t n, bool var_checked, char **message)
{
  cleanup_free char *s = NULL;
  bool url = memmem (w, n, "://", 3) != NULL
             || (n >= 4 && strncasecmp (w, "git@", 4) == 0);
  bool var = var_checked && memchr (w, '$', n) != NULL;
  if (!url && !var)
    return 0;
  s = shown (w, n);
  if (s == NULL)
    return -1;
  if (url)
    return df_refuse (message, REFUSAL_ECI_BUILD_ADD_URL, s);
  return df_refuse (message, REFUSAL_ECI_BUILD_ADD_VAR, s);
}

static bool
ascii_space (unsigned char ch)
{
  return ch == ' ' || ch == '\t' || ch == '\v' || ch == '\f' || ch == '\r'
         || ch == '\n';
}

/* Four hex digits (a JSON \\u escape's). */
static bool
hex4 (const char *p, unsigned *code)
{
  unsigned v = 0;
  int i;
  for (i = 0; i < 4; i++)
    {
      char ch = p[i];
      unsigned d;
      if (ch >= '0' && ch <= '9')
        d = (unsigned)(ch - '0');
      else if (ch >= 'a' && ch <= 'f')
        d = (unsigned)(ch - 'a' + 10);
      else if (ch >= 'A' && ch <= 'F')
        d = (unsigned)(ch - 'A' + 10);
      else
        return false;
      v = v * 16 + d;
    }
  *code = v;
  return true;
}

/* The arguments of an ADD, both as the JSON form and as the shell form
 * (the engine uses the JSON form when it parses, else the shell form;
 * checking both never misses either).  Shell words lose quotes and escape
 * characters before the check: what the engine's word lexer would remove
 * cannot hide a "://". */
static int
check_add (const char *a, size_t n, char esc, char **message)
{
  size_t i = 0, nw = 0, k;
  size_t starts[512], lens[512];
  bool flags = true;
  size_t first_arg = n;
  cleanup_free char *norm = NULL;

  /* words */
  while (i < n)
    {
      while (i < n && ascii_space ((unsigned char)a[i]))
        i++;
      if (i == n)
        break;
      size_t st = i;
      while (i < n && !ascii_space ((unsigned char)a[i]))
        i++;
      if (nw == sizeof starts / sizeof starts[0])
        return df_refuse (message, REFUSAL_ECI_BUILD_CONTEXT,
                          "an ADD with too many words");
      if (flags && !(i - st >= 2 && a[st] == '-' && a[st + 1] == '-'))
        {
          flags = false;
          first_arg = st;
        }
      starts[nw] = st;
      lens[nw] = i - st;
      nw++;
    }
  norm = malloc (n + 1);
  if (norm == NULL)
    return -1;
  /* shell form: every word for a URL; the sources (not flags, not the
   * destination) for a variable */
  size_t last = nw;
  for (k = 0; k < nw; k++)
    if (starts[k] >= first_arg)
      last = k;
  for (k = 0; k < nw; k++)
    {
      size_t m = 0, j;
      for (j = 0; j < lens[k]; j++)
        {
          const char *w = a + starts[k];
          char ch = w[j];
          unsigned code;
          /* a JSON escape the engine's JSON reader would decode (its
           * reader also takes what jansson refuses, e.g. bad UTF-8) */
          if (ch == '\\' && j + 5 < lens[k] && w[j + 1] == 'u'
              && hex4 (w + j + 2, &code))
            {
              norm[m++] = code < 0x80 ? (char)code : '?';
              j += 5;
              continue;
            }
          if (ch == '"' || ch == '\'' || ch == esc)
            continue;
          norm[m++] = ch;
        }
      bool src = starts[k] >= first_arg && k != last;
      if (check_word (norm, m, src, message) < 0)
        return -1;
    }
  /* JSON form */
  /* the engine trims Unicode white space before the '[' */
  while (first_arg < n && (unsigned char)a[first_arg] >= 0x80)
    first_arg++;
  if (first_arg < n && a[first_arg] == '[')
    {
      json_error_t err;
      json_t *arr = json_loadb (a + first_arg, n - first_arg,
                                JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
      if (json_is_array (arr))
        {
          size_t na = json_array_size (arr);
          for (k = 0; k < na; k++)
            {
              json_t *e = json_array_get (arr, k);
              if (!json_is_string (e))
                continue;
              if (check_word (json_string_value (e), json_string_length (e),
                              k + 1 < na, message)
                  < 0)
                {
                  json_decref (arr);
                  return -1;
                }
            }
        }
      json_decref (arr);
    }
  return 0;
}

/* Leading white space as the engine strips it (Unicode's too: any byte
 * >= 0x80 is skipped, a superset). */
static size_t
skip_lead (const char *p, size_t n)
{
  size_t i = 0;
  while (i < n
         && (ascii_space ((unsigned char)p[i]) || (unsigned char)p[i] >= 0x80))
    i++;
  return i;
}

/* Length of the Unicode white space (Go's unicode.IsSpace, beyond ASCII)
 * UTF-8 sequence at p, or 0. */
static size_t
uspace_len (const unsigned char *p, size_t n)
{
  if (n >= 2 && p[0] == 0xc2 && (p[1] == 0x85 || p[1] == 0xa0))
    return 2;
  if (n >= 3 && p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80)
    return 3;
  if (n >= 3 && p[0] == 0xe2 && p[1] == 0x80
      && ((p[2] >= 0x80 && p[2] <= 0x8a) || p[2] == 0xa8 || p[2] == 0xa9
          || p[2] == 0xaf))
    return 3;
  if (n >= 3 && p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f)
    return 3;
  if (n >= 3 && p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80)
    return 3;
  return 0;
}

/* Leading white space exactly as the engine's parser strips it (for
 * comment and blank lines: skipping more would hide text from the
 * check). */
static size_t
skip_space (const char *p, size_t n)
{
  size_t i = 0, u;
  while (i < n)
    {
      if (ascii_space ((unsigned char)p[i]))
        i++;
      else if ((u = uspace_len ((const unsigned char *)p + i, n - i)) > 0)
        i += u;
      else
        break;
    }
  return i;
}

/* Does the line start with the instruction `word` (case ignored)?  Sets
 * *rest past it. */
static bool
is_instr (const char *p, size_t n, const char *word, size_t *rest)
{
  size_t i = skip_lead (p, n), wl = strlen (word);
  if (n - i < wl || strncasecmp (p + i, word, wl) != 0)
    return false;
  i += wl;
  if (i < n)
    {
      unsigned char ch = (unsigned char)p[i];
      if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
          || (ch >= '0' && ch <= '9') || ch == '_')
        return false;
    }
  *rest = i;
  return true;
}

static void
bases_push (char ***v, size_t *n, const char *w, size_t l, bool *oom)
{
  size_t i;
  for (i = 0; i < *n; i++)
    if (strlen ((*v)[i]) == l && strncasecmp ((*v)[i], w, l) == 0)
      return;
  char **nv = realloc (*v, (*n + 1) * sizeof *nv);
  if (nv == NULL || (nv[*n] = strndup (w, l)) == NULL)
    {
      if (nv)
        *v = nv;
      *oom = true;
      return;
    }
  *v = nv;
  (*n)++;
}

void
buildscan_bases_free (struct bases *b)
{
  size_t i;
  for (i = 0; i < b->n; i++)
    free (b->refs[i]);
  for (i = 0; i < b->n_stages; i++)
    free (b->stages[i]);
  free (b->refs);
  free (b->stages);
  memset (b, 0, sizeof *b);
}

/* FROM [--flag...] image [AS name] */
static void
note_from (const char *a, size_t n, struct bases *b)
{
  size_t i = 0, st, l;
  const char *img = NULL;
  size_t il = 0;
  while (i < n)
    {
      while (i < n && ascii_space ((unsigned char)a[i]))
        i++;
      if (i == n)
        break;
      st = i;
      while (i < n && !ascii_space ((unsigned char)a[i]))
        i++;
      l = i - st;
      if (img == NULL)
        {
          if (l >= 2 && a[st] == '-' && a[st + 1] == '-')
            continue;
          img = a + st;
          il = l;
          size_t k;
          for (k = 0; k < b->n_stages; k++)
            if (strlen (b->stages[k]) == il
                && strncasecmp (b->stages[k], img, il) == 0)
              img = NULL;
          if (img == NULL)
            {
              img = a + st; /* a stage: nothing to look up */
              il = 0;
            }
          continue;
        }
      if (l == 2 && strncasecmp (a + st, "as", 2) == 0)
        {
          while (i < n && ascii_space ((unsigned char)a[i]))
            i++;
          st = i;
          while (i < n && !ascii_space ((unsigned char)a[i]))
            i++;
          if (i > st)
            bases_push (&b->stages, &b->n_stages, a + st, i - st, &b->oom);
        }
      break;
    }
  if (img == NULL || il == 0
      || (il == 7 && strncasecmp (img, "scratch", 7) == 0))
    return;
  bases_push (&b->refs, &b->n, img, il, &b->oom);
}

/* COPY [--flag...] src... dest: the image of a --from=<ref> that is not a
 * stage (by name or index) is read like a base, and another user may have
 * given it its name (docs/engine-eci-checks.md, "Build contexts"). */
static void
note_copy_from (const char *a, size_t n, struct bases *b)
{
  size_t i = 0, st, l, k;
  while (i < n)
    {
      while (i < n && ascii_space ((unsigned char)a[i]))
        i++;
      st = i;
      while (i < n && !ascii_space ((unsigned char)a[i]))
        i++;
      l = i - st;
      if (l < 2 || a[st] != '-' || a[st + 1] != '-')
        return; /* the flags end at the first other word */
      if (l < 7 || strncasecmp (a + st, "--from=", 7) != 0)
        continue;
      st += 7;
      l -= 7;
      /* the builder's flag parser drops quotes */
      while (l > 0 && (a[st] == '"' || a[st] == '\''))
        st++, l--;
      while (l > 0 && (a[st + l - 1] == '"' || a[st + l - 1] == '\''))
        l--;
      for (k = 0; k < l && a[st + k] >= '0' && a[st + k] <= '9'; k++)
        ;
      if (l == 0 || k == l)
        continue; /* a stage's index */
      for (k = 0; k < b->n_stages; k++)
        if (strlen (b->stages[k]) == l
            && strncasecmp (b->stages[k], a + st, l) == 0)
          break;
      if (k == b->n_stages)
        bases_push (&b->refs, &b->n, a + st, l, &b->oom);
    }
}

static int
check_instruction (const char *p, size_t n, char esc, char **message,
                   struct bases *b)
{
  size_t r;
  if (b != NULL && is_instr (p, n, "from", &r))
    {
      note_from (p + r, n - r, b);
      return 0;
    }
  if (b != NULL && is_instr (p, n, "copy", &r))
    {
      note_copy_from (p + r, n - r, b);
      return 0;
    }
  if (is_instr (p, n, "onbuild", &r))
    {
      p += r;
      n -= r;
    }
  if (is_instr (p, n, "add", &r))
    return check_add (p + r, n - r, esc, message);
  return 0;
}

/* Physical line [*pos, eol) without its line ending; *pos moves past it. */
static void
next_line (const char *t, size_t len, size_t *pos, const char **line,
           size_t *n)
{
  const char *nl = memchr (t + *pos, '\n', len - *pos);
  size_t end = nl ? (size_t)(nl - t) : len;
  *line = t + *pos;
  *n = end - *pos;
  *pos = nl ? end + 1 : len;
  while (*n > 0 && ((*line)[*n - 1] == '\r' || (*line)[*n - 1] == '\n'))
    (*n)--;
}

static bool
is_comment (const char *p, size_t n)
{
  size_t i = skip_space (p, n);
  return i < n && p[i] == '#';
}

/* The engine's line continuation: the escape character, then only blanks,
 * at the end, not itself escaped.  Strips it; true when it was there. */
static bool
trim_cont (const char *p, size_t *n, char esc)
{
  size_t k = *n;
  while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t'))
    k--;
  if (k == 0 || p[k - 1] != esc || (k >= 2 && p[k - 2] == esc))
    return false;
  *n = k - 1;
  return true;
}

/* The engine's logical lines (its parser's continuation rules: comment
 * and blank lines inside a continuation are skipped, lines are joined
 * without a separator), each checked. */
static int
check_logical (const char *t, size_t len, char esc, char **message,
               struct bases *b)
{
  size_t pos = 0;
  cleanup_free char *buf = malloc (len + 1);
  if (buf == NULL)
    return -1;
  if (len >= 3 && memcmp (t, "\xef\xbb\xbf", 3) == 0)
    pos = 3;
  while (pos < len)
    {
      const char *l;
      size_t n, bn = 0, lead;
      next_line (t, len, &pos, &l, &n);
      lead = skip_space (l, n);
      l += lead;
      n -= lead;
      if (n > 0 && l[0] == '#')
        n = 0;
      bool cont = trim_cont (l, &n, esc);
      if (!cont && n == 0)
        continue;
      memcpy (buf, l, n);
      bn = n;
      while (cont && pos < len)
        {
          next_line (t, len, &pos, &l, &n);
          if (is_comment (l, n) || skip_space (l, n) == n)
            continue;
          cont = trim_cont (l, &n, esc);
          memcpy (buf + bn, l, n);
          bn += n;
        }
      if (check_instruction (buf, bn, esc, message, b) < 0)
        return -1;
    }
  return 0;
}

/* Every physical line on its own too: a line the engine starts an
 * instruction with is checked even where the joining above would differ
 * from the engine's (heredocs, which this code does not parse). */
static int
check_physical (const char *t, size_t len, char esc, char **message)
{
  size_t pos = 0;
  while (pos < len)
    {
      const char *l;
      size_t n;
      next_line (t, len, &pos, &l, &n);
      trim_cont (l, &n, esc);
      if (check_instruction (l, n, esc, message, NULL) < 0)
        return -1;
    }
  return 0;
}

int
buildscan_df_check (const char *text, size_t len, char **message,
                    struct bases *b)
{
  /* both escape characters: no need to get the escape directive's rules
   * exactly right */
  static const char escs[] = { '\\', '`' };
  size_t i;
  *message = NULL;
  for (i = 0; i < sizeof escs; i++)
    if (check_logical (text, len, escs[i], message, b) < 0
        || check_physical (text, len, escs[i], message) < 0)
      return -1;
  return 0;
}

int
build_dockerfile_check (const char *text, size_t len, char **message)
{
  return buildscan_df_check (text, len, message, NULL);
}
