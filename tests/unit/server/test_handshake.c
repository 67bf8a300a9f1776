/* sc_handshake: the header checks of RFC 6455 4.2.1, the request-head
 * scanner (bad escapes and %00 by parameter, Upgrade headers, across
 * reads), and the refusals' HTTP/1.1 form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sc_handshake.h"

#define S(lit) lit, sizeof(lit) - 1

static void test_key(void **state)
{
    (void)state;
    assert_true(sc_hs_key_valid(S("dGhlIHNhbXBsZSBub25jZQ==")));
    assert_true(sc_hs_key_valid(S(" dGhlIHNhbXBsZSBub25jZQ==\t")));
    assert_false(sc_hs_key_valid(S("")));
    assert_false(sc_hs_key_valid(S("abc")));
    assert_false(sc_hs_key_valid(S("AAAAAAAAAAAAAAAAAAAA")));     /* 15 bytes */
    assert_false(sc_hs_key_valid(S("AAAAAAAAAAAAAAAAAAAAAAA="))); /* 17 bytes */
    assert_false(sc_hs_key_valid(S("dGhlIHNhbXBsZSBub25jZQ==,dGhlIHNhbXBsZSBub25jZQ==")));
    assert_false(sc_hs_key_valid(S("dGhlIHNhbXBsZSBub25j*Q==")));
}

static void test_version_and_http(void **state)
{
    (void)state;
    assert_true(sc_hs_version_13(S("13")));
    assert_true(sc_hs_version_13(S(" 13 ")));
    assert_false(sc_hs_version_13(S("")));
    assert_false(sc_hs_version_13(S("8")));
    assert_false(sc_hs_version_13(S("13,8")));
    assert_false(sc_hs_version_13(S("130")));
    assert_true(sc_hs_http11(S("HTTP/1.1")));
    assert_false(sc_hs_http11(S("HTTP/1.0")));
    assert_false(sc_hs_http11(S("HTTP/2.0")));
    assert_false(sc_hs_http11(S("HTTP/1.1 ")));
}

static void test_lists(void **state)
{
    (void)state;
    assert_true(sc_hs_list_has(S("Upgrade"), "upgrade", 1));
    assert_true(sc_hs_list_has(S("keep-alive, UPGRADE"), "upgrade", 1));
    assert_false(sc_hs_list_has(S("keep-alive"), "upgrade", 1));
    assert_false(sc_hs_list_has(S("upgrades"), "upgrade", 1));
    assert_false(sc_hs_list_has(S("Upgrade"), "upgrade", 0));
    assert_true(sc_hs_connection_ok(S("keep-alive, Upgrade")));
    assert_false(sc_hs_connection_ok(S("1, Upgrade"))); /* lws: a number */
    assert_false(sc_hs_connection_ok(S(", Upgrade")));  /* lws: empty element */
    assert_false(sc_hs_connection_ok(S("a=b, Upgrade")));
    assert_false(sc_hs_connection_ok(S("up")));
    assert_true(sc_hs_token_list(S("a1, 1a, v1.2, x")));
    assert_false(sc_hs_token_list(S("1.2")));
    assert_false(
        sc_hs_token_list(S("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")));
    assert_true(sc_hs_subprotocol_ok(S("shardcast")));
    assert_true(sc_hs_subprotocol_ok(S("chat, shardcast")));
    assert_false(sc_hs_subprotocol_ok(S("chat")));
    assert_false(sc_hs_subprotocol_ok(S("Shardcast")));
    assert_false(sc_hs_subprotocol_ok(S("http, shardcast")));
    assert_false(sc_hs_subprotocol_ok(S("shardcast,,chat")));
    assert_false(sc_hs_subprotocol_ok(S("shardcast, a b")));
    assert_false(sc_hs_subprotocol_ok(S("2, shardcast")));
}

