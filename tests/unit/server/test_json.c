/* sc_json: UTF-8 validation and JSON string escaping, checked against an
 * independent reference decoder and jansson; how base64 lands in a buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "sc_base64.h"
#include "sc_buf.h"
#include "sc_json.h"

/* Deterministic PRNG (xorshift64*) so a failure reproduces. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

/* Encode scalar cp as UTF-8 (no checks: also used to build surrogates and
 * out-of-range values on purpose). Returns the length. */
static size_t utf8_encode(uint32_t cp, unsigned char *o)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 63));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 63));
        o[2] = (unsigned char)(0x80 | (cp & 63));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 63));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 63));
    o[3] = (unsigned char)(0x80 | (cp & 63));
    return 4;
}

/* Reference: length of the well-formed sequence at p, or 0. Written by
 * decoding the code point and checking it (shortest form, not a
 * surrogate, at most U+10FFFF), not from byte-range tables like the code
 * under test, so the two are independent. */
static size_t ref_seq_len(const unsigned char *p, size_t avail)
{
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    uint32_t cp;
    size_t n;

    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xE0) == 0xC0) {
        n = 2;
        cp = p[0] & 0x1F;
    } else if ((p[0] & 0xF0) == 0xE0) {
        n = 3;
        cp = p[0] & 0x0F;
    } else if ((p[0] & 0xF8) == 0xF0) {
        n = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[k] & 0x3F);
    }
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static int ref_valid(const unsigned char *p, size_t len)
{
    for (size_t i = 0, n; i < len; i += n)
        if ((n = ref_seq_len(p + i, len - i)) == 0)
            return 0;
    return 1;
}

/* sc_utf8_valid on a heap copy of exactly len bytes, so ASan reports any
 * read past the end (the validator reads eight bytes at a time). */
static int valid_exact(const void *p, size_t len)
{
    unsigned char *c = malloc(len ? len : 1);
    int r;

    assert_non_null(c);
    memcpy(c, p, len);
    r = sc_utf8_valid(c, len);
    free(c);
    return r;
}

/* The quoted JSON string sc_json_append_string makes of p[0..len). The
 * caller frees the returned buffer's data. */
static struct sc_buf quote(const void *p, size_t len)
{
    struct sc_buf b;

    sc_buf_init(&b);
    sc_json_append_string(&b, p, len);
    assert_false(sc_buf_failed(&b));
    return b;
}

/* Parse a JSON string value with jansson (NUL allowed) and return it. */
static json_t *parse_string(const struct sc_buf *b)
{
    json_error_t err;
    json_t *v = json_loadb(b->data, b->len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);

    if (!v)
        fail_msg("jansson rejected %.*s: %s", (int)b->len, b->data, err.text);
    assert_true(json_is_string(v));
    return v;
}

static void assert_buf_equal(const struct sc_buf *b, const void *want, size_t wlen)
{
    assert_int_equal(b->len, wlen);
    assert_memory_equal(b->data, want, wlen);
}

/* ---- sc_utf8_valid ---------------------------------------------------- */

static void test_utf8_empty_is_valid(void **state)
{
    (void)state;
    assert_int_equal(sc_utf8_valid((const unsigned char *)"", 0), 1);
}

/* The first and last scalar of every length class, and the scalars next to
 * the surrogate gap: the places where range tables go wrong. */
static void test_utf8_accepts_every_boundary_scalar(void **state)
{
    static const uint32_t cps[] = {0x0,     0x7F,    0x80,    0x7FF,    0x800,
                                   0xD7FF,  0xE000,  0xFFFD,  0xFFFF,   0x10000,
                                   0x3FFFF, 0x40000, 0xFFFFF, 0x100000, 0x10FFFF};
    unsigned char all[4 * sizeof(cps) / sizeof(cps[0])], one[4];
    size_t alen = 0;

    (void)state;
    for (size_t i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
        size_t n = utf8_encode(cps[i], one);
        if (!valid_exact(one, n))
            fail_msg("U+%04X rejected", cps[i]);
        memcpy(all + alen, one, n);
        alen += n;
    }
    assert_int_equal(valid_exact(all, alen), 1);
}

/* Every scalar value, alone and between ASCII on both sides. */
static void test_utf8_accepts_every_scalar_value(void **state)
{
    unsigned char buf[6];

    (void)state;
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp == 0xD800)
            cp = 0xE000;
        size_t n = utf8_encode(cp, buf + 1);
        buf[0] = 'a';
        buf[n + 1] = 'z';
        if (!sc_utf8_valid(buf + 1, n) || !sc_utf8_valid(buf, n + 2))
            fail_msg("U+%04X rejected", cp);
    }
}

