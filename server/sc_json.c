/* sc_json: UTF-8 validation, JSON string escaping, base64. */
#include "sc_json.h"

#include <stdint.h>

#include "sc_base64.h"

/* Length of the well-formed UTF-8 sequence starting at p (at most avail
 * bytes), or 0 if the bytes there are not one. Ranges follow RFC 3629
 * table 3-7 so overlongs and surrogates are rejected. */
static size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return (avail >= 2 && (p[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
        unsigned char hi = c == 0xED ? 0x9F : 0xBF;
        if (avail < 3 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80)
            return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
        unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
        if (avail < 4 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
            return 0;
        return 4;
    }
    return 0;
}

int sc_utf8_valid(const unsigned char *p, size_t len)
{
    size_t i = 0;

    while (i < len) {
        /* ASCII runs dominate real payloads; skip them eight at a time. */
        while (i + 8 <= len) {
            uint64_t w;
            __builtin_memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= len)
            break;
        size_t n = utf8_seq_len(p + i, len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

/* Which ASCII bytes JSON makes us escape: controls, quote, backslash. */
static int json_needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

static void json_append_escape(struct sc_buf *b, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char e[6] = {'\\', 0, 0, 0, 0, 0};

    switch (c) {
    case '"': e[1] = '"'; break;
    case '\\': e[1] = '\\'; break;
    case '\n': e[1] = 'n'; break;
    case '\r': e[1] = 'r'; break;
    case '\t': e[1] = 't'; break;
    case '\b': e[1] = 'b'; break;
    case '\f': e[1] = 'f'; break;
    default:
        e[1] = 'u';
        e[2] = '0';
        e[3] = '0';
        e[4] = hex[c >> 4];
        e[5] = hex[c & 15];
        sc_buf_append(b, e, 6);
        return;
    }
    sc_buf_append(b, e, 2);
}

void sc_json_append_string(struct sc_buf *b, const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t i = 0, run = 0;

    /* Most payloads need no escapes: one reservation covers them. */
    if (sc_buf_reserve(b, len + 2) < 0)
        return;
    sc_buf_append(b, "\"", 1);
    while (i < len) {
        unsigned char c = p[i];
        size_t n;

        if (c >= 0x80) {
            n = utf8_seq_len(p + i, len - i);
            if (n == 0) {
                sc_buf_append(b, p + run, i - run);
                sc_buf_append(b, "\xEF\xBF\xBD", 3);
                run = ++i;
                continue;
            }
            i += n;
            continue;
        }
        if (json_needs_escape(c)) {
            sc_buf_append(b, p + run, i - run);
            json_append_escape(b, c);
            run = ++i;
            continue;
        }
        i++;
    }
    sc_buf_append(b, p + run, len - run);
    sc_buf_append(b, "\"", 1);
}

void sc_base64_append(struct sc_buf *b, const void *data, size_t len)
{
    if (len == 0)
        return; /* a fresh buffer has no storage to point into */
    if (sc_buf_reserve(b, SC_BASE64_ENCODED_LEN(len)) < 0)
        return;
    b->len += sc_base64_encode(data, len, b->data + b->len);
}
