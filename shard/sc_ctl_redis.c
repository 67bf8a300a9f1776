/* sc_ctl_redis: shardctl's blocking Redis connection, with timeouts and
 * error messages that say where and why. */
#include "sc_ctl_redis.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

int sc_ctl_target_parse(const char *url, const char *password_file, struct sc_ctl_target *t,
                        char *err, size_t errlen)
{
    int rc = sc_redis_url_parse(url, t);
    char shown[128], sub[300];

    sc_redis_url_masked(url, shown, sizeof(shown));
    if (rc == -ENOMEM) {
        snprintf(err, errlen, "out of memory");
    } else if (rc == 0 && password_file && t->password) {
        snprintf(err, errlen,
                 "--redis-password-file: the --redis URL holds "
                 "a password too; give it in one place");
        rc = -EINVAL;
    } else if (rc == 0 && password_file) {
        rc = sc_redis_password_read(password_file, &t->password, sub, sizeof(sub));
        if (rc < 0)
            snprintf(err, errlen, "--redis-password-file: %s", sub);
    } else if (rc < 0 || (t->user && !t->password)) {
        /* A user alone would send no AUTH: never what was meant. */
        snprintf(err, errlen, "--redis: expected redis://[[user]:password@]host[:port], got '%s'%s",
                 shown,
                 rc < 0 ? ""
                        : " (a user needs a password, or "
                          "--redis-password-file)");
        rc = -EINVAL;
    }
    if (rc < 0)
        sc_redis_url_free(t);
    return rc;
}

void sc_ctl_target_free(struct sc_ctl_target *t)
{
    sc_redis_url_free(t);
}

static struct timeval ms_to_tv(long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    return tv;
}

/* hiredis reports a timed-out read as EAGAIN's strerror text, which says
 * nothing to an operator: name the timeout instead. */
static void set_io_error(struct sc_ctl_redis *r, const char *what)
{
    const struct sc_ctl_target *t = &r->target;
    const char *why = r->ctx ? r->ctx->errstr : "out of memory";

    if (r->ctx && r->ctx->err == REDIS_ERR_IO &&
        (errno == EAGAIN || errno == EWOULDBLOCK || errno == ETIMEDOUT))
        snprintf(r->err, sizeof(r->err), "Redis at %s:%d: %s: no answer within %ld ms", t->host,
                 t->port, what, r->timeout_ms);
    else if (r->ctx && r->ctx->err == REDIS_ERR_EOF)
        snprintf(r->err, sizeof(r->err), "Redis at %s:%d: %s: connection closed by the server",
                 t->host, t->port, what);
    else
        snprintf(r->err, sizeof(r->err), "Redis at %s:%d: %s: %s", t->host, t->port, what,
                 why[0] ? why : "unknown error");
}

/* AUTH [user] password. Returns 0, or -1 with r->err set. */
static int redis_auth(struct sc_ctl_redis *r)
{
    const struct sc_ctl_target *t = &r->target;
    const char *argv[3] = {"AUTH"};
    int argc = 1;
    redisReply *rep;

    if (t->user)
        argv[argc++] = t->user;
    argv[argc++] = t->password;
    rep = redisCommandArgv(r->ctx, argc, argv, NULL);
    if (!rep) {
        set_io_error(r, "AUTH");
        return -1;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(r->err, sizeof(r->err), "Redis at %s:%d: AUTH failed: %s", t->host, t->port,
                 rep->str);
        freeReplyObject(rep);
        return -1;
    }
    freeReplyObject(rep);
    return 0;
}

int sc_ctl_redis_connect(struct sc_ctl_redis *r)
{
    const struct sc_ctl_target *t = &r->target;
    struct timeval tv = ms_to_tv(r->timeout_ms);

    errno = 0;
    r->ctx = redisConnectWithTimeout(t->host, t->port, tv);
    if (!r->ctx || r->ctx->err) {
        const char *why = r->ctx ? r->ctx->errstr : "out of memory";
        if (r->ctx && errno == ETIMEDOUT)
            snprintf(r->err, sizeof(r->err),
                     "cannot connect to Redis at %s:%d: no answer within %ld ms", t->host, t->port,
                     r->timeout_ms);
        else
            snprintf(r->err, sizeof(r->err), "cannot connect to Redis at %s:%d: %s", t->host,
                     t->port, why);
        return -1;
    }
    if (redisSetTimeout(r->ctx, tv) != REDIS_OK) {
        set_io_error(r, "setting the timeout");
        return -1;
    }
    return t->password ? redis_auth(r) : 0;
}

redisReply *sc_ctl_redis_cmd(struct sc_ctl_redis *r, int argc, const char **argv)
{
    redisReply *rep;

    errno = 0;
    rep = redisCommandArgv(r->ctx, argc, argv, NULL);
    if (!rep) {
        char what[96];
        snprintf(what, sizeof(what), "%s %.60s", argv[0], argc > 1 ? argv[1] : "");
        set_io_error(r, what);
    }
    return rep;
}

void sc_ctl_redis_close(struct sc_ctl_redis *r)
{
    if (r->ctx)
        redisFree(r->ctx);
    r->ctx = NULL;
    sc_ctl_target_free(&r->target);
}
