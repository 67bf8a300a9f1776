/*
 * sc_redis_url.h - the one redis:// grammar, used by the node's --redis,
 * shardctl's --redis, shardcast-cli pub --redis and shardcast-bench
 * --redis, so an operator can paste a URL from one into another:
 *
 *   redis://[[user]:password@]host[:port][/db]
 *
 * - the scheme in any case; nothing after the authority but "", "/" or
 *   "/db" (no query, no fragment);
 * - host: a name of letters, digits, '-', '.', '_' (at most 253 bytes), or
 *   an IPv6 literal in brackets ("[::1]"), stored without them;
 * - port: 1-5 digits giving 1..65535, 6379 when absent;
 * - user and password: percent-decoded (so "%40" is an '@', "%2F" a '/';
 *   an encoded NUL is refused). Everything up to the last '@' is the
 *   userinfo, and it must hold a ':': "user@host" is refused as ambiguous
 *   between tools, ":password@" gives no user, ":@" an empty password;
 * - db: 0..65535, 0 when absent. Pub/Sub ignores it and the node keeps the
 *   cluster state in database 0, so the tools accept it and ignore it.
 *
 * The generic pieces (scheme, authority, percent-decoding) are sc_uri.h's.
 */
#ifndef SC_REDIS_URL_H
#define SC_REDIS_URL_H

#include "sc_uri.h"

struct sc_redis_url {
	char host[SC_URI_HOST_MAX + 1];	/* without the brackets of IPv6 */
	int port;			/* 6379 when absent */
	char *user;			/* NULL unless given; owned */
	char *password;			/* NULL unless given; owned */
	int db;				/* 0 when absent */
};

/*
 * sc_redis_url_parse() - parse text into *u (any previous content is
 * ignored, not freed). Returns 0 (free with sc_redis_url_free()), -EINVAL
 * if text is NULL or not such a URL, or -ENOMEM; on error *u holds nothing
 * to free.
 */
int sc_redis_url_parse(const char *text, struct sc_redis_url *u);

/* sc_redis_url_free() - free the strings of *u; it may be parsed into
 * again, and freeing twice is harmless. */
void sc_redis_url_free(struct sc_redis_url *u);

#endif /* SC_REDIS_URL_H */
