/*
 * url.c - parsing of node (ws://, wss://) and Redis (redis://) URLs.
 *
 * Both share the RFC 3986 authority syntax, so one splitter serves both; the
 * scheme-specific rules (what a path may be, whether userinfo is allowed) sit
 * in the two public parsers.  Anything odd is refused rather than guessed at:
 * these strings come from a command line or from a node's redirect event and
 * end up on an HTTP request line or in a Redis AUTH.
 */
#include "url.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SC_HOST_MAX 253

/* The pieces of "[userinfo@]host[:port]" as pointers into the input. */
struct sc_authority {
	const char *userinfo;	/* NULL when there is no '@' */
	size_t userinfo_len;
	const char *host;
	size_t host_len;
	int bracketed;		/* host was an [IPv6] literal */
	int port;		/* -1 when absent */
	const char *rest;	/* first byte after the authority */
};

/*
 * Match "scheme://" case-insensitively at the start of text.  Returns the
 * text after "://", or NULL.
 */
static const char *sc_skip_scheme(const char *text, const char *scheme)
{
	size_t n = strlen(scheme);

	if (strncasecmp(text, scheme, n) || strncmp(text + n, "://", 3))
		return NULL;
	return text + n + 3;
}

/* Parse 1-5 decimal digits as a TCP port.  Returns 1..65535 or -EINVAL. */
static int sc_parse_port(const char *p, size_t len)
{
	int v = 0;

	if (!len || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -EINVAL;
		v = v * 10 + (p[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : -EINVAL;
}

/*
 * Check a host: a registered name (letters, digits, '-', '.', '_') or, when
 * bracketed, an IPv6 literal (hex digits, ':', '.').  Percent-encoded and
 * internationalised names are refused: resolving them is not our business.
 * Returns 0 or -EINVAL.
 */
static int sc_check_host(const char *h, size_t len, int bracketed)
{
	if (!len || len > SC_HOST_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)h[i];

		if (bracketed ? !(isxdigit(c) || c == ':' || c == '.')
			      : !(isalnum(c) || c == '-' || c == '.' || c == '_'))
			return -EINVAL;
	}
	return 0;
}

/*
 * Split the authority that starts at p.  Fills *a with pointers into p.
 * Returns 0 or -EINVAL (bad host or port).
 */
static int sc_split_authority(const char *p, struct sc_authority *a)
{
	size_t end = strcspn(p, "/?#");
	const char *hp = p, *at, *colon = NULL;
	size_t hlen;

	memset(a, 0, sizeof(*a));
	a->port = -1;
	a->rest = p + end;
	at = memrchr(p, '@', end);
	if (at) {
		a->userinfo = p;
		a->userinfo_len = (size_t)(at - p);
		hp = at + 1;
	}
	hlen = (size_t)(p + end - hp);
	if (hlen && hp[0] == '[') {
		const char *close = memchr(hp, ']', hlen);

		if (!close)
			return -EINVAL;
		a->bracketed = 1;
		a->host = hp + 1;
		a->host_len = (size_t)(close - hp - 1);
		if (close + 1 < hp + hlen) {
			if (close[1] != ':')
				return -EINVAL;
			colon = close + 1;
		}
	} else {
		colon = memchr(hp, ':', hlen);
		a->host = hp;
		a->host_len = colon ? (size_t)(colon - hp) : hlen;
	}
	if (colon) {
		a->port = sc_parse_port(colon + 1, (size_t)(hp + hlen - colon - 1));
		if (a->port < 0)
			return -EINVAL;
	}
	return sc_check_host(a->host, a->host_len, a->bracketed);
}

/*
 * Check the path-and-query of a ws URL: printable ASCII without spaces (it
 * goes verbatim onto the request line) and no fragment, which RFC 6455
 * forbids in WebSocket URIs.  Returns 0 or -EINVAL.
 */
static int sc_check_path(const char *p)
{
	for (; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 0x20 || c >= 0x7f || c == '#')
			return -EINVAL;
	}
	return 0;
}

int sc_ws_url_parse(const char *text, struct sc_ws_url *out)
{
	struct sc_authority a;
	struct sc_ws_url u = { 0 };
	const char *p;

	if (!text)
		return -EINVAL;
	if ((p = sc_skip_scheme(text, "wss")))
		u.tls = 1;
	else if (!(p = sc_skip_scheme(text, "ws")))
		return -EINVAL;
	if (sc_split_authority(p, &a) || a.userinfo || sc_check_path(a.rest))
		return -EINVAL;
	u.port = a.port > 0 ? a.port : (u.tls ? 443 : 80);
	u.host = strndup(a.host, a.host_len);
	/* "/ws" is the protocol's only endpoint: save typing it. */
	if (a.rest[0] == '/')
		u.path = strdup(a.rest);
	else if (asprintf(&u.path, "/ws%s", a.rest) < 0)
		u.path = NULL;
	if (!u.host || !u.path) {
		sc_ws_url_free(&u);
		return -ENOMEM;
	}
	*out = u;
	return 0;
}

void sc_ws_url_free(struct sc_ws_url *u)
{
	free(u->host);
	free(u->path);
	u->host = NULL;
	u->path = NULL;
}

int sc_ws_url_copy(struct sc_ws_url *dst, const struct sc_ws_url *src)
{
	struct sc_ws_url u = *src;

	u.host = strdup(src->host);
	u.path = strdup(src->path);
	if (!u.host || !u.path) {
		sc_ws_url_free(&u);
		return -ENOMEM;
	}
	*dst = u;
	return 0;
}

int sc_ws_url_equal(const struct sc_ws_url *a, const struct sc_ws_url *b)
{
	return a->tls == b->tls && a->port == b->port &&
	       !strcasecmp(a->host, b->host) && !strcmp(a->path, b->path);
}

int sc_ws_url_has_param(const struct sc_ws_url *u, const char *name)
{
	const char *q = strchr(u->path, '?');
	size_t n = strlen(name);

	while (q) {
		q++;
		if (!strncmp(q, name, n) &&
		    (q[n] == '=' || q[n] == '&' || q[n] == '\0'))
			return 1;
		q = strchr(q, '&');
	}
	return 0;
}

/*
 * Percent-encode s, keeping only RFC 3986 unreserved bytes, so any key
 * survives the trip through the query string.  Returns a malloc'd string or
 * NULL on allocation failure.
 */
static char *sc_percent_encode(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *out = malloc(strlen(s) * 3 + 1), *o = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

int sc_ws_url_add_key(struct sc_ws_url *u, const char *key)
{
	char *enc, *path;
	int n;

	if (sc_ws_url_has_param(u, "key"))
		return -EEXIST;
	enc = sc_percent_encode(key);
	if (!enc)
		return -ENOMEM;
	n = asprintf(&path, "%s%skey=%s", u->path,
		     strchr(u->path, '?') ? "&" : "?", enc);
	free(enc);
	if (n < 0)
		return -ENOMEM;
	free(u->path);
	u->path = path;
	return 0;
}

/* snprintf's result mapped to the "length or -ENOSPC" convention. */
static int sc_fit(int n, size_t len)
{
	return n < 0 || (size_t)n >= len ? -ENOSPC : n;
}

int sc_ws_url_host_header(const struct sc_ws_url *u, char *buf, size_t len)
{
	int v6 = strchr(u->host, ':') != NULL;
	int dflt = u->port == (u->tls ? 443 : 80);

	if (dflt)
		return sc_fit(snprintf(buf, len, v6 ? "[%s]" : "%s", u->host),
			      len);
	return sc_fit(snprintf(buf, len, v6 ? "[%s]:%d" : "%s:%d", u->host,
			       u->port), len);
}

int sc_ws_url_format(const struct sc_ws_url *u, char *buf, size_t len)
{
	int v6 = strchr(u->host, ':') != NULL;

	return sc_fit(snprintf(buf, len, v6 ? "%s://[%s]:%d%s" : "%s://%s:%d%s",
			       u->tls ? "wss" : "ws", u->host, u->port,
			       u->path), len);
}

/* Value of one hex digit already checked with isxdigit(). */
static int sc_hex_value(char c)
{
	return isdigit((unsigned char)c) ? c - '0'
					 : tolower((unsigned char)c) - 'a' + 10;
}

/*
 * Percent-decode len bytes of s into a new NUL-terminated string.  Returns
 * 0 and sets *out, -EINVAL on a malformed escape or an encoded NUL (AUTH
 * arguments are C strings here), or -ENOMEM.
 */
static int sc_percent_decode(const char *s, size_t len, char **out)
{
	char *d = malloc(len + 1), *o = d;

	if (!d)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		unsigned int v;

		if (s[i] != '%') {
			*o++ = s[i];
			continue;
		}
		if (i + 2 >= len || !isxdigit((unsigned char)s[i + 1]) ||
		    !isxdigit((unsigned char)s[i + 2]))
			goto bad;
		v = (unsigned int)(sc_hex_value(s[i + 1]) << 4 |
				   sc_hex_value(s[i + 2]));
		if (!v)
			goto bad;
		*o++ = (char)v;
		i += 2;
	}
	*o = '\0';
	*out = d;
	return 0;
bad:
	free(d);
	return -EINVAL;
}

/*
 * Fill u->user / u->password from "user:password" or ":password".  A bare
 * "name@" is refused: it is ambiguous between tools.  Returns 0, -EINVAL or
 * -ENOMEM.
 */
static int sc_redis_userinfo(const struct sc_authority *a,
			     struct sc_redis_url *u)
{
	const char *colon = memchr(a->userinfo, ':', a->userinfo_len);
	size_t ulen;
	int rc;

	if (!colon)
		return -EINVAL;
	ulen = (size_t)(colon - a->userinfo);
	if (ulen) {
		rc = sc_percent_decode(a->userinfo, ulen, &u->user);
		if (rc)
			return rc;
	}
	return sc_percent_decode(colon + 1, a->userinfo_len - ulen - 1,
				 &u->password);
}

/* Parse "", "/" or "/N" as a database number.  Returns it or -EINVAL. */
static int sc_redis_db(const char *p)
{
	long v;
	char *end;

	if (!*p || !strcmp(p, "/"))
		return 0;
	if (p[0] != '/' || !isdigit((unsigned char)p[1]))
		return -EINVAL;
	errno = 0;
	v = strtol(p + 1, &end, 10);
	if (*end || errno || v > 65535)
		return -EINVAL;
	return (int)v;
}

int sc_redis_url_parse(const char *text, struct sc_redis_url *out)
{
	struct sc_authority a;
	struct sc_redis_url u = { 0 };
	const char *p;
	int rc;

	if (!text || !(p = sc_skip_scheme(text, "redis")))
		return -EINVAL;
	if (sc_split_authority(p, &a) || (u.db = sc_redis_db(a.rest)) < 0)
		return -EINVAL;
	u.port = a.port > 0 ? a.port : 6379;
	if (a.userinfo && (rc = sc_redis_userinfo(&a, &u))) {
		sc_redis_url_free(&u);
		return rc;
	}
	u.host = strndup(a.host, a.host_len);
	if (!u.host) {
		sc_redis_url_free(&u);
		return -ENOMEM;
	}
	*out = u;
	return 0;
}

void sc_redis_url_free(struct sc_redis_url *u)
{
	free(u->host);
	free(u->user);
	free(u->password);
	u->host = u->user = u->password = NULL;
}
