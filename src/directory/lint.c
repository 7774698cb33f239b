/* `moat signin lint`: Docker Desktop's other sign-in enforcement forms
 * (lint.h).  Every byte here comes from a file an administrator got from
 * somewhere else: sizes are bounded, and nothing is trusted to be text. */
#include "lint.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/cms.h>
#include <plist/plist.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fs.h"

#define DOCKER_KEY                                                            \
  "HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Docker\\Docker Desktop"

#define lint_error(f, path, ...)                                              \
  policy_report_add (&(f)->rep, POLICY_DIAG_ERROR, path, __VA_ARGS__)
#define lint_warn(f, path, ...)                                               \
  policy_report_add (&(f)->rep, POLICY_DIAG_WARNING, path, __VA_ARGS__)

const char *
signin_method_name (enum signin_method m)
{
  switch (m)
    {
    case SIGNIN_M_REGKEY:
      return "registry key";
    case SIGNIN_M_PROFILE:
      return "configuration profile";
    case SIGNIN_M_PLIST:
      return "plist file";
    case SIGNIN_M_REGISTRY_JSON:
      return "registry.json";
    default:
      return "unknown";
    }
}

const char *
signin_platform_name (enum signin_platform p)
{
  return p == SIGNIN_P_WINDOWS ? "Windows"
         : p == SIGNIN_P_MACOS ? "macOS"
                               : "Linux";
}

bool
signin_method_applies (enum signin_method m, enum signin_platform p)
{
  switch (m)
    {
    case SIGNIN_M_REGKEY:
      return p == SIGNIN_P_WINDOWS;
    case SIGNIN_M_PROFILE:
    case SIGNIN_M_PLIST:
      return p == SIGNIN_P_MACOS;
    case SIGNIN_M_REGISTRY_JSON:
      return true;
    default:
      return false;
    }
}

int
signin_lint_winner (const struct signin_lint_file *files, size_t n,
                    enum signin_platform p)
{
  int best = -1;
  for (size_t i = 0; i < n; i++)
    if (signin_method_applies (files[i].method, p)
        && (best < 0 || files[i].method < files[best].method))
      best = (int)i;
  return best;
}

/* The list through signin_parse: the rules of registry.json, exactly.
 * Entries that are not UTF-8 (a .reg or a binary plist can hold any
 * bytes) are reported here, since JSON cannot carry them. */
static int
check_orgs (struct signin_lint_file *f, char **orgs, size_t n,
            moat_error_t *err)
{
  json_t *arr = json_array (), *doc;
  bool bad = false;
  char *s;
  int r;

  if (arr == NULL)
    return moat_error (err, ENOMEM, "signin lint");
  for (size_t i = 0; i < n; i++)
    {
      json_t *js = json_string (orgs[i]);
      if (js == NULL)
        {
          char ipath[40];
          snprintf (ipath, sizeof ipath, "allowedOrgs[%zu]", i);
          lint_error (f, ipath, "not valid UTF-8");
          bad = true;
          continue;
        }
      if (json_array_append_new (arr, js) < 0)
        {
          json_decref (arr);
          return moat_error (err, ENOMEM, "signin lint");
        }
    }
  if (bad)
    {
      json_decref (arr);
      return 0;
    }
  doc = json_pack ("{s:o}", "allowedOrgs", arr);
  s = doc != NULL ? json_dumps (doc, JSON_COMPACT) : NULL;
  json_decref (doc);
  if (s == NULL)
    return moat_error (err, ENOMEM, "signin lint");
  r = signin_parse (s, strlen (s), &f->policy, &f->rep, err);
  free (s);
  if (r < 0 && moat_error_status (err) == ENOMEM)
    return -1;
  moat_error_release (err);
  return 0;
}

static void
strv_free_n (char **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free (v[i]);
  free (v);
}

static int
push (char ***v, size_t *n, const char *s, size_t len)
{
  char **nv = realloc (*v, (*n + 1) * sizeof *nv);
  if (nv == NULL)
    return -1;
  *v = nv;
  nv[*n] = strndup (s, len);
  if (nv[*n] == NULL)
    return -1;
  (*n)++;
  return 0;
}

/* ---- Windows .reg exports ---- */

