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
 *   userinfo, and it must hold a ':': "user@host" gives a user alone (for
 *   --redis-password-file), ":password@" gives no user, ":@" an empty password;
 * - db: 0..65535, 0 when absent. Pub/Sub ignores it and the node keeps the
 *   cluster state in database 0, so the tools accept it and ignore it.
 *
 * The generic pieces (scheme, authority, percent-decoding) are sc_uri.h's.
 */
#ifndef SC_REDIS_URL_H
#define SC_REDIS_URL_H

#include <stddef.h>

#include "sc_uri.h"

struct sc_redis_url {
    char host[SC_URI_HOST_MAX + 1]; /* without the brackets of IPv6 */
    int port;                       /* 6379 when absent */
    char *user;                     /* NULL unless given; owned */
    char *password;                 /* NULL unless given; owned */
    int db;                         /* 0 when absent */
};

/*
 * sc_redis_url_parse() - parse text into *u (any previous content is
 * ignored, not freed). Returns 0 (free with sc_redis_url_free()), -EINVAL
 * if text is NULL or not such a URL, or -ENOMEM; on error *u holds nothing
 * to free. "user@host" (no colon) gives a user without a password:
 * the caller must refuse it unless the password comes from a file (a user
 * alone sends no AUTH, which is never what was meant).
 */
int sc_redis_url_parse(const char *text, struct sc_redis_url *u);

/* Upper bound of a password file, newline included. */
#define SC_REDIS_PASSWORD_MAX 4096

/* Read a Redis password from path: the whole file, less one trailing line
 * ending (LF or CRLF). Refused, with a reason in err that names the file
 * but never shows its content: unreadable, empty (after the line ending),
 * larger than SC_REDIS_PASSWORD_MAX, or holding a NUL byte. Returns 0 with
 * *out a NUL-terminated string the caller frees with
 * sc_redis_password_free(), or -EINVAL / -ENOMEM. */
int sc_redis_password_read(const char *path, char **out, char *err, size_t errlen);

/* Wipe and free a password (NULL is fine). */
void sc_redis_password_free(char *password);

/* url for a message: its user info, which may hold a password, replaced
 * by three asterisks; scheme, host and port kept (at most 100 bytes from
 * the '@' on). */
void sc_redis_url_masked(const char *url, char *out, size_t n);

/* sc_redis_url_free() - free the strings of *u, wiping the password; it
 * may be parsed into again, and freeing twice is harmless. */
void sc_redis_url_free(struct sc_redis_url *u);

#endif /* SC_REDIS_URL_H */
