/* sc_uri: scheme, authority and percent-decoding (RFC 3986). */
#include "sc_uri.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Character classes spelled out rather than <ctype.h>: the grammar must not
 * follow the locale. */
static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int is_alnum(unsigned char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int sc_uri_hex_value(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

const char *sc_uri_skip_scheme(const char *text, const char *scheme)
{
    size_t n = strlen(scheme);

    if (strncasecmp(text, scheme, n) || strncmp(text + n, "://", 3))
        return NULL;
    return text + n + 3;
}

/* 1-5 decimal digits as a TCP port. Returns 1..65535 or -EINVAL. */
static int parse_port(const char *p, size_t len)
{
    int v = 0;

    if (!len || len > 5)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit((unsigned char)p[i]))
            return -EINVAL;
        v = v * 10 + (p[i] - '0');
    }
    return v >= 1 && v <= 65535 ? v : -EINVAL;
}

/* A registered name, or when bracketed an IPv6 literal. 0 or -EINVAL. */
static int check_host(const char *h, size_t len, int bracketed)
{
    if (!len || len > SC_URI_HOST_MAX)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)h[i];

        if (bracketed ? !(sc_uri_hex_value(c) >= 0 || c == ':' || c == '.')
                      : !(is_alnum(c) || c == '-' || c == '.' || c == '_'))
            return -EINVAL;
    }
    return 0;
}

int sc_uri_split_authority(const char *p, struct sc_uri_authority *a)
{
    size_t end = strcspn(p, "/?#");
    const char *hp = p, *at, *colon = NULL;
    size_t hlen;

    memset(a, 0, sizeof(*a));
    a->port = -1;
    a->rest = p + end;
    at = memrchr(p, '@', end);
    if (at) {
        a->userinfo = p;
        a->userinfo_len = (size_t)(at - p);
        hp = at + 1;
    }
    hlen = (size_t)(p + end - hp);
    if (hlen && hp[0] == '[') {
        const char *close = memchr(hp, ']', hlen);

        if (!close)
            return -EINVAL;
        a->bracketed = 1;
        a->host = hp + 1;
        a->host_len = (size_t)(close - hp - 1);
        if (close + 1 < hp + hlen) {
            if (close[1] != ':')
                return -EINVAL;
            colon = close + 1;
        }
    } else {
        colon = memchr(hp, ':', hlen);
        a->host = hp;
        a->host_len = colon ? (size_t)(colon - hp) : hlen;
    }
    if (colon) {
        a->port = parse_port(colon + 1, (size_t)(hp + hlen - colon - 1));
        if (a->port < 0)
            return -EINVAL;
    }
    return check_host(a->host, a->host_len, a->bracketed);
}

int sc_uri_percent_decode(const char *s, size_t len, char **out)
{
    char *d = malloc(len + 1), *o = d;

    if (!d)
        return -ENOMEM;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;

        if (s[i] != '%') {
            *o++ = s[i];
            continue;
        }
        if (i + 2 >= len || (hi = sc_uri_hex_value((unsigned char)s[i + 1])) < 0 ||
            (lo = sc_uri_hex_value((unsigned char)s[i + 2])) < 0 || !(hi | lo))
            goto bad;
        *o++ = (char)(hi << 4 | lo);
        i += 2;
    }
    *o = '\0';
    *out = d;
    return 0;
bad:
    free(d);
    return -EINVAL;
}