/* Append code point c as UTF-8. */
static size_t
put_utf8 (char *o, unsigned c)
{
  if (c < 0x80)
    return o[0] = (char)c, 1;
  if (c < 0x800)
    return o[0] = (char)(0xc0 | c >> 6), o[1] = (char)(0x80 | (c & 0x3f)), 2;
  if (c < 0x10000)
    return o[0] = (char)(0xe0 | c >> 12),
           o[1] = (char)(0x80 | ((c >> 6) & 0x3f)),
           o[2] = (char)(0x80 | (c & 0x3f)), 3;
  o[0] = (char)(0xf0 | c >> 18);
  o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
  o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
  o[3] = (char)(0x80 | (c & 0x3f));
  return 4;
}

/* UTF-16LE units into a NUL-terminated UTF-8 string (a lone surrogate
 * becomes U+FFFD; an embedded U+0000 stays as the byte 0, so callers see
 * where it was through *outlen). */
static char *
utf16le_to_utf8 (const unsigned char *b, size_t len, size_t *outlen)
{
  char *out = malloc (len / 2 * 3 + 4), *o = out;
  if (out == NULL)
    return NULL;
  for (size_t i = 0; i + 1 < len; i += 2)
    {
      unsigned c = b[i] | (unsigned)b[i + 1] << 8;
      if (c >= 0xd800 && c < 0xdc00 && i + 3 < len)
        {
          unsigned d = b[i + 2] | (unsigned)b[i + 3] << 8;
          if (d >= 0xdc00 && d < 0xe000)
            {
              c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
              i += 2;
            }
          else
            c = 0xfffd;
        }
      else if (c >= 0xd800 && c < 0xe000)
        c = 0xfffd;
      o += put_utf8 (o, c);
    }
  *o = '\0';
  *outlen = (size_t)(o - out);
  return out;
}

/* hex(7):6d,00,... into bytes.  -1 on a malformed list. */
static int
hex_bytes (const char *s, unsigned char **out, size_t *n)
{
  size_t cap = strlen (s) / 2 + 1;
  unsigned char *b = malloc (cap);
  *n = 0;
  if (b == NULL)
    return -1;
  while (*s != '\0')
    {
      while (*s == ',' || isspace ((unsigned char)*s))
        s++;
      if (*s == '\0')
        break;
      if (!isxdigit ((unsigned char)s[0]) || !isxdigit ((unsigned char)s[1])
          || (s[2] != '\0' && s[2] != ',' && !isspace ((unsigned char)s[2])))
        {
          free (b);
          return -1;
        }
      b[(*n)++] = (unsigned char)strtoul ((char[]){ s[0], s[1], 0 }, NULL, 16);
      s += 2;
    }
  *out = b;
  return 0;
}

/* REG_MULTI_SZ data: strings separated by NUL, ended by an empty one. */
static int
multi_sz (struct signin_lint_file *f, const unsigned char *data, size_t len,
          bool utf16, char ***orgs, size_t *n)
{
  cleanup_free char *text = NULL;
  size_t tlen = 0, i = 0;

  if (utf16)
    {
      if (len % 2 != 0)
        {
          lint_error (f, "allowedOrgs",
                      "hex(7) data has an odd number of bytes; a "
                      "Version 5.00 export holds UTF-16LE");
          return 0;
        }
      text = utf16le_to_utf8 (data, len, &tlen);
    }
  else if ((text = malloc (len + 1)) != NULL)
    {
      memcpy (text, data, len);
      text[len] = '\0';
      tlen = len;
    }
  if (text == NULL)
    return -1;
  while (i < tlen)
    {
      size_t e = i;
      while (e < tlen && text[e] != '\0')
        e++;
      if (e == i)
        break; /* the empty string that ends the list */
      if (push (orgs, n, text + i, e - i) < 0)
        return -1;
      i = e + 1;
    }
  for (; i < tlen; i++)
    if (text[i] != '\0')
      {
        lint_warn (f, "allowedOrgs",
                   "an empty string ends the list; the entries after it "
                   "are ignored by Windows");
        break;
      }
  return 0;
}

