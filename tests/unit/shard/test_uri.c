/* shard/sc_uri: scheme, authority and percent-decoding, the RFC 3986
 * pieces under the redis:// grammar (test_redis_url.c) and shardcast-cli's
 * ws:// one (tests/cli/test_url.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sc_uri.h"

static void test_scheme(void **state)
{
    const char *t = "ReDiS://h";

    (void)state;
    assert_ptr_equal(sc_uri_skip_scheme(t, "redis"), t + 8);
    assert_ptr_equal(sc_uri_skip_scheme("ws://", "ws"), (const char *)"ws://" + 5);
    assert_null(sc_uri_skip_scheme("redis:/h", "redis"));
    assert_null(sc_uri_skip_scheme("rediss://h", "redis"));
    assert_null(sc_uri_skip_scheme("wss://h", "ws"));
    assert_null(sc_uri_skip_scheme("", "ws"));
}

/* Split text (the part after "scheme://"), which must succeed. */
static void expect_split(const char *p, const char *userinfo, const char *host, int bracketed,
                         int port, const char *rest)
{
    struct sc_uri_authority a;

    if (sc_uri_split_authority(p, &a))
        fail_msg("refused \"%s\"", p);
    if (userinfo) {
        assert_non_null(a.userinfo);
        assert_int_equal(a.userinfo_len, strlen(userinfo));
        assert_memory_equal(a.userinfo, userinfo, a.userinfo_len);
    } else {
        assert_null(a.userinfo);
    }
    assert_int_equal(a.host_len, strlen(host));
    assert_memory_equal(a.host, host, a.host_len);
    assert_int_equal(a.bracketed, bracketed);
    assert_int_equal(a.port, port);
    assert_string_equal(a.rest, rest);
}

static void test_authority_accepts(void **state)
{
    char longest[SC_URI_HOST_MAX + 1];

    (void)state;
    expect_split("h", NULL, "h", 0, -1, "");
    expect_split("Node-1.local_2:1/ws", NULL, "Node-1.local_2", 0, 1, "/ws");
    expect_split("h:65535?x", NULL, "h", 0, 65535, "?x");
    expect_split("h#f", NULL, "h", 0, -1, "#f");
    expect_split("[::1]:9000/", NULL, "::1", 1, 9000, "/");
    expect_split("[2001:db8::1.2.3.4]", NULL, "2001:db8::1.2.3.4", 1, -1, "");
    /* The userinfo runs to the last '@': a password may hold one. */
    expect_split("u:p@ss@h:7", "u:p@ss", "h", 0, 7, "");
    expect_split("@h", "", "h", 0, -1, "");
    expect_split("h:00080", NULL, "h", 0, 80, "");
    memset(longest, 'a', SC_URI_HOST_MAX);
    longest[SC_URI_HOST_MAX] = '\0';
    expect_split(longest, NULL, longest, 0, -1, "");
}

static void test_authority_rejects(void **state)
{
    static const char *const bad[] = {
        "",     ":80",       "h:",   "h:0",    "h:65536", "h:123456", "h:12a",  "h:-1",     "h:+1",
        "h: 1", "h:1:2",     "[::1", "[::1]x", "[::g]",   "[]",       "[::1]:", "ex ample", "h\t",
        "%68",  "h\xc3\xa9", "u@",   "u:p@",   "u:p@:1",  "a\"b",     "a\\b",
    };
    char toolong[SC_URI_HOST_MAX + 2];
    struct sc_uri_authority a;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (sc_uri_split_authority(bad[i], &a) != -EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
    memset(toolong, 'a', sizeof(toolong) - 1);
    toolong[sizeof(toolong) - 1] = '\0';
    assert_int_equal(sc_uri_split_authority(toolong, &a), -EINVAL);
}

static void test_percent_decode(void **state)
{
    static const struct {
        const char *in;
        size_t len; /* only len bytes are read */
        const char *out;
    } ok[] = {
        {"p%40ss%3a%2F%2f", 15, "p@ss://"},
        {"us%65r", 6, "user"},
        {"", 0, ""},
        {"ab%zz", 2, "ab"}, /* the escape past len does not count */
        {"%C3%A9%ff", 9, "\xc3\xa9\xff"},
    };
    static const char *const bad[] = {
        "%", "%4", "a%4", "%zz", "%4g", "%00", "x%00y", "%%41",
    };
    char *out;

    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(sc_uri_percent_decode(ok[i].in, ok[i].len, &out), 0);
        assert_string_equal(out, ok[i].out);
        free(out);
    }
    out = (char *)"untouched";
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (sc_uri_percent_decode(bad[i], strlen(bad[i]), &out) != -EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_string_equal(out, "untouched");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scheme),
        cmocka_unit_test(test_authority_accepts),
        cmocka_unit_test(test_authority_rejects),
        cmocka_unit_test(test_percent_decode),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
