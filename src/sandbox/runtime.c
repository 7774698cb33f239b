/* moat-sandbox's interpreter loop: one Duktape heap, the framed protocol on
 * fd 0/1, host callbacks to the parent.  Runs after rlimits and seccomp, so
 * it must not open files, sockets or processes: everything it needs (time
 * zone, locale) is warmed up before the filter goes on. */
#include <errno.h>
#include <grp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/duk_moat_config.h"
#include <duktape.h>

#include "sandbox/proto.h"
#include "sandbox/sandbox.h"

#define ALLOC_HDR 16u /* keeps max_align_t alignment for Duktape */
#define MSG_MAX 1024u
#define RESULT_MAX (1u << 20)
#define CALL_ARGS_MAX 64

struct rt
{
  size_t used;
  size_t cap;
  bool armed;
  struct timespec deadline;
  /* Read from the parent and not consumed yet: one read takes a whole
   * request frame, header and payload. */
  uint8_t in[4096];
  size_t in_off, in_len;
};

duk_bool_t
moat_duk_exec_timeout_check (void *udata)
{
  struct rt *rt = udata;
  struct timespec now;
  if (rt == NULL || !rt->armed)
    return 0;
  clock_gettime (CLOCK_MONOTONIC, &now);
  return now.tv_sec > rt->deadline.tv_sec
         || (now.tv_sec == rt->deadline.tv_sec
             && now.tv_nsec >= rt->deadline.tv_nsec);
}

static void
arm (struct rt *rt, unsigned long ms)
{
  clock_gettime (CLOCK_MONOTONIC, &rt->deadline);
  rt->deadline.tv_sec += ms / 1000;
  rt->deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (rt->deadline.tv_nsec >= 1000000000L)
    {
      rt->deadline.tv_sec++;
      rt->deadline.tv_nsec -= 1000000000L;
    }
  rt->armed = true;
}

/* Allocation is refused this long after the deadline, not at it, so that
 * the interpreter can still build its "execution timeout" RangeError. */
#define ALLOC_GRACE_MS 10

static bool
past_deadline (const struct rt *rt, long grace_ms)
{
  struct timespec now, d = rt->deadline;
  d.tv_nsec += grace_ms * 1000000L;
  if (d.tv_nsec >= 1000000000L)
    {
      d.tv_sec++;
      d.tv_nsec -= 1000000000L;
    }
  clock_gettime (CLOCK_MONOTONIC, &now);
  return now.tv_sec > d.tv_sec
         || (now.tv_sec == d.tv_sec && now.tv_nsec >= d.tv_nsec);
}

/* The capped allocator: every block carries its size so that the heap's
 * total can be held under rt->cap; over the cap Duktape sees an allocation
 * failure and throws, it does not abort. */
static void *
cap_alloc (void *udata, duk_size_t size)
{
  struct rt *rt = udata;
  if (size > rt->cap - rt->used || size > SIZE_MAX - ALLOC_HDR)
    return NULL;
  /* Past the deadline, allocation fails: a script stuck in native code
   * (Array.join, string concatenation, GC retries near the cap) then ends at
   * the next allocation instead of waiting for the next interrupt. */
  if (rt->armed && size > 64 && past_deadline (rt, ALLOC_GRACE_MS))
    return NULL;
  unsigned char *p = malloc (ALLOC_HDR + size);
  if (p == NULL)
    return NULL;
  memcpy (p, &size, sizeof size);
  rt->used += size;
  return p + ALLOC_HDR;
}

static void
cap_free (void *udata, void *ptr)
{
  struct rt *rt = udata;
  size_t size;
  if (ptr == NULL)
    return;
  unsigned char *p = (unsigned char *)ptr - ALLOC_HDR;
  memcpy (&size, p, sizeof size);
  rt->used -= size;
  free (p);
}

