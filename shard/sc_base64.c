/* sc_base64: RFC 4648 base64 and base64url, encoding and strict decoding. */
#include "sc_base64.h"

#include <errno.h>
#include <stdint.h>

static const char std_abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Both spellings, told apart by their alphabet and whether they pad. */
static size_t encode(const unsigned char *p, size_t len, char *out, const char *abc, int pad)
{
    size_t i, o = 0;
    uint32_t v;

    for (i = 0; i + 3 <= len; i += 3) {
        v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = abc[v >> 18];
        out[o++] = abc[v >> 12 & 63];
        out[o++] = abc[v >> 6 & 63];
        out[o++] = abc[v & 63];
    }
    if (i < len) {
        v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        out[o++] = abc[v >> 18];
        out[o++] = abc[v >> 12 & 63];
        if (i + 1 < len)
            out[o++] = abc[v >> 6 & 63];
        else if (pad)
            out[o++] = '=';
        if (pad)
            out[o++] = '=';
    }
    return o;
}

size_t sc_base64_encode(const void *in, size_t len, char *out)
{
    return encode(in, len, out, std_abc, 1);
}

size_t sc_base64url_encode(const void *in, size_t len, char *out)
{
    return encode(in, len, out, url_abc, 0);
}

/* The 6-bit value of c in the alphabet whose last two letters are c62 and
 * c63, or -1. Branches instead of a 256-entry table: both alphabets share
 * the first 62 letters. */
static int value(unsigned char c, char c62, char c63)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (unsigned char)c62)
        return 62;
    if (c == (unsigned char)c63)
        return 63;
    return -1;
}

/* Unpadded decoding, which padded input reduces to once its '=' are gone.
 * A last group of 2 or 3 letters carries 4 or 2 bits that stand for no
 * byte; they must be zero (canonical form). */
static int decode(const char *in, size_t len, unsigned char *out, size_t *outlen, char c62,
                  char c63)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;

    if (len % 4 == 1)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        int v = value((unsigned char)in[i], c62, c63);

        if (v < 0)
            return -EINVAL;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc)
        return -EINVAL;
    *outlen = o;
    return 0;
}

int sc_base64_decode(const char *in, size_t len, void *out, size_t *outlen)
{
    size_t pad = 0;

    if (len % 4)
        return -EINVAL;
    /* At most two '=', and only at the end: a third, or one earlier, is
	 * then outside the alphabet decode() takes. */
    while (pad < 2 && pad < len && in[len - 1 - pad] == '=')
        pad++;
    return decode(in, len - pad, out, outlen, '+', '/');
}

int sc_base64url_decode(const char *in, size_t len, void *out, size_t *outlen)
{
    return decode(in, len, out, outlen, '-', '_');
}