/* One line at *pos, continuation lines ("\" at the end) joined. */
static char *
reg_line (const char *t, size_t len, size_t *pos)
{
  char *line = NULL;
  size_t ll = 0;

  while (*pos < len)
    {
      size_t s = *pos, e = s;
      char *nl;
      while (e < len && t[e] != '\n')
        e++;
      *pos = e < len ? e + 1 : e;
      while (e > s
             && (t[e - 1] == '\r' || t[e - 1] == ' ' || t[e - 1] == '\t'))
        e--;
      if (line != NULL)
        while (s < e && (t[s] == ' ' || t[s] == '\t'))
          s++;
      nl = realloc (line, ll + (e - s) + 1);
      if (nl == NULL)
        {
          free (line);
          return NULL;
        }
      line = nl;
      memcpy (line + ll, t + s, e - s);
      ll += e - s;
      line[ll] = '\0';
      if (ll == 0 || line[ll - 1] != '\\')
        break;
      line[--ll] = '\0';
    }
  return line;
}

/* "name"= at the start of s: the unescaped name into out (bounded), the
 * rest after '=' returned; NULL when the line is not a value line. */
static const char *
reg_value_name (const char *s, char *out, size_t cap)
{
  size_t n = 0;
  if (*s++ != '"')
    return NULL;
  while (*s != '\0' && *s != '"')
    {
      if (*s == '\\' && s[1] != '\0')
        s++;
      if (n + 1 < cap)
        out[n++] = *s;
      s++;
    }
  out[n] = '\0';
  if (*s != '"' || s[1] != '=')
    return NULL;
  return s + 2;
}

static int
parse_reg (struct signin_lint_file *f, const char *buf, size_t len,
           moat_error_t *err)
{
  cleanup_free char *conv = NULL;
  const char *t = buf;
  char **orgs = NULL;
  size_t n = 0, pos = 0, tlen = len;
  bool utf16 = false, in_key = false, found = false, first = true;
  int r = 0;

  f->method = SIGNIN_M_REGKEY;
  if (len >= 2 && (unsigned char)buf[0] == 0xff
      && (unsigned char)buf[1] == 0xfe)
    {
      conv = utf16le_to_utf8 ((const unsigned char *)buf + 2, len - 2, &tlen);
      if (conv == NULL)
        return moat_error (err, ENOMEM, "signin lint");
      t = conv;
    }
  else if (len >= 3 && memcmp (buf, "\xef\xbb\xbf", 3) == 0)
    t += 3, tlen -= 3;
  while (pos < tlen)
    {
      cleanup_free char *line = reg_line (t, tlen, &pos);
      char name[128], *p;
      const char *val;

      if (line == NULL)
        {
          r = moat_error (err, ENOMEM, "signin lint");
          break;
        }
      if (first)
        {
          first = false;
          if (strcmp (line, "Windows Registry Editor Version 5.00") == 0)
            utf16 = true;
          else if (strcmp (line, "REGEDIT4") != 0)
            {
              lint_error (f, "",
                          "not a registry export: the first line must be "
                          "\"Windows Registry Editor Version 5.00\" or "
                          "\"REGEDIT4\"");
              break;
            }
          continue;
        }
      if (line[0] == '\0' || line[0] == ';')
        continue;
      if (line[0] == '[')
        {
          bool del = line[1] == '-';
          p = strrchr (line, ']');
          if (p == NULL)
            {
              lint_error (f, "", "key line without ']': %.80s", line);
              continue;
            }
          *p = '\0';
          in_key = strcasecmp (line + (del ? 2 : 1), DOCKER_KEY) == 0;
          if (in_key && del)
            {
              lint_warn (f, "",
                         "[-%s] deletes the key: importing this removes "
                         "sign-in enforcement",
                         DOCKER_KEY);
              in_key = false;
            }
          continue;
        }
      val = reg_value_name (line, name, sizeof name);
      if (val == NULL || strcasecmp (name, "allowedOrgs") != 0)
        continue;
      if (!in_key)
        {
          lint_error (f, "allowedOrgs",
                      "outside [%s]: Docker Desktop reads the value only "
                      "from that key",
                      DOCKER_KEY);
          continue;
        }
      if (found)
        {
          lint_warn (f, "allowedOrgs",
                     "set twice; the import keeps the last one");
          strv_free_n (orgs, n);
          orgs = NULL;
          n = 0;
        }
      found = true;
      if (strcmp (val, "-") == 0)
        {
          lint_warn (f, "allowedOrgs",
                     "=- deletes the value: importing this removes "
                     "sign-in enforcement");
          found = false;
        }
      else if (strncasecmp (val, "hex(7):", 7) == 0)
        {
          unsigned char *data = NULL;
          size_t dn = 0;
          if (hex_bytes (val + 7, &data, &dn) < 0)
            lint_error (f, "allowedOrgs", "malformed hex(7) data");
          else
            {
              r = multi_sz (f, data, dn, utf16, &orgs, &n);
              free (data);
              if (r < 0)
                {
                  moat_error (err, ENOMEM, "signin lint");
                  break;
                }
            }
        }
      else if (val[0] == '"')
        lint_error (f, "allowedOrgs",
                    "a string value (REG_SZ); Docker Desktop reads a "
                    "multi-string value (REG_MULTI_SZ), one organisation "
                    "per line");
      else
        lint_error (f, "allowedOrgs",
                    "must be a multi-string value (REG_MULTI_SZ, exported "
                    "as hex(7):...), found `%.20s`",
                    val);
    }
  if (r == 0 && !first && !found && f->rep.n_errors == 0)
    lint_error (f, "allowedOrgs",
                "no allowedOrgs value under [%s]; Windows machines "
                "importing this file enforce nothing",
                DOCKER_KEY);
  if (r == 0 && found && f->rep.n_errors == 0)
    r = check_orgs (f, orgs, n, err);
  strv_free_n (orgs, n);
  return r;
}

