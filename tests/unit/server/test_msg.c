/* sc_msg: WebSocket framing (RFC 6455 section 5.2), delivery frames
 * (docs/protocol.md "Deliveries") and reference counting. Freed-too-early
 * and never-freed frames are caught by the ASan build. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "sc_base64.h"
#include "sc_buf.h"
#include "sc_msg.h"

static uint64_t rng_state = 0x243F6A8885A308D3ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

/* Reference reader of a server-to-client frame header: returns the header
 * length and stores the payload length, or fails the test if the header is
 * not FIN+text, is masked, or does not use the shortest length form
 * (RFC 6455 5.2: "the minimal number of bytes MUST be used"). */
static size_t read_header(const unsigned char *f, uint64_t *plen)
{
    assert_int_equal(f[0], 0x81);     /* FIN, no RSV bits, opcode 1 (text) */
    assert_int_equal(f[1] & 0x80, 0); /* server frames are never masked */
    if ((f[1] & 0x7F) < 126) {
        *plen = f[1] & 0x7F;
        return 2;
    }
    if ((f[1] & 0x7F) == 126) {
        *plen = (uint64_t)f[2] << 8 | f[3];
        assert_true(*plen >= 126);
        return 4;
    }
    *plen = 0;
    for (int i = 0; i < 8; i++)
        *plen = *plen << 8 | f[2 + i];
    assert_true(*plen > 0xFFFF);
    assert_int_equal(*plen >> 63, 0); /* most significant bit MUST be 0 */
    return 10;
}

/* A body of blen bytes with a recognisable pattern. */
static char *make_body(size_t blen)
{
    char *body = malloc(blen + 1);

    assert_non_null(body);
    for (size_t i = 0; i < blen; i++)
        body[i] = (char)('a' + i % 26);
    return body;
}

/* Frame a body of blen bytes and check the header bytes are exactly
 * want[0..wlen), followed by the body. */
static void check_frame(size_t blen, const unsigned char *want, size_t wlen)
{
    char *body = make_body(blen);
    struct sc_msg *m = sc_msg_text(body, blen);
    const unsigned char *f;
    const char *b;
    size_t got;

    assert_non_null(m);
    f = sc_msg_frame(m);
    assert_int_equal(m->len, wlen + blen);
    assert_memory_equal(f, want, wlen);
    if (blen)
        assert_memory_equal(f + wlen, body, blen);
    b = sc_msg_body(m, &got);
    assert_int_equal(got, blen);
    assert_ptr_equal(b, (const char *)f + wlen);
    sc_msg_unref(m);
    free(body);
}

/* ---- framing ----------------------------------------------------------- */

static void test_frame_empty_body_uses_7bit_length(void **state)
{
    static const unsigned char h[] = {0x81, 0x00};

    (void)state;
    check_frame(0, h, sizeof(h));
}

static void test_frame_125_byte_body_uses_7bit_length(void **state)
{
    static const unsigned char h[] = {0x81, 125};

    (void)state;
    check_frame(125, h, sizeof(h));
}

static void test_frame_126_byte_body_uses_16bit_length(void **state)
{
    static const unsigned char h[] = {0x81, 126, 0x00, 0x7E};

    (void)state;
    check_frame(126, h, sizeof(h));
}

static void test_frame_65535_byte_body_uses_16bit_length(void **state)
{
    static const unsigned char h[] = {0x81, 126, 0xFF, 0xFF};

    (void)state;
    check_frame(65535, h, sizeof(h));
}

static void test_frame_65536_byte_body_uses_64bit_length(void **state)
{
    static const unsigned char h[] = {0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00};

    (void)state;
    check_frame(65536, h, sizeof(h));
}

/* Every byte of the 64-bit length is written, in network order. */
static void test_frame_64bit_length_is_big_endian(void **state)
{
    static const unsigned char h[] = {0x81, 127, 0, 0, 0, 0, 0, 0x12, 0x34, 0x56};

    (void)state;
    check_frame(0x123456, h, sizeof(h));
}

/* Sweep the sizes around both form changes with the reference reader. */
static void test_frame_header_is_minimal_around_form_changes(void **state)
{
    static const size_t ranges[][2] = {{0, 140}, {65500, 65600}};

    (void)state;
    for (size_t r = 0; r < 2; r++) {
        for (size_t blen = ranges[r][0]; blen <= ranges[r][1]; blen++) {
            char *body = make_body(blen);
            struct sc_msg *m = sc_msg_text(body, blen);
            uint64_t plen;
            size_t hlen;

            assert_non_null(m);
            hlen = read_header(sc_msg_frame(m), &plen);
            assert_int_equal(plen, blen);
            assert_int_equal(m->len, hlen + blen);
            sc_msg_unref(m);
            free(body);
        }
    }
}

