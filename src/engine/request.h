/* The engine guard's request side: one request head parsed with llhttp
 * into a header table, checked for a form the engine reads the same way,
 * and re-serialised (one spelling of every header, CRLF line ends, no
 * framing headers: the guard re-frames the body), plus the error answers
 * the guard writes itself.
 *
 * The parser pauses at the end of a head (HPE_PAUSED, engine_req_in_head
 * still true) and at the end of a message (HPE_PAUSED, in_head false); the
 * owner decides in between.  Body bytes go to the owner's on_body.  No I/O.
 */
#ifndef MOAT_ENGINE_REQUEST_H
#define MOAT_ENGINE_REQUEST_H

#include <llhttp.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "io/buf.h"

#define ENGINE_REQ_MAX_HEADERS 256

/* Body bytes of the current request; returns 0, or -1 to stop the parser
 * (an error). */
typedef int (*engine_req_body_fn) (void *owner, const char *at, size_t len);

struct engine_req
{
  llhttp_t p;
  engine_req_body_fn on_body;
  void *owner;
  size_t max_head;    /* bytes of the head's fields; more: head_error */
  struct io_buf hbuf; /* copies of the current head's fields */
  size_t url_off, url_len;
  size_t hname_off[ENGINE_REQ_MAX_HEADERS], hname_len[ENGINE_REQ_MAX_HEADERS];
  size_t hval_off[ENGINE_REQ_MAX_HEADERS], hval_len[ENGINE_REQ_MAX_HEADERS];
  size_t n_headers;
  bool in_value;
  bool head_error;            /* too many headers / too large */
  bool in_head;               /* the parser is inside a request head */
  bool head_started;          /* a head has begun and not been decided */
  struct timespec head_start; /* CLOCK_MONOTONIC, when it began */
  /* The request's line and framing, copied when its head is complete: the
   * parser is reset for the next request before a parked check ends, and
   * its fields then describe no request (method 0 is DELETE). */
  int method; /* llhttp_method_t, or -1 before a method was read */
  unsigned char http_major, http_minor;
  bool chunked_in; /* Transfer-Encoding: chunked */
  bool has_length; /* Content-Length given */
  uint64_t content_length;
};

void engine_req_init (struct engine_req *r, size_t max_head,
                      engine_req_body_fn on_body, void *owner);
/* A fresh parser for the next message: a "Connection: close" or upgrade
 * state of the old one must not leak into the next request.  The copied
 * line and framing stay until the next head begins. */
void engine_req_next (struct engine_req *r);
void engine_req_free (struct engine_req *r);

/* The request-URI as received (malloc'd; NULL when out of memory). */
char *engine_req_url (const struct engine_req *r);
/* Header names are RFC 9110 tokens and values free of control bytes. */
bool engine_req_headers_valid (const struct engine_req *r);
/* Chunked, or a Content-Length > 0. */
bool engine_req_has_body (const struct engine_req *r);
/* The first Content-Type value whose media type (as Go's net/http reads
 * it) makes the engine parse the body as form fields and merge them into
 * the query: application/x-www-form-urlencoded, multipart/form-data.
 * malloc'd; NULL when there is none (or out of memory). */
char *engine_req_form_type (const struct engine_req *c);
/* Append the head to out without framing headers (Content-Length,
 * Transfer-Encoding) nor Expect, and without the blank line; uri replaces
 * the request-URI when not NULL.  0, or -1 with errno. */
int engine_req_write_head (const struct engine_req *r, struct io_buf *out,
                           const char *uri) IO_MUST_CHECK;

/* The complete HTTP answer for an error, the way the engine writes its
 * own: JSON body {"message": "..."}; to a HEAD request, the head alone.
 * 0, or -1 with errno. */
int engine_error_answer (struct io_buf *out, int status, const char *message,
                         bool close, bool head) IO_MUST_CHECK;

#endif
