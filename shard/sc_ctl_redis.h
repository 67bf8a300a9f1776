/*
 * sc_ctl_redis.h - shardctl's synchronous Redis connection.
 *
 * shardctl runs one short sequence of commands and exits, so it uses the
 * blocking hiredis API with a timeout on connect and on every command: a
 * Redis that does not answer becomes an error message naming host:port and
 * the reason, never a hang. Every failure is described in ctl->err, one
 * line, ready to print.
 */
#ifndef SC_CTL_REDIS_H
#define SC_CTL_REDIS_H

#include <hiredis/hiredis.h>

/* Where to connect, as parsed from redis://[[user]:password@]host[:port][/db]. */
#include "sc_redis_url.h"

/* Where shardctl connects: the node's own --redis grammar. */
#define sc_ctl_target sc_redis_url

struct sc_ctl_redis {
    struct sc_ctl_target target;
    long timeout_ms;
    redisContext *ctx;
    char err[512];
};

/* Parses `url` into *t (which must be zeroed), and with password_file (may
 * be NULL) reads the password from that file, as the node's
 * --redis-password-file does: then the URL must hold none. A user without
 * a password is refused. The /db part is accepted and ignored, as the node
 * does: the node keeps the cluster state in database 0. Returns 0, or
 * -EINVAL (bad syntax, bad file) / -ENOMEM with a reason in err that never
 * shows the password. */
int sc_ctl_target_parse(const char *url, const char *password_file, struct sc_ctl_target *t,
                        char *err, size_t errlen);

/* Frees the strings of *t. */
void sc_ctl_target_free(struct sc_ctl_target *t);

/* Connects to r->target within r->timeout_ms, sets that timeout on every
 * later command, and sends AUTH when a password was given.
 * Returns 0, or -1 with r->err set ("Redis at host:port: reason"). */
int sc_ctl_redis_connect(struct sc_ctl_redis *r);

/* Runs one command (argv strings, NUL-terminated) and returns its reply,
 * which the caller frees with freeReplyObject(). An error reply is
 * returned as such (the caller decides what it means). NULL when no reply
 * came (connection lost, timeout, out of memory), with r->err set; the
 * connection is then unusable. */
redisReply *sc_ctl_redis_cmd(struct sc_ctl_redis *r, int argc, const char **argv);

/* Closes the connection and frees the target. */
void sc_ctl_redis_close(struct sc_ctl_redis *r);

#endif /* SC_CTL_REDIS_H */
