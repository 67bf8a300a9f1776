/* sc_wsrx: the checker of raw client bytes. Every case is fed whole, one
 * byte at a time, and cut in two at every position (picohttpparser
 * style): the verdict and the offset of the byte that showed it must not
 * depend on how the bytes arrive. Inputs are heap copies of exactly their
 * length, so ASan reports any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_wsrx.h"

#define MAX 1024 /* --max-message-size for these cases */

static const char upgrade[] =
    "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n";

/* Feed p[0..len) in pieces of at most step bytes (0: whole). Returns the
 * verdict; *at is the absolute offset it refers to (len when OK). */
static int feed_split(struct sc_wsrx *rx, const unsigned char *p, size_t len, size_t step,
                      size_t *at)
{
    size_t off = 0;

    while (off < len || len == 0) {
        size_t n = step && len - off > step ? step : len - off, ok = 0;
        unsigned char *copy = malloc(n ? n : 1);
        int v;

        assert_non_null(copy);
        memcpy(copy, p + off, n);
        v = sc_wsrx_feed(rx, MAX, copy, n, &ok);
        free(copy);
        if (v != SC_WSRX_OK) {
            assert_true(ok <= n);
            *at = off + ok;
            return v;
        }
        assert_int_equal(ok, n);
        off += n;
        if (len == 0)
            break;
    }
    *at = len;
    return SC_WSRX_OK;
}

/* Feed the same bytes to a checker in state start, every way; all must
 * agree with want at offset want_at. Leaves *out as after the whole feed. */
static void expect_from(const struct sc_wsrx *start, const void *p, size_t len, int want,
                        size_t want_at, struct sc_wsrx *out)
{
    size_t at;

    for (size_t step = 0; step <= 1; step++) {
        struct sc_wsrx rx = *start;
        assert_int_equal(feed_split(&rx, p, len, step, &at), want);
        assert_int_equal(at, want_at);
        if (step == 0 && out)
            *out = rx;
    }
    /* Cut in two at every position (the second feed starts where the
     * first left off; a verdict in the first half ends the case). */
    for (size_t cut = 1; cut < len; cut++) {
        struct sc_wsrx rx = *start;
        size_t ok;
        int v = sc_wsrx_feed(&rx, MAX, p, cut, &ok);
        if (v == SC_WSRX_OK) {
            v = sc_wsrx_feed(&rx, MAX, (const unsigned char *)p + cut, len - cut, &ok);
            ok += cut;
        }
        assert_int_equal(v, want);
        assert_int_equal(ok, want_at);
    }
}

static void head_then(struct sc_wsrx *rx)
{
    size_t ok;

    sc_wsrx_init(rx);
    assert_int_equal(sc_wsrx_feed(rx, MAX, (const unsigned char *)upgrade, strlen(upgrade), &ok),
                     SC_WSRX_OK);
    assert_int_equal(rx->mode, SC_WSRX_FRAMES);
}

/* A client frame: b0 as is, masked with a fixed key unless mask is 0;
 * form 7, 16 or 64 picks the length encoding (0: the shortest). */
static size_t mkframe(unsigned char *out, unsigned b0, int mask, uint64_t len, int form,
                      const void *payload, size_t plen)
{
    static const unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t n = 0;

    if (!form)
        form = len < 126 ? 7 : len < 65536 ? 16 : 64;
    out[n++] = (unsigned char)b0;
    if (form == 7) {
        out[n++] = (unsigned char)((mask ? 0x80 : 0) | len);
    } else if (form == 16) {
        out[n++] = (unsigned char)((mask ? 0x80 : 0) | 126);
        out[n++] = (unsigned char)(len >> 8);
        out[n++] = (unsigned char)len;
    } else {
        out[n++] = (unsigned char)((mask ? 0x80 : 0) | 127);
        for (int i = 7; i >= 0; i--)
            out[n++] = (unsigned char)(len >> (8 * i));
    }
    if (mask)
        for (int i = 0; i < 4; i++)
            out[n++] = key[i];
    for (size_t i = 0; i < plen; i++)
        out[n++] = ((const unsigned char *)payload)[i] ^ (mask ? key[i & 3] : 0);
    return n;
}