/* UTF-16 surrogates are not scalar values (RFC 3629 section 3). */
static void test_utf8_rejects_every_surrogate(void **state)
{
    unsigned char buf[3];

    (void)state;
    for (uint32_t cp = 0xD800; cp <= 0xDFFF; cp++) {
        utf8_encode(cp, buf);
        if (valid_exact(buf, 3))
            fail_msg("surrogate U+%04X accepted", cp);
    }
}

/* Overlong forms, including the shortest overlong of each length and the
 * longest (the one just below the length's first scalar). */
static void test_utf8_rejects_overlong_forms(void **state)
{
    static const char *const bad[] = {
        "\xC0\x80",         "\xC0\xAF",         "\xC1\xBF",         /* 2-byte */
        "\xE0\x80\x80",     "\xE0\x80\xAF",     "\xE0\x9F\xBF",     /* 3-byte */
        "\xF0\x80\x80\x80", "\xF0\x80\x80\xAF", "\xF0\x8F\xBF\xBF", /* 4-byte */
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (valid_exact(bad[i], strlen(bad[i])))
            fail_msg("overlong #%zu accepted", i);
}

static void test_utf8_rejects_above_u10ffff(void **state)
{
    static const char *const bad[] = {
        "\xF4\x90\x80\x80", /* U+110000 */
        "\xF4\xBF\xBF\xBF",
        "\xF5\x80\x80\x80",
        "\xF7\xBF\xBF\xBF",
        "\xF8\x88\x80\x80\x80",
        "\xFC\x84\x80\x80\x80\x80",
        "\xFE",
        "\xFF",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (valid_exact(bad[i], strlen(bad[i])))
            fail_msg("value above U+10FFFF #%zu accepted", i);
}

static void test_utf8_rejects_lone_continuation_bytes(void **state)
{
    unsigned char c;

    (void)state;
    for (unsigned v = 0x80; v <= 0xBF; v++) {
        c = (unsigned char)v;
        assert_int_equal(valid_exact(&c, 1), 0);
    }
}

/* Every proper prefix of a multi-byte sequence, at the very end of the
 * buffer (ASan checks no byte past it is read) and followed by ASCII. */
static void test_utf8_rejects_truncated_sequences(void **state)
{
    static const uint32_t cps[] = {0x80, 0x7FF, 0x800, 0xFFFF, 0x10000, 0x10FFFF};
    unsigned char enc[4], buf[16];

    (void)state;
    for (size_t i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
        size_t n = utf8_encode(cps[i], enc);
        for (size_t cut = 1; cut < n; cut++) {
            /* After 0..9 ASCII bytes, so the cut lands both inside and
             * after the eight-byte fast path. */
            for (size_t pre = 0; pre < 10; pre++) {
                memset(buf, 'a', pre);
                memcpy(buf + pre, enc, cut);
                if (valid_exact(buf, pre + cut))
                    fail_msg("U+%04X cut to %zu bytes at end accepted", cps[i], cut);
                buf[pre + cut] = 'z';
                if (valid_exact(buf, pre + cut + 1))
                    fail_msg("U+%04X cut to %zu bytes before ASCII accepted", cps[i], cut);
            }
        }
    }
}

/* The eight-bytes-at-a-time ASCII skip must not jump over a bad byte: put
 * one at every offset of an ASCII buffer. */
static void test_utf8_finds_bad_byte_at_every_offset(void **state)
{
    unsigned char buf[40];

    (void)state;
    for (size_t len = 1; len <= sizeof(buf); len++) {
        for (size_t at = 0; at < len; at++) {
            memset(buf, 'x', len);
            buf[at] = 0xFF;
            if (valid_exact(buf, len))
                fail_msg("0xFF at %zu of %zu accepted", at, len);
            /* A valid 2-byte sequence at the same place is fine. */
            if (at + 1 < len) {
                buf[at] = 0xC3;
                buf[at + 1] = 0xA9;
                if (!valid_exact(buf, len))
                    fail_msg("U+00E9 at %zu of %zu rejected", at, len);
            }
        }
    }
}

/* Agreement with the reference on every 1- and 2-byte input, and on 3- and
 * 4-byte inputs built from every lead and second byte with boundary values
 * for the rest. */
static void test_utf8_agrees_with_reference_decoder(void **state)
{
    static const unsigned char tail[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90,
                                         0x9F, 0xA0, 0xBF, 0xC0, 0xF4, 0xFF};
    const size_t nt = sizeof(tail);
    unsigned char b[4];

    (void)state;
    for (unsigned x = 0; x < 65536; x++) {
        b[0] = (unsigned char)(x >> 8);
        b[1] = (unsigned char)x;
        assert_int_equal(sc_utf8_valid(b, 1), ref_valid(b, 1));
        if (sc_utf8_valid(b, 2) != ref_valid(b, 2))
            fail_msg("disagree on %02x %02x", b[0], b[1]);
        for (size_t i = 0; i < nt; i++) {
            b[2] = tail[i];
            if (sc_utf8_valid(b, 3) != ref_valid(b, 3))
                fail_msg("disagree on %02x %02x %02x", b[0], b[1], b[2]);
            for (size_t j = 0; j < nt; j++) {
                b[3] = tail[j];
                if (sc_utf8_valid(b, 4) != ref_valid(b, 4))
                    fail_msg("disagree on %02x %02x %02x %02x", b[0], b[1], b[2], b[3]);
            }
        }
    }
}

/* ---- sc_json_append_string -------------------------------------------- */

static void test_json_string_empty(void **state)
{
    struct sc_buf b = quote("", 0);

    (void)state;
    assert_buf_equal(&b, "\"\"", 2);
    sc_buf_free(&b);
}

/* The protocol promises payloads "byte for byte, escapes only where JSON
 * requires them": printable ASCII, DEL and '/' pass through verbatim. */
static void test_json_string_copies_printable_ascii_verbatim(void **state)
{
    char in[128], want[130];
    size_t n = 0;
    struct sc_buf b;

    (void)state;
    for (int c = 0x20; c <= 0x7F; c++)
        if (c != '"' && c != '\\')
            in[n++] = (char)c;
    want[0] = '"';
    memcpy(want + 1, in, n);
    want[n + 1] = '"';
    b = quote(in, n);
    assert_buf_equal(&b, want, n + 2);
    sc_buf_free(&b);
}

static void test_json_string_keeps_valid_multibyte_verbatim(void **state)
{
    static const char in[] =
        "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF \xF4\x8F\xBF\xBF";
    struct sc_buf b = quote(in, sizeof(in) - 1);

    (void)state;
    assert_int_equal(b.len, sizeof(in) + 1);
    assert_memory_equal(b.data + 1, in, sizeof(in) - 1);
    sc_buf_free(&b);
}

/* Quote, backslash and all 32 control bytes must be escaped (RFC 8259
 * section 7): no raw one may appear inside the quotes, and jansson must
 * decode each back to the byte. */
static void test_json_string_escapes_quote_backslash_and_controls(void **state)
{
    (void)state;
    for (int c = 0; c <= 0x5C; c++) {
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        char in[3] = {'a', (char)c, 'b'};
        struct sc_buf b = quote(in, 3);
        json_t *v;

        assert_true(b.len >= 5);
        for (size_t i = 1; i + 1 < b.len; i++)
            if ((unsigned char)b.data[i] < 0x20)
                fail_msg("byte 0x%02x: raw 0x%02x in %.*s", c, (unsigned char)b.data[i], (int)b.len,
                         b.data);
        assert_int_equal(b.data[2], '\\');
        v = parse_string(&b);
        assert_int_equal(json_string_length(v), 3);
        assert_memory_equal(json_string_value(v), in, 3);
        json_decref(v);
        sc_buf_free(&b);
    }
}

/* Each byte that is not part of a well-formed sequence becomes one
 * U+FFFD; the valid bytes around it are kept. */
static void test_json_string_replaces_each_invalid_byte_with_fffd(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"a\xFF"
         "b",
         "\"a\xEF\xBF\xBD"
         "b\""},
        {"\x80", "\"\xEF\xBF\xBD\""},
        {"\xC0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\""},                 /* overlong NUL */
        {"\xED\xA0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""}, /* surrogate */
        {"x\xE2\x82", "\"x\xEF\xBF\xBD\xEF\xBF\xBD\""},               /* truncated at end */
        {"\xF4\x90\x80\x80"
         "!",
         "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD!\""},
        {"\xC3\xA9\xC3", "\"\xC3\xA9\xEF\xBF\xBD\""},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sc_buf b = quote(cases[i].in, strlen(cases[i].in));
        if (b.len != strlen(cases[i].want) || memcmp(b.data, cases[i].want, b.len))
            fail_msg("case %zu: got %.*s", i, (int)b.len, b.data);
        sc_buf_free(&b);
    }
}

/* Random valid UTF-8 (controls, quotes and every length class included)
 * decodes with jansson to exactly the input bytes. */
static void test_json_string_round_trips_random_valid_utf8(void **state)
{
    unsigned char in[4 * 64];

    (void)state;
    for (int iter = 0; iter < 2000; iter++) {
        size_t len = 0, ncp = rng() % 64;
        for (size_t k = 0; k < ncp; k++) {
            uint32_t cp;
            switch (rng() % 4) {
            case 0: cp = (uint32_t)(rng() % 0x80); break;
            case 1: cp = (uint32_t)(0x80 + rng() % 0x780); break;
            case 2: cp = (uint32_t)(0x800 + rng() % 0xF800); break;
            default: cp = (uint32_t)(0x10000 + rng() % 0x100000); break;
            }
            if (cp >= 0xD800 && cp <= 0xDFFF)
                cp = '"';
            len += utf8_encode(cp, in + len);
        }
        struct sc_buf b = quote(in, len);
        json_t *v = parse_string(&b);
        assert_int_equal(json_string_length(v), len);
        assert_memory_equal(json_string_value(v), in, len);
        json_decref(v);
        sc_buf_free(&b);
    }
}

/* Random bytes always give valid JSON (jansson validates UTF-8 as it
 * parses), decoding to the input with each bad byte as U+FFFD. */
static void test_json_string_random_bytes_always_parse(void **state)
{
    unsigned char in[96], want[3 * 96];

    (void)state;
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = rng() % sizeof(in), wlen = 0;
        for (size_t k = 0; k < len; k++)
            in[k] = (unsigned char)rng();
        for (size_t k = 0, n; k < len; k += n) {
            n = ref_seq_len(in + k, len - k);
            if (n) {
                memcpy(want + wlen, in + k, n);
                wlen += n;
            } else {
                memcpy(want + wlen, "\xEF\xBF\xBD", 3);
                wlen += 3;
                n = 1;
            }
        }
        struct sc_buf b = quote(in, len);
        json_t *v = parse_string(&b);
        assert_int_equal(json_string_length(v), wlen);
        assert_memory_equal(json_string_value(v), want, wlen);
        json_decref(v);
        sc_buf_free(&b);
    }
}

