/* Forward mode for plain HTTP through an HTTP proxy: the container's
 * request stream rewritten to what a browser sends a proxy.
 *
 * A container that connects to port 80 speaks origin-form HTTP/1.x
 * ("GET /path HTTP/1.1").  Many corporate proxies refuse CONNECT to port
 * 80, so the guard sends such a connection to the proxy in absolute form
 * ("GET http://authority/path HTTP/1.1") with the proxy's credentials in
 * Proxy-Authorization.  The rewriter sees every byte the container sends,
 * request after request (keep-alive, pipelining), and passes bodies
 * (Content-Length or chunked) through untouched.
 *
 * Security: the rewriter decides where the proxy goes, so it must frame
 * the stream exactly as the proxy will.  The authority is fixed for the
 * connection (the verified name or the destination address the policy
 * decided on), never taken from a request's Host header, and anything
 * whose framing a proxy could read differently is refused rather than
 * guessed: bare CR or LF, obs-fold, a target not in origin form (an
 * absolute-form request would pick its own destination), several or
 * non-numeric Content-Length, Transfer-Encoding other than a lone
 * "chunked" (or with HTTP/1.0, or beside Content-Length), malformed chunk
 * lines, a Connection header naming a framing header, Upgrade (after a
 * 101 the stream is no longer HTTP and could carry raw requests to the
 * proxy).  A Proxy-Authorization the container sends is removed: only the
 * configured credentials reach the proxy.
 *
 * Pure code over bytes (fuzzed by tests/fuzz/fuzz_httpfwd.c); the guard
 * does the I/O. */
#ifndef MOAT_NET_HTTPFWD_H
#define MOAT_NET_HTTPFWD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A request head (request line and header fields) larger than this is
 * refused. */
#define NET_HTTPFWD_HEAD_MAX 16384
/* A chunk-size or trailer line longer than this is refused. */
#define NET_HTTPFWD_LINE_MAX 1024

enum net_httpfwd_state
{
  HF_HEAD,
  HF_BODY,
  HF_CHUNK_SIZE,
  HF_CHUNK_DATA,
  HF_CHUNK_CRLF,
  HF_TRAILER,
  HF_FAILED,
};

struct net_httpfwd
{
  enum net_httpfwd_state state;
  char authority[300]; /* "example.com", "10.0.0.1:8080", "[2001:db8::1]" */
  char auth[720];      /* "Proxy-Authorization: ...\r\n" or "" */
  uint64_t remain;     /* body or chunk bytes still to pass */
  unsigned requests;   /* heads rewritten so far */
  size_t head_len;
  size_t line_len;
  size_t outq_len, outq_off;
  char error[160];
  uint8_t head[NET_HTTPFWD_HEAD_MAX];
  uint8_t line[NET_HTTPFWD_LINE_MAX];
  /* Rewritten head waiting for room in the caller's buffer. */
  uint8_t outq[NET_HTTPFWD_HEAD_MAX + 1200];
};

/* host: a name or an address (IPv6 gets brackets); port 80 is left out of
 * the authority.  user may be NULL (no credentials).  Returns -1 when the
 * host or the credentials cannot be written into a request. */
int net_httpfwd_init (struct net_httpfwd *f, const char *host, uint16_t port,
                      const char *user, const char *pass);

/* Take up to len bytes the container sent; write the bytes for the proxy
 * into out (at most out_cap; *out_len set).  Returns how many input bytes
 * were taken (all of them unless out filled up: call again once out is
 * sent), or -1 when the stream is refused (f->error says why; every later
 * call fails too). */
ssize_t net_httpfwd_feed (struct net_httpfwd *f, const uint8_t *in, size_t len,
                          uint8_t *out, size_t out_cap, size_t *out_len);

#endif