/* lws_write() needs LWS_PRE writable bytes in front of what it sends; they
 * must lie inside the allocation and after the struct itself. */
static void test_frame_has_lws_pre_headroom(void **state)
{
    static const size_t sizes[] = {0, 125, 126, 65536};

    (void)state;
    for (size_t i = 0; i < 4; i++) {
        char *body = make_body(sizes[i]);
        struct sc_msg *m = sc_msg_text(body, sizes[i]);
        assert_non_null(m);
        assert_true(m->off >= sizeof(*m) + LWS_PRE);
        /* Scribble over the headroom as lws would; ASan checks bounds,
         * and the frame must survive it. */
        memset((unsigned char *)m + m->off - LWS_PRE, 0xAA, LWS_PRE);
        assert_int_equal(sc_msg_frame(m)[0], 0x81);
        sc_msg_unref(m);
        free(body);
    }
}

/* The frame owns a copy: changing the source afterwards changes nothing. */
static void test_text_copies_its_input(void **state)
{
    char src[] = "{\"op\":\"ok\"}";
    struct sc_msg *m = sc_msg_text(src, strlen(src));
    size_t len;
    const char *body;

    (void)state;
    assert_non_null(m);
    memset(src, 'X', strlen(src));
    body = sc_msg_body(m, &len);
    assert_int_equal(len, 11);
    assert_memory_equal(body, "{\"op\":\"ok\"}", 11);
    sc_msg_unref(m);
}

/* finish takes the buffer's storage and leaves it empty for reuse. */
static void test_finish_leaves_builder_empty_and_reusable(void **state)
{
    struct sc_buf b;
    struct sc_msg *m1, *m2;
    size_t len;

    (void)state;
    sc_msg_begin(&b);
    sc_buf_append_str(&b, "{\"a\":1}");
    m1 = sc_msg_finish(&b);
    assert_non_null(m1);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    sc_msg_begin(&b);
    sc_buf_append_str(&b, "{}");
    m2 = sc_msg_finish(&b);
    assert_non_null(m2);
    assert_memory_equal(sc_msg_body(m1, &len), "{\"a\":1}", 7);
    assert_int_equal(len, 7);
    assert_memory_equal(sc_msg_body(m2, &len), "{}", 2);
    assert_int_equal(len, 2);
    sc_msg_unref(m1);
    sc_msg_unref(m2);
}

/* A builder whose allocation failed yields NULL, and its storage is freed
 * (LeakSanitizer would report it otherwise). */
static void test_finish_of_failed_builder_returns_null(void **state)
{
    struct sc_buf b;

    (void)state;
    sc_msg_begin(&b);
    sc_buf_append_str(&b, "{\"op\":");
    b.failed = 1;
    assert_null(sc_msg_finish(&b));
    assert_null(b.data);
}

/* ---- deliveries -------------------------------------------------------- */

static void assert_body(const struct sc_msg *m, const char *want)
{
    size_t len;
    const char *body = sc_msg_body(m, &len);

    if (len != strlen(want) || memcmp(body, want, len))
        fail_msg("body %.*s, want %s", (int)len, body, want);
}

/* Parse a frame's body with jansson; also checks the header announces the
 * body's length. */
static json_t *parse_body(const struct sc_msg *m)
{
    json_error_t err;
    size_t len;
    uint64_t plen;
    const char *body = sc_msg_body(m, &len);
    json_t *v;

    assert_int_equal(read_header(sc_msg_frame(m), &plen) + len, m->len);
    assert_int_equal(plen, len);
    v = json_loadb(body, len, JSON_ALLOW_NUL, &err);
    if (!v)
        fail_msg("not JSON (%s): %.*s", err.text, (int)len, body);
    assert_true(json_is_object(v));
    return v;
}

static const char *member(json_t *o, const char *key, size_t *len)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_string(v))
        fail_msg("member %s missing or not a string", key);
    *len = json_string_length(v);
    return json_string_value(v);
}

static void assert_member(json_t *o, const char *key, const void *want, size_t wlen)
{
    size_t len;
    const char *s = member(o, key, &len);

    assert_int_equal(len, wlen);
    assert_memory_equal(s, want, wlen);
}

/* The decoded length of base64 text s, or -1 if it is not canonical
 * padded base64 (shard/sc_base64.h, tested against RFC 4648 on its own). */
static long base64_decode(const char *s, size_t len, unsigned char *out)
{
    size_t n;

    return sc_base64_decode(s, len, out, &n) < 0 ? -1 : (long)n;
}

/* The three examples of docs/protocol.md, byte for byte. */
static void test_delivery_matches_protocol_doc_utf8_example(void **state)
{
    struct sc_msg *m = sc_msg_delivery("news", 4, NULL, 0, "hello", 5);

    (void)state;
    assert_non_null(m);
    assert_body(m, "{\"op\":\"message\",\"channel\":\"news\",\"data\":\"hello\"}");
    sc_msg_unref(m);
}