/* ---- macOS property lists ---- */

/* A copy of a string node, or NULL: not a string, or one holding a NUL
 * byte (*nul set; libplist's plist_get_string_val asserts on those, so
 * the bytes are read through plist_get_string_ptr).  *oom on failure to
 * copy. */
static char *
string_copy (plist_t v, bool *nul, bool *oom)
{
  uint64_t len = 0;
  const char *p;
  char *c;

  *nul = *oom = false;
  if (v == NULL || plist_get_node_type (v) != PLIST_STRING)
    return NULL;
  p = plist_get_string_ptr (v, &len);
  if (p == NULL || len > SIGNIN_LINT_MAX || memchr (p, '\0', len) != NULL)
    {
      *nul = true;
      return NULL;
    }
  c = strndup (p, len);
  *oom = c == NULL;
  return c;
}

static bool
ends_with (const char *s, const char *suffix)
{
  size_t a = strlen (s), b = strlen (suffix);
  return a >= b && strcasecmp (s + a - b, suffix) == 0;
}

/* allowedOrgs of a configuration profile payload: one string, ';' between
 * organisations. */
static int
profile_orgs (struct signin_lint_file *f, plist_t v, moat_error_t *err)
{
  char *s = NULL, **orgs = NULL;
  size_t n = 0;
  int r = 0;

  if (plist_get_node_type (v) != PLIST_STRING)
    {
      lint_error (f, "allowedOrgs",
                  "a configuration profile takes one string with the "
                  "organisations separated by ';' "
                  "(<string>org1;org2</string>)");
      return 0;
    }
  {
    bool nul, oom;
    s = string_copy (v, &nul, &oom);
    if (oom)
      return moat_error (err, ENOMEM, "signin lint");
    if (s == NULL)
      {
        lint_error (f, "allowedOrgs", "not a readable string");
        return 0;
      }
  }
  for (const char *p = s;; p++)
    {
      const char *e = strchr (p, ';');
      size_t l = e != NULL ? (size_t)(e - p) : strlen (p);
      if (push (&orgs, &n, p, l) < 0)
        {
          r = moat_error (err, ENOMEM, "signin lint");
          break;
        }
      if (e == NULL)
        break;
      p = e;
    }
  free (s);
  if (r == 0)
    r = check_orgs (f, orgs, n, err);
  strv_free_n (orgs, n);
  return r;
}

/* allowedOrgs of the plist file method: an array of strings. */
static int
plist_orgs (struct signin_lint_file *f, plist_t v, moat_error_t *err)
{
  uint32_t size;
  char **orgs = NULL;
  size_t n = 0;
  int r = 0;

  if (plist_get_node_type (v) != PLIST_ARRAY)
    {
      lint_error (f, "allowedOrgs",
                  "the plist file method takes an array of strings "
                  "(<array><string>org1</string></array>)");
      return 0;
    }
  size = plist_array_get_size (v);
  for (uint32_t i = 0; i < size && r == 0; i++)
    {
      plist_t e = plist_array_get_item (v, i);
      char *s = NULL;
      if (plist_get_node_type (e) != PLIST_STRING)
        {
          lint_error (f, "allowedOrgs", "entry %u is not a <string>", i);
          continue;
        }
      bool nul, oom;
      s = string_copy (e, &nul, &oom);
      if (oom)
        r = moat_error (err, ENOMEM, "signin lint");
      else if (s == NULL)
        /* a NUL byte inside: no organisation name has one */
        lint_error (f, "allowedOrgs", "entry %u is not a readable string", i);
      else if (push (&orgs, &n, s, strlen (s)) < 0)
        r = moat_error (err, ENOMEM, "signin lint");
      free (s);
    }
  if (r == 0 && f->rep.n_errors == 0)
    r = check_orgs (f, orgs, n, err);
  strv_free_n (orgs, n);
  return r;
}

