/* sc_redis_url: parse redis:// URLs on top of sc_uri. */
#include "sc_redis_url.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* "user:password" or ":password" of a into u->user / u->password. Returns
 * 0, -EINVAL or -ENOMEM. */
static int parse_userinfo(const struct sc_uri_authority *a,
			  struct sc_redis_url *u)
{
	const char *colon = memchr(a->userinfo, ':', a->userinfo_len);
	size_t ulen;
	int rc;

	if (!colon)
		return -EINVAL;
	ulen = (size_t)(colon - a->userinfo);
	if (ulen && (rc = sc_uri_percent_decode(a->userinfo, ulen, &u->user)))
		return rc;
	return sc_uri_percent_decode(colon + 1, a->userinfo_len - ulen - 1,
				     &u->password);
}

/* "", "/" or "/N" as a database number. Returns it or -EINVAL. */
static int parse_db(const char *p)
{
	int v = 0;

	if (!*p || !strcmp(p, "/"))
		return 0;
	if (*p++ != '/')
		return -EINVAL;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (*p - '0');
		if (v > 65535)
			return -EINVAL;
	}
	return v;
}

int sc_redis_url_parse(const char *text, struct sc_redis_url *u)
{
	struct sc_uri_authority a;
	const char *p;
	int rc;

	memset(u, 0, sizeof(*u));
	if (!text || !(p = sc_uri_skip_scheme(text, "redis")) ||
	    sc_uri_split_authority(p, &a) || (u->db = parse_db(a.rest)) < 0) {
		u->db = 0;
		return -EINVAL;
	}
	u->port = a.port > 0 ? a.port : 6379;
	memcpy(u->host, a.host, a.host_len);	/* host_len <= SC_URI_HOST_MAX */
	u->host[a.host_len] = '\0';
	if (a.userinfo && (rc = parse_userinfo(&a, u))) {
		sc_redis_url_free(u);
		return rc;
	}
	return 0;
}

void sc_redis_url_free(struct sc_redis_url *u)
{
	free(u->user);
	free(u->password);
	u->user = u->password = NULL;
}