static void test_delivery_matches_protocol_doc_pattern_example(void **state)
{
    struct sc_msg *m = sc_msg_delivery("chat.room1", 10, "chat.*", 6, "hi", 2);

    (void)state;
    assert_non_null(m);
    assert_body(m, "{\"op\":\"message\",\"channel\":\"chat.room1\",\"pattern\":\"chat.*\","
                   "\"data\":\"hi\"}");
    sc_msg_unref(m);
}

static void test_delivery_matches_protocol_doc_base64_example(void **state)
{
    struct sc_msg *m = sc_msg_delivery("blob", 4, NULL, 0, "\x00\x01\x02\xFF", 4);

    (void)state;
    assert_non_null(m);
    assert_body(m, "{\"op\":\"message\",\"channel\":\"blob\",\"data\":\"AAEC/w==\","
                   "\"encoding\":\"base64\"}");
    sc_msg_unref(m);
}

/* A UTF-8 payload with everything JSON must escape (NUL included) comes
 * back byte for byte, with no "encoding" and no "pattern". */
static void test_delivery_utf8_payload_round_trips(void **state)
{
    static const char data[] = "a\"b\\c\n\t\x01\x1F\x7F/\0end caf\xC3\xA9 \xF0\x9F\x98\x80";
    struct sc_msg *m = sc_msg_delivery("ch", 2, NULL, 0, data, sizeof(data) - 1);
    json_t *o;

    (void)state;
    assert_non_null(m);
    o = parse_body(m);
    assert_int_equal(json_object_size(o), 3);
    assert_member(o, "op", "message", 7);
    assert_member(o, "channel", "ch", 2);
    assert_member(o, "data", data, sizeof(data) - 1);
    assert_null(json_object_get(o, "encoding"));
    assert_null(json_object_get(o, "pattern"));
    json_decref(o);
    sc_msg_unref(m);
}

static void test_delivery_empty_payload_is_empty_string(void **state)
{
    struct sc_msg *m = sc_msg_delivery("ch", 2, NULL, 0, "", 0);
    json_t *o;

    (void)state;
    assert_non_null(m);
    o = parse_body(m);
    assert_member(o, "data", "", 0);
    assert_null(json_object_get(o, "encoding"));
    json_decref(o);
    sc_msg_unref(m);
}

/* "Nothing is replaced or dropped": random non-UTF-8 payloads of many
 * lengths, with and without a pattern, decode to the exact bytes. */
static void test_delivery_non_utf8_payload_is_base64_of_exact_bytes(void **state)
{
    unsigned char data[200], out[200];

    (void)state;
    for (size_t len = 1; len < sizeof(data); len++) {
        for (size_t k = 0; k < len; k++)
            data[k] = (unsigned char)rng();
        data[rng() % len] = 0xFF; /* never valid UTF-8 */
        int with_pattern = len % 2;
        struct sc_msg *m = sc_msg_delivery("bin", 3, with_pattern ? "b*" : NULL,
                                           with_pattern ? 2 : 0, (const char *)data, len);
        json_t *o;
        size_t dlen;
        const char *d;

        assert_non_null(m);
        o = parse_body(m);
        assert_int_equal(json_object_size(o), with_pattern ? 5 : 4);
        assert_member(o, "op", "message", 7);
        assert_member(o, "channel", "bin", 3);
        assert_member(o, "encoding", "base64", 6);
        if (with_pattern)
            assert_member(o, "pattern", "b*", 2);
        d = member(o, "data", &dlen);
        assert_int_equal(base64_decode(d, dlen, out), (long)len);
        assert_memory_equal(out, data, len);
        json_decref(o);
        sc_msg_unref(m);
    }
}

/* A channel name that is not UTF-8 (reachable through a pattern) is sent
 * with U+FFFD for each bad byte, so the frame stays valid JSON. */
static void test_delivery_non_utf8_channel_gets_replacement_chars(void **state)
{
    struct sc_msg *m = sc_msg_delivery("a\xFF"
                                       "b",
                                       3, "a*", 2, "x", 1);
    json_t *o;

    (void)state;
    assert_non_null(m);
    o = parse_body(m);
    assert_member(o, "channel",
                  "a\xEF\xBF\xBD"
                  "b",
                  5);
    assert_member(o, "pattern", "a*", 2);
    assert_member(o, "data", "x", 1);
    json_decref(o);
    sc_msg_unref(m);
}

/* Channel and pattern are escaped like the data. */
static void test_delivery_escapes_channel_and_pattern(void **state)
{
    struct sc_msg *m = sc_msg_delivery("q\"\\", 3, "q\"*", 3, "x", 1);
    json_t *o;

    (void)state;
    assert_non_null(m);
    o = parse_body(m);
    assert_member(o, "channel", "q\"\\", 3);
    assert_member(o, "pattern", "q\"*", 3);
    json_decref(o);
    sc_msg_unref(m);
}

