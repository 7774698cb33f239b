/* Shared by unit tests that start the real moat-sandbox: it sits next to the
 * test binary's build directory (build/tests/x → build/moat-sandbox). */
#ifndef MOAT_TESTS_SANDBOX_HELPERS_H
#define MOAT_TESTS_SANDBOX_HELPERS_H

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static inline const char *
test_sandbox_exe (void)
{
  static char path[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", path, sizeof path - 32);
  if (n <= 0)
    return "build/moat-sandbox";
  path[n] = 0;
  for (int i = 0; i < 2; i++)
    {
      char *slash = strrchr (path, '/');
      if (slash)
        *slash = 0;
    }
  strcat (path, "/moat-sandbox");
  return path;
}

#endif
