/* sc_redis_url: the redis://[[user][:password]@]host[:port][/db] grammar,
 * shared by the node's --redis and shardctl's, so an operator can paste
 * one into the other, and the --redis-password-file both take so that the
 * password stays out of `ps`. The db number is accepted and ignored:
 * Pub/Sub and the cluster keys live in database 0. */
#ifndef SC_REDIS_URL_H
#define SC_REDIS_URL_H

#include <stddef.h>

struct sc_redis_url {
    char host[256];
    int port;        /* 6379 when not given */
    char *user;      /* NULL unless given; owned */
    char *password;  /* NULL unless given; owned */
};

/* Parse url into *u (any previous content is ignored, not freed). Returns 0,
 * -EINVAL for bad syntax or -ENOMEM; on error *u holds nothing to free.
 * "user@host" (no colon) gives a user without a password: the caller must
 * refuse it unless the password comes from a file (a user alone sends no
 * AUTH, which is never what was meant). */
int sc_redis_url_parse(const char *url, struct sc_redis_url *u);

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

/* Free the strings of *u, wiping the password; it may be parsed into again. */
void sc_redis_url_free(struct sc_redis_url *u);

#endif
