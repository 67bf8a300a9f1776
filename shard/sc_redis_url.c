/* sc_redis_url: parse redis:// URLs on top of sc_uri. */
#include "sc_redis_url.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_file.h"

/* "user:password", ":password" or "user" of a into u->user / u->password.
 * Returns 0, -EINVAL or -ENOMEM. */
static int parse_userinfo(const struct sc_uri_authority *a, struct sc_redis_url *u)
{
    const char *colon = memchr(a->userinfo, ':', a->userinfo_len);
    size_t ulen;
    int rc;

    if (!colon) /* a user alone: the password comes from a file */
        return a->userinfo_len ? sc_uri_percent_decode(a->userinfo, a->userinfo_len, &u->user)
                               : -EINVAL;
    ulen = (size_t)(colon - a->userinfo);
    if (ulen && (rc = sc_uri_percent_decode(a->userinfo, ulen, &u->user)))
        return rc;
    return sc_uri_percent_decode(colon + 1, a->userinfo_len - ulen - 1, &u->password);
}

/* "", "/" or "/N" as a database number. Returns it or -EINVAL. */
static int parse_db(const char *p)
{
    int v = 0;

    if (!*p || !strcmp(p, "/"))
        return 0;
    if (*p++ != '/')
        return -EINVAL;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        v = v * 10 + (*p - '0');
        if (v > 65535)
            return -EINVAL;
    }
    return v;
}

int sc_redis_url_parse(const char *text, struct sc_redis_url *u)
{
    struct sc_uri_authority a;
    const char *p;
    int rc;

    memset(u, 0, sizeof(*u));
    if (!text || !(p = sc_uri_skip_scheme(text, "redis")) || sc_uri_split_authority(p, &a) ||
        (u->db = parse_db(a.rest)) < 0) {
        u->db = 0;
        return -EINVAL;
    }
    u->port = a.port > 0 ? a.port : 6379;
    memcpy(u->host, a.host, a.host_len); /* host_len <= SC_URI_HOST_MAX */
    u->host[a.host_len] = '\0';
    if (a.userinfo && (rc = parse_userinfo(&a, u))) {
        sc_redis_url_free(u);
        return rc;
    }
    return 0;
}

void sc_redis_url_free(struct sc_redis_url *u)
{
    free(u->user);
    sc_redis_password_free(u->password);
    u->user = u->password = NULL;
}

void sc_redis_url_masked(const char *url, char *out, size_t n)
{
    const char *at = strrchr(url, '@'), *start = strstr(url, "//");

    if (at && start && start < at)
        snprintf(out, n, "%.*s***%.100s", (int)(start + 2 - url), url, at);
    else
        snprintf(out, n, "%.100s", url);
}

void sc_redis_password_free(char *password)
{
    if (password) {
        explicit_bzero(password, strlen(password));
        free(password);
    }
}

_Static_assert(SC_REDIS_PASSWORD_MAX == 4096, "the message below says 4096");

/* One bounded read (sc_file), then the password rules. */
int sc_redis_password_read(const char *path, char **out, char *err, size_t errlen)
{
    unsigned char *buf = NULL;
    size_t n = 0;
    const char *why;
    int rc = sc_file_read_max(path, SC_REDIS_PASSWORD_MAX, &buf, &n, &why);

    if (rc == -ENOMEM)
        return -ENOMEM;
    if (rc == -EFBIG)
        why = "larger than 4096 bytes";
    if (!rc && n && buf[n - 1] == '\n') { /* one line ending, LF or CRLF */
        n--;
        if (n && buf[n - 1] == '\r')
            n--;
    }
    if (!rc && n == 0)
        rc = -EINVAL, why = "empty";
    if (!rc && memchr(buf, 0, n))
        rc = -EINVAL, why = "holds a NUL byte";
    if (rc) {
        snprintf(err, errlen, "%.200s: %s", path, why);
        if (buf)
            explicit_bzero(buf, SC_REDIS_PASSWORD_MAX + 1);
        free(buf);
        return -EINVAL;
    }
    /* The line ending stripped stays in the buffer's tail: wipe it too. */
    explicit_bzero(buf + n, SC_REDIS_PASSWORD_MAX + 1 - n);
    *out = (char *)buf;
    return 0;
}
