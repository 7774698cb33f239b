/* From bytes on disk to a JSON document, with the checks every policy file
 * gets: root ownership, size cap, no BOM, strict UTF-8, no duplicate keys,
 * an object at the top. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fs.h"
#include "internal.h"

/* Offset of the first byte that is not strict UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or len. */
static size_t
utf8_invalid_at (const unsigned char *s, size_t len)
{
  size_t i = 0;
  while (i < len)
    {
      unsigned char c = s[i];
      size_t n;
      unsigned long cp;
      if (c < 0x80)
        {
          i++;
          continue;
        }
      if (c >= 0xc2 && c <= 0xdf)
        n = 1, cp = c & 0x1f;
      else if (c >= 0xe0 && c <= 0xef)
        n = 2, cp = c & 0x0f;
      else if (c >= 0xf0 && c <= 0xf4)
        n = 3, cp = c & 0x07;
      else
        return i;
      if (len - i <= n)
        return i;
      for (size_t k = 1; k <= n; k++)
        {
          if ((s[i + k] & 0xc0) != 0x80)
            return i;
          cp = (cp << 6) | (s[i + k] & 0x3f);
        }
      if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff
          || (cp >= 0xd800 && cp <= 0xdfff))
        return i;
      i += n + 1;
    }
  return len;
}

/* jansson says "duplicate object key" without the key; find it: the last
 * string token that ends before the error position. */
static const char *
duplicate_key (const char *buf, size_t len, const json_error_t *jerr, int *n)
{
  size_t end;

  if (strncmp (jerr->text, "duplicate object key", 20) != 0
      || jerr->position <= 0 || (size_t)jerr->position > len)
    return NULL;
  end = (size_t)jerr->position;
  while (end > 0 && buf[end - 1] != '"')
    end--;
  if (end < 2)
    return NULL;
  for (size_t start = end - 1; start > 0; start--)
    if (buf[start - 1] == '"' && (start < 2 || buf[start - 2] != '\\'))
      {
        if (end - 1 - start > 200)
          return NULL;
        *n = (int)(end - 1 - start);
        return buf + start;
      }
  return NULL;
}

json_t *
policy_json_from_bytes (const char *buf, size_t len, struct policy_report *rep)
{
  const unsigned char *u = (const unsigned char *)buf;
  json_error_t jerr;
  json_t *doc;
  size_t bad;

  if (len >= 3 && u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf)
    {
      report_error (rep, "",
                    "the file starts with a UTF-8 byte order mark "
                    "(BOM); save it as UTF-8 without a BOM");
      return NULL;
    }
  if (len >= 2
      && ((u[0] == 0xff && u[1] == 0xfe) || (u[0] == 0xfe && u[1] == 0xff)))
    {
      report_error (rep, "",
                    "the file is UTF-16 (it starts with a UTF-16 "
                    "byte order mark); save it as UTF-8 without a "
                    "BOM");
      return NULL;
    }
  bad = utf8_invalid_at (u, len);
  if (bad < len)
    {
      size_t line = 1, col = 1;
      for (size_t i = 0; i < bad; i++)
        {
          if (u[i] == '\n')
            line++, col = 1;
          else if ((u[i] & 0xc0) != 0x80)
            col++;
        }
      report_error (rep, "",
                    "the file is not valid UTF-8 (byte 0x%02x at "
                    "line %zu, column %zu)",
                    u[bad], line, col);
      return NULL;
    }
  doc = json_loadb (buf, len, JSON_REJECT_DUPLICATES, &jerr);
  if (doc == NULL)
    {
      int kn = 0;
      const char *key = duplicate_key (buf, len, &jerr, &kn);
      if (key != NULL)
        report_error (rep, "",
                      "invalid JSON at line %d, column %d: "
                      "duplicate key \"%.*s\"",
                      jerr.line, jerr.column, kn, key);
      else
        report_error (rep, "", "invalid JSON at line %d, column %d: %s",
                      jerr.line, jerr.column, jerr.text);
      return NULL;
    }
  if (!json_is_object (doc))
    {
      report_error (rep, "", "the file must hold a JSON object, found %s",
                    json_type_desc (doc));
      json_decref (doc);
      return NULL;
    }
  return doc;
}

/* Move the error in *from to *to; returns -1. */
static int
hand_over (moat_error_t *to, moat_error_t *from)
{
  if (to == NULL)
    return -1;
  moat_error_release (to);
  *to = steal_pointer (from);
  return -1;
}

int
policy_read_file (const char *path, const char *stop_at,
                  enum policy_diag_severity owner_sev, char **buf, size_t *len,
                  struct policy_report *rep, moat_error_t *err)
{
  cleanup_error moat_error_t why = NULL;
  cleanup_free char *abs = NULL;
  const char *m, *tail;
  int mlen;

  if (path[0] != '/')
    {
      /* A draft named relative to the working directory. */
      cleanup_free char *cwd = getcwd (NULL, 0);
      if (cwd == NULL)
        return moat_error (err, errno, "`%s`", path);
      if (asprintf (&abs, "%s/%s", cwd, path) < 0)
        return moat_error (err, ENOMEM, "`%s`", path);
      path = abs;
    }
  /* Opened once, checked and read through the same descriptor: nothing
   * can be swapped in between. */
  if (fs_read_trusted (path, stop_at, POLICY_MAX_FILE_SIZE, buf, len, &why)
      == 0)
    return 0;
  if (moat_error_status (&why) == EFBIG)
    {
      report_error (rep, "", "the file is larger than %d bytes",
                    POLICY_MAX_FILE_SIZE);
      return -1;
    }
  if (moat_error_status (&why) != EPERM)
    return hand_over (err, &why);
  /* A file a non-root user can change is not the administrator's policy:
   * refuse it rather than let that user weaken it.  The message ends in
   * strerror(EPERM), which says nothing here. */
  m = moat_error_msg (&why);
  tail = strstr (m, ": Operation not permitted");
  mlen = tail != NULL ? (int)(tail - m) : (int)strlen (m);
  policy_report_add (rep, owner_sev, "", "%s%.*s",
                     owner_sev == POLICY_DIAG_ERROR
                         ? "moat ignores this file: "
                         : "moat would ignore this file if installed as is: ",
                     mlen, m);
  /* The file in force is not read at all: nothing a user could have put
   * there reaches the parser.  A draft is read anyway, without the checks,
   * only to report on its content too. */
  if (owner_sev == POLICY_DIAG_ERROR)
    return -1;
  moat_error_release (&why);
  if (fs_read_file (path, POLICY_MAX_FILE_SIZE, buf, len, &why) < 0)
    {
      if (moat_error_status (&why) == EFBIG)
        {
          report_error (rep, "", "the file is larger than %d bytes",
                        POLICY_MAX_FILE_SIZE);
          return -1;
        }
      return hand_over (err, &why);
    }
  return 0;
}