static void test_response(void **state)
{
    char out[512];
    size_t n;

    (void)state;
    n = sc_hs_response(out, sizeof(out), 400, "bad_key: why\n");
    assert_int_equal(n, strlen(out));
    assert_string_equal(out, "HTTP/1.1 400 Bad Request\r\n"
                             "Content-Type: text/plain; charset=utf-8\r\n"
                             "Content-Length: 13\r\n"
                             "Cache-Control: no-store\r\n"
                             "Connection: close\r\n\r\n"
                             "bad_key: why\n");
    n = sc_hs_response(out, sizeof(out), 426, "x\n");
    assert_non_null(strstr(out, "HTTP/1.1 426 Upgrade Required\r\n"));
    assert_non_null(strstr(out, "\r\nSec-WebSocket-Version: 13\r\n"));
    assert_non_null(strstr(out, "\r\nUpgrade: websocket\r\nConnection: Upgrade, close\r\n"));
    sc_hs_response(out, sizeof(out), 405, "GET only\n");
    assert_non_null(strstr(out, "HTTP/1.1 405 Method Not Allowed\r\n"));
    assert_non_null(strstr(out, "\r\nAllow: GET\r\n"));
    assert_int_equal(sc_hs_response(out, 40, 503, "too long for forty bytes\n"), 0);
}

/* Feed s in pieces of step bytes; the verdict, its absolute offset and
 * parameter. */
static enum sc_hs_verdict scan(const char *s, size_t step, size_t *at, enum sc_hs_param *param)
{
    struct sc_hs_scan sc;
    size_t len = strlen(s);

    sc_hs_scan_init(&sc);
    for (size_t off = 0; off < len; off += step) {
        size_t n = len - off < step ? len - off : step;
        enum sc_hs_verdict v = sc_hs_scan_feed(&sc, (const unsigned char *)s + off, n, at, param);
        if (v != SC_HS_FINE) {
            *at += off;
            return v;
        }
    }
    return SC_HS_FINE;
}

static void expect(const char *req, enum sc_hs_verdict want, size_t want_at,
                   enum sc_hs_param want_param)
{
    for (size_t step = 1; step <= strlen(req); step += step < 4 ? 1 : 7) {
        size_t at = 0;
        enum sc_hs_param param = SC_HS_PARAM_OTHER;
        enum sc_hs_verdict v = scan(req, step, &at, &param);

        assert_int_equal(v, want);
        if (v != SC_HS_FINE) {
            assert_int_equal(at, want_at);
            assert_int_equal(param, want_param);
        }
    }
}

