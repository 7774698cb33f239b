/* Unit tests of the build context scanner (src/engine/buildscan.c): the
 * Dockerfile's ADD sources, and the tar stream (names, links, PAX and GNU
 * long names, gzip, the safe point that never lets the tar's end through
 * before the decision). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "engine/buildscan.h"

static int
df (const char *text)
{
  char *m = NULL;
  int r = build_dockerfile_check (text, strlen (text), &m);
  if (r < 0)
    {
      assert_non_null (m);
      assert_non_null (strstr (m, "enhanced container isolation: "));
    }
  free (m);
  return r;
}

static void
test_dockerfile_refused (void **state)
{
  (void)state;
  static const char *const bad[] = {
    "FROM b\nADD http://h/x /x\n",
    "FROM b\nadd https://h/x /x\n",
    "FROM b\nADD --chown=1:1 http://h/x /x\n",
    "FROM b\nADD [\"http://h/x\", \"/x\"]\n",
    "FROM b\nADD [\"http\\u003a//h/x\", \"/x\"]\n",
    "FROM b\nADD \\\n  # comment\n\n  http://h/x /x\n",
    "FROM b\nAD\\\nD ht\\\ntp://h/x /x\n",
    "# escape=`\nFROM b\nADD `\n http://h/x /x\n",
    "FROM b\nADD \"http:/\\/h/x\" /x\n",
    "FROM b\nADD 'http':'//h/x' /x\n",
    "FROM b\nONBUILD ADD http://h/x /x\n",
    "FROM b\nonbuild add [\"ftp://h/x\",\"/x\"]\n",
    "FROM b\nARG U\nADD $U /x\n",
    "FROM b\nADD ${U:-a} /x\n",
    "FROM b\nADD git@github.com:a/b /x\n",
    "\xef\xbb\xbf"
    "ADD http://h/x /x\n",
    "FROM b\n\t  ADD\thttp://h/x\t/x\r\n",
    "FROM b\n\xc2\xa0"
    "ADD http://h/x /x\n",
    "FROM b\nADD local http://h/x /dst/\n",
    "FROM b\nRUN <<EOF\nx \\\nEOF\nADD http://h/x /x\n",
    /* not a comment for the engine (U+200B is no white space) */
    "FROM b\nADD \\\n\xe2\x80\x8b# http://h/y \\\n/z\n",
    /* JSON jansson refuses (bad UTF-8) but Go's reader decodes */
    "FROM b\nADD [\"http\\u003a//h/x\xff\", \"/x\"]\n",
    "FROM b\nADD \xc2\xa0[\"http\\u003a\\u002f/h/x\", \"/x\"]\n",
  };
  size_t i;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      if (df (bad[i]) != -1)
        fail_msg ("not refused: %s", bad[i]);
    }
}

static void
test_dockerfile_allowed (void **state)
{
  (void)state;
  static const char *const good[] = {
    "FROM b\nADD local.txt /x\n",
    "FROM b\nCOPY local.txt /x\n",
    "FROM b\n# ADD http://h/x /x\nRUN true\n",
    "FROM b\nLABEL u=http://h/x\n",
    "FROM b\nRUN curl http://h/x\n",
    "FROM b\nADD --chown=$UID:0 a.txt $HOME/\n",
    "FROM b\nADDX http://h/x /x\n",
    "FROM b\nADD [\"a\", \"/x\"]\n",
    "",
  };
  size_t i;
  for (i = 0; i < sizeof good / sizeof good[0]; i++)
    {
      if (df (good[i]) != 0)
        fail_msg ("refused: %s", good[i]);
    }
}

/* ---- tar building ---- */

struct tarb
{
  unsigned char *d;
  size_t n;
};

static void
tar_entry (struct tarb *t, const char *name, char type, const char *link,
           const char *data, size_t len)
{
  unsigned char h[512];
  unsigned sum = 0;
  size_t i, pad = (len + 511) / 512 * 512;
  memset (h, 0, sizeof h);
  snprintf ((char *)h, 100, "%s", name);
  memcpy (h + 100, "0000644", 7);
  memcpy (h + 108, "0000000", 7);
  memcpy (h + 116, "0000000", 7);
  snprintf ((char *)h + 124, 12, "%011zo", len);
  memcpy (h + 136, "00000000000", 11);
  h[156] = (unsigned char)type;
  if (link)
    snprintf ((char *)h + 157, 100, "%s", link);
  memcpy (h + 257,
          "ustar\0"
          "00",
          8);
  memset (h + 148, ' ', 8);
  for (i = 0; i < 512; i++)
    sum += h[i];
  snprintf ((char *)h + 148, 8, "%06o", sum);
  t->d = realloc (t->d, t->n + 512 + pad);
  assert_non_null (t->d);
  memcpy (t->d + t->n, h, 512);
  memset (t->d + t->n + 512, 0, pad);
  if (len)
    memcpy (t->d + t->n + 512, data, len);
  t->n += 512 + pad;
}

