/* Tests for the WebSocket frame parser and encoder. Every valid stream is
 * parsed three ways, whole, one byte at a time, and in uneven chunks,
 * because TCP may split a frame anywhere and each path (direct hand-out,
 * header gathering, reassembly) must give the same messages. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sc_ws_frame.h"

#define MAX_MSGS 16

struct got {
    int n;
    int op[MAX_MSGS];
    size_t len[MAX_MSGS];
    uint8_t *data[MAX_MSGS];
    int stop_after; /* return 1 after this many messages (0 = never) */
};

static int collect(void *ctx, int op, const uint8_t *data, size_t len)
{
    struct got *g = ctx;

    assert_true(g->n < MAX_MSGS);
    g->op[g->n] = op;
    g->len[g->n] = len;
    g->data[g->n] = malloc(len ? len : 1);
    memcpy(g->data[g->n], data, len);
    g->n++;
    return g->stop_after && g->n == g->stop_after ? 1 : 0;
}

static void got_free(struct got *g)
{
    int i;

    for (i = 0; i < g->n; i++)
        free(g->data[i]);
    memset(g, 0, sizeof(*g));
}

/* Builds an unmasked server frame; len16/len64 force a length form. */
static size_t mkframe(uint8_t *out, int fin, int op, const void *p, size_t len)
{
    size_t h = 2;
    int i;

    out[0] = (uint8_t)((fin ? 0x80 : 0) | op);
    if (len < 126) {
        out[1] = (uint8_t)len;
    } else if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        h = 4;
    } else {
        out[1] = 127;
        for (i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        h = 10;
    }
    memcpy(out + h, p, len);
    return h + len;
}

enum { WHOLE, BYTEWISE, CHUNKS };

/* Parses buf in the given mode, asserting every call returns 0. */
static void parse_mode(const uint8_t *buf, size_t len, int mode, struct got *g)
{
    struct sc_ws_parser p;
    size_t off = 0, step, k = 0;
    static const size_t sizes[] = {3, 1, 7, 2, 13, 5, 64, 11};

    sc_ws_parser_init(&p, 1 << 20);
    while (off < len) {
        step = mode == WHOLE ? len : mode == BYTEWISE ? 1 : sizes[k++ % 8];
        if (step > len - off)
            step = len - off;
        assert_int_equal(sc_ws_parse(&p, buf + off, step, collect, g), 0);
        off += step;
    }
    sc_ws_parser_free(&p);
}

/* Parses buf in all three modes and checks the messages each time. */
static void expect_msgs(const uint8_t *buf, size_t len, int n, const int *ops,
                        const char *const *texts, const size_t *lens)
{
    struct got g;
    int mode, i;

    for (mode = WHOLE; mode <= CHUNKS; mode++) {
        memset(&g, 0, sizeof(g));
        parse_mode(buf, len, mode, &g);
        assert_int_equal(g.n, n);
        for (i = 0; i < n; i++) {
            assert_int_equal(g.op[i], ops[i]);
            assert_int_equal(g.len[i], lens[i]);
            if (lens[i])
                assert_memory_equal(g.data[i], texts[i], lens[i]);
        }
        got_free(&g);
    }
}

static void test_small_text(void **state)
{
    uint8_t buf[64];
    size_t n = mkframe(buf, 1, SC_WS_TEXT, "{\"op\":\"ok\"}", 11);
    int ops[] = {SC_WS_TEXT};
    const char *t[] = {"{\"op\":\"ok\"}"};
    size_t l[] = {11};

    (void)state;
    expect_msgs(buf, n, 1, ops, t, l);
}

static void test_extended_lengths(void **state)
{
    size_t big = 70000, mid = 300, n = 0;
    uint8_t *buf = malloc(big + mid + 64);
    char *a = malloc(mid), *b = malloc(big);
    int ops[] = {SC_WS_TEXT, SC_WS_BINARY};
    const char *t[2];
    size_t l[] = {mid, big};

    (void)state;
    memset(a, 'a', mid);
    memset(b, 'b', big);
    b[0] = 'B';
    b[big - 1] = 'E';
    n += mkframe(buf + n, 1, SC_WS_TEXT, a, mid);
    n += mkframe(buf + n, 1, SC_WS_BINARY, b, big);
    assert_int_equal(buf[1], 126);
    t[0] = a;
    t[1] = b;
    expect_msgs(buf, n, 2, ops, t, l);
    free(buf);
    free(a);
    free(b);
}

static void test_back_to_back(void **state)
{
    uint8_t buf[128];
    size_t n = 0;
    int ops[] = {SC_WS_TEXT, SC_WS_TEXT, SC_WS_TEXT};
    const char *t[] = {"one", "", "three"};
    size_t l[] = {3, 0, 5};

    (void)state;
    n += mkframe(buf + n, 1, SC_WS_TEXT, "one", 3);
    n += mkframe(buf + n, 1, SC_WS_TEXT, "", 0);
    n += mkframe(buf + n, 1, SC_WS_TEXT, "three", 5);
    expect_msgs(buf, n, 3, ops, t, l);
}

