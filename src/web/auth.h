/* The dashboard's tickets and sessions (web.h), in memory: moatd forgets
 * them when it stops, and the user runs `moat dashboard` again.
 *
 * A token is 256 random bits in hex.  Lookups compare every stored token
 * in constant time per token (no early exit on the first differing byte).
 * Times are CLOCK_MONOTONIC microseconds, passed in (tests choose them). */
#ifndef MOAT_WEB_AUTH_H
#define MOAT_WEB_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WEB_TOKEN_LEN 64 /* hex characters */
#define WEB_MAX_TICKETS 64
#define WEB_MAX_SESSIONS 128

struct web_token_entry
{
  char tok[WEB_TOKEN_LEN + 1];
  uid_t uid;
  uint64_t expires_us;
};

struct web_auth
{
  uint64_t ticket_ttl_us, session_ttl_us;
  struct web_token_entry tickets[WEB_MAX_TICKETS];
  size_t n_tickets;
  struct web_token_entry sessions[WEB_MAX_SESSIONS];
  size_t n_sessions;
};

void web_auth_init (struct web_auth *a, uint64_t ticket_ttl_us,
                    uint64_t session_ttl_us);

/* 256 random bits (getrandom) as hex.  -1 with errno when the kernel has
 * none to give. */
int web_token (char out[WEB_TOKEN_LEN + 1]);

/* A new ticket for uid.  When the table is full, the entry closest to
 * expiry is replaced. */
int web_auth_ticket_new (struct web_auth *a, uid_t uid, uint64_t now_us,
                         char out[WEB_TOKEN_LEN + 1]);
/* Trade a ticket: 0 and *uid when it is known and unexpired (it is then
 * gone: single use), -1 otherwise (unknown, expired or already used). */
int web_auth_ticket_take (struct web_auth *a, const char *tok, uint64_t now_us,
                          uid_t *uid);

int web_auth_session_new (struct web_auth *a, uid_t uid, uint64_t now_us,
                          char out[WEB_TOKEN_LEN + 1]);
/* The session's uid: 0, or -1 when unknown or expired. */
int web_auth_session_find (struct web_auth *a, const char *tok,
                           uint64_t now_us, uid_t *uid);
void web_auth_session_drop (struct web_auth *a, const char *tok);
/* Forget expired tickets and sessions. */
void web_auth_sweep (struct web_auth *a, uint64_t now_us);

#endif
