/*
 * sc_base64.h - RFC 4648 base64, the one implementation in the tree.
 *
 * Two spellings are in use: standard base64 with '=' padding (message
 * payloads that are not UTF-8, docs/protocol.md; the WebSocket handshake's
 * key and accept values) and base64url without padding (JWT parts,
 * RFC 7515). Decoding is strict in both: no whitespace, padding only where
 * the standard spelling puts it, and the unused low bits of the last
 * character must be zero, so every byte string has exactly one accepted
 * spelling (a token's signature cannot be re-spelled, a payload decodes to
 * exactly what the node encoded).
 *
 * Pure C11, no allocation, no global state.
 */
#ifndef SC_BASE64_H
#define SC_BASE64_H

#include <stddef.h>

/* Characters the padded encoding of n bytes takes (no NUL counted). */
#define SC_BASE64_ENCODED_LEN(n) (((n) + 2) / 3 * 4)
/* Characters the unpadded (base64url) encoding of n bytes takes. */
#define SC_BASE64URL_ENCODED_LEN(n) ((n) / 3 * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))
/* Room that decoding len characters of either spelling may need. */
#define SC_BASE64_DECODED_MAX(len) ((len) / 4 * 3 + 2)

/*
 * sc_base64_encode() - standard base64 (A-Z a-z 0-9 + /) of in[0..len),
 * padded with '='. out must hold SC_BASE64_ENCODED_LEN(len) bytes; no NUL
 * is written. Returns the number of characters written.
 */
size_t sc_base64_encode(const void *in, size_t len, char *out);

/*
 * sc_base64url_encode() - base64url (A-Z a-z 0-9 - _) of in[0..len),
 * without padding. out must hold SC_BASE64URL_ENCODED_LEN(len) bytes; no
 * NUL is written. Returns the number of characters written.
 */
size_t sc_base64url_encode(const void *in, size_t len, char *out);

/*
 * sc_base64_decode() - decode len characters of canonical, padded standard
 * base64. out must hold len / 4 * 3 bytes (SC_BASE64_DECODED_MAX(len) is
 * more than enough). Returns 0 and sets *outlen, or -EINVAL (length
 * not a multiple of 4, a byte outside the alphabet, misplaced padding, or
 * unused bits set); out may have been written to on error.
 */
int sc_base64_decode(const char *in, size_t len, void *out, size_t *outlen);

/*
 * sc_base64url_decode() - decode len characters of canonical base64url
 * without padding. out must hold SC_BASE64_DECODED_MAX(len) bytes. Returns
 * 0 and sets *outlen, or -EINVAL (len % 4 == 1, a byte outside the alphabet
 * ('=' included), or unused bits set); out may have been written to on
 * error.
 */
int sc_base64url_decode(const char *in, size_t len, void *out, size_t *outlen);

#endif /* SC_BASE64_H */