static void test_fragments_with_control(void **state)
{
    uint8_t buf[128];
    size_t n = 0;
    int ops[] = {SC_WS_PING, SC_WS_TEXT, SC_WS_CLOSE};
    const char *t[] = {"pp", "hello world", "\x03\xe8"};
    size_t l[] = {2, 11, 2};

    (void)state;
    n += mkframe(buf + n, 0, SC_WS_TEXT, "hel", 3);
    n += mkframe(buf + n, 1, SC_WS_PING, "pp", 2);
    n += mkframe(buf + n, 0, SC_WS_CONT, "lo ", 3);
    n += mkframe(buf + n, 0, SC_WS_CONT, "", 0);
    n += mkframe(buf + n, 1, SC_WS_CONT, "world", 5);
    n += mkframe(buf + n, 1, SC_WS_CLOSE, "\x03\xe8", 2);
    expect_msgs(buf, n, 3, ops, t, l);
}

/* Asserts that parsing buf whole fails with err. */
static void expect_error(const uint8_t *buf, size_t len, int err, size_t max)
{
    struct sc_ws_parser p;
    struct got g = {0};

    sc_ws_parser_init(&p, max);
    assert_int_equal(sc_ws_parse(&p, buf, len, collect, &g), err);
    sc_ws_parser_free(&p);
    got_free(&g);
}

static void test_protocol_errors(void **state)
{
    uint8_t buf[300], zero[200] = {0};
    size_t n;

    (void)state;
    n = mkframe(buf, 1, SC_WS_TEXT, "x", 1);
    buf[0] |= 0x40; /* RSV1 without an extension */
    expect_error(buf, n, -EPROTO, 1024);
    n = mkframe(buf, 1, SC_WS_TEXT, "x", 1);
    buf[1] |= 0x80; /* masked server frame */
    expect_error(buf, n, -EPROTO, 1024);
    n = mkframe(buf, 1, SC_WS_CONT, "x", 1);
    expect_error(buf, n, -EPROTO, 1024);
    n = mkframe(buf, 0, SC_WS_TEXT, "x", 1);
    n += mkframe(buf + n, 1, SC_WS_TEXT, "y", 1);
    expect_error(buf, n, -EPROTO, 1024);
    n = mkframe(buf, 0, SC_WS_PING, "x", 1);
    expect_error(buf, n, -EPROTO, 1024);
    n = mkframe(buf, 1, SC_WS_PING, zero, 126);
    expect_error(buf, n, -EPROTO, 1024);
    n = mkframe(buf, 1, 3, "x", 1);
    expect_error(buf, n, -EPROTO, 1024);
    buf[0] = 0x81; /* 16-bit form for a length that fits in 7 bits */
    buf[1] = 126;
    buf[2] = 0;
    buf[3] = 5;
    expect_error(buf, 4, -EPROTO, 1024);
    n = mkframe(buf, 1, SC_WS_TEXT, zero, 200);
    expect_error(buf, n, -EMSGSIZE, 100);
}

static void test_fragments_over_limit(void **state)
{
    uint8_t buf[300], pay[150];
    size_t n;

    (void)state;
    memset(pay, 'z', sizeof(pay));
    n = mkframe(buf, 0, SC_WS_TEXT, pay, 80);
    n += mkframe(buf + n, 1, SC_WS_CONT, pay, 80);
    expect_error(buf, n, -EMSGSIZE, 150);
}

static void test_callback_stops(void **state)
{
    struct sc_ws_parser p;
    struct got g = {.stop_after = 1};
    uint8_t buf[64];
    size_t n = 0;

    (void)state;
    n += mkframe(buf + n, 1, SC_WS_CLOSE, "\x03\xe8", 2);
    n += mkframe(buf + n, 1, SC_WS_TEXT, "late", 4);
    sc_ws_parser_init(&p, 1024);
    assert_int_equal(sc_ws_parse(&p, buf, n, collect, &g), 1);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.op[0], SC_WS_CLOSE);
    sc_ws_parser_free(&p);
    got_free(&g);
}

static void test_encode_masks(void **state)
{
    static const size_t sizes[] = {0, 5, 125, 126, 65535, 65536};
    uint8_t *pay = malloc(70000), *out = malloc(70100), mask[4];
    uint32_t key = 0xa1b2c3d4u;
    size_t i, j, n, h, len;

    (void)state;
    for (j = 0; j < 70000; j++)
        pay[j] = (uint8_t)(j * 7);
    memcpy(mask, &key, 4);
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        len = sizes[i];
        n = sc_ws_encode(out, 70100, SC_WS_TEXT, pay, len, key);
        h = len < 126 ? 2 : len <= 0xffff ? 4 : 10;
        assert_int_equal(n, h + 4 + len);
        assert_int_equal(out[0], 0x81);
        assert_true(out[1] & 0x80);
        assert_int_equal(out[1] & 0x7f, len < 126 ? len : len <= 0xffff ? 126 : 127);
        assert_memory_equal(out + h, mask, 4);
        for (j = 0; j < len; j++)
            assert_int_equal(out[h + 4 + j] ^ mask[j & 3], pay[j]);
    }
    assert_int_equal(sc_ws_encode(out, 10, SC_WS_TEXT, pay, 5, key), 0);
    free(pay);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_text),      cmocka_unit_test(test_extended_lengths),
        cmocka_unit_test(test_back_to_back),    cmocka_unit_test(test_fragments_with_control),
        cmocka_unit_test(test_protocol_errors), cmocka_unit_test(test_fragments_over_limit),
        cmocka_unit_test(test_callback_stops),  cmocka_unit_test(test_encode_masks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