static void
tar_end (struct tarb *t)
{
  t->d = realloc (t->d, t->n + 1024);
  assert_non_null (t->d);
  memset (t->d + t->n, 0, 1024);
  t->n += 1024;
}

/* Feed in pieces of `step`; the safe point never passes the tar's end. */
static int
scan (const char *query, const unsigned char *d, size_t n, size_t step,
      uint64_t end_off, const char **msg_out)
{
  struct build_scan *s = build_scan_new (query);
  size_t off = 0;
  int r = 0;
  static char msg[512];
  assert_non_null (s);
  while (off < n && r == 0)
    {
      size_t k = n - off < step ? n - off : step;
      r = build_scan_feed (s, (const char *)d + off, k);
      off += k;
      if (r == 0 && end_off > 0)
        assert_true (build_scan_safe (s) <= end_off);
    }
  if (r == 0)
    r = build_scan_finish (s);
  msg[0] = '\0';
  if (r < 0)
    snprintf (msg, sizeof msg, "%s", build_scan_message (s));
  if (msg_out)
    *msg_out = msg;
  build_scan_free (s);
  return r;
}

static const char evil[] = "FROM b\nADD http://h/x /x\n";
static const char fine[] = "FROM b\nADD a /x\n";

static void
test_tar_names (void **state)
{
  (void)state;
  struct tarb t = { 0 };
  size_t steps[] = { 1, 7, 512, 100000 };
  size_t i;
  const char *m;
  tar_entry (&t, "a", '0', NULL, "x", 1);
  tar_entry (&t, "./Dockerfile", '0', NULL, evil, strlen (evil));
  tar_end (&t);
  for (i = 0; i < 4; i++)
    {
      assert_int_equal (scan ("", t.d, t.n, steps[i], t.n - 1024, &m), -1);
      assert_non_null (strstr (m, "http://h/x"));
    }
  /* another Dockerfile named: this one is not read */
  assert_int_equal (scan ("dockerfile=other", t.d, t.n, 512, t.n - 1024, NULL),
                    0);
  free (t.d);

  /* the engine's fallback to "dockerfile" */
  memset (&t, 0, sizeof t);
  tar_entry (&t, "dockerfile", '0', NULL, evil, strlen (evil));
  tar_end (&t);
  assert_int_equal (scan (NULL, t.d, t.n, 3, 0, NULL), -1);
  free (t.d);

  /* -f outside the context: the CLI's .dockerfile.<rand>, last */
  memset (&t, 0, sizeof t);
  tar_entry (&t, "Dockerfile", '0', NULL, fine, strlen (fine));
  tar_entry (&t, ".dockerfile.abc", '0', NULL, evil, strlen (evil));
  tar_end (&t);
  assert_int_equal (
      scan ("t=x&dockerfile=.dockerfile.abc", t.d, t.n, 4096, 0, NULL), -1);
  assert_int_equal (scan ("t=x", t.d, t.n, 4096, 0, NULL), 0);
  /* two dockerfile= that differ */
  assert_int_equal (
      scan ("dockerfile=Dockerfile&dockerfile=x", t.d, t.n, 4096, 0, NULL),
      -1);
  free (t.d);

  /* ../ and / are clamped to the root, as the engine does */
  memset (&t, 0, sizeof t);
  tar_entry (&t, "/x/../../sub/./Dockerfile", '0', NULL, evil, strlen (evil));
  tar_end (&t);
  assert_int_equal (scan ("dockerfile=sub/Dockerfile", t.d, t.n, 512, 0, NULL),
                    -1);
  free (t.d);
}

