/* Shared helpers of the fuzz targets: see fuzz_util.h. */
#include "fuzz_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
    abort();
}

void fuzz_init(void)
{
    static int done;

    if (!done) {
        json_object_seed(1);
        done = 1;
    }
}

/* Decode first, then judge the code point: the opposite order from
 * server/sc_json.c, which checks byte ranges per lead byte. */
size_t ref_utf8_seq(const unsigned char *p, size_t avail, uint32_t *cp)
{
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    unsigned char c = p[0];
    size_t n, i;
    uint32_t v;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        v = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        v = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        v = c & 0x07;
    } else {
        return 0; /* continuation byte or 0xF8..0xFF */
    }
    if (avail < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3F);
    }
    if (v < min_cp[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

int ref_utf8_valid(const unsigned char *p, size_t len)
{
    size_t i = 0, n;
    uint32_t cp;

    while (i < len) {
        if (!(n = ref_utf8_seq(p + i, len - i, &cp)))
            return 0;
        i += n;
    }
    return 1;
}

unsigned char *ref_utf8_replace(const unsigned char *p, size_t len, size_t *outlen)
{
    /* Worst case: every byte becomes the three bytes of U+FFFD. */
    unsigned char *out = malloc(len * 3 + 1);
    size_t i = 0, o = 0, n;
    uint32_t cp;

    FUZZ_CHECK(out != NULL);
    while (i < len) {
        n = ref_utf8_seq(p + i, len - i, &cp);
        if (n) {
            memcpy(out + o, p + i, n);
            o += n;
            i += n;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    *outlen = o;
    return out;
}

/* A lookup in the alphabet as RFC 4648 prints it (table 1): slow and
 * plain, and written unlike shard/sc_base64.c on purpose. */
static int b64_value(char c)
{
    static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *at = c ? strchr(table, c) : NULL;

    return at ? (int)(at - table) : -1;
}

unsigned char *ref_base64_decode(const char *s, size_t len, size_t *outlen)
{
    unsigned char *out;
    size_t i, o = 0;

    if (len % 4)
        return NULL;
    out = malloc(len / 4 * 3 + 1);
    FUZZ_CHECK(out != NULL);
    for (i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            v[k] = b64_value(s[i + k]);
            if (v[k] < 0) {
                /* '=' only as the last one or two characters of the text. */
                if (s[i + k] != '=' || !last || k < 2)
                    goto bad;
                v[k] = 0;
                pad++;
            } else if (pad) {
                goto bad; /* a letter after '=' */
            }
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        /* Canonical form: the bits the padding stands for are zero. */
        if ((pad == 1 && (w & 0xFF)) || (pad == 2 && (w & 0xFFFF)))
            goto bad;
        out[o++] = (unsigned char)(w >> 16);
        if (pad < 2)
            out[o++] = (unsigned char)(w >> 8);
        if (pad < 1)
            out[o++] = (unsigned char)w;
    }
    *outlen = o;
    return out;
bad:
    free(out);
    return NULL;
}

int ref_channel_ok(const unsigned char *p, size_t len, size_t maxlen, int utf8)
{
    size_t i = 0, n;
    uint32_t cp;

    if (len == 0 || len > maxlen)
        return 0;
    if (!utf8) {
        for (i = 0; i < len; i++)
            if (p[i] < 0x21 || p[i] > 0x7E || p[i] == ',')
                return 0;
        return 1;
    }
    while (i < len) {
        if (!(n = ref_utf8_seq(p + i, len - i, &cp)))
            return 0;
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == ',')
            return 0;
        i += n;
    }
    return 1;
}
