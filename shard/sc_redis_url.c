/* sc_redis_url: parse redis:// URLs. */
#include "sc_redis_url.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dup_range(const char *p, size_t n)
{
    char *s = malloc(n + 1);

    if (s) {
        memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

/* "[user]:password" or "user" in [p, at). Returns 0, -EINVAL or -ENOMEM. */
static int parse_userinfo(const char *p, const char *at, struct sc_redis_url *u)
{
    const char *colon = memchr(p, ':', (size_t)(at - p));

    if (!colon) {
        if (at == p)
            return -EINVAL;
        return (u->user = dup_range(p, (size_t)(at - p))) ? 0 : -ENOMEM;
    }
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

void sc_redis_url_masked(const char *url, char *out, size_t n)
{
    const char *at = strrchr(url, '@'), *start = strstr(url, "//");

    if (at && start && start < at)
        snprintf(out, n, "%.*s***%.100s", (int)(start + 2 - url), url, at);
    else
        snprintf(out, n, "%.100s", url);
}

void sc_redis_url_free(struct sc_redis_url *u)
{
    free(u->user);
    sc_redis_password_free(u->password);
    u->user = u->password = NULL;
}

void sc_redis_password_free(char *password)
{
    if (password) {
        explicit_bzero(password, strlen(password));
        free(password);
    }
}

_Static_assert(SC_REDIS_PASSWORD_MAX == 4096, "the message below says 4096");

/* Plain read(2) into one buffer: no stdio buffer keeps a copy of the
 * password, and the bound keeps a wrong path (a device, a log) from
 * stalling start-up. */
int sc_redis_password_read(const char *path, char **out, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buf = fd < 0 ? NULL : malloc(SC_REDIS_PASSWORD_MAX + 1);
    const char *why = fd < 0 ? strerror(errno) : buf ? NULL : "out of memory";
    size_t n = 0;

    while (!why && n <= SC_REDIS_PASSWORD_MAX) {
        ssize_t r = read(fd, buf + n, SC_REDIS_PASSWORD_MAX + 1 - n);
        if (r < 0 && errno != EINTR)
            why = strerror(errno);
        if (r == 0)
            break;
        n += r > 0 ? (size_t)r : 0;
    }
    if (fd >= 0)
        close(fd);
    if (!why && n > SC_REDIS_PASSWORD_MAX)
        why = "larger than 4096 bytes";
    if (!why && n && buf[n - 1] == '\n') { /* one line ending, LF or CRLF */
        n--;
        if (n && buf[n - 1] == '\r')
            n--;
    }
    if (!why && n == 0)
        why = "empty";
    if (!why && memchr(buf, 0, n))
        why = "holds a NUL byte";
    if (why) {
        snprintf(err, errlen, "%.200s: %s", path, why);
        if (buf)
            explicit_bzero(buf, SC_REDIS_PASSWORD_MAX + 1);
        free(buf);
        return fd >= 0 && !buf ? -ENOMEM : -EINVAL;
    }
    /* The line ending stripped stays in the buffer's tail: wipe it too. */
    explicit_bzero(buf + n, SC_REDIS_PASSWORD_MAX + 1 - n);
    *out = buf;
    return 0;
}