static void test_scanner(void **state)
{
    (void)state;
    expect("GET /ws?channels=a%2Cb&key=k%41 HTTP/1.1\r\nHost: x\r\n\r\n", SC_HS_FINE, 0, 0);
    expect("GET /ws?channels=%zz HTTP/1.1\r\n\r\n", SC_HS_BAD_ESCAPE, 18, SC_HS_PARAM_CHANNELS);
    expect("GET /ws?channels=a%4 HTTP/1.1\r\n\r\n", SC_HS_BAD_ESCAPE, 20, SC_HS_PARAM_CHANNELS);
    expect("GET /ws?x=1&channels=a%00 HTTP/1.1\r\n\r\n", SC_HS_NUL, 24, SC_HS_PARAM_CHANNELS);
    expect("GET /ws?key=%G0 HTTP/1.1\r\n\r\n", SC_HS_BAD_ESCAPE, 13, SC_HS_PARAM_KEY);
    expect("GET /ws?%6Bey=%x HTTP/1.1\r\n\r\n", SC_HS_BAD_ESCAPE, 15, SC_HS_PARAM_KEY);
    expect("GET /ws?keys=%x HTTP/1.1\r\n\r\n", SC_HS_BAD_ESCAPE, 14, SC_HS_PARAM_OTHER);
    expect("GET /ws?a=x?key=%x HTTP/1.1\r\n\r\n", SC_HS_BAD_ESCAPE, 17, SC_HS_PARAM_OTHER);
    expect("GET /ws?ke%zz=1 HTTP/1.1\r\n\r\n", SC_HS_BAD_ESCAPE, 11, SC_HS_PARAM_OTHER);
    expect("GET /%00 HTTP/1.1\r\n\r\n", SC_HS_NUL, 7, SC_HS_PARAM_OTHER);
    expect("GET /ws?key=% HTTP/1.1\r\n\r\n", SC_HS_BAD_ESCAPE, 13, SC_HS_PARAM_KEY);
    /* The next request on the connection is scanned too. */
    expect("GET /a HTTP/1.1\r\nX: y\r\n\r\nGET /ws?key=%z HTTP/1.1\r\n\r\n", SC_HS_BAD_ESCAPE, 38,
           SC_HS_PARAM_KEY);
    /* Upgrade headers as lws reads them: one, websocket or h2c. */
    expect("GET /ws HTTP/1.1\r\nUPGRADE:  WebSocket\r\nUpgrade-Insecure-Requests: 1\r\n\r\n",
           SC_HS_FINE, 0, 0);
    expect("GET / HTTP/1.1\nUpgrade: h2c\n\n", SC_HS_FINE, 0, 0);
    expect("GET /ws HTTP/1.1\r\nUpgrade: foo\r\nHost: x\r\n\r\n", SC_HS_BAD_UPGRADE, 42, 0);
    expect("GET /ws HTTP/1.1\r\nUpgrade: websocket \r\n\r\n", SC_HS_BAD_UPGRADE, 40, 0);
    expect("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nUpgrade: websocket\r\n\r\n",
           SC_HS_BAD_UPGRADE, 59, 0);
    /* Methods as lws reads them: without case; others refused. */
    expect("get /%zz HTTP/1.1\r\n\r\n", SC_HS_BAD_ESCAPE, 6, SC_HS_PARAM_OTHER);
    expect("GET  /ws?key=%zz HTTP/1.1\r\n\r\n", SC_HS_BAD_ESCAPE, 14, SC_HS_PARAM_KEY);
    expect("FOO / HTTP/1.1\r\n\r\n", SC_HS_METHOD, 0, 0);
    expect("GE / HTTP/1.1\r\n\r\n", SC_HS_METHOD, 2, 0);
    expect("GETS / HTTP/1.1\r\n\r\n", SC_HS_METHOD, 3, 0);
    expect("Delete / HTTP/1.1\r\n\r\nHEAD / HTTP/1.1\r\n\r\n", SC_HS_FINE, 0, 0);
    expect("CONNECT h:1 HTTP/1.1\r\nHost: h\r\n\r\n", SC_HS_METHOD, 32, 0);
    expect("\x16\x03\x01\x02", SC_HS_NOT_HTTP, 0, 0);
    expect(" GET / HTTP/1.1\r\n\r\n", SC_HS_NOT_HTTP, 0, 0);
    /* After an upgrade request come frames: the scan is over. */
    expect("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n\x81\x85GET /%zz ", SC_HS_FINE, 0, 0);
}

static void test_reasons(void **state)
{
    (void)state;
    assert_non_null(
        strstr(sc_hs_verdict_reason(SC_HS_BAD_ESCAPE, SC_HS_PARAM_CHANNELS), "bad_channel: "));
    assert_non_null(strstr(sc_hs_verdict_reason(SC_HS_NUL, SC_HS_PARAM_KEY), "bad_key: %00"));
    assert_non_null(strstr(sc_hs_verdict_reason(SC_HS_NUL, SC_HS_PARAM_OTHER), "bad_request: "));
    assert_string_equal(sc_hs_verdict_reason(SC_HS_BAD_UPGRADE, SC_HS_PARAM_OTHER),
                        "only WebSocket upgrades are served\n");
    assert_int_equal(sc_hs_verdict_status(SC_HS_METHOD), 405);
    assert_int_equal(sc_hs_verdict_status(SC_HS_NOT_HTTP), 400);
    assert_int_equal(sc_hs_verdict_status(SC_HS_NUL), 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key),     cmocka_unit_test(test_version_and_http),
        cmocka_unit_test(test_lists),   cmocka_unit_test(test_response),
        cmocka_unit_test(test_scanner), cmocka_unit_test(test_reasons),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
