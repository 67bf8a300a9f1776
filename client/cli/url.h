/*
 * url.h - the two kinds of address shardcast-cli takes: a node's WebSocket
 * URL (ws:// or wss://, here) and a Redis URL (redis://, whose grammar the
 * node, shardctl and the bench share: shard/sc_redis_url.h).
 */
#ifndef SC_CLI_URL_H
#define SC_CLI_URL_H

#include <stddef.h>

#include "sc_redis_url.h"

/* A ws:// or wss:// URL split into the pieces lws's client API wants. */
struct sc_ws_url {
    int tls;    /* 1 for wss:// */
    char *host; /* as written, without the brackets of an IPv6 literal */
    int port;   /* explicit, or 80 / 443 from the scheme */
    char *path; /* path and "?query"; always starts with '/' */
};

/*
 * sc_ws_url_parse() - parse a node URL.
 * Accepts ws:// and wss:// (any case), a host name or [IPv6] literal, an
 * optional port and an optional path and query.  An empty path becomes "/ws",
 * the protocol's only endpoint, so "ws://host:8080" is enough to type.
 * Userinfo, fragments and bytes that cannot go on an HTTP request line are
 * refused.  Returns 0 and fills *out (free with sc_ws_url_free()), -EINVAL
 * if the text is not such a URL, or -ENOMEM.  *out is untouched on failure.
 */
int sc_ws_url_parse(const char *text, struct sc_ws_url *out);

/* sc_ws_url_free() - release what sc_ws_url_parse() allocated; idempotent. */
void sc_ws_url_free(struct sc_ws_url *u);

/*
 * sc_ws_url_copy() - deep-copy src into dst (dst must hold nothing).
 * Returns 0 or -ENOMEM.
 */
int sc_ws_url_copy(struct sc_ws_url *dst, const struct sc_ws_url *src);

/* sc_ws_url_equal() - 1 if both URLs name the same endpoint, else 0. */
int sc_ws_url_equal(const struct sc_ws_url *a, const struct sc_ws_url *b);

/*
 * sc_ws_url_has_param() - 1 if the query carries a parameter named name
 * (compared before percent-decoding, which is enough for plain names).
 */
int sc_ws_url_has_param(const struct sc_ws_url *u, const char *name);

/*
 * sc_ws_url_add_key() - append "key=K" (K percent-encoded) to the query.
 * Returns 0, -EEXIST if the URL already carries a key (it is left as is:
 * a URL handed out by a node knows better), or -ENOMEM.
 */
int sc_ws_url_add_key(struct sc_ws_url *u, const char *key);

/*
 * sc_ws_url_host_header() - the Host header value: "host" on the scheme's
 * default port, else "host:port", with IPv6 literals bracketed.
 * Returns the length written, or -ENOSPC if buf is too small.
 */
int sc_ws_url_host_header(const struct sc_ws_url *u, char *buf, size_t len);

/*
 * sc_ws_url_format() - the URL as text, for messages.
 * Returns the length written, or -ENOSPC if buf is too small.
 */
int sc_ws_url_format(const struct sc_ws_url *u, char *buf, size_t len);

#endif /* SC_CLI_URL_H */
