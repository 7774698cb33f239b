/* libFuzzer entry point: the build context scanner (engine/buildscan.h).
 * The input is fed twice: as a Dockerfile's text to
 * build_dockerfile_check, and as a build body (tar, gzip or anything) to
 * the streaming scanner, in pieces whose sizes come from the first byte,
 * checking that the safe point never moves back nor past what was fed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "engine/buildscan.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *m = NULL;
  struct build_scan *s;
  size_t off = 0, step;
  uint64_t safe = 0;

  if (size > 256 * 1024)
    return 0;
  (void)build_dockerfile_check ((const char *)data, size, &m);
  free (m);
  if (size == 0)
    return 0;
  s = build_scan_new ("dockerfile=Dockerfile&t=x");
  if (s == NULL)
    return 0;
  step = (size_t)data[0] % 61 + 1;
  while (off < size)
    {
      size_t n = size - off < step ? size - off : step;
      if (build_scan_feed (s, (const char *)data + off, n) < 0)
        break;
      off += n;
      uint64_t now = build_scan_safe (s);
      if (now < safe || now > off)
        abort ();
      safe = now;
    }
  if (off == size)
    (void)build_scan_finish (s);
  build_scan_free (s);
  return 0;
}
