/* The framed protocol between moat and moat-sandbox.
 *
 * A frame is an 8-byte header (payload length, little-endian u32; type u8;
 * three zero bytes) and a payload of fields, each a little-endian u32 length
 * and that many bytes.  Both ends bound every length before allocating: the
 * parent treats the sandbox as hostile, so a bad frame from it is a protocol
 * violation that gets the sandbox killed, never a crash of the parent.
 *
 *   parent → sandbox                  sandbox → parent
 *   LOAD  name, source, timeout_ms    READY                 (once, after init)
 *   CALL  fn, args_json, timeout_ms   OK    [result_json]   (reply to
 * LOAD/CALL) HOST_OK  result_json              ERR   message HOST_ERR message
 * HOST  name, args_json (during a CALL)
 */
#ifndef MOAT_SANDBOX_PROTO_H
#define MOAT_SANDBOX_PROTO_H

#include <stddef.h>
#include <stdint.h>

enum sandbox_msg
{
  SB_MSG_LOAD = 1,
  SB_MSG_CALL = 2,
  SB_MSG_HOST_OK = 3,
  SB_MSG_HOST_ERR = 4,
  SB_MSG_READY = 16,
  SB_MSG_OK = 17,
  SB_MSG_ERR = 18,
  SB_MSG_HOST = 19,
};

#define SB_FRAME_HDR 8
/* Largest payload either side accepts: a 1 MB PAC plus slack. */
#define SB_FRAME_MAX (4u << 20)
#define SB_FIELDS_MAX 4

struct sb_field
{
  const char *p; /* points into the frame buffer; NUL-terminated there */
  uint32_t len;
};

/* Encode a frame into a new buffer (*out, *outlen).  Returns -1 on ENOMEM or
 * when the payload would exceed SB_FRAME_MAX. */
int sb_frame_encode (uint8_t type, const struct sb_field *fields, size_t n,
                     uint8_t **out, size_t *outlen);

/* Parse a header: payload length and type; -1 if the length is over
 * SB_FRAME_MAX or the reserved bytes are not zero. */
int sb_header_parse (const uint8_t hdr[SB_FRAME_HDR], uint32_t *len,
                     uint8_t *type);

/* Split a payload into fields.  The payload buffer must have one spare byte
 * after len bytes; fields are NUL-terminated in place (each field's length
 * prefix is overwritten by the previous field's terminator, so the payload is
 * consumed).  Returns the number of fields or -1 when malformed. */
int sb_payload_fields (uint8_t *payload, uint32_t len, struct sb_field *f,
                       size_t max);

#endif
