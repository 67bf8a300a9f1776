/* sc_ctl_redis: shardctl's blocking Redis connection, with timeouts and
 * error messages that say where and why. */
#include "sc_ctl_redis.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static char *dup_range(const char *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = 0;
	}
	return s;
}

/* Credentials part "[user]:password" of [u, at). Returns 0, -EINVAL or
 * -ENOMEM. */
static int parse_userinfo(const char *u, const char *at,
			  struct sc_ctl_target *t)
{
	const char *colon = memchr(u, ':', (size_t)(at - u));

	if (!colon)
		return -EINVAL;
	if (colon > u && !(t->user = dup_range(u, (size_t)(colon - u))))
		return -ENOMEM;
	if (!(t->password = dup_range(colon + 1, (size_t)(at - colon - 1))))
		return -ENOMEM;
	return 0;
}

/* Same grammar as the node's --redis (server/sc_config.c), so that an
 * operator can paste the node's URL. */
int sc_ctl_target_parse(const char *url, struct sc_ctl_target *t, char *err,
			size_t errlen)
{
	const char *u, *end, *at, *host, *colon;
	int rc = -EINVAL;

	if (strncmp(url, "redis://", 8) != 0)
		goto bad;
	u = url + 8;
	end = u + strcspn(u, "/");
	at = memchr(u, '@', (size_t)(end - u));
	host = u;
	if (at) {
		if ((rc = parse_userinfo(u, at, t)) < 0)
			goto bad;
		host = at + 1;
	}
	colon = memchr(host, ':', (size_t)(end - host));
	t->port = 6379;
	if (colon) {
		char *e;
		errno = 0;
		long p = strtol(colon + 1, &e, 10);
		if (errno || e != end || colon + 1 == end || p < 1 || p > 65535)
			goto bad;
		t->port = (int)p;
	} else {
		colon = end;
	}
	if (colon == host || (size_t)(colon - host) >= sizeof(t->host))
		goto bad;
	memcpy(t->host, host, (size_t)(colon - host));
	t->host[colon - host] = 0;
	return 0;
bad:
	sc_ctl_target_free(t);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	else
		snprintf(err, errlen,
			 "--redis: expected redis://[[user]:password@]host[:port], got '%.100s'",
			 url);
	return rc == -ENOMEM ? -ENOMEM : -EINVAL;
}

void sc_ctl_target_free(struct sc_ctl_target *t)
{
	free(t->user);
	free(t->password);
	t->user = t->password = NULL;
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
		snprintf(r->err, sizeof(r->err),
			 "Redis at %s:%d: %s: no answer within %ld ms", t->host,
			 t->port, what, r->timeout_ms);
	else if (r->ctx && r->ctx->err == REDIS_ERR_EOF)
		snprintf(r->err, sizeof(r->err),
			 "Redis at %s:%d: %s: connection closed by the server",
			 t->host, t->port, what);
	else
		snprintf(r->err, sizeof(r->err), "Redis at %s:%d: %s: %s",
			 t->host, t->port, what, why[0] ? why : "unknown error");
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
		snprintf(r->err, sizeof(r->err),
			 "Redis at %s:%d: AUTH failed: %s", t->host, t->port,
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
				 "cannot connect to Redis at %s:%d: no answer within %ld ms",
				 t->host, t->port, r->timeout_ms);
		else
			snprintf(r->err, sizeof(r->err),
				 "cannot connect to Redis at %s:%d: %s", t->host,
				 t->port, why);
		return -1;
	}
	if (redisSetTimeout(r->ctx, tv) != REDIS_OK) {
		set_io_error(r, "setting the timeout");
		return -1;
	}
	return t->password ? redis_auth(r) : 0;
}

redisReply *sc_ctl_redis_cmd(struct sc_ctl_redis *r, int argc,
			     const char **argv)
{
	redisReply *rep;

	errno = 0;
	rep = redisCommandArgv(r->ctx, argc, argv, NULL);
	if (!rep) {
		char what[96];
		snprintf(what, sizeof(what), "%s %.60s", argv[0],
			 argc > 1 ? argv[1] : "");
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