/* A close frame with code and reason (code < 0: no payload at all). */
static size_t mkclose(unsigned char *out, int code, const char *reason, size_t rlen)
{
    unsigned char p[130];

    if (code < 0)
        return mkframe(out, 0x88, 1, 0, 0, "", 0);
    p[0] = (unsigned char)(code >> 8);
    p[1] = (unsigned char)code;
    memcpy(p + 2, reason, rlen);
    return mkframe(out, 0x88, 1, 2 + rlen, 0, p, 2 + rlen);
}

static void expect_frames(const void *p, size_t len, int want, size_t want_at)
{
    struct sc_wsrx rx;

    head_then(&rx);
    expect_from(&rx, p, len, want, want_at, NULL);
}

static void test_state_is_small(void **state)
{
    (void)state;
    /* idle connections dominate memory: a couple dozen bytes at most */
    assert_true(sizeof(struct sc_wsrx) <= 24);
}

static void test_head_upgrade(void **state)
{
    struct sc_wsrx rx, out;
    const char *mixed = "GET /ws HTTP/1.1\nhost: x\nUPGRADE:\t WebSocket  \n\n";

    (void)state;
    sc_wsrx_init(&rx);
    expect_from(&rx, upgrade, strlen(upgrade), SC_WSRX_OK, strlen(upgrade), &out);
    assert_int_equal(out.mode, SC_WSRX_FRAMES);
    /* bare LF line ends, case and whitespace around the value */
    expect_from(&rx, mixed, strlen(mixed), SC_WSRX_OK, strlen(mixed), &out);
    assert_int_equal(out.mode, SC_WSRX_FRAMES);
}

static void test_head_plain_requests(void **state)
{
    struct sc_wsrx rx, out;
    /* leading empty lines, a request line (no colon needed), keep-alive */
    const char *two = "\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nA: b\r\n\r\n";
    const char *other = "GET /ws HTTP/1.1\r\nUpgrade: h2c\r\nUpgrade2: websocket\r\n\r\n";

    (void)state;
    sc_wsrx_init(&rx);
    expect_from(&rx, two, strlen(two), SC_WSRX_OK, strlen(two), &out);
    assert_int_equal(out.mode, SC_WSRX_HEAD);
    /* an upgrade to something else, or another header: a request head next */
    expect_from(&rx, other, strlen(other), SC_WSRX_OK, strlen(other), &out);
    assert_int_equal(out.mode, SC_WSRX_HEAD);
}

static void test_head_no_colon(void **state)
{
    struct sc_wsrx rx, out;
    const char *bad = "GET /ws HTTP/1.1\r\nHost: x\r\nno colon here\r\nUpgrade: websocket\r\n\r\n";
    const char *second = "GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nX\n\n";
    size_t ok;

    (void)state;
    sc_wsrx_init(&rx);
    /* shown by the line's LF, at once: no need for the rest of the head */
    expect_from(&rx, bad, strlen(bad), 400, (size_t)(strstr(bad, "here\r\n") - bad) + 5, &out);
    assert_int_equal(out.mode, SC_WSRX_FAILED);
    /* and it sticks */
    assert_int_equal(sc_wsrx_feed(&out, MAX, (const unsigned char *)"x", 1, &ok), 400);
    assert_int_equal(ok, 0);
    /* the second request of a kept-alive connection too */
    expect_from(&rx, second, strlen(second), 400, strlen(second) - 2, NULL);
}

static void test_head_too_long(void **state)
{
    struct sc_wsrx rx;
    size_t len = SC_WSRX_HEAD_MAX + 100;
    char *big = malloc(len);

    (void)state;
    assert_non_null(big);
    memcpy(big, "GET / HTTP/1.1\r\nX-Pad: ", 23);
    memset(big + 23, 'a', len - 23);
    sc_wsrx_init(&rx);
    expect_from(&rx, big, len, 431, SC_WSRX_HEAD_MAX, NULL);
    /* exactly the bound is fine */
    memcpy(big + SC_WSRX_HEAD_MAX - 4, "\r\n\r\n", 4);
    expect_from(&rx, big, SC_WSRX_HEAD_MAX, SC_WSRX_OK, SC_WSRX_HEAD_MAX, NULL);
    free(big);
}

