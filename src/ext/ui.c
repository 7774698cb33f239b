/* Extension UIs: installed files, storage generation, backend calls
 * (ui.h, docs/extensions.md "The UI"). */
#include "ext/ui.h"

#include <errno.h>
#include <fcntl.h>
#include <llhttp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <linux/openat2.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/clock.h"
#include "ext/metadata.h"

#define RECORD_MAX (64 * 1024)

bool
ext_ui_name_p (const char *name)
{
  size_t n = name != NULL ? strlen (name) : 0;
  if (n == 0 || n > EXT_NAME_MAX || name[0] == '-' || name[n - 1] == '-')
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((name[i] >= 'a' && name[i] <= 'z')
          || (name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
      return false;
  return true;
}

/* The extension's directory, opened without following a link. */
static int
ext_dir (const char *dir, const char *name)
{
  cleanup_close int dfd = -1;
  if (!ext_ui_name_p (name))
    {
      errno = ENOENT;
      return -1;
    }
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0)
    return -1;
  return openat (dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static json_t *
read_json_at (int dfd, const char *leaf)
{
  char buf[RECORD_MAX];
  cleanup_close int fd = openat (dfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  ssize_t n;
  if (fd < 0 || (n = read (fd, buf, sizeof buf)) < 0)
    return NULL;
  return json_loadb (buf, (size_t)n, 0, NULL);
}

/* The generation file: read, or made (O_EXCL: two first calls agree). */
static int
generation (int efd, char out[EXT_UI_GEN_LEN + 1])
{
  static const char hex[] = "0123456789abcdef";
  unsigned char rnd[EXT_UI_GEN_LEN / 2];
  for (int attempt = 0; attempt < 2; attempt++)
    {
      cleanup_close int fd
          = openat (efd, "ui-generation", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0)
        {
          ssize_t n = read (fd, out, EXT_UI_GEN_LEN);
          if (n != EXT_UI_GEN_LEN)
            return -1;
          out[EXT_UI_GEN_LEN] = '\0';
          for (int i = 0; i < EXT_UI_GEN_LEN; i++)
            if (strchr (hex, out[i]) == NULL)
              return -1;
          return 0;
        }
      if (errno != ENOENT)
        return -1;
      if (getrandom (rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return -1;
      for (size_t i = 0; i < sizeof rnd; i++)
        {
          out[2 * i] = hex[rnd[i] >> 4];
          out[2 * i + 1] = hex[rnd[i] & 15];
        }
      out[EXT_UI_GEN_LEN] = '\0';
      cleanup_close int wfd = openat (
          efd, "ui-generation",
          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (wfd < 0)
        {
          if (errno == EEXIST)
            continue; /* made meanwhile: read it */
          return -1;
        }
      if (write (wfd, out, EXT_UI_GEN_LEN) != EXT_UI_GEN_LEN)
        {
          unlinkat (efd, "ui-generation", 0);
          return -1;
        }
      return 0;
    }
  return -1;
}

json_t *
ext_ui_info (const char *dir, const char *name)
{
  cleanup_close int efd = ext_dir (dir, name);
  char gen[EXT_UI_GEN_LEN + 1];
  json_t *rec, *ui, *out = NULL;
  const char *title, *src;
  if (efd < 0)
    return NULL;
  rec = read_json_at (efd, "extension.json");
  ui = json_object_get (rec, "ui");
  title = json_string_value (json_object_get (ui, "title"));
  src = json_string_value (json_object_get (ui, "src"));
  if (title != NULL && src != NULL && generation (efd, gen) == 0)
    {
      while (src[0] == '/')
        src++;
      out = json_pack ("{s:s, s:s, s:s, s:s}", "name", name, "title", title,
                       "src", src, "generation", gen);
    }
  json_decref (rec);
  return out;
}

json_t *
ext_ui_list (const char *dir)
{
  json_t *out = json_array ();
  cleanup_close int dfd
      = open (dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *d;
  struct dirent *de;
  if (out == NULL || dfd < 0 || (d = fdopendir (dfd)) == NULL)
    return out;
  dfd = -1; /* the DIR has it */
  while ((de = readdir (d)) != NULL)
    {
      json_t *i;
      if (!ext_ui_name_p (de->d_name))
        continue;
      i = ext_ui_info (dir, de->d_name);
      if (i != NULL)
        json_array_append_new (out, i);
    }
  closedir (d);
  return out;
}

int
ext_ui_open (const char *dir, const char *name, const char *rel, int *fd,
             size_t *size)
{
  struct open_how how = {
    .flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS
               | RESOLVE_NO_XDEV,
  };
  cleanup_close int efd = -1, ufd = -1, f = -1;
  struct stat st;
  const char *p;

  *fd = -1;
  /* no empty, "." or ".." component, no backslash, nothing absolute */
  if (rel == NULL || rel[0] == '\0' || rel[0] == '/' || strlen (rel) > 1024
      || strchr (rel, '\\') != NULL)
    goto enoent;
  for (p = rel; *p != '\0';)
    {
      size_t n = strcspn (p, "/");
      if (n == 0 || (n == 1 && p[0] == '.')
          || (n == 2 && p[0] == '.' && p[1] == '.'))
        goto enoent;
      for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
          goto enoent;
      p += n;
      if (*p == '/')
        p++;
    }
  efd = ext_dir (dir, name);
  if (efd < 0)
    goto enoent;
  ufd = openat (efd, "ui", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (ufd < 0)
    goto enoent;
  f = (int)syscall (SYS_openat2, ufd, rel, &how, sizeof how);
  if (f < 0 || fstat (f, &st) < 0 || !S_ISREG (st.st_mode))
    goto enoent;
  if (st.st_size > EXT_UI_MAX_FILE)
    {
      errno = EFBIG;
      return -1;
    }
  *size = (size_t)st.st_size;
  *fd = f;
  f = -1;
  return 0;
enoent:
  errno = ENOENT;
  return -1;
}

/* ---- calls to the backend ---- */

/* Can moatd connect to the socket at path (ext_backend_socket's form,
 * /proc/PID/root/REST)?  REST is resolved inside the container's root
 * (openat2 RESOLVE_IN_ROOT): through /proc/PID/root alone, an absolute
 * symlink the backend planted would be followed from moatd's root, to a
 * host socket such as the raw engine's.  The socket is then reached
 * through the descriptor (/proc/self/fd/N), not the path. */
int
ext_socket_open (const char *path)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  struct open_how how = {
    .flags = O_PATH | O_CLOEXEC,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  const char *rest = strstr (path, "/root/");
  cleanup_free char *root = NULL;
  cleanup_close int rfd = -1, sfd = -1;
  cleanup_close int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct stat st;
  int ret;
  if (fd < 0 || rest == NULL
      || (root = strndup (path, (size_t)(rest - path) + 5)) == NULL)
    return -1;
  rfd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0)
    return -1;
  sfd = (int)syscall (SYS_openat2, rfd, rest + 6, &how, sizeof how);
  if (sfd < 0 || fstat (sfd, &st) < 0 || !S_ISSOCK (st.st_mode))
    return -1;
  snprintf (sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d", sfd);
  if (connect (fd, (struct sockaddr *)&sa, sizeof sa) < 0)
    return -1;
  ret = fd;
  fd = -1;
  return ret;
}

void
ext_reply_free (struct ext_reply *r)
{
  free (r->body);
  r->body = NULL;
  r->len = 0;
}

struct resp
{
  struct ext_reply *out;
  bool in_ctype;
  bool field_ctype;
  size_t cap;
  bool too_big;
  bool done;
};

static int
r_field (llhttp_t *p, const char *at, size_t len)
{
  struct resp *r = p->data;
  r->field_ctype = len == 12 && strncasecmp (at, "content-type", 12) == 0;
  return 0;
}

static int
r_value (llhttp_t *p, const char *at, size_t len)
{
  struct resp *r = p->data;
  size_t have;
  if (!r->field_ctype)
    return 0;
  have = strlen (r->out->ctype);
  if (have + len < sizeof r->out->ctype)
    {
      memcpy (r->out->ctype + have, at, len);
      r->out->ctype[have + len] = '\0';
    }
  return 0;
}

static int
r_body (llhttp_t *p, const char *at, size_t len)
{
  struct resp *r = p->data;
  struct ext_reply *o = r->out;
  if (o->len + len > EXT_CALL_MAX_REPLY)
    {
      r->too_big = true;
      return -1;
    }
  if (o->len + len + 1 > r->cap)
    {
      size_t cap = r->cap ? r->cap : 4096;
      char *nb;
      while (cap < o->len + len + 1)
        cap *= 2;
      if ((nb = realloc (o->body, cap)) == NULL)
        return -1;
      o->body = nb;
      r->cap = cap;
    }
  memcpy (o->body + o->len, at, len);
  o->len += len;
  o->body[o->len] = '\0';
  return 0;
}

static int
r_done (llhttp_t *p)
{
  struct resp *r = p->data;
  r->done = true;
  return HPE_PAUSED;
}

static bool
method_ok (const char *m)
{
  static const char *const ok[]
      = { "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD" };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
    if (strcmp (m, ok[i]) == 0)
      return true;
  return false;
}

static bool
path_ok (const char *p)
{
  if (p == NULL || p[0] != '/' || strlen (p) > 2048)
    return false;
  for (; *p; p++)
    if ((unsigned char)*p <= 0x20 || *p == 0x7f)
      return false;
  return true;
}

/* Wait for fd to be ready for events until deadline: 0, or -1 (ETIMEDOUT). */
static int
wait_fd (int fd, short events, int64_t deadline)
{
  for (;;)
    {
      int64_t left = deadline - moat_mono_ms ();
      struct pollfd pfd = { .fd = fd, .events = events };
      int n;
      if (left <= 0)
        {
          errno = ETIMEDOUT;
          return -1;
        }
      n = poll (&pfd, 1, (int)left);
      if (n > 0)
        return 0;
      if (n < 0 && errno != EINTR)
        return -1;
    }
}

int
ext_backend_call (const struct ext_ctx *c, const char *name,
                  const char *method, const char *path, const char *ctype,
                  const void *body, size_t len, int timeout_ms,
                  struct ext_reply *out, moat_error_t *err)
{
  char sock[160], chunk[16384];
  cleanup_free char *head = NULL;
  cleanup_close int fd = -1;
  int64_t deadline = moat_mono_ms () + timeout_ms;
  llhttp_settings_t set;
  llhttp_t p;
  struct resp r = { .out = out };
  size_t off = 0, hl;
  int hn;

  memset (out, 0, sizeof *out);
  if (!method_ok (method))
    return moat_error (err, EINVAL, "method `%s` is not allowed", method);
  if (!path_ok (path))
    return moat_error (err, EINVAL,
                       "a backend path starts with / and has no spaces or "
                       "control characters");
  if (ctype != NULL && strpbrk (ctype, "\r\n") != NULL)
    return moat_error (err, EINVAL, "bad content type");
  if (ext_backend_socket (c, name, sock, sizeof sock, err) < 0)
    return -1;
  fd = ext_socket_open (sock);
  if (fd < 0)
    return moat_error (err, errno,
                       "the backend of `%s` does not answer on "
                       "its socket",
                       name);
  hn = asprintf (&head,
                 "%s %s HTTP/1.1\r\nHost: %s.ext.localhost\r\n"
                 "Connection: close\r\nContent-Length: %zu\r\n%s%s%s\r\n",
                 method, path, name, len, ctype ? "Content-Type: " : "",
                 ctype ? ctype : "", ctype ? "\r\n" : "");
  if (hn < 0)
    {
      head = NULL;
      return moat_error (err, ENOMEM, "backend call");
    }
  hl = (size_t)hn;
  if (fcntl (fd, F_SETFL, O_NONBLOCK) < 0)
    return moat_error (err, errno, "backend socket");
  /* send the head, then the body */
  for (int part = 0; part < 2; part++)
    {
      const char *b = part == 0 ? head : body;
      size_t bl = part == 0 ? hl : len;
      off = 0;
      while (off < bl)
        {
          ssize_t n = send (fd, b + off, bl - off, MSG_NOSIGNAL);
          if (n > 0)
            off += (size_t)n;
          else if (n < 0 && errno == EAGAIN)
            {
              if (wait_fd (fd, POLLOUT, deadline) < 0)
                return moat_error (err, errno, "send to the backend");
            }
          else if (n < 0 && errno != EINTR)
            return moat_error (err, errno, "send to the backend");
        }
    }
  llhttp_settings_init (&set);
  set.on_header_field = r_field;
  set.on_header_value = r_value;
  set.on_body = r_body;
  set.on_message_complete = r_done;
  llhttp_init (&p, HTTP_RESPONSE, &set);
  p.data = &r;
  while (!r.done)
    {
      ssize_t n = recv (fd, chunk, sizeof chunk, 0);
      llhttp_errno_t e;
      if (n < 0 && errno == EAGAIN)
        {
          if (wait_fd (fd, POLLIN, deadline) < 0)
            {
              ext_reply_free (out);
              return moat_error (err, ETIMEDOUT,
                                 "the backend did not answer within %d ms",
                                 timeout_ms);
            }
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          ext_reply_free (out);
          return moat_error (err, errno, "read from the backend");
        }
      e = n == 0 ? llhttp_finish (&p) : llhttp_execute (&p, chunk, (size_t)n);
      if (r.done || (n == 0 && e == HPE_OK))
        break;
      if (e != HPE_OK)
        {
          ext_reply_free (out);
          return moat_error (err, r.too_big ? EFBIG : EPROTO,
                             r.too_big ? "the backend's answer is over %d "
                                         "bytes"
                                       : "the backend's answer is not HTTP "
                                         "(%d)",
                             r.too_big ? EXT_CALL_MAX_REPLY : (int)e);
        }
      if (n == 0)
        break;
    }
  if (p.status_code < 100 || p.status_code > 599)
    {
      ext_reply_free (out);
      return moat_error (err, EPROTO, "the backend's answer is not HTTP");
    }
  out->status = p.status_code;
  if (out->body == NULL && (out->body = strdup ("")) == NULL)
    return moat_error (err, ENOMEM, "backend call");
  return 0;
}