static void *
cap_realloc (void *udata, void *ptr, duk_size_t size)
{
  struct rt *rt = udata;
  size_t old;
  if (ptr == NULL)
    return cap_alloc (udata, size);
  if (size == 0)
    {
      cap_free (udata, ptr);
      return NULL;
    }
  unsigned char *p = (unsigned char *)ptr - ALLOC_HDR;
  memcpy (&old, p, sizeof old);
  if (size > old
      && (size - old > rt->cap - rt->used || size > SIZE_MAX - ALLOC_HDR))
    return NULL;
  unsigned char *q = realloc (p, ALLOC_HDR + size);
  if (q == NULL)
    return NULL;
  memcpy (q, &size, sizeof size);
  rt->used = rt->used - old + size;
  return q + ALLOC_HDR;
}

static void
write_all_or_die (int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        _exit (0); /* parent gone */
      p += n;
      len -= (size_t)n;
    }
}

/* Duktape calls this on an unrecoverable internal error; it must not
 * return.  The parent sees EOF, reaps us and starts a fresh sandbox. */
static void
fatal_handler (void *udata, const char *msg)
{
  static const char pre[] = "moat-sandbox: duktape fatal: ";
  write_all_or_die (2, pre, sizeof pre - 1);
  write_all_or_die (2, msg ? msg : "?", msg ? strlen (msg) : 1);
  write_all_or_die (2, "\n", 1);
  _exit (70);
}

/* len bytes from the parent (fd 0), through rt->in for small reads. */
static bool
read_full (struct rt *rt, void *buf, size_t len)
{
  char *p = buf;
  while (len > 0)
    {
      if (rt->in_off < rt->in_len)
        {
          size_t k = rt->in_len - rt->in_off;
          if (k > len)
            k = len;
          memcpy (p, rt->in + rt->in_off, k);
          rt->in_off += k;
          p += k;
          len -= k;
          continue;
        }
      bool direct = len >= sizeof rt->in;
      ssize_t n = read (0, direct ? (void *)p : rt->in,
                        direct ? len : sizeof rt->in);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return false;
      if (direct)
        {
          p += n;
          len -= (size_t)n;
        }
      else
        {
          rt->in_off = 0;
          rt->in_len = (size_t)n;
        }
    }
  return true;
}

static void
send_frame (uint8_t type, const struct sb_field *f, size_t n)
{
  uint8_t *buf;
  size_t len;
  if (sb_frame_encode (type, f, n, &buf, &len) < 0)
    {
      static const struct sb_field oops = { "reply too large", 15 };
      if (sb_frame_encode (SB_MSG_ERR, &oops, 1, &buf, &len) < 0)
        _exit (71);
    }
  write_all_or_die (1, buf, len);
  free (buf);
}

static void
send_str (uint8_t type, const char *s)
{
  struct sb_field f = { s, (uint32_t)strlen (s) };
  send_frame (type, &f, 1);
}

/* Read one frame; exits on EOF (the parent closed us) or a malformed frame.
 * *payload is malloc'ed. */
static int
recv_frame (struct rt *rt, uint8_t **payload, struct sb_field *f, size_t max,
            uint8_t *type)
{
  uint8_t hdr[SB_FRAME_HDR];
  uint32_t len;
  if (!read_full (rt, hdr, sizeof hdr))
    _exit (0);
  if (sb_header_parse (hdr, &len, type) < 0)
    _exit (2);
  uint8_t *p = malloc ((size_t)len + 1);
  if (p == NULL)
    _exit (3);
  if (!read_full (rt, p, len))
    _exit (0);
  int n = sb_payload_fields (p, len, f, max);
  if (n < 0)
    _exit (2);
  *payload = p;
  return n;
}

/* Send the error on top of the stack as an ERR frame (bounded length).
 * Past the deadline every failure is reported as the timeout it is: on a
 * loaded machine the allocator's grace can run out before the interpreter
 * builds its own timeout error, and "alloc failed" would then mislead. */
static void
send_error (duk_context *ctx, const struct rt *rt)
{
  const char *msg = rt->armed && past_deadline (rt, 0)
                        ? "RangeError: execution timeout"
                        : duk_safe_to_string (ctx, -1);
  size_t len = strlen (msg);
  struct sb_field f = { msg, (uint32_t)(len > MSG_MAX ? MSG_MAX : len) };
  send_frame (SB_MSG_ERR, &f, 1);
}

/* __moat_host(name, ...args): ask the parent; returns its JSON answer
 * decoded, throws its error.  The parent decides which names exist. */
