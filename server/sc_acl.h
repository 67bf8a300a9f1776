/* sc_acl: may a connection subscribe to a channel or a pattern?
 *
 * A connection is allowed what any of these allows:
 *   - the node's public channels (exact names or Redis globs), for everyone;
 *   - the node's namespaces, templates such as "user.{sub}" or
 *     "user.{sub}.*", where {sub} becomes the connection's subject with its
 *     glob metacharacters escaped (so a subject "*" means the literal "*");
 *   - the grants of its token (exact names or Redis globs).
 * A string with *, ? or [ is a glob, anything else an exact name; this is
 * the rule the node uses to pick SUBSCRIBE or PSUBSCRIBE (see
 * sc_channel_is_pattern), so a request is read the way Redis will read it.
 * Namespace templates are always globs (write \\ for a literal backslash).
 *
 * An exact request is allowed if some entry matches it. A pattern request
 * is allowed only if one single entry matches every channel the pattern can
 * match (glob language inclusion, decided exactly, see sc_glob_includes). A
 * pattern covered only by the union of several entries is refused: sound,
 * not complete. See docs/security.md. */
#ifndef SC_ACL_H
#define SC_ACL_H

#include <stddef.h>
#include <stdint.h>

/* Work allowed for one inclusion decision (sc_glob_includes) or one
 * sc_acl_check call; about 25 ms on a 2020s x86 core. */
#define SC_GLOB_MAX_WORK (1u << 20)
#define SC_GLOB_MAX_STATE_WORDS (1u << 18)
#define SC_ACL_MAX_ENTRY 4096 /* bytes in a public entry or template */

/* 1 if the Redis glob pat matches s, else 0, with the semantics of Redis's
 * stringmatchlen (case-sensitive): *, ?, [abc], [^abc], [a-z] (reversed
 * ends swapped), \ escapes, an unclosed [ runs to the end, and an empty
 * string matches only the empty pattern. Ranges with an end byte >= 0x80,
 * which Redis reads as signed or unsigned char depending on the platform,
 * hold only the bytes that are in them both ways. */
int sc_glob_match(const char *pat, size_t plen, const char *s, size_t slen);

/* Decides whether every non-empty string that glob req can match is also
 * matched by glob grant. Exact for the language each pattern denotes, with
 * bytes 0..255 as the alphabet; ambiguous high-byte ranges count wide in
 * req and narrow in grant, so the answer is never too generous.
 * Returns 1 (included), 0 (not: a counterexample, found breadth first so
 * short, is written to witness[0..min(*wlen, wcap)) if witness is not NULL), -E2BIG when the
 * decision would take more than SC_GLOB_MAX_WORK steps or
 * SC_GLOB_MAX_STATE_WORDS words of state (callers must treat this as
 * "not included"), or -ENOMEM. */
int sc_glob_includes(const char *req, size_t rlen, const char *grant, size_t glen, char *witness,
                     size_t wcap, size_t *wlen);

/* 1 if the Redis glob pat can match some channel name that begins with
 * prefix[0..len), len > 0 (its language meets prefix followed by anything),
 * else 0; -ENOMEM. Ambiguous high-byte ranges count wide, so the answer
 * errs towards 1. Used to keep the node's own channels out of clients'
 * reach, patterns included. */
int sc_glob_meets_prefix(const char *pat, size_t plen, const char *prefix, size_t len);

struct sc_acl;

/* An empty policy (nothing public, no namespaces). NULL if out of memory. */
struct sc_acl *sc_acl_new(void);

/* NULL is a no-op. */
void sc_acl_free(struct sc_acl *acl);

/* Makes name (exact or glob) readable by every connection, with or without
 * a token. Returns 0, or -EINVAL (empty or longer than SC_ACL_MAX_ENTRY)
 * or -ENOMEM, with a message in err. */
int sc_acl_add_public(struct sc_acl *acl, const char *name, char *err, size_t errlen);

/* Adds a namespace template; it must contain "{sub}" at least once, e.g.
 * "user.{sub}" or "user.{sub}.*". Every occurrence is replaced. Returns 0,
 * or -EINVAL / -ENOMEM with a message in err. */
int sc_acl_add_namespace(struct sc_acl *acl, const char *tmpl, char *err, size_t errlen);

/* May a connection with subject sub (NULL or "" when anonymous: public
 * channels only) and the grants[0..ngrants) of its token subscribe to
 * name[0..len)? The caller keeps ownership of everything. Pattern checks
 * share one budget of SC_GLOB_MAX_WORK for the call.
 * Returns 0 (allowed), -EACCES (not allowed), -E2BIG (a pattern too costly
 * to check against some entry and allowed by no other: refuse it too), or
 * -ENOMEM. */
int sc_acl_check(const struct sc_acl *acl, const char *sub, const char *const *grants,
                 size_t ngrants, const char *name, size_t len);

/* As sc_acl_check, but pattern checks draw on *budget (units of
 * SC_GLOB_MAX_WORK) and what they used is subtracted, so that one budget
 * can bound a whole subscribe request. Exact channels cost nothing from it;
 * once it is spent, patterns not yet decided get -E2BIG. */
int sc_acl_check_budget(const struct sc_acl *acl, const char *sub, const char *const *grants,
                        size_t ngrants, const char *name, size_t len, uint64_t *budget);

#endif