/* A payload big enough for the 64-bit length form, in both encodings. */
static void test_delivery_large_payload_frames_correctly(void **state)
{
    size_t len = 100000;
    unsigned char *data = malloc(len), *out = malloc(len);

    (void)state;
    assert_non_null(data);
    assert_non_null(out);
    for (int binary = 0; binary < 2; binary++) {
        for (size_t k = 0; k < len; k++)
            data[k] = binary ? (unsigned char)rng() : (unsigned char)('A' + k % 50);
        struct sc_msg *m = sc_msg_delivery("big", 3, NULL, 0, (const char *)data, len);
        json_t *o;
        size_t dlen;
        const char *d;

        assert_non_null(m);
        assert_int_equal(sc_msg_frame(m)[1], 127);
        o = parse_body(m);
        d = member(o, "data", &dlen);
        if (binary) {
            assert_int_equal(base64_decode(d, dlen, out), (long)len);
            assert_memory_equal(out, data, len);
        } else {
            assert_int_equal(dlen, len);
            assert_memory_equal(d, data, len);
        }
        json_decref(o);
        sc_msg_unref(m);
    }
    free(data);
    free(out);
}

/* ---- reference counting ------------------------------------------------ */

static void test_new_frame_has_one_reference(void **state)
{
    struct sc_msg *m = sc_msg_text("{}", 2);

    (void)state;
    assert_non_null(m);
    assert_int_equal(m->refs, 1);
    sc_msg_unref(m);
}

static void test_ref_counts_up_and_returns_the_same_frame(void **state)
{
    struct sc_msg *m = sc_msg_text("{}", 2);

    (void)state;
    assert_non_null(m);
    assert_ptr_equal(sc_msg_ref(m), m);
    assert_ptr_equal(sc_msg_ref(m), m);
    assert_int_equal(m->refs, 3);
    sc_msg_unref(m);
    sc_msg_unref(m);
    sc_msg_unref(m);
}

/* Every holder but the last may drop its reference while the frame stays
 * readable (ASan reports a use after free if it was released early); the
 * last unref frees it (LeakSanitizer reports it otherwise). */
static void test_unref_frees_only_at_last_reference(void **state)
{
    enum { HOLDERS = 1000 };
    struct sc_msg *m = sc_msg_delivery("news", 4, NULL, 0, "hello", 5);
    size_t len;

    (void)state;
    assert_non_null(m);
    for (int i = 1; i < HOLDERS; i++)
        sc_msg_ref(m);
    assert_int_equal(m->refs, HOLDERS);
    for (int i = HOLDERS; i > 1; i--) {
        sc_msg_unref(m);
        assert_int_equal(m->refs, i - 1);
        assert_int_equal(sc_msg_frame(m)[0], 0x81);
        assert_memory_equal(sc_msg_body(m, &len), "{\"op\":\"message\"", 15);
    }
    sc_msg_unref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_frame_empty_body_uses_7bit_length),
        cmocka_unit_test(test_frame_125_byte_body_uses_7bit_length),
        cmocka_unit_test(test_frame_126_byte_body_uses_16bit_length),
        cmocka_unit_test(test_frame_65535_byte_body_uses_16bit_length),
        cmocka_unit_test(test_frame_65536_byte_body_uses_64bit_length),
        cmocka_unit_test(test_frame_64bit_length_is_big_endian),
        cmocka_unit_test(test_frame_header_is_minimal_around_form_changes),
        cmocka_unit_test(test_frame_has_lws_pre_headroom),
        cmocka_unit_test(test_text_copies_its_input),
        cmocka_unit_test(test_finish_leaves_builder_empty_and_reusable),
        cmocka_unit_test(test_finish_of_failed_builder_returns_null),
        cmocka_unit_test(test_delivery_matches_protocol_doc_utf8_example),
        cmocka_unit_test(test_delivery_matches_protocol_doc_pattern_example),
        cmocka_unit_test(test_delivery_matches_protocol_doc_base64_example),
        cmocka_unit_test(test_delivery_utf8_payload_round_trips),
        cmocka_unit_test(test_delivery_empty_payload_is_empty_string),
        cmocka_unit_test(test_delivery_non_utf8_payload_is_base64_of_exact_bytes),
        cmocka_unit_test(test_delivery_non_utf8_channel_gets_replacement_chars),
        cmocka_unit_test(test_delivery_escapes_channel_and_pattern),
        cmocka_unit_test(test_delivery_large_payload_frames_correctly),
        cmocka_unit_test(test_new_frame_has_one_reference),
        cmocka_unit_test(test_ref_counts_up_and_returns_the_same_frame),
        cmocka_unit_test(test_unref_frees_only_at_last_reference),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