static duk_ret_t
host_call (duk_context *ctx)
{
  duk_idx_t n = duk_get_top (ctx);
  duk_memory_functions mf;
  duk_get_memory_functions (ctx, &mf);
  /* A script calling back in a tight loop runs few bytecodes per second:
   * check the deadline here too, not only at the interpreter's interrupt. */
  if (moat_duk_exec_timeout_check (mf.udata))
    return duk_error (ctx, DUK_ERR_RANGE_ERROR, "execution timeout");
  const char *name = duk_require_string (ctx, 0);
  duk_push_array (ctx);
  for (duk_idx_t i = 1; i < n; i++)
    {
      duk_dup (ctx, i);
      duk_put_prop_index (ctx, -2, (duk_uarridx_t)(i - 1));
    }
  duk_size_t alen;
  duk_json_encode (ctx, -1);
  const char *args = duk_get_lstring (ctx, -1, &alen);
  struct sb_field out[2]
      = { { name, (uint32_t)strlen (name) }, { args, (uint32_t)alen } };
  send_frame (SB_MSG_HOST, out, 2);

  uint8_t *payload = NULL;
  uint8_t type;
  struct sb_field f[SB_FIELDS_MAX];
  int nf = recv_frame (mf.udata, &payload, f, SB_FIELDS_MAX, &type);
  if (nf != 1 || (type != SB_MSG_HOST_OK && type != SB_MSG_HOST_ERR))
    _exit (2);
  /* Copy into the heap before anything that can throw (longjmp), so the
   * frame buffer is never leaked. */
  duk_push_lstring (ctx, f[0].p, f[0].len);
  free (payload);
  if (type == SB_MSG_HOST_ERR)
    return duk_error (ctx, DUK_ERR_ERROR, "%s", duk_get_string (ctx, -1));
  duk_json_decode (ctx, -1);
  return 1;
}

