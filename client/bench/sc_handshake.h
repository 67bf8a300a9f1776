/* sc_handshake: the client half of the HTTP/1.1 WebSocket upgrade
 * (RFC 6455 section 4): request text, key, and response validation. */
#ifndef SC_BENCH_HANDSHAKE_H
#define SC_BENCH_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

/* Responses larger than this are refused: real upgrade replies are ~200 B. */
#define SC_HS_MAX_RESPONSE 8192

/* base64 of 16 bytes: 24 characters + NUL. */
#define SC_HS_KEY_LEN 24
/* base64 of a SHA-1 digest: 28 characters + NUL. */
#define SC_HS_ACCEPT_LEN 28

void sc_hs_key(uint64_t seed, char key[SC_HS_KEY_LEN + 1]);
void sc_hs_accept(const char *key, char accept[SC_HS_ACCEPT_LEN + 1]);
int sc_hs_request(char *out, size_t cap, const char *host, const char *path, const char *key);
int sc_hs_response(const char *buf, size_t len, const char *accept, int *status);

/* Exposed for tests. */
void sc_sha1(const void *data, size_t len, uint8_t digest[20]);

#endif
