/*
 * sc_uri.h - the pieces of RFC 3986 syntax that every URL shardcast parses
 * shares: the scheme, the authority "[userinfo@]host[:port]", and
 * percent-decoding. The scheme-specific grammars build on them:
 * shard/sc_redis_url.h (redis://, for the node, shardctl, shardcast-cli and
 * the bench) and client/cli/url.h (ws:// and wss://).
 *
 * Anything odd is refused rather than guessed at: these strings come from a
 * command line, a config file or a node's redirect, and end up on an HTTP
 * request line, in a Redis AUTH or in getaddrinfo().
 *
 * Pure C11, no global state.
 */
#ifndef SC_URI_H
#define SC_URI_H

#include <stddef.h>

/* Longest host name (RFC 1035), without the brackets of an IPv6 literal. */
#define SC_URI_HOST_MAX 253

/* The pieces of "[userinfo@]host[:port]", as pointers into the input. */
struct sc_uri_authority {
    const char *userinfo; /* NULL when there is no '@' */
    size_t userinfo_len;
    const char *host; /* without the brackets of an IPv6 literal */
    size_t host_len;  /* 1..SC_URI_HOST_MAX */
    int bracketed;    /* host was an [IPv6] literal */
    int port;         /* 1..65535, or -1 when absent */
    const char *rest; /* first byte after the authority: '/', '?',
				 * '#' or the NUL */
};

/*
 * sc_uri_skip_scheme() - match "scheme://" at the start of text, the scheme
 * in any case (RFC 3986 3.1). Returns the text after "://", or NULL.
 */
const char *sc_uri_skip_scheme(const char *text, const char *scheme);

/*
 * sc_uri_split_authority() - split the authority that starts at p and ends
 * at the first '/', '?', '#' or NUL. The userinfo runs to the last '@'
 * (a host has none, a password may); a port is 1-5 digits giving 1..65535;
 * a host is a registered name (letters, digits, '-', '.', '_') or a
 * bracketed IPv6 literal (hex digits, ':', '.'): percent-encoded and
 * internationalised names are refused, resolving them is not our business.
 * Fills *a with pointers into p. Returns 0 or -EINVAL.
 */
int sc_uri_split_authority(const char *p, struct sc_uri_authority *a);

/*
 * sc_uri_percent_decode() - percent-decode s[0..len) into a new
 * NUL-terminated string, set in *out (the caller frees it). Returns 0,
 * -EINVAL on a malformed escape or an encoded NUL (the results are C
 * strings), or -ENOMEM; *out is untouched on error.
 */
int sc_uri_percent_decode(const char *s, size_t len, char **out);

/* The value of the hex digit c (either case), or -1. */
int sc_uri_hex_value(unsigned char c);

#endif /* SC_URI_H */
