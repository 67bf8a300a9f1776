/* sc_json: the text encodings the fan-out path needs, written for speed
 * because they run once per published message: UTF-8 validation, JSON
 * string escaping and base64. Request parsing uses jansson instead. */
#ifndef SC_JSON_H
#define SC_JSON_H

#include <stddef.h>

#include "sc_buf.h"

/* Returns 1 if p[0..len) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF), else 0. */
int sc_utf8_valid(const unsigned char *p, size_t len);

/* Append p[0..len) as a quoted JSON string. Bytes that are not part of
 * valid UTF-8 are replaced by U+FFFD, so the output is always valid JSON. */
void sc_json_append_string(struct sc_buf *b, const void *p, size_t len);

/* Append the RFC 4648 base64 encoding (with padding), unquoted: the
 * sc_buf face of sc_base64_encode() (shard/sc_base64.h). */
void sc_base64_append(struct sc_buf *b, const void *p, size_t len);

#endif
