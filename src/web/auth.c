/* Tickets and sessions of the dashboard (auth.h). */
#include "auth.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

void
web_auth_init (struct web_auth *a, uint64_t ticket_ttl_us,
               uint64_t session_ttl_us)
{
  memset (a, 0, sizeof *a);
  a->ticket_ttl_us = ticket_ttl_us;
  a->session_ttl_us = session_ttl_us;
}

int
web_token (char out[WEB_TOKEN_LEN + 1])
{
  static const char hex[] = "0123456789abcdef";
  unsigned char raw[WEB_TOKEN_LEN / 2];
  size_t got = 0;
  while (got < sizeof raw)
    {
      ssize_t n = getrandom (raw + got, sizeof raw - got, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return -1;
      got += (size_t)n;
    }
  for (size_t i = 0; i < sizeof raw; i++)
    {
      out[2 * i] = hex[raw[i] >> 4];
      out[2 * i + 1] = hex[raw[i] & 15];
    }
  out[WEB_TOKEN_LEN] = '\0';
  return 0;
}

/* Equal, in time that depends only on the length. */
static bool
token_equal (const char *stored, const char *given)
{
  unsigned char diff = 0;
  size_t n = strnlen (given, WEB_TOKEN_LEN + 1);
  if (n != WEB_TOKEN_LEN)
    return false;
  for (size_t i = 0; i < WEB_TOKEN_LEN; i++)
    diff |= (unsigned char)(stored[i] ^ given[i]);
  return diff == 0;
}

static void
sweep_table (struct web_token_entry *t, size_t *n, uint64_t now_us)
{
  size_t k = 0;
  for (size_t i = 0; i < *n; i++)
    if (t[i].expires_us > now_us)
      t[k++] = t[i];
  for (size_t i = k; i < *n; i++)
    memset (&t[i], 0, sizeof t[i]);
  *n = k;
}

void
web_auth_sweep (struct web_auth *a, uint64_t now_us)
{
  sweep_table (a->tickets, &a->n_tickets, now_us);
  sweep_table (a->sessions, &a->n_sessions, now_us);
}

static int
add (struct web_token_entry *t, size_t *n, size_t max, uid_t uid,
     uint64_t now_us, uint64_t ttl_us, char out[WEB_TOKEN_LEN + 1])
{
  size_t slot;
  sweep_table (t, n, now_us);
  if (*n < max)
    slot = (*n)++;
  else
    {
      slot = 0;
      for (size_t i = 1; i < *n; i++)
        if (t[i].expires_us < t[slot].expires_us)
          slot = i;
    }
  if (web_token (out) < 0)
    return -1;
  memcpy (t[slot].tok, out, WEB_TOKEN_LEN + 1);
  t[slot].uid = uid;
  t[slot].expires_us = now_us + ttl_us;
  return 0;
}

/* The index of tok (every entry compared), or -1. */
static long
find (const struct web_token_entry *t, size_t n, const char *tok,
      uint64_t now_us)
{
  long hit = -1;
  for (size_t i = 0; i < n; i++)
    if (token_equal (t[i].tok, tok) && t[i].expires_us > now_us)
      hit = (long)i;
  return hit;
}

static void
remove_at (struct web_token_entry *t, size_t *n, size_t i)
{
  t[i] = t[*n - 1];
  memset (&t[*n - 1], 0, sizeof t[0]);
  (*n)--;
}

int
web_auth_ticket_new (struct web_auth *a, uid_t uid, uint64_t now_us,
                     char out[WEB_TOKEN_LEN + 1])
{
  return add (a->tickets, &a->n_tickets, WEB_MAX_TICKETS, uid, now_us,
              a->ticket_ttl_us, out);
}

int
web_auth_ticket_take (struct web_auth *a, const char *tok, uint64_t now_us,
                      uid_t *uid)
{
  long i = find (a->tickets, a->n_tickets, tok, now_us);
  if (i < 0)
    return -1;
  *uid = a->tickets[i].uid;
  remove_at (a->tickets, &a->n_tickets, (size_t)i);
  return 0;
}

int
web_auth_session_new (struct web_auth *a, uid_t uid, uint64_t now_us,
                      char out[WEB_TOKEN_LEN + 1])
{
  return add (a->sessions, &a->n_sessions, WEB_MAX_SESSIONS, uid, now_us,
              a->session_ttl_us, out);
}

int
web_auth_session_find (struct web_auth *a, const char *tok, uint64_t now_us,
                       uid_t *uid)
{
  long i = find (a->sessions, a->n_sessions, tok, now_us);
  if (i < 0)
    return -1;
  *uid = a->sessions[i].uid;
  return 0;
}

void
web_auth_session_drop (struct web_auth *a, const char *tok)
{
  long i = find (a->sessions, a->n_sessions, tok, 0);
  if (i >= 0)
    remove_at (a->sessions, &a->n_sessions, (size_t)i);
}
