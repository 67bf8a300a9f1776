/*
 * pub.c - "shardcast-cli pub": one Redis PUBLISH.
 *
 * The node takes its messages from Redis, so publishing needs no node at
 * all; this subcommand exists so that tests and operators can publish
 * arbitrary bytes (including from stdin) without redis-cli's argument
 * quoting getting in the way.  The synchronous hiredis API is enough for
 * one command.
 */
#include "cli.h"
#include "out.h"
#include "url.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

/* Redis refuses bulk strings above 512 MiB; fail before sending one. */
#define SC_PUB_MAX (512u << 20)

/*
 * Read all of stdin, byte for byte.  Returns 0 with a malloc'd buffer in
 * *out and its length in *len, -EFBIG past SC_PUB_MAX, or another -errno.
 */
static int sc_read_stdin(char **out, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);

    if (!buf)
        return -ENOMEM;
    for (;;) {
        ssize_t r;

        if (n == cap) {
            char *nb = cap >= SC_PUB_MAX ? NULL : realloc(buf, cap * 2);

            if (!nb) {
                free(buf);
                return cap >= SC_PUB_MAX ? -EFBIG : -ENOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        r = read(STDIN_FILENO, buf + n, cap - n);
        if (r == 0)
            break;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;

            free(buf);
            return -e;
        }
        n += (size_t)r;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* --connect-timeout as hiredis takes it. */
static struct timeval sc_timeval(double s)
{
    struct timeval tv;

    tv.tv_sec = (time_t)s;
    tv.tv_usec = (suseconds_t)((s - (double)tv.tv_sec) * 1e6);
    return tv;
}

/*
 * Did the call that just failed on c run out of time?  hiredis reports a
 * timeout only through errno: EAGAIN from a read or write that hit the
 * socket timeout, ETIMEDOUT from a connect.  e is errno right after it.
 */
static int sc_timed_out(const redisContext *c, int e)
{
    return c->err == REDIS_ERR_IO && (e == EAGAIN || e == EWOULDBLOCK || e == ETIMEDOUT);
}

/*
 * Run one command and check its reply is not an error.  Returns the reply
 * (caller frees), or NULL after reporting what went wrong, with *rc set to
 * SC_EXIT_CONNECT_TIMEOUT when Redis did not answer in time and to
 * SC_EXIT_FAILURE otherwise.
 */
static redisReply *sc_redis_call(redisContext *c, const struct sc_pub_opts *o, const char *what,
                                 int argc, const char **argv, const size_t *argvlen, int *rc)
{
    redisReply *r = redisCommandArgv(c, argc, argv, argvlen);
    int e = errno;

    *rc = SC_EXIT_FAILURE;
    if (!r && sc_timed_out(c, e)) {
        sc_err("Redis did not answer %s within %g s (--connect-timeout)%s", what,
               o->connect_timeout_s,
               strcmp(what, "PUBLISH") ? "" : "; the message may or may not have been published");
        *rc = SC_EXIT_CONNECT_TIMEOUT;
        return NULL;
    }
    if (!r) {
        sc_err("Redis %s failed: %s", what, c->errstr);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        sc_err("Redis %s failed: %s", what, r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/*
 * Connect (and AUTH when there is a password, from the URL or the file).
 * Returns the context, or NULL after reporting the failure with *rc set as
 * sc_redis_call() does.
 */
static redisContext *sc_redis_open(const struct sc_redis_url *u, const struct sc_pub_opts *o,
                                   int *rc)
{
    struct timeval tv = sc_timeval(o->connect_timeout_s);
    const char *argv[3] = {"AUTH"};
    size_t argvlen[3] = {4};
    redisContext *c = redisConnectWithTimeout(u->host, u->port, tv);
    int e = errno;
    redisReply *r;
    int argc = 1;

    *rc = SC_EXIT_FAILURE;
    if (c && c->err && sc_timed_out(c, e)) {
        sc_err("cannot connect to Redis at %s:%d: timed out after %g s "
               "(--connect-timeout)",
               u->host, u->port, o->connect_timeout_s);
        *rc = SC_EXIT_CONNECT_TIMEOUT;
        redisFree(c);
        return NULL;
    }
    if (!c || c->err) {
        sc_err("cannot connect to Redis at %s:%d: %s", u->host, u->port,
               c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    /* Without a timeout a wedged Redis would hang the caller forever. */
    redisSetTimeout(c, tv);
    if (!u->password)
        return c;
    if (u->user) {
        argv[argc] = u->user;
        argvlen[argc++] = strlen(u->user);
    }
    argv[argc] = u->password;
    argvlen[argc++] = strlen(u->password);
    r = sc_redis_call(c, o, "AUTH", argc, argv, argvlen, rc);
    if (!r) {
        redisFree(c);
        return NULL;
    }
    freeReplyObject(r);
    return c;
}

/*
 * PUBLISH and print the receiver count.  Returns an enum sc_exit status.
 */
static int sc_publish(redisContext *c, const struct sc_pub_opts *o, const char *msg, size_t len)
{
    const char *argv[3] = {"PUBLISH", o->channel, msg};
    size_t argvlen[3] = {7, strlen(o->channel), len};
    int rc;
    redisReply *r = sc_redis_call(c, o, "PUBLISH", 3, argv, argvlen, &rc);

    if (!r)
        return rc;
    if (r->type != REDIS_REPLY_INTEGER) {
        sc_err("Redis PUBLISH: unexpected reply type %d", r->type);
        freeReplyObject(r);
        return SC_EXIT_FAILURE;
    }
    sc_debug("published %zu bytes on '%s'", len, o->channel);
    printf("%lld\n", r->integer);
    freeReplyObject(r);
    if (fflush(stdout) == EOF) {
        sc_err("cannot write to stdout: %s", strerror(errno));
        return SC_EXIT_FAILURE;
    }
    return SC_EXIT_OK;
}

/* Report a --redis URL that is no use, with its user info masked: the
 * password it may hold is not for stderr.  Returns SC_EXIT_USAGE. */
static int sc_bad_redis_url(const char *url, const char *why)
{
    char shown[128];

    sc_redis_url_masked(url, shown, sizeof(shown));
    fprintf(stderr, SC_CLI_NAME " pub: bad value '%s' for --redis: %s\n", shown, why);
    return SC_EXIT_USAGE;
}

/*
 * The Redis to publish to: --redis, with the password from
 * --redis-password-file when given.  One source for the password, and a
 * user never goes without one (a user alone would send no AUTH, which is
 * never what was meant): the node's and shardctl's rules.  Returns
 * SC_EXIT_OK with *u filled (free with sc_redis_url_free()), or another
 * enum sc_exit status after reporting why, with *u holding nothing.
 */
static int sc_pub_target(const struct sc_pub_opts *o, struct sc_redis_url *u)
{
    const char *file = o->redis_password_file;
    char why[300];
    int rc = sc_redis_url_parse(o->redis_url, u);

    if (rc == -ENOMEM) {
        sc_err("out of memory");
        return SC_EXIT_FAILURE;
    }
    if (rc)
        return sc_bad_redis_url(o->redis_url, "want "
                                              "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]");
    if (file && u->password) {
        fprintf(stderr, SC_CLI_NAME " pub: --redis-password-file: the "
                                    "--redis URL holds a password too; give it in one "
                                    "place\n");
        rc = SC_EXIT_USAGE;
    } else if (file) {
        /* why names the file and the problem, never the content. */
        rc = sc_redis_password_read(file, &u->password, why, sizeof(why));
        if (rc)
            fprintf(stderr,
                    SC_CLI_NAME " pub: "
                                "--redis-password-file: %s\n",
                    why);
        if (rc)
            rc = rc == -ENOMEM ? SC_EXIT_FAILURE : SC_EXIT_USAGE;
    } else if (u->user && !u->password) {
        rc = sc_bad_redis_url(o->redis_url, "a user needs a password "
                                            "(redis://USER:PASSWORD@HOST, or "
                                            "--redis-password-file)");
    }
    if (rc)
        sc_redis_url_free(u);
    return rc;
}

int sc_pub_run(const struct sc_pub_opts *o)
{
    struct sc_redis_url u;
    redisContext *c;
    char *buf = NULL;
    const char *msg = o->message;
    size_t len = strlen(msg);
    int rc;

    sc_log_setup(o->verbose, 0);
    rc = sc_pub_target(o, &u);
    if (rc)
        return rc;
    if (!strcmp(msg, "-")) {
        rc = sc_read_stdin(&buf, &len);
        if (rc) {
            sc_err("cannot read the message from stdin: %s", strerror(-rc));
            sc_redis_url_free(&u);
            return SC_EXIT_FAILURE;
        }
        msg = buf;
    }
    c = sc_redis_open(&u, o, &rc);
    if (c) {
        rc = sc_publish(c, o, msg, len);
        redisFree(c);
    }
    free(buf);
    sc_redis_url_free(&u);
    return rc;
}
