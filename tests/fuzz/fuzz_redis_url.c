/* Fuzz target: shard/sc_redis_url.h, the redis:// grammar of the node's
 * --redis (also reached through fuzz_config), shardctl, shardcast-cli and
 * the bench.
 *
 * Input: arbitrary bytes; up to the first NUL they are the URL (the
 * parser takes C strings, as argv and config values are). Checked:
 *  - the result is 0 or -EINVAL, and a failed parse leaves nothing to free;
 *  - an accepted URL starts with "redis://" in some case, and its parts
 *    keep the documented bounds: host 1..253 bytes of a name or an IPv6
 *    literal's alphabet, port 1..65535, db 0..65535, a user only with a
 *    password;
 *  - the parts are what the URL says: written back out in canonical form
 *    (lower-case scheme, every credential byte percent-encoded here, port
 *    and db explicit) the URL parses to the very same parts. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fuzz_util.h"
#include "sc_redis_url.h"

/* Host bytes the grammar allows (docs: a name, or hex, ':' and '.' for an
 * IPv6 literal), spelled out here rather than taken from sc_uri.c. */
static int host_ok(const char *h)
{
    size_t n = strlen(h);
    int v6 = strchr(h, ':') != NULL;

    if (n == 0 || n > 253)
        return 0;
    return strspn(h, v6 ? "0123456789abcdefABCDEF:."
                        : "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                          "0123456789-._") == n;
}

/* Every byte as %XX. */
static char *encode_all(char *o, const char *s)
{
    for (; *s; s++)
        o += sprintf(o, "%%%02X", (unsigned char)*s);
    return o;
}

static void check_same(const struct sc_redis_url *a, const struct sc_redis_url *b)
{
    FUZZ_CHECK(!strcmp(a->host, b->host));
    FUZZ_CHECK(a->port == b->port && a->db == b->db);
    FUZZ_CHECK(!a->user == !b->user && (!a->user || !strcmp(a->user, b->user)));
    FUZZ_CHECK(!a->password == !b->password && (!a->password || !strcmp(a->password, b->password)));
}

/* The canonical spelling of u parses back to u. */
static void check_round_trip(const struct sc_redis_url *u, size_t inlen)
{
    char *text = malloc(3 * inlen + 300), *o = text;
    struct sc_redis_url again;

    FUZZ_CHECK(text != NULL);
    o += sprintf(o, "redis://");
    if (u->user)
        o = encode_all(o, u->user);
    if (u->password) {
        *o++ = ':';
        o = encode_all(o, u->password);
    }
    if (u->user || u->password)
        *o++ = '@';
    o += sprintf(o, strchr(u->host, ':') ? "[%s]:%d/%d" : "%s:%d/%d", u->host, u->port, u->db);
    FUZZ_CHECK(sc_redis_url_parse(text, &again) == 0);
    check_same(u, &again);
    sc_redis_url_free(&again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    struct sc_redis_url u;
    int rc;

    fuzz_init();
    FUZZ_CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    rc = sc_redis_url_parse(text, &u);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL);
    if (rc) {
        FUZZ_CHECK(!u.user && !u.password);
        free(text);
        return 0;
    }
    FUZZ_CHECK(!strncasecmp(text, "redis://", 8));
    FUZZ_CHECK(host_ok(u.host));
    FUZZ_CHECK(u.port >= 1 && u.port <= 65535);
    FUZZ_CHECK(u.db >= 0 && u.db <= 65535);
    /* "user@host" gives a user alone: the callers ask for a password file. */
    FUZZ_CHECK(!u.user || u.user[0] || u.password);
    check_round_trip(&u, strlen(text));
    sc_redis_url_free(&u);
    free(text);
    return 0;
}