static void test_head_bodies(void **state)
{
    struct sc_wsrx rx, out;
    /* the body has lines without colons: it must be skipped, not read */
    const char *clen =
        "POST /x HTTP/1.1\r\nContent-Length: 7\r\n\r\na\nb\nc\n\nGET / HTTP/1.1\r\nA: b\r\n\r\n";
    const char *te = "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    const char *twice = "POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nz\nz\n";
    const char *badlen = "POST /x HTTP/1.1\r\nContent-Length: 1 2\r\n\r\nz\n";
    const char *zero = "GET / HTTP/1.1\r\ncontent-length:  0 \r\n\r\nGET / HTTP/1.1\r\nX\r\n";

    (void)state;
    sc_wsrx_init(&rx);
    expect_from(&rx, clen, strlen(clen), SC_WSRX_OK, strlen(clen), &out);
    assert_int_equal(out.mode, SC_WSRX_HEAD);
    /* a body it cannot follow: nothing after it is checked */
    expect_from(&rx, te, strlen(te), SC_WSRX_OK, strlen(te), &out);
    assert_int_equal(out.mode, SC_WSRX_PASS);
    expect_from(&rx, twice, strlen(twice), SC_WSRX_OK, strlen(twice), &out);
    assert_int_equal(out.mode, SC_WSRX_PASS);
    expect_from(&rx, badlen, strlen(badlen), SC_WSRX_OK, strlen(badlen), &out);
    assert_int_equal(out.mode, SC_WSRX_PASS);
    expect_from(&rx, zero, strlen(zero), 400, strlen(zero) - 1, NULL);
}

static void test_mode_changes(void **state)
{
    struct sc_wsrx rx;
    size_t ok;

    (void)state;
    /* lws served the upgrade request as HTTP: a head comes next */
    head_then(&rx);
    sc_wsrx_served_http(&rx);
    assert_int_equal(rx.mode, SC_WSRX_HEAD);
    assert_int_equal(
        sc_wsrx_feed(&rx, MAX, (const unsigned char *)"GET / HTTP/1.1\r\nX\r\n", 19, &ok), 400);
    /* lws upgraded where the checker saw none: it has lost track */
    sc_wsrx_init(&rx);
    sc_wsrx_upgraded(&rx);
    assert_int_equal(rx.mode, SC_WSRX_FAILED);
    assert_int_equal(rx.code, 1002);
    /* the normal upgrade changes nothing */
    head_then(&rx);
    sc_wsrx_upgraded(&rx);
    assert_int_equal(rx.mode, SC_WSRX_FRAMES);
}

static void test_valid_frames(void **state)
{
    unsigned char f[8192];
    size_t n = 0;
    static const char msg[] = "{\"op\":\"ping\",\"id\":1}";

    (void)state;
    n += mkframe(f + n, 0x81, 1, strlen(msg), 0, msg, strlen(msg));
    /* fragments with every control frame between them, empty ones too */
    n += mkframe(f + n, 0x01, 1, 0, 0, "", 0);
    n += mkframe(f + n, 0x89, 1, 5, 0, "hello", 5);
    n += mkframe(f + n, 0x00, 1, 3, 0, "abc", 3);
    n += mkframe(f + n, 0x8a, 1, 0, 0, "", 0);
    n += mkframe(f + n, 0x00, 1, 0, 0, "", 0);
    n += mkframe(f + n, 0x80, 1, 2, 0, "de", 2);
    /* length forms: 16-bit, non-minimal 64-bit, 125-byte control */
    static char pad[1024];
    memset(pad, 'p', sizeof(pad));
    n += mkframe(f + n, 0x82, 1, 300, 16, pad, 300);
    n += mkframe(f + n, 0x81, 1, 10, 64, pad, 10);
    n += mkframe(f + n, 0x89, 1, 125, 0, pad, 125);
    /* exactly the limit, whole and in fragments */
    n += mkframe(f + n, 0x81, 1, MAX, 0, pad, MAX);
    n += mkframe(f + n, 0x01, 1, 1000, 0, pad, 1000);
    n += mkframe(f + n, 0x80, 1, MAX - 1000, 0, pad, MAX - 1000);
    expect_frames(f, n, SC_WSRX_OK, n);
}

static void test_masking(void **state)
{
    unsigned char f[64];
    size_t n;

    (void)state;
    n = mkframe(f, 0x81, 0, 4, 0, "abcd", 4);
    expect_frames(f, n, 1002, 1);
    n = mkframe(f, 0x89, 0, 0, 0, "", 0);
    expect_frames(f, n, 1002, 1);
}