static void
test_tar_links_and_records (void **state)
{
  (void)state;
  struct tarb t = { 0 };
  char pax[128];
  const char *m;
  /* the Dockerfile as a symlink, or a directory on its path */
  tar_entry (&t, "evil", '0', NULL, evil, strlen (evil));
  tar_entry (&t, "Dockerfile", '2', "evil", NULL, 0);
  tar_end (&t);
  assert_int_equal (scan ("", t.d, t.n, 512, 0, &m), -1);
  assert_non_null (strstr (m, "link"));
  free (t.d);
  memset (&t, 0, sizeof t);
  tar_entry (&t, "sub", '2', "other", NULL, 0);
  tar_end (&t);
  assert_int_equal (scan ("dockerfile=sub/Dockerfile", t.d, t.n, 512, 0, NULL),
                    -1);
  free (t.d);

  /* a PAX path names the Dockerfile */
  memset (&t, 0, sizeof t);
  snprintf (pax, sizeof pax, "19 path=Dockerfile\n");
  tar_entry (&t, "PaxHeaders/x", 'x', NULL, pax, strlen (pax));
  tar_entry (&t, "innocent", '0', NULL, evil, strlen (evil));
  tar_end (&t);
  assert_int_equal (scan ("", t.d, t.n, 5, 0, NULL), -1);
  free (t.d);

  /* a GNU long name */
  memset (&t, 0, sizeof t);
  tar_entry (&t, "././@LongLink", 'L', NULL, "Dockerfile", 10);
  tar_entry (&t, "innocent", '0', NULL, evil, strlen (evil));
  tar_end (&t);
  assert_int_equal (scan ("", t.d, t.n, 512, 0, NULL), -1);
  free (t.d);

  /* a header-only type carries no data whatever its size says: the
   * next header is where the engine reads it */
  memset (&t, 0, sizeof t);
  tar_entry (&t, "dir/", '5', NULL, NULL, 0);
  tar_entry (&t, "Dockerfile", '0', NULL, evil, strlen (evil));
  tar_end (&t);
  assert_int_equal (scan ("", t.d, t.n, 512, 0, NULL), -1);
  free (t.d);
}

static void
test_tar_malformed (void **state)
{
  (void)state;
  unsigned char junk[3000];
  size_t i;
  struct tarb t = { 0 };
  char *big;
  const char *m;
  for (i = 0; i < sizeof junk; i++)
    junk[i] = (unsigned char)(i * 131 + 7);
  assert_int_equal (scan ("", junk, sizeof junk, 512, 0, NULL), -1);
  /* bzip2, xz, zstd */
  assert_int_equal (
      scan ("", (const unsigned char *)"BZh91AY&SY", 10, 10, 0, &m), -1);
  assert_non_null (strstr (m, "gzip"));
  assert_int_equal (scan ("",
                          (const unsigned char *)"\xfd"
                                                 "7zXZ\0\0\0",
                          8, 8, 0, NULL),
                    -1);
  assert_int_equal (
      scan ("", (const unsigned char *)"\x28\xb5\x2f\xfd\0\0", 6, 6, 0, NULL),
      -1);
  /* a Dockerfile over the cap */
  big = malloc (BUILD_SCAN_MAX_DOCKERFILE + 10);
  assert_non_null (big);
  memset (big, '#', BUILD_SCAN_MAX_DOCKERFILE + 10);
  tar_entry (&t, "Dockerfile", '0', NULL, big, BUILD_SCAN_MAX_DOCKERFILE + 10);
  tar_end (&t);
  assert_int_equal (scan ("", t.d, t.n, 65536, 0, &m), -1);
  assert_non_null (strstr (m, "1 MiB"));
  free (big);
  free (t.d);
  /* a body cut in the Dockerfile: what is there is checked */
  memset (&t, 0, sizeof t);
  tar_entry (&t, "Dockerfile", '0', NULL, evil, strlen (evil));
  assert_int_equal (scan ("", t.d, 512 + 25, 512, 0, NULL), -1);
  free (t.d);
}