static char *
string_of (plist_t d, const char *key)
{
  bool nul, oom;
  return string_copy (plist_dict_get_item (d, key), &nul, &oom);
}

static int
parse_plist (struct signin_lint_file *f, const char *buf, size_t len,
             moat_error_t *err)
{
  cleanup_free char *wrapped = NULL;
  plist_t root = NULL, content, v;
  int r = 0;

  /* The bare payload dictionary some MDMs take is not a plist document. */
  if (len > 5 && strncmp (buf, "<dict", 5) == 0)
    {
      if (asprintf (&wrapped, "<plist version=\"1.0\">%.*s</plist>", (int)len,
                    buf)
          < 0)
        return moat_error (err, ENOMEM, "signin lint");
      buf = wrapped;
      len = strlen (wrapped);
    }
  plist_from_memory (buf, (uint32_t)len, &root);
  if (root == NULL || plist_get_node_type (root) != PLIST_DICT)
    {
      f->method = ends_with (f->path, ".mobileconfig") ? SIGNIN_M_PROFILE
                                                       : SIGNIN_M_PLIST;
      lint_error (f, "",
                  root == NULL ? "not a property list (XML or binary) that "
                                 "parses"
                               : "the top level is not a <dict>");
      plist_free (root);
      return 0;
    }
  content = plist_dict_get_item (root, "PayloadContent");
  v = plist_dict_get_item (root, "allowedOrgs");
  if (content != NULL)
    {
      uint32_t size = plist_get_node_type (content) == PLIST_ARRAY
                          ? plist_array_get_size (content)
                          : 0;
      plist_t use = NULL;
      f->method = SIGNIN_M_PROFILE;
      for (uint32_t i = 0; i < size; i++)
        {
          plist_t p = plist_array_get_item (content, i);
          if (plist_get_node_type (p) != PLIST_DICT
              || plist_dict_get_item (p, "allowedOrgs") == NULL)
            continue;
          if (use != NULL)
            {
              lint_warn (f, "PayloadContent",
                         "payload %u sets allowedOrgs again; only one "
                         "payload should",
                         i);
              continue;
            }
          use = p;
          char *type = string_of (p, "PayloadType");
          if (type == NULL || strcmp (type, "com.docker.config") != 0)
            lint_warn (f, "PayloadContent",
                       "the payload with allowedOrgs has PayloadType "
                       "\"%s\"; Docker Desktop reads com.docker.config",
                       type != NULL ? type : "(none)");
          free (type);
        }
      if (use == NULL)
        lint_error (f, "allowedOrgs",
                    "no payload of PayloadContent sets allowedOrgs; Macs "
                    "with this profile enforce nothing");
      else
        r = profile_orgs (f, plist_dict_get_item (use, "allowedOrgs"), err);
    }
  else if (v == NULL)
    {
      f->method = ends_with (f->path, ".mobileconfig") ? SIGNIN_M_PROFILE
                                                       : SIGNIN_M_PLIST;
      lint_error (f, "allowedOrgs", "missing; Macs enforce nothing");
    }
  else if (plist_get_node_type (v) == PLIST_STRING
           || ends_with (f->path, ".mobileconfig"))
    {
      /* A bare payload dictionary: the profile form of the value. */
      f->method = SIGNIN_M_PROFILE;
      r = profile_orgs (f, v, err);
    }
  else
    {
      f->method = SIGNIN_M_PLIST;
      r = plist_orgs (f, v, err);
    }
  plist_free (root);
  return r;
}

/* A signed configuration profile: CMS SignedData (DER) around the plist.
 * The content is taken out and checked; the signature is not verified
 * (the Mac that installs the profile does that) and a warning says so. */
