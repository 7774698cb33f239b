/* libFuzzer entry point: the small parsers the engine and net guards feed
 * with request data: image references and allow-list patterns, exclude
 * entries and their matching, port lists, proxy and PAC URLs. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy/imageref.h"
#include "policy/netaddr.h"
#include "policy/url.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *s, *second;
  struct imageref r = { 0 };
  struct imageref_pattern p;
  struct netaddr_exclude e;
  struct policy_url u;
  uint8_t bitmap[65536 / 8];
  bool all;
  moat_error_t err = NULL;
  char *norm = NULL;

  if (size > 4096)
    return 0;
  s = malloc (size + 1);
  if (s == NULL)
    return 0;
  memcpy (s, data, size);
  s[size] = '\0';
  /* "pattern\nreference" when there is a newline, else both the same. */
  second = strchr (s, '\n');
  if (second != NULL)
    *second++ = '\0';
  else
    second = s;

  if (imageref_parse (second, &r, &err) == 0)
    {
      norm = imageref_format (&r);
      free (norm);
    }
  moat_error_release (&err);
  if (imageref_pattern_parse (s, &p, &err) == 0)
    {
      if (r.domain != NULL)
        (void)imageref_pattern_match (&p, &r);
      imageref_pattern_free (&p);
    }
  moat_error_release (&err);
  imageref_free (&r);

  if (netaddr_exclude_parse (s, &e, &err) == 0)
    (void)netaddr_exclude_match (&e, second, 443);
  moat_error_release (&err);
  (void)netaddr_parse_ports (s, &all, bitmap, &err);
  moat_error_release (&err);
  (void)policy_proxy_url_parse (s, &u, &err);
  moat_error_release (&err);
  (void)policy_pac_url_parse (s, &u, &err);
  moat_error_release (&err);
  free (s);
  return 0;
}