static void test_header_bits(void **state)
{
    unsigned char f[64];
    size_t n;

    (void)state;
    for (unsigned rsv = 1; rsv < 8; rsv++) {
        n = mkframe(f, 0x81 | rsv << 4, 1, 1, 0, "a", 1);
        expect_frames(f, n, 1002, 0);
    }
    for (unsigned op = 3; op < 16; op++) {
        if (op >= 8 && op <= 10)
            continue;
        n = mkframe(f, 0x80 | op, 1, 1, 0, "a", 1);
        expect_frames(f, n, 1002, 0);
    }
    /* a fragmented control frame */
    n = mkframe(f, 0x09, 1, 0, 0, "", 0);
    expect_frames(f, n, 1002, 0);
}

static void test_fragmentation_rules(void **state)
{
    unsigned char f[64];
    size_t n, first;

    (void)state;
    n = mkframe(f, 0x80, 1, 1, 0, "a", 1);
    expect_frames(f, n, 1002, 0); /* nothing to continue */
    first = mkframe(f, 0x01, 1, 1, 0, "a", 1);
    n = first + mkframe(f + first, 0x81, 1, 1, 0, "b", 1);
    expect_frames(f, n, 1002, first); /* a new message inside one */
    n = first + mkframe(f + first, 0x02, 1, 1, 0, "b", 1);
    expect_frames(f, n, 1002, first);
    /* after the final fragment, a continuation has nothing to continue */
    n = mkframe(f, 0x81, 1, 1, 0, "a", 1);
    n += mkframe(f + n, 0x80, 1, 1, 0, "b", 1);
    expect_frames(f, n, 1002, n - 7);
}

static void test_control_lengths(void **state)
{
    unsigned char f[256];
    static char pad[126];
    size_t n;

    (void)state;
    n = mkframe(f, 0x89, 1, 126, 0, pad, 126); /* 16-bit form */
    expect_frames(f, n, 1002, 1);
    n = mkframe(f, 0x8a, 1, 1, 64, "x", 1);
    expect_frames(f, n, 1002, 1);
    n = mkframe(f, 0x88, 1, 126, 0, pad, 126);
    expect_frames(f, n, 1002, 1);
}

static void test_length_top_bit(void **state)
{
    unsigned char f[32];
    size_t n;

    (void)state;
    n = mkframe(f, 0x81, 1, (uint64_t)1 << 63 | 5, 64, "", 0);
    expect_frames(f, n, 1002, 2);
    /* top bit clear, but 2^40: past any limit, shown by the first
     * non-zero byte */
    n = mkframe(f, 0x81, 1, (uint64_t)1 << 40, 64, "", 0);
    expect_frames(f, n, 1009, 4);
    n = mkframe(f, 0x81, 1, (uint64_t)1 << 32, 64, "", 0);
    expect_frames(f, n, 1009, 5);
    /* 2^32 - 1 fits the length field of the checker, not the limit */
    n = mkframe(f, 0x81, 1, UINT32_MAX, 64, "", 0);
    expect_frames(f, n, 1009, 9);
}

static void test_message_limit(void **state)
{
    unsigned char f[2048];
    static char pad[700];
    size_t n, first;

    (void)state;
    /* shown by the last length byte: before the key, before any payload */
    n = mkframe(f, 0x81, 1, MAX + 1, 0, "", 0);
    expect_frames(f, 4, 1009, 3);
    n = mkframe(f, 0x81, 1, 100000, 0, "", 0);
    expect_frames(f, n, 1009, 9);
    /* earlier fragments count, control frames between them do not */
    first = mkframe(f, 0x01, 1, 700, 0, pad, 700);
    first += mkframe(f + first, 0x89, 1, 100, 0, pad, 100);
    n = first + mkframe(f + first, 0x80, 1, MAX - 699, 0, "", 0);
    expect_frames(f, first + 4, 1009, first + 3);
    n = first + mkframe(f + first, 0x80, 1, MAX - 700, 0, pad, MAX - 700);
    expect_frames(f, n, SC_WSRX_OK, n);
    /* the running size starts again with the next message */
    n += mkframe(f + n, 0x81, 1, 700, 0, pad, 700);
    expect_frames(f, n, SC_WSRX_OK, n);
}

