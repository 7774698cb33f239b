#include "sandbox/proto.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void
put_u32 (uint8_t *p, uint32_t v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
}

static uint32_t
get_u32 (const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16
         | (uint32_t)p[3] << 24;
}

int
sb_frame_encode (uint8_t type, const struct sb_field *fields, size_t n,
                 uint8_t **out, size_t *outlen)
{
  size_t payload = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (fields[i].len > SB_FRAME_MAX)
        return -1;
      payload += 4 + (size_t)fields[i].len;
    }
  if (payload > SB_FRAME_MAX)
    {
      errno = EMSGSIZE;
      return -1;
    }
  uint8_t *buf = malloc (SB_FRAME_HDR + payload);
  if (buf == NULL)
    return -1;
  put_u32 (buf, (uint32_t)payload);
  buf[4] = type;
  buf[5] = buf[6] = buf[7] = 0;
  uint8_t *p = buf + SB_FRAME_HDR;
  for (size_t i = 0; i < n; i++)
    {
      put_u32 (p, fields[i].len);
      if (fields[i].len)
        memcpy (p + 4, fields[i].p, fields[i].len);
      p += 4 + fields[i].len;
    }
  *out = buf;
  *outlen = SB_FRAME_HDR + payload;
  return 0;
}

int
sb_header_parse (const uint8_t hdr[SB_FRAME_HDR], uint32_t *len, uint8_t *type)
{
  uint32_t l = get_u32 (hdr);
  if (l > SB_FRAME_MAX || hdr[5] || hdr[6] || hdr[7])
    return -1;
  *len = l;
  *type = hdr[4];
  return 0;
}

int
sb_payload_fields (uint8_t *payload, uint32_t len, struct sb_field *f,
                   size_t max)
{
  uint32_t off = 0;
  size_t n = 0;
  while (off < len)
    {
      if (n == max || len - off < 4)
        return -1;
      uint32_t fl = get_u32 (payload + off);
      if (fl > len - off - 4)
        return -1;
      /* Shift the field down over its length prefix so that the byte after it
       * is free for the terminator without clobbering the next prefix. */
      memmove (payload + off, payload + off + 4, fl);
      payload[off + fl] = 0;
      f[n].p = (const char *)payload + off;
      f[n].len = fl;
      n++;
      off += 4 + fl;
    }
  return (int)n;
}
