/* Small string helpers shared by the parsers. */
#ifndef MOAT_COMMON_STRUTIL_H
#define MOAT_COMMON_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Value of a hex digit, or -1. */
int hex_digit_value (char c);

/* Percent-decode [s, s+len) into a new NUL-terminated string.  strict:
 * NULL on a malformed escape or a decoded NUL (for paths that policy
 * matches: an ambiguous spelling is refused, not guessed).  Not strict: a
 * malformed escape stays as written.  NULL also when out of memory. */
char *pct_decode (const char *s, size_t len, bool strict);

/* If `line` (one HTTP header line, as libcurl hands them over) is the
 * header `name` (lower case, with its colon: "www-authenticate:"), return
 * its value with leading blanks and trailing CR/LF/blanks cut, length in
 * *vlen; NULL otherwise. */
const char *header_line_value (const char *line, size_t len, const char *name,
                               size_t *vlen);

/* Undo /proc/self/mountinfo's escapes (space, tab, newline and backslash
 * written as \ooo), in place. */
void mountinfo_unescape (char *s);

/* Is [s, s+n) a name the engine gives objects (containers, volumes,
 * drivers): [A-Za-z0-9][A-Za-z0-9_.-]*, 1 to max bytes?  Such a name
 * cannot change a URL or a path it is put in (no '/', '%', '?'). */
bool engine_name_p (const char *s, size_t n, size_t max);

/* The body of a whole HTTP/1.x answer of len bytes in raw (read to the
 * end of a Connection: close exchange): *status (3 digits), *body (inside
 * raw) and *blen; a chunked body is decoded in place (chunk sizes up to the
 * bytes there are; one running past the end is an error, a body cut short
 * before its last chunk ends where it is cut).  raw's head is cut at its
 * blank line; raw[len] must be '\0'.  -1 when raw is not such an answer.
 */
int http_answer_split (char *raw, size_t len, int *status, char **body,
                       size_t *blen);

/* Is s a full object id: exactly 64 lower-case hex digits? */
bool full_id_p (const char *s);

#endif