/* Builders call it in the middle of a frame: it must append, not
 * overwrite. */
static void test_json_string_appends_to_existing_content(void **state)
{
    struct sc_buf b;

    (void)state;
    sc_buf_init(&b);
    sc_buf_append_str(&b, "{\"k\":");
    sc_json_append_string(&b, "v\n", 2);
    sc_buf_append_str(&b, "}");
    assert_buf_equal(&b, "{\"k\":\"v\\n\"}", 11);
    sc_buf_free(&b);
}

/* ---- sc_base64_append -------------------------------------------------- */

/* The encoding itself is shard/sc_base64.c's, tested in
 * tests/unit/shard/test_base64.c; here only the sc_buf face of it. */
static void test_base64_appends_to_existing_content(void **state)
{
    struct sc_buf b;

    (void)state;
    sc_buf_init(&b);
    sc_buf_append_str(&b, "data:");
    sc_base64_append(&b, "", 0);
    sc_base64_append(&b, "foo", 3);
    sc_base64_append(&b, "f", 1);
    assert_buf_equal(&b, "data:Zm9vZg==", 13);
    sc_buf_free(&b);
}

/* Every length, into a buffer that must grow: exactly the shared encoder's
 * characters after what was there, and nothing for no bytes. */
static void test_base64_append_matches_shared_encoder(void **state)
{
    unsigned char in[200];
    char want[SC_BASE64_ENCODED_LEN(sizeof(in))];

    (void)state;
    for (size_t len = 0; len <= sizeof(in); len++) {
        struct sc_buf b;
        size_t n;

        for (size_t k = 0; k < len; k++)
            in[k] = (unsigned char)rng();
        n = sc_base64_encode(in, len, want);
        sc_buf_init(&b);
        sc_buf_append_str(&b, "x");
        sc_base64_append(&b, in, len);
        assert_false(sc_buf_failed(&b));
        assert_int_equal(b.len, 1 + n);
        assert_memory_equal(b.data + 1, want, n);
        sc_buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_empty_is_valid),
        cmocka_unit_test(test_utf8_accepts_every_boundary_scalar),
        cmocka_unit_test(test_utf8_accepts_every_scalar_value),
        cmocka_unit_test(test_utf8_rejects_every_surrogate),
        cmocka_unit_test(test_utf8_rejects_overlong_forms),
        cmocka_unit_test(test_utf8_rejects_above_u10ffff),
        cmocka_unit_test(test_utf8_rejects_lone_continuation_bytes),
        cmocka_unit_test(test_utf8_rejects_truncated_sequences),
        cmocka_unit_test(test_utf8_finds_bad_byte_at_every_offset),
        cmocka_unit_test(test_utf8_agrees_with_reference_decoder),
        cmocka_unit_test(test_json_string_empty),
        cmocka_unit_test(test_json_string_copies_printable_ascii_verbatim),
        cmocka_unit_test(test_json_string_keeps_valid_multibyte_verbatim),
        cmocka_unit_test(test_json_string_escapes_quote_backslash_and_controls),
        cmocka_unit_test(test_json_string_replaces_each_invalid_byte_with_fffd),
        cmocka_unit_test(test_json_string_round_trips_random_valid_utf8),
        cmocka_unit_test(test_json_string_random_bytes_always_parse),
        cmocka_unit_test(test_json_string_appends_to_existing_content),
        cmocka_unit_test(test_base64_appends_to_existing_content),
        cmocka_unit_test(test_base64_append_matches_shared_encoder),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
