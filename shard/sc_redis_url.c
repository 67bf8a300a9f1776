/* sc_redis_url: parse redis:// URLs. */
#include "sc_redis_url.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char *dup_range(const char *p, size_t n)
{
    char *s = malloc(n + 1);

    if (s) {
        memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

/* "[user]:password" in [p, at). Returns 0, -EINVAL or -ENOMEM. */
static int parse_userinfo(const char *p, const char *at, struct sc_redis_url *u)
{
    const char *colon = memchr(p, ':', (size_t)(at - p));

    if (!colon)
        return -EINVAL;
    if (colon > p && !(u->user = dup_range(p, (size_t)(colon - p))))
        return -ENOMEM;
    if (!(u->password = dup_range(colon + 1, (size_t)(at - colon - 1))))
        return -ENOMEM;
    return 0;
}

int sc_redis_url_parse(const char *url, struct sc_redis_url *u)
{
    const char *p, *end, *at, *host, *colon;
    int rc = -EINVAL;

    memset(u, 0, sizeof(*u));
    u->port = 6379;
    if (strncmp(url, "redis://", 8) != 0)
        goto bad;
    p = url + 8;
    end = p + strcspn(p, "/");
    at = memchr(p, '@', (size_t)(end - p));
    host = p;
    if (at) {
        if ((rc = parse_userinfo(p, at, u)) < 0)
            goto bad;
        rc = -EINVAL;
        host = at + 1;
    }
    colon = memchr(host, ':', (size_t)(end - host));
    if (colon) {
        long port = 0;
        const char *d = colon + 1;
        /* Digits only: no sign, no space, no trailing junk. */
        if (d == end || end - d > 5)
            goto bad;
        for (; d < end; d++) {
            if (*d < '0' || *d > '9')
                goto bad;
            port = port * 10 + (*d - '0');
        }
        if (port < 1 || port > 65535)
            goto bad;
        u->port = (int)port;
    } else {
        colon = end;
    }
    if (colon == host || (size_t)(colon - host) >= sizeof(u->host))
        goto bad;
    memcpy(u->host, host, (size_t)(colon - host));
    u->host[colon - host] = 0;
    return 0;
bad:
    sc_redis_url_free(u);
    return rc;
}

void sc_redis_url_free(struct sc_redis_url *u)
{
    free(u->user);
    free(u->password);
    u->user = u->password = NULL;
}
