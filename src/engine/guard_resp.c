/* The engine guard's response side (guard_int.h): bytes from the engine
 * are forwarded unchanged; this parser only tracks message boundaries, to
 * know when a hijack (attach, exec start) really happened and when a
 * locally generated answer may be sent (never inside an engine answer). */
#include "engine/guard_int.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/log.h"

static int
on_resp_hfield (llhttp_t *p, const char *at, size_t len)
{
  struct conn *c = p->data;
  if (c->resp_in_value)
    {
      c->resp_hname_len = 0;
      c->resp_in_value = false;
      c->resp_in_ct = false;
    }
  for (size_t i = 0; i < len && c->resp_hname_len < sizeof c->resp_hname; i++)
    c->resp_hname[c->resp_hname_len++] = at[i];
  return 0;
}

static int
on_resp_hvalue (llhttp_t *p, const char *at, size_t len)
{
  struct conn *c = p->data;
  if (!c->resp_in_value)
    {
      c->resp_in_value = true;
      c->resp_in_ct = c->resp_hname_len == 12
                      && strncasecmp (c->resp_hname, "content-type", 12) == 0;
      if (c->resp_in_ct)
        c->resp_ct_len = 0;
    }
  if (c->resp_in_ct)
    for (size_t i = 0; i < len && c->resp_ct_len < sizeof c->resp_ct - 1; i++)
      c->resp_ct[c->resp_ct_len++] = at[i];
  return 0;
}

static int
on_resp_begin (llhttp_t *p)
{
  struct conn *c = p->data;
  c->resp_hname_len = 0;
  c->resp_in_value = false;
  c->resp_in_ct = false;
  c->resp_ct_len = 0;
  c->resp_informational = false;
  c->resp_mid = true;
  return 0;
}

static int
on_resp_headers_complete (llhttp_t *p)
{
  struct conn *c = p->data;
  int status = p->status_code;
  struct pending *pe;
  if (c->pend_n == 0)
    return -1; /* a response nobody asked for */
  pe = &c->pend[c->pend_head];
  pe->status = status;
  if (status >= 100 && status < 200 && status != 101)
    {
      c->resp_informational = true;
      return 0;
    }
  if (pe->hijack)
    {
      c->resp_ct[c->resp_ct_len] = '\0';
      bool raw_ct
          = strncasecmp (c->resp_ct, "application/vnd.docker.", 23) == 0
            && strstr (c->resp_ct, "-stream") != NULL;
      /* The engine took the connection over: from here on it speaks no
       * HTTP, and neither may the client. */
      if (status == 101 || (status == 200 && raw_ct))
        {
          c->raw = true;
          return 2;
        }
    }
  if (pe->head)
    return 1;
  return 0;
}

static int
on_resp_message_complete (llhttp_t *p)
{
  struct conn *c = p->data;
  c->resp_mid = false;
  if (c->resp_informational)
    return 0;
  if (c->pend_n == 0)
    return -1;
  /* Connection: close, HTTP/1.0 or an answer read to EOF: not reused */
  c->resp_keep = llhttp_should_keep_alive (p);
  bool was_hijack = c->pend[c->pend_head].hijack;
  if (c->pend[c->pend_head].prov)
    guard_prov_done (c, &c->pend[c->pend_head]);
  c->pend_head = (c->pend_head + 1) % MAX_PENDING;
  c->pend_n--;
  if (was_hijack && !c->raw && c->rs == RS_WAIT_HIJACK)
    c->rs = RS_HEAD;
  return 0;
}

static int
on_resp_body (llhttp_t *p, const char *at, size_t len)
{
  struct conn *c = p->data;
  if (!c->resp_informational && c->pend_n > 0 && c->pend[c->pend_head].prov)
    guard_prov_body (c, at, len);
  return 0;
}

void
guard_resp_settings (llhttp_settings_t *s)
{
  llhttp_settings_init (s);
  s->on_body = on_resp_body;
  s->on_message_begin = on_resp_begin;
  s->on_header_field = on_resp_hfield;
  s->on_header_value = on_resp_hvalue;
  s->on_headers_complete = on_resp_headers_complete;
  s->on_message_complete = on_resp_message_complete;
}

/* The engine's socket is readable (not hijacked). */
void
guard_engine_readable (struct conn *c)
{
  char tmp[READ_CHUNK];
  ssize_t n = recv (c->hu.fd, tmp, sizeof tmp, 0);
  if (n < 0)
    {
      if (errno != EAGAIN && errno != EINTR)
        c->dead = true;
      return;
    }
  if (n == 0)
    {
      c->uin_eof = true;
      if (!c->raw)
        llhttp_finish (&c->resp);
      return;
    }
  guard_engine_bytes (c, tmp, (size_t)n);
}

/* Bytes from the engine: track response framing, queue them for the
 * client. */
void
guard_engine_bytes (struct conn *c, const char *tmp, size_t n)
{
  if (!c->raw)
    {
      llhttp_errno_t e = llhttp_execute (&c->resp, tmp, n);
      if (e != HPE_OK && e != HPE_PAUSED_UPGRADE)
        {
          /* lost track of the engine's framing: nothing safe to do */
          log_warn ("engine guard: bad engine response: %s",
                    llhttp_errno_name (e));
          c->dead = true;
          return;
        }
      if (e == HPE_PAUSED_UPGRADE)
        {
          /* only a hijack the guard recognised may switch to raw */
          if (!c->raw)
            {
              c->dead = true;
              return;
            }
          c->rs = RS_CLOSED;
        }
    }
  if (io_buf_append (&c->cout, tmp, n) < 0)
    {
      c->dead = true;
      return;
    }
  if (c->rs == RS_WAIT_LOCAL && c->pend_n == 0)
    guard_emit_local (c);
  /* a finished response may let waiting client bytes through */
  guard_process_client (c);
}
