/* sc_handshake: WebSocket upgrade, client side.
 *
 * The accept check needs SHA-1 and base64. SHA-1 is tiny, and carrying it
 * here keeps the bench free of OpenSSL; base64 is the project's one
 * implementation (shard/sc_base64.h). The key is derived from a seed rather
 * than stored per connection, so the expected accept value can be recomputed
 * when the response arrives instead of costing 29 bytes per connection. */
#include "sc_handshake.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sc_base64.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static uint32_t rol(uint32_t v, int n)
{
    return (v << n) | (v >> (32 - n));
}

/* Contract: one SHA-1 compression round over a 64-byte block into h. */
static void sha1_block(uint32_t h[5], const uint8_t *p)
{
    uint32_t w[80], a, b, c, d, e, f, k, t;
    int i;

    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (i = 0; i < 80; i++) {
        if (i < 20)
            f = (b & c) | (~b & d), k = 0x5A827999;
        else if (i < 40)
            f = b ^ c ^ d, k = 0x6ED9EBA1;
        else if (i < 60)
            f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
        else
            f = b ^ c ^ d, k = 0xCA62C1D6;
        t = rol(a, 5) + f + e + k + w[i];
        e = d, d = c, c = rol(b, 30), b = a, a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

/* Contract: FIPS 180-4 SHA-1 of data into digest (big-endian words). */
void sc_sha1(const void *data, size_t len, uint8_t digest[20])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    const uint8_t *p = data;
    uint8_t tail[128];
    uint64_t bits = (uint64_t)len * 8;
    size_t rest, tlen, i;

    for (; len >= 64; len -= 64, p += 64)
        sha1_block(h, p);
    rest = len;
    memset(tail, 0, sizeof(tail));
    memcpy(tail, p, rest);
    tail[rest] = 0x80;
    tlen = rest + 1 + 8 <= 64 ? 64 : 128;
    for (i = 0; i < 8; i++)
        tail[tlen - 1 - i] = (uint8_t)(bits >> (8 * i));
    sha1_block(h, tail);
    if (tlen == 128)
        sha1_block(h, tail + 64);
    for (i = 0; i < 20; i++)
        digest[i] = (uint8_t)(h[i / 4] >> (24 - 8 * (i % 4)));
}

/* splitmix64: a seed per connection gives well-spread, distinct keys. */
static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Contract: writes the Sec-WebSocket-Key for seed (same seed, same key). The
 * RFC asks for a random nonce; it guards against caching proxies, which a
 * loopback benchmark does not have, so a derived one is enough. */
void sc_hs_key(uint64_t seed, char key[SC_HS_KEY_LEN + 1])
{
    uint8_t raw[16];
    uint64_t a = mix(&seed), b = mix(&seed);

    memcpy(raw, &a, 8);
    memcpy(raw + 8, &b, 8);
    key[sc_base64_encode(raw, sizeof(raw), key)] = '\0';
}

/* Contract: the Sec-WebSocket-Accept a conforming server answers for key. */
void sc_hs_accept(const char *key, char accept[SC_HS_ACCEPT_LEN + 1])
{
    char buf[SC_HS_KEY_LEN + sizeof(WS_GUID)];
    uint8_t digest[20];
    size_t n = strlen(key);

    if (n > SC_HS_KEY_LEN)
        n = SC_HS_KEY_LEN;
    memcpy(buf, key, n);
    memcpy(buf + n, WS_GUID, sizeof(WS_GUID) - 1);
    sc_sha1(buf, n + sizeof(WS_GUID) - 1, digest);
    accept[sc_base64_encode(digest, sizeof(digest), accept)] = '\0';
}

/* Contract: writes the upgrade request for path on host ("ip:port") into
 * out; returns its length, or -ENOSPC when cap is too small. */
int sc_hs_request(char *out, size_t cap, const char *host, const char *path, const char *key)
{
    int n = snprintf(out, cap,
                     "GET %s HTTP/1.1\r\n"
                     "Host: %s\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "User-Agent: shardcast-bench\r\n"
                     "\r\n",
                     path, host, key);

    if (n < 0 || (size_t)n >= cap)
        return -ENOSPC;
    return n;
}

/* Contract: true when the comma-separated header value has token tok
 * (case-insensitive), as the Connection header may list several. */
static int has_token(const char *v, size_t len, const char *tok)
{
    size_t tl = strlen(tok), i = 0, s;

    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        s = i;
        while (i < len && v[i] != ',')
            i++;
        while (i > s && (v[i - 1] == ' ' || v[i - 1] == '\t'))
            i--;
        if (i - s == tl && strncasecmp(v + s, tok, tl) == 0)
            return 1;
        while (i < len && v[i] != ',')
            i++;
    }
    return 0;
}

/* Contract: checks one "Name: value" line; sets bits in *seen for Upgrade
 * (1), Connection (2) and a correct Sec-WebSocket-Accept (4). */
static void check_header(const char *line, size_t len, const char *accept, int *seen)
{
    const char *colon = memchr(line, ':', len);
    size_t nlen, vlen;
    const char *v;

    if (!colon)
        return;
    nlen = (size_t)(colon - line);
    v = colon + 1;
    vlen = len - nlen - 1;
    while (vlen && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        vlen--;
    if (nlen == 7 && strncasecmp(line, "upgrade", 7) == 0 && vlen == 9 &&
        strncasecmp(v, "websocket", 9) == 0)
        *seen |= 1;
    else if (nlen == 10 && strncasecmp(line, "connection", 10) == 0 &&
             has_token(v, vlen, "upgrade"))
        *seen |= 2;
    else if (nlen == 20 && strncasecmp(line, "sec-websocket-accept", 20) == 0 &&
             vlen == SC_HS_ACCEPT_LEN && memcmp(v, accept, vlen) == 0)
        *seen |= 4;
}

/* Contract: examines the first len bytes received. Returns the header length
 * (bytes after it are WebSocket frames) once the header is complete and the
 * upgrade valid; 0 when more bytes are needed; -EACCES when the status is not
 * 101 (*status holds it, e.g. 503 when the node is full); -EBADMSG for a 101
 * without the right Upgrade/Connection/Accept; -EPROTO when the text is not
 * HTTP; -EMSGSIZE past SC_HS_MAX_RESPONSE. */
int sc_hs_response(const char *buf, size_t len, const char *accept, int *status)
{
    const char *end = NULL, *p, *eol;
    int seen = 0;
    size_t i;

    for (i = 3; i < len; i++) {
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
            end = buf + i + 1;
            break;
        }
    }
    if (!end)
        return len > SC_HS_MAX_RESPONSE ? -EMSGSIZE : 0;
    if (end - buf < 12 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' ||
        sscanf(buf + 9, "%3d", status) != 1)
        return -EPROTO;
    if (*status != 101)
        return -EACCES;
    p = memchr(buf, '\n', (size_t)(end - buf)) + 1;
    while (p < end - 2) {
        eol = memchr(p, '\n', (size_t)(end - p));
        check_header(p, (size_t)(eol - p - (eol > p && eol[-1] == '\r')), accept, &seen);
        p = eol + 1;
    }
    return seen == 7 ? (int)(end - buf) : -EBADMSG;
}
