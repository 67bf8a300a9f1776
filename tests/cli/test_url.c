/*
 * Unit tests for client/cli/url.c: node URL parsing, key handling and the
 * Host header.  The redis:// grammar is shard/'s, tested in
 * tests/unit/shard/test_redis_url.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "url.h"

/* Parse text, which must succeed, and check the pieces. */
static void expect_ws(const char *text, int tls, const char *host, int port, const char *path)
{
    struct sc_ws_url u;

    assert_int_equal(sc_ws_url_parse(text, &u), 0);
    assert_int_equal(u.tls, tls);
    assert_string_equal(u.host, host);
    assert_int_equal(u.port, port);
    assert_string_equal(u.path, path);
    sc_ws_url_free(&u);
}

static void test_ws_accepts(void **state)
{
    (void)state;
    expect_ws("ws://example.com:8080/ws", 0, "example.com", 8080, "/ws");
    expect_ws("wss://example.com/ws", 1, "example.com", 443, "/ws");
    expect_ws("ws://example.com", 0, "example.com", 80, "/ws");
    expect_ws("WS://Node-1.local:1", 0, "Node-1.local", 1, "/ws");
    expect_ws("ws://h:65535?channels=a", 0, "h", 65535, "/ws?channels=a");
    expect_ws("ws://h/", 0, "h", 80, "/");
    expect_ws("ws://h/other/path?a=b&c", 0, "h", 80, "/other/path?a=b&c");
    expect_ws("ws://127.0.0.1:7000/ws", 0, "127.0.0.1", 7000, "/ws");
    expect_ws("ws://[::1]:9000/ws", 0, "::1", 9000, "/ws");
    expect_ws("wss://[2001:db8::1]", 1, "2001:db8::1", 443, "/ws");
    expect_ws("ws://h/ws?key=a%2Fb", 0, "h", 80, "/ws?key=a%2Fb");
}

static void test_ws_rejects(void **state)
{
    static const char *const bad[] = {
        "",
        "http://h/ws",
        "ws:/h",
        "ws//h",
        "ws://",
        "ws://:80/ws",
        "ws://h:",
        "ws://h:0",
        "ws://h:65536",
        "ws://h:123456",
        "ws://h:12a",
        "ws://h:-1",
        "ws://user@h/ws",
        "ws://u:p@h",
        "ws://h/ws#frag",
        "ws://h/a b",
        "ws://h/\x7f",
        "ws://h/\xc3\xa9",
        "ws://[::1",
        "ws://[::1]x",
        "ws://[::g]",
        "ws://h:1:2",
        "ws://ex ample",
        "ws://h\t",
        "wss:/h",
        "ws://%68",
    };
    struct sc_ws_url u = {.host = (char *)"untouched"};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (sc_ws_url_parse(bad[i], &u) != -EINVAL)
            fail_msg("accepted '%s'", bad[i]);
        assert_string_equal(u.host, "untouched");
    }
    assert_int_equal(sc_ws_url_parse(NULL, &u), -EINVAL);
}

static void test_ws_add_key(void **state)
{
    struct sc_ws_url u;

    (void)state;
    assert_int_equal(sc_ws_url_parse("ws://h/ws", &u), 0);
    assert_int_equal(sc_ws_url_add_key(&u, "user-42"), 0);
    assert_string_equal(u.path, "/ws?key=user-42");
    assert_int_equal(sc_ws_url_add_key(&u, "again"), -EEXIST);
    assert_string_equal(u.path, "/ws?key=user-42");
    sc_ws_url_free(&u);

    assert_int_equal(sc_ws_url_parse("ws://h/ws?keys=1&monkey=2", &u), 0);
    assert_int_equal(sc_ws_url_has_param(&u, "key"), 0);
    assert_int_equal(sc_ws_url_has_param(&u, "keys"), 1);
    assert_int_equal(sc_ws_url_add_key(&u, "a b/\xc3\xa9&=~._"), 0);
    assert_string_equal(u.path, "/ws?keys=1&monkey=2&key=a%20b%2F%C3%A9%26%3D~._");
    assert_int_equal(sc_ws_url_has_param(&u, "key"), 1);
    sc_ws_url_free(&u);

    assert_int_equal(sc_ws_url_parse("ws://h/ws?x&key", &u), 0);
    assert_int_equal(sc_ws_url_add_key(&u, "k"), -EEXIST);
    sc_ws_url_free(&u);
}

static void test_ws_host_header_and_format(void **state)
{
    struct sc_ws_url u;
    char buf[64];

    (void)state;
    assert_int_equal(sc_ws_url_parse("ws://h/ws", &u), 0);
    assert_int_equal(sc_ws_url_host_header(&u, buf, sizeof(buf)), 1);
    assert_string_equal(buf, "h");
    assert_int_equal(sc_ws_url_host_header(&u, buf, 1), -ENOSPC);
    assert_int_equal(sc_ws_url_format(&u, buf, sizeof(buf)), 12);
    assert_string_equal(buf, "ws://h:80/ws");
    sc_ws_url_free(&u);

    assert_int_equal(sc_ws_url_parse("wss://[::1]:8443/x?y", &u), 0);
    assert_true(sc_ws_url_host_header(&u, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "[::1]:8443");
    assert_true(sc_ws_url_format(&u, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "wss://[::1]:8443/x?y");
    assert_int_equal(sc_ws_url_format(&u, buf, 5), -ENOSPC);
    sc_ws_url_free(&u);

    assert_int_equal(sc_ws_url_parse("wss://h:443", &u), 0);
    sc_ws_url_host_header(&u, buf, sizeof(buf));
    assert_string_equal(buf, "h");
    sc_ws_url_free(&u);
}

static void test_ws_copy_equal(void **state)
{
    struct sc_ws_url a, b, c;

    (void)state;
    assert_int_equal(sc_ws_url_parse("ws://Host:81/ws?x", &a), 0);
    assert_int_equal(sc_ws_url_copy(&b, &a), 0);
    assert_ptr_not_equal(a.host, b.host);
    assert_true(sc_ws_url_equal(&a, &b));
    assert_int_equal(sc_ws_url_parse("ws://host:81/ws?x", &c), 0);
    assert_true(sc_ws_url_equal(&a, &c)); /* host names ignore case */
    sc_ws_url_free(&c);
    assert_int_equal(sc_ws_url_parse("wss://host:81/ws?x", &c), 0);
    assert_false(sc_ws_url_equal(&a, &c));
    sc_ws_url_free(&c);
    assert_int_equal(sc_ws_url_parse("ws://host:81/ws?y", &c), 0);
    assert_false(sc_ws_url_equal(&a, &c));
    sc_ws_url_free(&a);
    sc_ws_url_free(&b);
    sc_ws_url_free(&c);
    sc_ws_url_free(&c); /* idempotent */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ws_accepts),    cmocka_unit_test(test_ws_rejects),
        cmocka_unit_test(test_ws_add_key),    cmocka_unit_test(test_ws_host_header_and_format),
        cmocka_unit_test(test_ws_copy_equal),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
