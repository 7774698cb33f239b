/* Unit tests of `moat signin lint` (src/directory/lint.c): each form of
 * Docker Desktop's sign-in enforcement read from tests/fixtures/signin,
 * the rules of registry.json applied to each, hostile bytes, and Docker's
 * method precedence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory/lint.h"

#define FIXTURES "tests/fixtures/signin/"

static void
load (const char *name, struct signin_lint_file *f)
{
  moat_error_t err = NULL;
  char path[256];
  snprintf (path, sizeof path, FIXTURES "%s", name);
  assert_int_equal (signin_lint_load (path, f, &err), 0);
  assert_null (err);
}

static void
parse (const char *name, const char *text, size_t len,
       struct signin_lint_file *f)
{
  moat_error_t err = NULL;
  assert_int_equal (signin_lint_parse (name, text, len, f, &err), 0);
  assert_null (err);
}

static void
has (const struct signin_lint_file *f, enum policy_diag_severity sev,
     const char *path, const char *needle)
{
  for (size_t i = 0; i < f->rep.n; i++)
    if (f->rep.items[i].severity == sev
        && strcmp (f->rep.items[i].path, path) == 0
        && strstr (f->rep.items[i].msg, needle) != NULL)
      return;
  for (size_t i = 0; i < f->rep.n; i++)
    fprintf (stderr, "  have %s: %s\n", f->rep.items[i].path,
             f->rep.items[i].msg);
  fail_msg ("%s: missing diagnostic %s: %s", f->path, path, needle);
}

static void
orgs_are (const struct signin_lint_file *f, enum signin_method m,
          const char *a, const char *b)
{
  if (!f->valid)
    for (size_t i = 0; i < f->rep.n; i++)
      fprintf (stderr, "  %s: %s\n", f->rep.items[i].path,
               f->rep.items[i].msg);
  assert_true (f->valid);
  assert_int_equal (f->method, m);
  assert_int_equal (f->policy.n_orgs, b != NULL ? 2 : 1);
  assert_string_equal (f->policy.orgs[0], a);
  if (b != NULL)
    assert_string_equal (f->policy.orgs[1], b);
}

static void
valid_forms (void **state)
{
  struct signin_lint_file f;
  load ("allowed.reg", &f);
  orgs_are (&f, SIGNIN_M_REGKEY, "myorg1", "myorg2");
  signin_lint_file_free (&f);
  load ("regedit4.reg", &f);
  orgs_are (&f, SIGNIN_M_REGKEY, "myorg1", "myorg2");
  signin_lint_file_free (&f);
  load ("docker.mobileconfig", &f);
  orgs_are (&f, SIGNIN_M_PROFILE, "myorg1", "myorg2");
  signin_lint_file_free (&f);
  load ("signed.mobileconfig", &f);
  orgs_are (&f, SIGNIN_M_PROFILE, "myorg1", "myorg2");
  has (&f, POLICY_DIAG_WARNING, "", "its signature is not");
  signin_lint_file_free (&f);
  load ("payload-dict.plist", &f);
  orgs_are (&f, SIGNIN_M_PROFILE, "myorg1", "myorg2");
  signin_lint_file_free (&f);
  load ("payload-bare.xml", &f);
  orgs_are (&f, SIGNIN_M_PROFILE, "myorg1", "myorg2");
  signin_lint_file_free (&f);
  load ("desktop.plist", &f);
  orgs_are (&f, SIGNIN_M_PLIST, "myorg1", "myorg2");
  signin_lint_file_free (&f);
  load ("binary.plist", &f);
  orgs_are (&f, SIGNIN_M_PLIST, "myorg1", "other");
  signin_lint_file_free (&f);
  load ("registry.json", &f);
  orgs_are (&f, SIGNIN_M_REGISTRY_JSON, "myorg1", "myorg2");
  signin_lint_file_free (&f);
}

static void
same_rules_as_registry_json (void **state)
{
  struct signin_lint_file f;
  load ("bad-names.reg", &f);
  assert_false (f.valid);
  has (&f, POLICY_DIAG_ERROR, "allowedOrgs[1]", "contains a space");
  has (&f, POLICY_DIAG_ERROR, "allowedOrgs[1]", "has uppercase letters");
  has (&f, POLICY_DIAG_ERROR, "allowedOrgs[2]", "contains a comma");
  signin_lint_file_free (&f);
  load ("bad-names.mobileconfig", &f);
  assert_false (f.valid);
  has (&f, POLICY_DIAG_ERROR, "allowedOrgs[1]", "\"myorg2\"");
  has (&f, POLICY_DIAG_ERROR, "allowedOrgs[2]", "empty organisation name");
  signin_lint_file_free (&f);
}

static void
wrong_shapes (void **state)
{
  struct signin_lint_file f;
  load ("wrong-key.reg", &f);
  assert_false (f.valid);
  has (&f, POLICY_DIAG_ERROR, "allowedOrgs", "reads the value only");
  signin_lint_file_free (&f);
  load ("reg-sz.reg", &f);
  has (&f, POLICY_DIAG_ERROR, "allowedOrgs", "REG_MULTI_SZ");
  signin_lint_file_free (&f);
  load ("delete.reg", &f);
  has (&f, POLICY_DIAG_WARNING, "", "removes sign-in enforcement");
  has (&f, POLICY_DIAG_ERROR, "allowedOrgs", "enforce nothing");
  signin_lint_file_free (&f);
  load ("array.mobileconfig", &f);
  assert_int_equal (f.method, SIGNIN_M_PROFILE);
  has (&f, POLICY_DIAG_ERROR, "allowedOrgs", "separated by ';'");
  signin_lint_file_free (&f);
  /* A signed profile whose PayloadType holds a NUL byte: libplist's
   * plist_get_string_val asserts (aborts) on it; found by
   * fuzz_signin_lint.  The string is refused, the rest still checked. */
  load ("nul-in-string.mobileconfig", &f);
  has (&f, POLICY_DIAG_WARNING, "PayloadContent", "PayloadType \"(none)\"");
  signin_lint_file_free (&f);
  load ("not-a-form.txt", &f);
  assert_int_equal (f.method, SIGNIN_M_UNKNOWN);
  assert_false (f.valid);
  signin_lint_file_free (&f);
  load ("does-not-exist.reg", &f);
  assert_false (f.valid);
  has (&f, POLICY_DIAG_ERROR, "", "No such file");
  signin_lint_file_free (&f);
}

