/* moat pac eval --pac FILE URL [HOST]: run a PAC file the way the net guard
 * does (in moat-sandbox, with moat's helper functions) and print what
 * FindProxyForURL returns. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <unistd.h>

#include "cli.h"
#include "common/cleanup.h"
#include "pac/engine.h"
#include "pac/fetch.h"

static void
pac_usage (FILE *out)
{
  fprintf (
      out,
      "Usage: moat pac eval --pac FILE URL [HOST]\n\n"
      "Evaluate a PAC file in moat's sandbox and print what\n"
      "FindProxyForURL (or FindProxyForURLEx) returns for URL.\n\n"
      "Options:\n"
      "  --pac FILE      the PAC file: a path, or an http, https or file URL\n"
      "  --my-ip ADDR    what myIpAddress() answers (default 127.0.0.1)\n"
      "  --timeout MS    evaluation deadline (default 1000)\n"
      "  --resolve NAME=ADDR\n"
      "                  answer dnsResolve(NAME) with ADDR instead of asking\n"
      "                  the resolver (repeatable; implies --no-dns for "
      "others)\n"
      "  --no-dns        resolve nothing: every other name is unresolvable\n"
      "  -h, --help      this help\n\n"
      "HOST defaults to the host part of URL.  dnsResolve() uses this\n"
      "machine's resolver.  Exit status 1 if the PAC cannot be read or\n"
      "compiled or FindProxyForURL fails.\n");
}


/* Host part of scheme://[user@]host[:port][/...]; brackets of an IPv6
 * literal removed. */
static int
url_host (const char *url, char *out, size_t outlen, moat_error_t *err)
{
  const char *p = strstr (url, "://");
  if (p == NULL)
    return moat_error (err, EINVAL, "URL `%s` has no scheme://", url);
  p += 3;
  size_t auth = strcspn (p, "/?#");
  const char *at = memchr (p, '@', auth);
  if (at)
    {
      auth -= (size_t)(at + 1 - p);
      p = at + 1;
    }
  size_t hl;
  if (*p == '[')
    {
      const char *close = memchr (p, ']', auth);
      if (close == NULL)
        return moat_error (err, EINVAL, "URL `%s`: unterminated `[`", url);
      p++;
      hl = (size_t)(close - p);
    }
  else
    {
      const char *colon = memchr (p, ':', auth);
      hl = colon ? (size_t)(colon - p) : auth;
    }
  if (hl == 0 || hl >= outlen)
    return moat_error (err, EINVAL, "URL `%s` has no host", url);
  memcpy (out, p, hl);
  out[hl] = 0;
  return 0;
}

static int
read_pac (const char *what, char **src, size_t *len, moat_error_t *err)
{
  if (strstr (what, "://"))
    return pac_fetch (what, 0, src, len, err);
  FILE *f = fopen (what, "re");
  if (f == NULL)
    return moat_error (err, errno, "open `%s`", what);
  char *buf = malloc (PAC_FETCH_MAX + 1);
  size_t n = buf ? fread (buf, 1, PAC_FETCH_MAX + 1, f) : 0;
  int bad = buf == NULL         ? ENOMEM
            : ferror (f)        ? EIO
            : n > PAC_FETCH_MAX ? EFBIG
                                : 0;
  fclose (f);
  if (bad)
    {
      free (buf);
      if (bad == EFBIG)
        return moat_error (err, 0, "`%s` is larger than %u bytes", what,
                           PAC_FETCH_MAX);
      return moat_error (err, bad, "read `%s`", what);
    }
  buf[n] = 0;
  *len = n;
  *src = buf;
  return 0;
}

#define STATIC_MAX 32

/* --resolve/--no-dns: a fixed table instead of DNS (tests, offline use). */
struct static_dns
{
  const char *name[STATIC_MAX];
  const char *addr[STATIC_MAX];
  size_t n;
};

