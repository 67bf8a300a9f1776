/* shard/sc_redis_url: the one redis:// grammar, for the node's --redis,
 * shardctl, shardcast-cli pub and the bench. Cases merge what the node's
 * copy (tests/unit/server/test_config.c) and shardcast-cli's
 * (tests/cli/test_url.c) were tested for, plus where the two used to
 * disagree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "sc_redis_url.h"

/* got is NULL exactly when want is, else the same string. */
static void expect_str(const char *got, const char *want)
{
    if (!want != !got || (want && strcmp(got, want)))
        fail_msg("got %s%s%s, want %s%s%s", got ? "\"" : "", got ? got : "NULL", got ? "\"" : "",
                 want ? "\"" : "", want ? want : "NULL", want ? "\"" : "");
}

static void test_accepts(void **state)
{
    static const struct {
        const char *url, *host, *user, *password;
        int port, db;
    } ok[] = {
        {"redis://127.0.0.1", "127.0.0.1", NULL, NULL, 6379, 0},
        {"redis://h:1", "h", NULL, NULL, 1, 0},
        {"redis://:pw@h:2", "h", NULL, "pw", 2, 0},
        {"redis://user:pw@h:3/0", "h", "user", "pw", 3, 0},
        {"redis://redis.example.com:65535", "redis.example.com", NULL, NULL, 65535, 0},
        {"redis://10.0.0.1/", "10.0.0.1", NULL, NULL, 6379, 0},
        {"redis://:@h", "h", NULL, "", 6379, 0},
        {"redis://user:@h", "h", "user", "", 6379, 0},
        /* A user alone: the password comes from --redis-password-file
		 * (the callers refuse it otherwise). */
        {"redis://us%65r@h", "h", "user", NULL, 6379, 0},
        {"REDIS://:pw@h:7000/2", "h", NULL, "pw", 7000, 2},
        {"redis://h/65535", "h", NULL, NULL, 6379, 65535},
        {"redis://h/0000001", "h", NULL, NULL, 6379, 1},
        /* Percent-decoded credentials; the userinfo runs to the last
		 * '@', so an '@' in a password may also stand as it is. */
        {"redis://us%65r:p%40ss:x@[::1]/", "::1", "user", "p@ss:x", 6379, 0},
        {"redis://:p@ss@h", "h", NULL, "p@ss", 6379, 0},
        {"redis://:a%2Fb%3Fc%23d@h", "h", NULL, "a/b?c#d", 6379, 0},
        {"redis://[2001:db8::1]:6380/3", "2001:db8::1", NULL, NULL, 6380, 3},
        {"redis://my_redis-1.local", "my_redis-1.local", NULL, NULL, 6379, 0},
    };
    struct sc_redis_url u;

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (sc_redis_url_parse(ok[i].url, &u))
            fail_msg("refused %s", ok[i].url);
        assert_string_equal(u.host, ok[i].host);
        assert_int_equal(u.port, ok[i].port);
        assert_int_equal(u.db, ok[i].db);
        expect_str(u.user, ok[i].user);
        expect_str(u.password, ok[i].password);
        sc_redis_url_free(&u);
        sc_redis_url_free(&u); /* harmless twice */
    }
}

static void test_rejects(void **state)
{
    static const char *const bad[] = {
        /* Scheme and shape. */
        "",
        "http://x",
        "rediss://h",
        "redis:/h",
        "rediss",
        "redis://",
        "ws://h",
        "redis//h",
        " redis://h",
        /* Ports: digits only, 1..65535. */
        "redis://h:0",
        "redis://h:70000",
        "redis://h:65536",
        "redis://h:12x",
        "redis://h:",
        "redis://h:-1",
        "redis://h:+1",
        "redis://h: 1",
        "redis://h:123456",
        "redis://:6379",
        "redis://h:1:2",
        /* Userinfo: must hold a ':'; escapes well-formed, no NUL. */
        "redis://@h",
        "redis://:pw@",
        "redis://:pw@:1",
        "redis://:p%zz@h",
        "redis://:p%2@h",
        "redis://:%00@h",
        /* Hosts: a name or a bracketed IPv6 literal. */
        "redis://h h",
        "redis://h\t",
        "redis://%68",
        "redis://[::1",
        "redis://[::g]",
        "redis://::1",
        "redis://h\xc3\xa9",
        /* After the authority: "", "/" or "/db", nothing else (the
		 * node used to ignore whatever followed a '/', and took '?'
		 * and '#' as part of the host). */
        "redis://h/x",
        "redis://h/1x",
        "redis://h/99999",
        "redis://h/-1",
        "redis://h//1",
        "redis://h?db=1",
        "redis://h#x",
        "redis://h:1?x",
        "redis://h/1?x",
    };
    struct sc_redis_url u;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (sc_redis_url_parse(bad[i], &u) != -EINVAL)
            fail_msg("accepted '%s'", bad[i]);
        /* Nothing to free on error. */
        assert_null(u.user);
        assert_null(u.password);
    }
    assert_int_equal(sc_redis_url_parse(NULL, &u), -EINVAL);
}

static void test_host_length(void **state)
{
    char url[8 + SC_URI_HOST_MAX + 2];
    struct sc_redis_url u;

    (void)state;
    memcpy(url, "redis://", 8);
    memset(url + 8, 'h', SC_URI_HOST_MAX);
    url[8 + SC_URI_HOST_MAX] = '\0';
    assert_int_equal(sc_redis_url_parse(url, &u), 0);
    assert_int_equal(strlen(u.host), SC_URI_HOST_MAX);
    sc_redis_url_free(&u);
    url[8 + SC_URI_HOST_MAX] = 'h';
    url[8 + SC_URI_HOST_MAX + 1] = '\0';
    assert_int_equal(sc_redis_url_parse(url, &u), -EINVAL);
}

/* Parsing again ignores what *u held (the caller frees first). */
static void test_parse_again(void **state)
{
    struct sc_redis_url u;

    (void)state;
    assert_int_equal(sc_redis_url_parse("redis://u:p@first:1/4", &u), 0);
    sc_redis_url_free(&u);
    assert_int_equal(sc_redis_url_parse("redis://second", &u), 0);
    assert_string_equal(u.host, "second");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    assert_null(u.user);
    assert_null(u.password);
    sc_redis_url_free(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_host_length),
        cmocka_unit_test(test_parse_again),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