static int
parse_signed (struct signin_lint_file *f, const char *buf, size_t len,
              moat_error_t *err)
{
  const unsigned char *p = (const unsigned char *)buf;
  CMS_ContentInfo *cms = d2i_CMS_ContentInfo (NULL, &p, (long)len);
  ASN1_OCTET_STRING **content;
  int r;

  f->method = SIGNIN_M_PROFILE;
  if (cms == NULL || OBJ_obj2nid (CMS_get0_type (cms)) != NID_pkcs7_signed
      || (content = CMS_get0_content (cms)) == NULL || *content == NULL)
    {
      CMS_ContentInfo_free (cms);
      lint_error (f, "",
                  "starts like a signed configuration profile (CMS) but "
                  "is not one that carries its content");
      return 0;
    }
  lint_warn (f, "",
             "a signed profile: its content is checked, its signature is "
             "not (macOS verifies it when the profile is installed)");
  r = parse_plist (f, (const char *)ASN1_STRING_get0_data (*content),
                   (size_t)ASN1_STRING_length (*content), err);
  CMS_ContentInfo_free (cms);
  return r;
}

/* ---- recognition ---- */

int
signin_lint_parse (const char *path, const char *buf, size_t len,
                   struct signin_lint_file *out, moat_error_t *err)
{
  size_t skip = 0;
  int r;

  memset (out, 0, sizeof *out);
  out->method = SIGNIN_M_UNKNOWN;
  out->path = strdup (path);
  if (out->path == NULL)
    return moat_error (err, ENOMEM, "signin lint");
  if (len >= 3 && memcmp (buf, "\xef\xbb\xbf", 3) == 0)
    skip = 3;
  while (skip < len && isspace ((unsigned char)buf[skip]))
    skip++;

  if ((len >= 2 && (unsigned char)buf[0] == 0xff
       && (unsigned char)buf[1] == 0xfe)
      || (len - skip >= 8 && strncmp (buf + skip, "REGEDIT4", 8) == 0)
      || (len - skip >= 23
          && strncmp (buf + skip, "Windows Registry Editor", 23) == 0))
    r = parse_reg (out, buf, len, err);
  else if ((len >= 8 && memcmp (buf, "bplist00", 8) == 0)
           || (len - skip >= 1 && buf[skip] == '<'))
    r = parse_plist (out, buf + skip, len - skip, err);
  else if (len >= 2 && (unsigned char)buf[0] == 0x30)
    r = parse_signed (out, buf, len, err);
  else if (len - skip >= 1 && (buf[skip] == '{' || buf[skip] == '['))
    {
      out->method = SIGNIN_M_REGISTRY_JSON;
      r = signin_parse (buf, len, &out->policy, &out->rep, err);
      if (r < 0 && moat_error_status (err) == ENOMEM)
        r = -1;
      else
        {
          moat_error_release (err);
          r = 0;
        }
    }
  else
    {
      lint_error (out, "",
                  "not a form of sign-in enforcement moat knows: a .reg "
                  "export, a .mobileconfig profile, a .plist file or "
                  "registry.json");
      r = 0;
    }
  if (r == 0 && out->rep.oom)
    r = moat_error (err, ENOMEM, "signin lint");
  if (r < 0)
    {
      signin_lint_file_free (out);
      return -1;
    }
  out->valid = out->rep.n_errors == 0;
  return 0;
}

int
signin_lint_load (const char *path, struct signin_lint_file *out,
                  moat_error_t *err)
{
  cleanup_free char *buf = NULL;
  cleanup_error moat_error_t rerr = NULL;
  size_t len = 0;

  if (fs_read_file (path, SIGNIN_LINT_MAX, &buf, &len, &rerr) < 0)
    {
      memset (out, 0, sizeof *out);
      out->method = SIGNIN_M_UNKNOWN;
      out->path = strdup (path);
      if (out->path == NULL)
        return moat_error (err, ENOMEM, "signin lint");
      lint_error (out, "", "%s", moat_error_msg (&rerr));
      return out->rep.oom ? moat_error (err, ENOMEM, "signin lint") : 0;
    }
  return signin_lint_parse (path, buf, len, out, err);
}

void
signin_lint_file_free (struct signin_lint_file *f)
{
  if (f == NULL)
    return;
  free (f->path);
  signin_policy_free (&f->policy);
  policy_report_free (&f->rep);
  memset (f, 0, sizeof *f);
}