static int
static_resolve (void *ud, const char *name, int family, char *out,
                size_t outlen)
{
  const struct static_dns *t = ud;
  size_t used = 0;
  for (size_t i = 0; i < t->n; i++)
    {
      if (strcasecmp (t->name[i], name) != 0)
        continue;
      bool v6 = strchr (t->addr[i], ':') != NULL;
      if (family == AF_INET && v6)
        continue;
      int w = snprintf (out + used, outlen - used, "%s%s", used ? ";" : "",
                        t->addr[i]);
      if (w < 0 || (size_t)w >= outlen - used)
        break;
      used += (size_t)w;
      if (family == AF_INET)
        break;
    }
  return used ? 0 : 1;
}

static int
pac_eval (int argc, char **argv, moat_error_t *err)
{
  static const struct option longopts[]
      = { { "pac", required_argument, NULL, 'p' },
          { "my-ip", required_argument, NULL, 'm' },
          { "timeout", required_argument, NULL, 't' },
          { "resolve", required_argument, NULL, 'r' },
          { "no-dns", no_argument, NULL, 'n' },
          { "help", no_argument, NULL, 'h' },
          { NULL, 0, NULL, 0 } };
  const char *pac = NULL, *my_ip = NULL;
  unsigned timeout = 1000;
  struct static_dns dns = { .n = 0 };
  bool use_static = false;
  int c;

  optind = 1;
  while ((c = getopt_long (argc, argv, "+h", longopts, NULL)) != -1)
    switch (c)
      {
      case 'p':
        pac = optarg;
        break;
      case 'm':
        my_ip = optarg;
        break;
      case 't':
        {
          char *end;
          unsigned long v = strtoul (optarg, &end, 10);
          if (*end || v == 0 || v > 60000)
            return moat_error (err, EINVAL, "--timeout: 1..60000 ms");
          timeout = (unsigned)v;
        }
        break;
      case 'r':
        {
          char *eq = strchr (optarg, '=');
          if (eq == NULL || eq == optarg || dns.n == STATIC_MAX)
            return moat_error (err, EINVAL, "--resolve NAME=ADDR (at most %d)",
                               STATIC_MAX);
          *eq = 0;
          dns.name[dns.n] = optarg;
          dns.addr[dns.n++] = eq + 1;
          use_static = true;
        }
        break;
      case 'n':
        use_static = true;
        break;
      case 'h':
        pac_usage (stdout);
        return 0;
      default:
        pac_usage (stderr);
        return 2;
      }
  if (pac == NULL || argc - optind < 1 || argc - optind > 2)
    {
      pac_usage (stderr);
      return 2;
    }
  const char *url = argv[optind];
  char hostbuf[256];
  const char *host = argv[optind + 1];
  if (host == NULL)
    {
      if (url_host (url, hostbuf, sizeof hostbuf, err) < 0)
        return -1;
      host = hostbuf;
    }

  char exe[PATH_MAX];
  cleanup_free char *src = NULL, *result = NULL;
  size_t len;
  if (cli_find_sandbox (exe, sizeof exe, err) < 0
      || read_pac (pac, &src, &len, err) < 0)
    return -1;
  struct pac_engine_opts o = { .sandbox_exe = exe, .timeout_ms = timeout };
  if (use_static)
    {
      o.resolve = static_resolve;
      o.resolve_ud = &dns;
    }
  struct pac_engine *e = NULL;
  if (pac_engine_new (&o, &e, err) < 0)
    return -1;
  int r = pac_engine_load (e, src, len, err);
  if (r == 0)
    r = pac_engine_eval (e, url, host, my_ip, &result, err);
  pac_engine_free (e);
  if (r < 0)
    return -1;
  printf ("%s\n", result);
  return 0;
}

int
cli_pac (struct moat_cli *cli, int argc, char **argv, moat_error_t *err)
{
  if (argc >= 2 && strcmp (argv[1], "eval") == 0)
    return pac_eval (argc - 1, argv + 1, err);
  if (argc < 2 || cli_wants_help (argc, argv))
    {
      pac_usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
  fprintf (stderr, "moat pac: unknown subcommand `%s`\n\n", argv[1]);
  pac_usage (stderr);
  return 2;
}
