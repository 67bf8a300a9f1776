/*
 * url.c - parsing of node URLs (ws://, wss://).
 *
 * The RFC 3986 pieces (scheme, authority, host and port rules) are
 * shard/sc_uri.h's, shared with the redis:// grammar (shard/sc_redis_url.h);
 * the ws-specific rules (what a path may be, no userinfo) sit here.
 * Anything odd is refused rather than guessed at: these strings come from a
 * command line or from a node's redirect event and end up on an HTTP
 * request line.
 */
#include "url.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sc_uri.h"

/*
 * Check the path-and-query of a ws URL: printable ASCII without spaces (it
 * goes verbatim onto the request line) and no fragment, which RFC 6455
 * forbids in WebSocket URIs.  Returns 0 or -EINVAL.
 */
static int sc_check_path(const char *p)
{
    for (; *p; p++) {
        unsigned char c = (unsigned char)*p;

        if (c <= 0x20 || c >= 0x7f || c == '#')
            return -EINVAL;
    }
    return 0;
}

int sc_ws_url_parse(const char *text, struct sc_ws_url *out)
{
    struct sc_uri_authority a;
    struct sc_ws_url u = {0};
    const char *p;

    if (!text)
        return -EINVAL;
    if ((p = sc_uri_skip_scheme(text, "wss")))
        u.tls = 1;
    else if (!(p = sc_uri_skip_scheme(text, "ws")))
        return -EINVAL;
    if (sc_uri_split_authority(p, &a) || a.userinfo || sc_check_path(a.rest))
        return -EINVAL;
    u.port = a.port > 0 ? a.port : (u.tls ? 443 : 80);
    u.host = strndup(a.host, a.host_len);
    /* "/ws" is the protocol's only endpoint: save typing it. */
    if (a.rest[0] == '/')
        u.path = strdup(a.rest);
    else if (asprintf(&u.path, "/ws%s", a.rest) < 0)
        u.path = NULL;
    if (!u.host || !u.path) {
        sc_ws_url_free(&u);
        return -ENOMEM;
    }
    *out = u;
    return 0;
}

void sc_ws_url_free(struct sc_ws_url *u)
{
    free(u->host);
    free(u->path);
    u->host = NULL;
    u->path = NULL;
}

int sc_ws_url_copy(struct sc_ws_url *dst, const struct sc_ws_url *src)
{
    struct sc_ws_url u = *src;

    u.host = strdup(src->host);
    u.path = strdup(src->path);
    if (!u.host || !u.path) {
        sc_ws_url_free(&u);
        return -ENOMEM;
    }
    *dst = u;
    return 0;
}

int sc_ws_url_equal(const struct sc_ws_url *a, const struct sc_ws_url *b)
{
    return a->tls == b->tls && a->port == b->port && !strcasecmp(a->host, b->host) &&
           !strcmp(a->path, b->path);
}

int sc_ws_url_has_param(const struct sc_ws_url *u, const char *name)
{
    const char *q = strchr(u->path, '?');
    size_t n = strlen(name);

    while (q) {
        q++;
        if (!strncmp(q, name, n) && (q[n] == '=' || q[n] == '&' || q[n] == '\0'))
            return 1;
        q = strchr(q, '&');
    }
    return 0;
}

/*
 * Percent-encode s, keeping only RFC 3986 unreserved bytes, so any key
 * survives the trip through the query string.  Returns a malloc'd string or
 * NULL on allocation failure.
 */
static char *sc_percent_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1), *o = out;

    if (!out)
        return NULL;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

int sc_ws_url_add_key(struct sc_ws_url *u, const char *key)
{
    char *enc, *path;
    int n;

    if (sc_ws_url_has_param(u, "key"))
        return -EEXIST;
    enc = sc_percent_encode(key);
    if (!enc)
        return -ENOMEM;
    n = asprintf(&path, "%s%skey=%s", u->path, strchr(u->path, '?') ? "&" : "?", enc);
    free(enc);
    if (n < 0)
        return -ENOMEM;
    free(u->path);
    u->path = path;
    return 0;
}

/* snprintf's result mapped to the "length or -ENOSPC" convention. */
static int sc_fit(int n, size_t len)
{
    return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

int sc_ws_url_host_header(const struct sc_ws_url *u, char *buf, size_t len)
{
    int v6 = strchr(u->host, ':') != NULL;
    int dflt = u->port == (u->tls ? 443 : 80);

    if (dflt)
        return sc_fit(snprintf(buf, len, v6 ? "[%s]" : "%s", u->host), len);
    return sc_fit(snprintf(buf, len, v6 ? "[%s]:%d" : "%s:%d", u->host, u->port), len);
}

int sc_ws_url_format(const struct sc_ws_url *u, char *buf, size_t len)
{
    int v6 = strchr(u->host, ':') != NULL;

    return sc_fit(snprintf(buf, len, v6 ? "%s://[%s]:%d%s" : "%s://%s:%d%s", u->tls ? "wss" : "ws",
                           u->host, u->port, u->path),
                  len);
}