/* Length of the UTF-8 sequence starting with byte c (1 for stray bytes). */
static size_t
u8len (unsigned char c)
{
  return c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

/* __moat_glob(str, pattern): shell-expression match, "*" any run, "?" one
 * character, everything else literal.  One backtrack point, so
 * O(len(str) * len(pattern)) at worst: no catastrophic patterns.  Native
 * because the PAC helper shExpMatch is the hot path of most PAC files. */
static duk_ret_t
glob_match (duk_context *ctx)
{
  duk_size_t sl, pl;
  const unsigned char *s
      = (const unsigned char *)duk_safe_to_lstring (ctx, 0, &sl);
  const unsigned char *p
      = (const unsigned char *)duk_safe_to_lstring (ctx, 1, &pl);
  size_t i = 0, j = 0, star = SIZE_MAX, mark = 0;
  while (i < sl)
    {
      if (j < pl && p[j] == '*')
        {
          star = j++;
          mark = i;
        }
      else if (j < pl && p[j] == '?')
        {
          i += u8len (s[i]);
          j++;
        }
      else if (j < pl && p[j] == s[i])
        {
          i++;
          j++;
        }
      else if (star != SIZE_MAX)
        {
          j = star + 1;
          mark += u8len (s[mark]);
          i = mark;
        }
      else
        {
          duk_push_false (ctx);
          return 1;
        }
    }
  while (j < pl && p[j] == '*')
    j++;
  duk_push_boolean (ctx, i == sl && j == pl);
  return 1;
}

struct call_args
{
  const char *fn;
  const char *args;
  size_t args_len;
};

static duk_ret_t
do_call (duk_context *ctx, void *udata)
{
  struct call_args *a = udata;
  if (!duk_get_global_string (ctx, a->fn) || !duk_is_function (ctx, -1))
    return duk_error (ctx, DUK_ERR_TYPE_ERROR, "%s is not a function", a->fn);
  duk_push_lstring (ctx, a->args, a->args_len);
  duk_json_decode (ctx, -1);
  if (!duk_is_array (ctx, -1))
    return duk_error (ctx, DUK_ERR_TYPE_ERROR, "arguments must be an array");
  duk_idx_t arr = duk_get_top_index (ctx);
  duk_size_t n = duk_get_length (ctx, arr);
  if (n > CALL_ARGS_MAX)
    return duk_error (ctx, DUK_ERR_RANGE_ERROR, "too many arguments");
  for (duk_size_t i = 0; i < n; i++)
    duk_get_prop_index (ctx, arr, (duk_uarridx_t)i);
  duk_remove (ctx, arr);
  duk_call (ctx, (duk_idx_t)n);
  if (duk_is_undefined (ctx, -1))
    {
      duk_pop (ctx);
      duk_push_string (ctx, "null");
      return 1;
    }
  duk_json_encode (ctx, -1);
  if (!duk_is_string (ctx, -1))
    {
      duk_pop (ctx);
      duk_push_string (ctx, "null");
    }
  return 1;
}

static duk_ret_t
do_load (duk_context *ctx, void *udata)
{
  struct sb_field *f = udata; /* name, source */
  duk_push_lstring (ctx, f[1].p, f[1].len);
  duk_push_lstring (ctx, f[0].p, f[0].len);
  duk_compile (ctx, 0);
  duk_call (ctx, 0);
  return 0;
}

static unsigned long
parse_ms (const struct sb_field *f)
{
  char *end;
  errno = 0;
  unsigned long v = strtoul (f->p, &end, 10);
  if (errno || *end || f->len == 0 || v > 600000)
    return 600000;
  return v;
}

static void
serve (duk_context *ctx, struct rt *rt)
{
  for (;;)
    {
      uint8_t *payload = NULL;
      uint8_t type;
      struct sb_field f[SB_FIELDS_MAX];
      int nf = recv_frame (rt, &payload, f, SB_FIELDS_MAX, &type);

      if (type == SB_MSG_LOAD && nf == 3)
        {
          arm (rt, parse_ms (&f[2]));
          if (duk_safe_call (ctx, do_load, f, 0, 1) != DUK_EXEC_SUCCESS)
            send_error (ctx, rt);
          else
            send_frame (SB_MSG_OK, NULL, 0);
        }
      else if (type == SB_MSG_CALL && nf == 3)
        {
          struct call_args a = { f[0].p, f[1].p, f[1].len };
          arm (rt, parse_ms (&f[2]));
          if (duk_safe_call (ctx, do_call, &a, 0, 1) != DUK_EXEC_SUCCESS)
            send_error (ctx, rt);
          else
            {
              duk_size_t len;
              const char *s = duk_get_lstring (ctx, -1, &len);
              if (len > RESULT_MAX)
                send_str (SB_MSG_ERR, "RangeError: result too large");
              else
                {
                  struct sb_field r = { s, (uint32_t)len };
                  send_frame (SB_MSG_OK, &r, 1);
                }
            }
        }
      else
        _exit (2); /* the parent never sends anything else */
      rt->armed = false;
      duk_pop (ctx);
      free (payload);
      /* After a request that left the heap large, collect now so that its
       * garbage does not count against the next request's cap.  Not after
       * every request: a full mark-and-sweep costs more than a decision. */
      if (rt->used > rt->cap / 4)
        duk_gc (ctx, 0);
    }
}

/* Things that would otherwise make syscalls lazily, after seccomp is on:
 * time zone loading (TZ pinned so mktime never re-stats /etc/localtime),
 * date parsing and formatting, regexps. */
static int
warm_up (duk_context *ctx)
{
  if (getenv ("TZ") == NULL && setenv ("TZ", ":/etc/localtime", 1) < 0)
    return -1;
  tzset ();
  static const char js[]
      = "var d = new Date(); d.getTimezoneOffset(); d.toString();"
        "d.toLocaleString(); Date.parse('Tue, 01 Jan 2030 10:00:00 GMT');"
        "new Date(2030, 0, 1, 0, 0, 0).getTime(); Math.random();"
        "/a+b?/i.test('AAb'); JSON.stringify(JSON.parse('{\"a\":[1]}'));"
        "'x'.localeCompare('y'); (1.5).toFixed(2); String(1e21);";
  if (duk_peval_string (ctx, js) != 0)
    return -1;
  duk_pop (ctx);
  return 0;
}

void
sandbox_limits_default (struct sandbox_limits *l)
{
  l->heap_bytes = SANDBOX_DEFAULT_HEAP;
  l->address_space = SANDBOX_DEFAULT_AS;
#if defined(__SANITIZE_ADDRESS__)
  l->address_space = 0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  l->address_space = 0;
#endif
#endif
  l->cpu_seconds = SANDBOX_DEFAULT_CPU;
}

static int
apply_rlimits (const struct sandbox_limits *l, moat_error_t *err)
{
  struct rlimit r;
  if (l->address_space)
    {
      r.rlim_cur = r.rlim_max = l->address_space;
      if (setrlimit (RLIMIT_AS, &r) < 0)
        return moat_error (err, errno, "setrlimit RLIMIT_AS");
    }
  if (l->cpu_seconds)
    {
      /* Soft limit: SIGXCPU (fatal by default); hard: SIGKILL a second on. */
      r.rlim_cur = l->cpu_seconds;
      r.rlim_max = l->cpu_seconds + 1;
      if (setrlimit (RLIMIT_CPU, &r) < 0)
        return moat_error (err, errno, "setrlimit RLIMIT_CPU");
    }
  r.rlim_cur = r.rlim_max = 0;
  if (setrlimit (RLIMIT_CORE, &r) < 0 || setrlimit (RLIMIT_FSIZE, &r) < 0)
    return moat_error (err, errno, "setrlimit");
  return 0;
}

/* Started by root (moatd), become SANDBOX_UID/GID with no supplementary
 * groups before any JavaScript runs: script that escapes Duktape and the
 * seccomp filter is then nobody, not root.  Changing every uid from 0
 * clears all capabilities (no SECBIT_KEEP_CAPS); no_new_privs follows with
 * the seccomp filter.  Not root (moat run by a user): nothing to drop. */
static int
drop_root (moat_error_t *err)
{
  uid_t r, e, s;

  if (getresuid (&r, &e, &s) < 0)
    return moat_error (err, errno, "getresuid");
  if (r != 0 && e != 0 && s != 0)
    return 0;
  if (setgroups (0, NULL) < 0)
    return moat_error (err, errno, "drop supplementary groups");
  if (setresgid (SANDBOX_GID, SANDBOX_GID, SANDBOX_GID) < 0)
    return moat_error (err, errno, "setresgid %u", (unsigned)SANDBOX_GID);
  if (setresuid (SANDBOX_UID, SANDBOX_UID, SANDBOX_UID) < 0)
    return moat_error (err, errno, "setresuid %u", (unsigned)SANDBOX_UID);
  /* Make sure it sticks: no way back to 0. */
  if (setresuid (0, 0, 0) == 0 || geteuid () == 0 || getegid () == 0)
    return moat_error (err, EPERM, "could not leave root");
  return 0;
}

int
sandbox_run (const struct sandbox_limits *limits, moat_error_t *err)
{
  struct rt rt = { .cap = limits->heap_bytes };
  duk_context *ctx;

  if (drop_root (err) < 0)
    return -1;
  /* No core dumps of a heap full of policy, no ptrace by same-uid peers.
   * After drop_root: a change of uid resets the flag. */
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    return moat_error (err, errno, "clear dumpable");
  ctx = duk_create_heap (cap_alloc, cap_realloc, cap_free, &rt, fatal_handler);
  if (ctx == NULL)
    return moat_error (err, ENOMEM, "create duktape heap");
  duk_push_c_function (ctx, host_call, DUK_VARARGS);
  duk_put_global_string (ctx, "__moat_host");
  duk_push_c_function (ctx, glob_match, 2);
  duk_put_global_string (ctx, "__moat_glob");
  if (warm_up (ctx) < 0)
    return moat_error (err, 0, "warm up the interpreter");
  if (apply_rlimits (limits, err) < 0)
    return -1;
  /* Whatever the parent leaked to us is gone before untrusted code runs. */
  if (close_range (3, ~0u, 0) < 0)
    return moat_error (err, errno, "close inherited descriptors");
  if (sandbox_seccomp_install (err) < 0)
    return -1;
  send_frame (SB_MSG_READY, NULL, 0);
  serve (ctx, &rt);
  return 0;
}
