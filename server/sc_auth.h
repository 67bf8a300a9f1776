/* sc_auth: who a connection is and what it may read, for the node.
 *
 * Glue between the node and the two libraries under it: sc_jwt (verify a
 * token, read its claims) and sc_acl (may this subject, with these grants,
 * subscribe to this channel or pattern). Modes (--auth):
 *   off       no tokens; every channel is readable (the quick start);
 *   optional  a token is checked when presented; without one a connection
 *             reads only the public channels;
 *   required  no valid token, no subscriptions: the token comes with the
 *             upgrade (?token=) or as the first message ({"op":"auth"}).
 * Tokens and secrets never reach a log line, a metric label or a reply:
 * errors carry only a fixed code. */
#ifndef SC_AUTH_H
#define SC_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "sc_config.h"
#include "sc_jwt.h"

struct sc_acl;

struct sc_auth {
    int mode;                 /* enum sc_auth_mode */
    struct sc_jwt_keys *keys; /* NULL when mode is off */
    struct sc_jwt_opts opts;
    struct sc_acl *acl;
    char **origins; /* allowed Origin values; NULL = any */
    size_t norigins;
};

/* Load keys, public channels, namespaces and origins from cfg. Returns 0,
 * or -EINVAL with a message naming the option in err (a configuration
 * error: exit 2). On error everything taken is released. */
int sc_auth_init(struct sc_auth *a, const struct sc_config *cfg, char *err, size_t errlen);
void sc_auth_free(struct sc_auth *a);

/* Verify a token. Returns 0 and a claims object the caller frees with
 * sc_auth_claims_free(), or a negative errno with *code set to a fixed
 * reason ("expired", "bad_signature", ...; never token content). */
int sc_auth_verify(const struct sc_auth *a, const char *token, size_t len,
                   struct sc_jwt_claims **out, const char **code);
void sc_auth_claims_free(struct sc_jwt_claims *c);

/* May a connection (claims NULL: anonymous) subscribe to name? budget is
 * shared by all the names of one request. Returns 0 or -EACCES (also for
 * checks too costly to decide). Always 0 when auth is off. */
int sc_auth_may_read(const struct sc_auth *a, const struct sc_jwt_claims *claims, const char *name,
                     size_t len, uint64_t *budget);

/* 1 if a browser Origin header (NULL: none sent) is allowed. Clients that
 * send no Origin (not browsers) are not subject to the list. */
int sc_auth_origin_ok(const struct sc_auth *a, const char *origin);

#endif
