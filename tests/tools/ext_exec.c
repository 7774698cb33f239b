/* ext-exec: drives the confined runner (src/ext/hostexec.h) for
 * tests/integration/test_ext_host.sh, as the library's callers do.
 *
 *   ext-exec [OPTIONS] -- PATH [ARGS...]        ext_exec_confined
 *   ext-exec [OPTIONS] --host DIR NAME BINARY [-- ARGS...]   ext_host_exec
 *
 * OPTIONS: --uid N --gid N --group N (repeatable) --read DIR --write DIR
 * (repeatable) --env NAME=VALUE (repeatable) --timeout MS --max-output N.
 * Prints the result as one JSON object; an error (nothing ran) goes to
 * stderr with exit status 2. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ext/hostexec.h"

#define MAXN 16

int
main (int argc, char **argv)
{
  static const struct option opts[]
      = { { "uid", 1, NULL, 'u' },     { "gid", 1, NULL, 'g' },
          { "group", 1, NULL, 'G' },   { "read", 1, NULL, 'r' },
          { "write", 1, NULL, 'w' },   { "env", 1, NULL, 'e' },
          { "timeout", 1, NULL, 't' }, { "max-output", 1, NULL, 'm' },
          { "host", 0, NULL, 'H' },    { NULL, 0, NULL, 0 } };
  const char *rd[MAXN + 1] = { 0 }, *wr[MAXN + 1] = { 0 };
  char *env[MAXN + 1] = { 0 };
  gid_t groups[MAXN];
  size_t nr = 0, nw = 0, ne = 0, ng = 0;
  struct ext_exec_req req = { 0 };
  struct ext_exec_result res;
  moat_error_t err = NULL;
  bool host = false;
  json_t *j;
  int c, r;

  req.uid = getuid ();
  req.gid = getgid ();
  while ((c = getopt_long (argc, argv, "+", opts, NULL)) != -1)
    switch (c)
      {
      case 'u':
        req.uid = (uid_t)strtoul (optarg, NULL, 10);
        break;
      case 'g':
        req.gid = (gid_t)strtoul (optarg, NULL, 10);
        break;
      case 'G':
        if (ng < MAXN)
          groups[ng++] = (gid_t)strtoul (optarg, NULL, 10);
        break;
      case 'r':
        if (nr < MAXN)
          rd[nr++] = optarg;
        break;
      case 'w':
        if (nw < MAXN)
          wr[nw++] = optarg;
        break;
      case 'e':
        if (ne < MAXN)
          env[ne++] = optarg;
        break;
      case 't':
        req.timeout_ms = (unsigned)strtoul (optarg, NULL, 10);
        break;
      case 'm':
        req.max_output = strtoul (optarg, NULL, 10);
        break;
      case 'H':
        host = true;
        break;
      default:
        return 2;
      }
  if (host)
    {
      if (argc - optind < 3)
        return fprintf (stderr, "ext-exec --host DIR NAME BINARY\n"), 2;
      r = ext_host_exec (
          argv[optind], argv[optind + 1], argv[optind + 2],
          argv + optind + 3
              + (argc - optind > 3 && strcmp (argv[optind + 3], "--") == 0),
          env, req.uid, req.gid, groups, ng, req.timeout_ms, &res, &err);
    }
  else
    {
      if (optind >= argc)
        return fprintf (stderr, "ext-exec -- PATH [ARGS]\n"), 2;
      req.path = argv[optind];
      req.argv = argv + optind;
      req.envp = env;
      req.groups = groups;
      req.ngroups = ng;
      req.read_dirs = rd;
      req.write_dirs = wr;
      r = ext_exec_confined (&req, &res, &err);
    }
  if (r < 0)
    {
      fprintf (stderr, "ext-exec: %s\n", moat_error_msg (&err));
      moat_error_release (&err);
      ext_exec_result_free (&res);
      return 2;
    }
  j = json_pack ("{s:i, s:i, s:b, s:b, s:s%, s:s%, s:i}", "exit_code",
                 res.exit_code, "term_signal", res.term_signal, "timed_out",
                 res.timed_out, "truncated", res.truncated, "out", res.out,
                 res.out_len, "err", res.err, res.err_len, "landlock_abi",
                 res.landlock_abi);
  if (j == NULL)
    return 2;
  json_dumpf (j, stdout, JSON_COMPACT);
  putchar ('\n');
  json_decref (j);
  ext_exec_result_free (&res);
  return 0;
}