static void
hostile_bytes (void **state)
{
  static const char *const texts[] = {
    "",
    "Windows Registry Editor Version 5.00\n[",
    "REGEDIT4\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Docker\\Docker "
    "Desktop]\n\"allowedOrgs\"=hex(7):6d,00,zz\n",
    "REGEDIT4\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Docker\\Docker "
    "Desktop]\n\"allowedOrgs\"=hex(7):\\\n",
    "REGEDIT4\n\"allowedOrgs",
    "bplist00",
    "<plist><dict><key>allowedOrgs</key><array><integer>1</integer>"
    "</array></dict></plist>",
    "<plist><dict><key>PayloadContent</key><string>x</string></dict></plist>",
    "<dict",
    "\x30\x82\x01\x00",
    "{\"allowedOrgs\": [\"a\"], \"allowedOrgs\": [\"b\"]}",
  };
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
    {
      struct signin_lint_file f;
      parse ("x", texts[i], strlen (texts[i]), &f);
      if (f.valid)
        fail_msg ("text %zu accepted", i);
      signin_lint_file_free (&f);
    }
  {
    /* REGEDIT4 multi-string: "a", the empty string that ends the list,
     * then "b" that Windows ignores. */
    static const char early[]
        = "REGEDIT4\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Docker\\Docker "
          "Desktop]\n\"allowedOrgs\"=hex(7):61,00,00,62,00,00\n";
    struct signin_lint_file f;
    parse ("x", early, sizeof early - 1, &f);
    assert_true (f.valid);
    assert_int_equal (f.policy.n_orgs, 1);
    has (&f, POLICY_DIAG_WARNING, "allowedOrgs", "ignored by Windows");
    signin_lint_file_free (&f);
  }
  {
    /* A binary plist string libplist cannot decode (found by
     * fuzz_signin_lint: invalid UTF-8 was taken for an allocation failure
     * and the half-filled result leaked). */
    static const char bad[]
        = "bplist00\xd1\x01\x02[allowedOrgs\xa2\x03\x04Vmyor\xc2"
          "1Uother\x08\x0b\x17\x1a!\0\0\0\0\0\0\x01\x01\0\0\0\0\0\0\0"
          "\x05\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0'";
    struct signin_lint_file f;
    parse ("x.plist", bad, sizeof bad - 1, &f);
    assert_false (f.valid);
    has (&f, POLICY_DIAG_ERROR, "allowedOrgs[0]", "not valid UTF-8");
    signin_lint_file_free (&f);
  }
  {
    /* A .reg in UTF-16LE with an odd byte count and a lone surrogate. */
    static const char odd[] = "\xff\xfeR\0E\0G\0\x00\xd8";
    struct signin_lint_file f;
    parse ("x", odd, sizeof odd - 1, &f);
    assert_false (f.valid);
    signin_lint_file_free (&f);
  }
}

static void
precedence (void **state)
{
  struct signin_lint_file files[4];
  load ("registry.json", &files[0]);
  load ("desktop.plist", &files[1]);
  load ("allowed.reg", &files[2]);
  load ("docker.mobileconfig", &files[3]);
  assert_int_equal (signin_lint_winner (files, 4, SIGNIN_P_WINDOWS), 2);
  assert_int_equal (signin_lint_winner (files, 4, SIGNIN_P_MACOS), 3);
  assert_int_equal (signin_lint_winner (files, 4, SIGNIN_P_LINUX), 0);
  /* Without the profile the plist file wins on a Mac; without the
   * registry key, registry.json on Windows. */
  assert_int_equal (signin_lint_winner (files, 2, SIGNIN_P_MACOS), 1);
  assert_int_equal (signin_lint_winner (files, 2, SIGNIN_P_WINDOWS), 0);
  assert_int_equal (signin_lint_winner (files + 1, 1, SIGNIN_P_LINUX), -1);
  for (int i = 0; i < 4; i++)
    signin_lint_file_free (&files[i]);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (valid_forms),
    cmocka_unit_test (same_rules_as_registry_json),
    cmocka_unit_test (wrong_shapes),
    cmocka_unit_test (hostile_bytes),
    cmocka_unit_test (precedence),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