static void test_close_codes(void **state)
{
    static const int bad[] = {0,    1,    999,  1004, 1005, 1006, 1015,
                              1016, 1100, 2000, 2999, 5000, 65535};
    static const int good[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010,
                               1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999};
    unsigned char f[256];
    struct sc_wsrx rx, out;
    size_t n;

    (void)state;
    head_then(&rx);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        n = mkclose(f, bad[i], "why", 3);
        expect_from(&rx, f, n, 1002, 7, NULL); /* its second byte */
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        n = mkclose(f, good[i], "why", 3);
        expect_from(&rx, f, n, SC_WSRX_END, n, &out);
        assert_int_equal(sc_wsrx_close_code(&out), good[i]);
    }
    /* no payload: fine, no code */
    n = mkclose(f, -1, "", 0);
    expect_from(&rx, f, n, SC_WSRX_END, n, &out);
    assert_int_equal(sc_wsrx_close_code(&out), 0);
    /* one byte: a code is two */
    n = mkframe(f, 0x88, 1, 1, 0, "\x03", 1);
    expect_from(&rx, f, n, 1002, 1, NULL);
}

static void test_close_reason_utf8(void **state)
{
    static const struct {
        const char *reason;
        int want;
        size_t at; /* of the reason's byte that shows it */
    } cases[] = {
        {"gr\xc3\xbc\xc3\x9f"
         "e \xe2\x82\xac \xf0\x9f\x98\x80",
         SC_WSRX_END, 0},
        {"\xf4\x8f\xbf\xbf", SC_WSRX_END, 0}, /* U+10FFFF */
        {"\xef\xbf\xbf", SC_WSRX_END, 0},     /* U+FFFF */
        {"a\xff", 1007, 1},
        {"\xc0\xaf", 1007, 0},         /* overlong */
        {"\xe0\x9f\xbf", 1007, 1},     /* overlong, 3 bytes */
        {"\xed\xa0\x80", 1007, 1},     /* surrogate */
        {"\xf0\x8f\xbf\xbf", 1007, 1}, /* overlong, 4 bytes */
        {"\xf4\x90\x80\x80", 1007, 1}, /* past U+10FFFF */
        {"\xf5\x80\x80\x80", 1007, 0},
        {"a\xe2\x82", 1007, 2}, /* ends inside a character */
        {"\x80", 1007, 0},
    };
    unsigned char f[256];
    struct sc_wsrx rx;

    (void)state;
    head_then(&rx);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t rl = strlen(cases[i].reason), n = mkclose(f, 1000, cases[i].reason, rl);
        expect_from(&rx, f, n, cases[i].want, cases[i].want == SC_WSRX_END ? n : 8 + cases[i].at,
                    NULL);
    }
}

static void test_after_close(void **state)
{
    unsigned char f[128];
    struct sc_wsrx rx, out;
    size_t n, end, ok;

    (void)state;
    end = mkclose(f, 1000, "", 0);
    /* anything after the close frame is not for lws, good or bad */
    n = end + mkframe(f + end, 0x81, 1, 1, 0, "a", 1);
    n += mkframe(f + n, 0x81, 0, 1, 0, "b", 1);
    head_then(&rx);
    expect_from(&rx, f, n, SC_WSRX_END, end, &out);
    assert_int_equal(sc_wsrx_feed(&out, MAX, f, 3, &ok), SC_WSRX_END);
    assert_int_equal(ok, 0);
}

static void test_big_payload_skipped(void **state)
{
    size_t len = 70000, n;
    unsigned char *f = calloc(1, len + 16);
    struct sc_wsrx rx;
    size_t ok;

    (void)state;
    assert_non_null(f);
    n = mkframe(f, 0x82, 1, len, 0, f + 16, 0) + len; /* payload: zeros, masked or not */
    head_then(&rx);
    assert_int_equal(sc_wsrx_feed(&rx, 100000, f, n, &ok), SC_WSRX_OK);
    assert_int_equal(ok, n);
    assert_int_equal(rx.st, 0);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_state_is_small),
        cmocka_unit_test(test_head_upgrade),
        cmocka_unit_test(test_head_plain_requests),
        cmocka_unit_test(test_head_no_colon),
        cmocka_unit_test(test_head_too_long),
        cmocka_unit_test(test_head_bodies),
        cmocka_unit_test(test_mode_changes),
        cmocka_unit_test(test_valid_frames),
        cmocka_unit_test(test_masking),
        cmocka_unit_test(test_header_bits),
        cmocka_unit_test(test_fragmentation_rules),
        cmocka_unit_test(test_control_lengths),
        cmocka_unit_test(test_length_top_bit),
        cmocka_unit_test(test_message_limit),
        cmocka_unit_test(test_close_codes),
        cmocka_unit_test(test_close_reason_utf8),
        cmocka_unit_test(test_after_close),
        cmocka_unit_test(test_big_payload_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