static void
test_gzip (void **state)
{
  (void)state;
  struct tarb t = { 0 };
  unsigned char *z;
  uLongf zn;
  z_stream zs;
  tar_entry (&t, "a", '0', NULL, "hello", 5);
  tar_entry (&t, "Dockerfile", '0', NULL, evil, strlen (evil));
  tar_end (&t);
  zn = compressBound (t.n) + 64;
  z = malloc (zn);
  assert_non_null (z);
  memset (&zs, 0, sizeof zs);
  assert_int_equal (
      deflateInit2 (&zs, 9, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  zs.next_in = t.d;
  zs.avail_in = (uInt)t.n;
  zs.next_out = z;
  zs.avail_out = (uInt)zn;
  assert_int_equal (deflate (&zs, Z_FINISH), Z_STREAM_END);
  zn = zs.total_out;
  deflateEnd (&zs);
  assert_int_equal (scan ("", z, zn, 1, 0, NULL), -1);
  assert_int_equal (scan ("", z, zn, 4096, 0, NULL), -1);
  /* the same with a harmless Dockerfile passes, and the safe point stays
   * short of the end of the compressed stream */
  free (t.d);
  memset (&t, 0, sizeof t);
  tar_entry (&t, "Dockerfile", '0', NULL, fine, strlen (fine));
  tar_end (&t);
  memset (&zs, 0, sizeof zs);
  assert_int_equal (
      deflateInit2 (&zs, 9, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  zs.next_in = t.d;
  zs.avail_in = (uInt)t.n;
  zs.next_out = z;
  zs.avail_out = (uInt)(compressBound (t.n) + 64);
  assert_int_equal (deflate (&zs, Z_FINISH), Z_STREAM_END);
  zn = zs.total_out;
  deflateEnd (&zs);
  {
    struct build_scan *s = build_scan_new ("");
    assert_non_null (s);
    assert_int_equal (build_scan_feed (s, (const char *)z, zn), 0);
    assert_true (build_scan_safe (s) < zn);
    assert_int_equal (build_scan_finish (s), 0);
    build_scan_free (s);
  }
  free (z);
  free (t.d);
}

static void
test_safe_point (void **state)
{
  (void)state;
  struct tarb t = { 0 };
  struct build_scan *s;
  tar_entry (&t, "Dockerfile", '0', NULL, fine, strlen (fine));
  size_t end = t.n;
  tar_end (&t);
  /* extra bytes after the end blocks (what a hostile client could send
   * to make the engine stop reading early) */
  t.d = realloc (t.d, t.n + 4096);
  assert_non_null (t.d);
  memset (t.d + t.n, 'A', 4096);
  t.n += 4096;
  s = build_scan_new ("");
  assert_non_null (s);
  assert_int_equal (build_scan_feed (s, (const char *)t.d, end + 100), 0);
  /* a header block all zeros so far may be the end: held */
  assert_int_equal (build_scan_safe (s), end);
  assert_int_equal (
      build_scan_feed (s, (const char *)t.d + end + 100, t.n - end - 100), 0);
  assert_int_equal (build_scan_safe (s), end);
  assert_int_equal (build_scan_finish (s), 0);
  build_scan_free (s);
  free (t.d);
}

/* The images a build reads: FROM images and COPY --from images (not its
 * stages by name or index, nor scratch). */
static void
test_bases (void **state)
{
  (void)state;
  static const char df[] = "FROM golang:1 AS b\n"
                           "FROM scratch\n"
                           "COPY --from=b /x /x\n"
                           "COPY --from=0 /x /x\n"
                           "copy --chown=1 --FROM=\"tools:2\" /y /y\n"
                           "COPY --from=B /z /z\n"
                           "COPY --chown=1 /a --from=late /b\n"
                           "COPY --from=$T /t /t\n"
                           "FROM busybox\n";
  struct tarb t = { 0 };
  struct build_scan *s = build_scan_new ("");
  char *const *refs;
  size_t n;
  assert_non_null (s);
  tar_entry (&t, "Dockerfile", '0', NULL, df, strlen (df));
  tar_end (&t);
  assert_int_equal (build_scan_feed (s, (const char *)t.d, t.n), 0);
  assert_int_equal (build_scan_finish (s), 0);
  n = build_scan_bases (s, &refs);
  assert_int_equal (n, 4);
  assert_string_equal (refs[0], "golang:1");
  assert_string_equal (refs[1], "tools:2");
  assert_string_equal (refs[2], "$T");
  assert_string_equal (refs[3], "busybox");
  build_scan_free (s);
  free (t.d);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_dockerfile_refused),
    cmocka_unit_test (test_dockerfile_allowed),
    cmocka_unit_test (test_tar_names),
    cmocka_unit_test (test_tar_links_and_records),
    cmocka_unit_test (test_tar_malformed),
    cmocka_unit_test (test_gzip),
    cmocka_unit_test (test_safe_point),
    cmocka_unit_test (test_bases),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
