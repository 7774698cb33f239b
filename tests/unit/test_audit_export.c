/* Unit tests of the audit export's formatting (src/daemon/audit_export.c):
 * RFC 5424 escaping of hostile SD values, the cut of an oversized record,
 * severities, and the journal's binary field form.  The wire and the
 * strict grammar check: tests/integration/test_audit_export.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/audit_export.h"

static struct audit_record
rec (const char *endpoint)
{
  struct audit_record r = {
    .id = 7,
    .time_ms = 1796568000123,
    .component = "engine",
    .caller_uid = 1000,
    .caller_pid = -1,
    .endpoint = endpoint,
    .container = NULL,
    .rule = "eci.bind",
    .outcome = "refused",
  };
  return r;
}

static void
hostile_values_escaped (void **state)
{
  struct audit_record r = rec ("a\nb]\"c\\d\x01 [x@1 y=\"z\"]");
  size_t len = 0;
  char *s = audit_syslog_format (&r, "{}", 4, "host", 42, 8192, &len);

  assert_non_null (s);
  assert_int_equal (strlen (s), len);
  assert_null (strchr (s, '\n'));
  assert_non_null (strstr (s, " endpoint=\"a\\nb\\]\\\"c\\\\d\\u0001 [x@1 "
                              "y=\\\"z\\\"\\]\""));
  assert_int_equal (strncmp (s, "<36>1 ", 6), 0); /* auth.warning */
  assert_non_null (strstr (s, " host moatd 42 engine [moat@32473 id=\"7\""));
  assert_null (strstr (s, "pid=")); /* unknown: left out */
  free (s);
}

static void
invalid_utf8_and_header_fields (void **state)
{
  struct audit_record r = rec ("\xff\xc3(ok\xc3\xa9");
  size_t len = 0;
  char *s;

  r.component = "has space";
  s = audit_syslog_format (&r, "{}", 4, "bad host", 1, 8192, &len);
  assert_non_null (s);
  assert_non_null (strstr (s, " - moatd 1 - [moat@32473"));
  assert_non_null (strstr (s, "endpoint=\"?" "?(ok\xc3\xa9\""));
  free (s);
}

static void
oversized_cut_at_end (void **state)
{
  char *big = malloc (5001), *json = malloc (6001);
  struct audit_record r;
  size_t len = 0;
  char *s;

  memset (big, 'A', 5000);
  big[5000] = '\0';
  memset (json, 'J', 6000);
  json[6000] = '\0';
  r = rec (big);
  s = audit_syslog_format (&r, json, 4, "h", 1, 480, &len);
  assert_non_null (s);
  assert_true (len <= 480);
  assert_non_null (strstr (s, " truncated=\"6000\"]"));
  assert_non_null (strstr (s, "] JJJ"));
  free (s);
  /* It fits: no truncated= at all. */
  r = rec ("x");
  s = audit_syslog_format (&r, "{\"a\":1}", 4, "h", 1, 480, &len);
  assert_null (strstr (s, "truncated"));
  assert_int_equal (strcmp (s + len - 8, " {\"a\":1}"), 0);
  free (s);
  free (big);
  free (json);
}

static void
severities (void **state)
{
  assert_int_equal (audit_severity ("refused"), 4);
  assert_int_equal (audit_severity ("rejected"), 4);
  assert_int_equal (audit_severity ("error"), 3);
  assert_int_equal (audit_severity ("allowed"), 6);
  assert_int_equal (audit_severity ("applied"), 5);
  assert_int_equal (audit_severity (NULL), 5);
}

static void
journal_binary_field (void **state)
{
  struct audit_record r = rec ("a\nb");
  size_t len = 0;
  char *s = audit_journal_format (&r, "{\"x\":1}", 4, 9, 8192, &len);
  const char want[] = "MOAT_ENDPOINT\n\x03\0\0\0\0\0\0\0a\nb\n";

  assert_non_null (s);
  assert_non_null (memmem (s, len, want, sizeof want - 1));
  assert_non_null (memmem (s, len, "MESSAGE={\"x\":1}\n", 16));
  assert_non_null (memmem (s, len, "PRIORITY=4\n", 11));
  assert_non_null (memmem (s, len, "SYSLOG_IDENTIFIER=moatd\n", 24));
  assert_null (memmem (s, len, "MOAT_CALLER_PID", 15));
  free (s);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (hostile_values_escaped),
    cmocka_unit_test (invalid_utf8_and_header_fields),
    cmocka_unit_test (oversized_cut_at_end),
    cmocka_unit_test (severities),
    cmocka_unit_test (journal_binary_field),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
