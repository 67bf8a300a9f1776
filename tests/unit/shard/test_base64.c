/* shard/sc_base64: RFC 4648 base64 and base64url, the one implementation
 * the node (deliveries, JWT), shardcast-cli and the bench share. Encoding is
 * checked against the RFC's vectors; decoding must accept exactly what
 * encoding produces, nothing else (one spelling per byte string). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sc_base64.h"

/* Byte k of the rep-th test string of length len: Knuth's multiplicative
 * hash, so every bit position varies (a fixed pattern, so a failure
 * reproduces). */
static unsigned char byte_at(size_t k, size_t len, int rep)
{
    uint32_t h = (uint32_t)(k * 300 + len) * 2654435761u;

    return (unsigned char)(h >> (8 * rep));
}

/* Encode into a buffer of exactly the promised size (ASan checks the
 * bound) and compare with want. */
static void expect_encode(const char *in, size_t len, int url, const char *want)
{
    size_t cap = url ? SC_BASE64URL_ENCODED_LEN(len) : SC_BASE64_ENCODED_LEN(len);
    char *out = malloc(cap + 1);
    size_t n;

    assert_non_null(out);
    n = url ? sc_base64url_encode(in, len, out) : sc_base64_encode(in, len, out);
    if (n != strlen(want) || n != cap || memcmp(out, want, n))
        fail_msg("%s(\"%.*s\") = \"%.*s\" (%zu), want \"%s\"", url ? "base64url" : "base64",
                 (int)len, in, (int)n, out, n, want);
    free(out);
}

/* Decode into a buffer of exactly the promised size; returns the result
 * and, on success, checks the bytes. */
static int try_decode(const char *in, size_t len, int url, const char *want, size_t wantlen)
{
    size_t cap = url ? SC_BASE64_DECODED_MAX(len) : len / 4 * 3;
    unsigned char *out = malloc(cap + 1);
    size_t n = 12345;
    int rc;

    assert_non_null(out);
    rc = url ? sc_base64url_decode(in, len, out, &n) : sc_base64_decode(in, len, out, &n);
    if (rc == 0 && want) {
        assert_int_equal(n, wantlen);
        assert_memory_equal(out, want, wantlen);
    }
    free(out);
    return rc;
}

static void test_rfc4648_vectors(void **state)
{
    /* RFC 4648 section 10, and its base64url spelling (no padding). */
    static const char *const vec[][3] = {
        {"", "", ""},
        {"f", "Zg==", "Zg"},
        {"fo", "Zm8=", "Zm8"},
        {"foo", "Zm9v", "Zm9v"},
        {"foob", "Zm9vYg==", "Zm9vYg"},
        {"fooba", "Zm9vYmE=", "Zm9vYmE"},
        {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        size_t len = strlen(vec[i][0]);

        expect_encode(vec[i][0], len, 0, vec[i][1]);
        expect_encode(vec[i][0], len, 1, vec[i][2]);
        assert_int_equal(try_decode(vec[i][1], strlen(vec[i][1]), 0, vec[i][0], len), 0);
        assert_int_equal(try_decode(vec[i][2], strlen(vec[i][2]), 1, vec[i][0], len), 0);
    }
}

/* The two alphabets differ in their last two letters only; the example of
 * docs/protocol.md; bytes with NULs and high bits. */
static void test_alphabets(void **state)
{
    (void)state;
    expect_encode("\xFB\xEF\xBE\xFF\xFF\xFF", 6, 0, "++++////");
    expect_encode("\xFB\xEF\xBE\xFF\xFF\xFF", 6, 1, "----____");
    expect_encode("\x00\x01\x02\xFF", 4, 0, "AAEC/w==");
    expect_encode("\x00\x01\x02\xFF", 4, 1, "AAEC_w");
    assert_int_equal(try_decode("AP8A", 4, 0, "\0\xff\0", 3), 0);
    assert_int_equal(try_decode("+/+/", 4, 0, "\xfb\xff\xbf", 3), 0);
    assert_int_equal(try_decode("-_-_", 4, 1, "\xfb\xff\xbf", 3), 0);
    assert_int_equal(try_decode("AAEC/w==", 8, 0, "\x00\x01\x02\xFF", 4), 0);
    /* Each alphabet refuses the other's letters. */
    assert_int_equal(try_decode("-_-_", 4, 0, NULL, 0), -EINVAL);
    assert_int_equal(try_decode("+/+/", 4, 1, NULL, 0), -EINVAL);
}

static void test_decode_rejects(void **state)
{
    /* Bad length, foreign bytes, whitespace, misplaced or extra padding,
	 * and non-canonical last letters ("Zh==" and "Zm9=" have unused bits
	 * set). */
    static const char *const bad_std[] = {
        "Z",      "Zg=",  "Zg",   "Zg==Zg==", "Z===", "====",   "Zm9v!A==", "Zm=v", "Zg= ", " Zg=",
        "Zm9v\n", "Zh==", "Zm9=", "Zg=A",     "=Zg=", "Zm9vYg", "Zm9v====", "A===", "Zm 9",
    };
    static const char *const bad_url[] = {
        "Z", "Zg==", "Zg=", "Zh", "Zm9", "Zm9vY", "Zm9v!", "Zm 9", "Zg\n", "+/+/", "Zm9vYh",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad_std) / sizeof(bad_std[0]); i++)
        if (try_decode(bad_std[i], strlen(bad_std[i]), 0, NULL, 0) != -EINVAL)
            fail_msg("base64 accepted \"%s\"", bad_std[i]);
    for (size_t i = 0; i < sizeof(bad_url) / sizeof(bad_url[0]); i++)
        if (try_decode(bad_url[i], strlen(bad_url[i]), 1, NULL, 0) != -EINVAL)
            fail_msg("base64url accepted \"%s\"", bad_url[i]);
    /* A NUL inside the text is a foreign byte, not an end. */
    assert_int_equal(try_decode("Zg\0=", 4, 0, NULL, 0), -EINVAL);
    assert_int_equal(try_decode("Zm\0v", 4, 1, NULL, 0), -EINVAL);
}

/* Every text of one padded quantum over the alphabet plus '=' and of up to
 * three base64url letters: decoding accepts it exactly when it is the
 * encoding of what it decodes to, so no byte string has two spellings. */
static void test_decode_accepts_exactly_the_encodings(void **state)
{
    static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    static const char url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=";
    unsigned char bytes[8];
    char text[5], again[8];
    size_t n, accepted = 0;

    (void)state;
    for (unsigned i = 0; i < 65u * 65 * 65 * 65; i++) {
        unsigned v = i;

        for (int k = 3; k >= 0; k--, v /= 65)
            text[k] = std[v % 65];
        if (sc_base64_decode(text, 4, bytes, &n) == 0) {
            accepted++;
            assert_int_equal(sc_base64_encode(bytes, n, again), 4);
            assert_memory_equal(again, text, 4);
        }
    }
    /* One text per byte string of 3, 2 and 1 bytes. */
    assert_int_equal(accepted, 16777216 + 65536 + 256);

    accepted = 0;
    for (size_t len = 1; len <= 3; len++) {
        unsigned total = 1;

        for (size_t k = 0; k < len; k++)
            total *= 65;
        for (unsigned i = 0; i < total; i++) {
            unsigned v = i;

            for (size_t k = len; k-- > 0; v /= 65)
                text[k] = url[v % 65];
            if (sc_base64url_decode(text, len, bytes, &n) == 0) {
                accepted++;
                assert_int_equal(sc_base64url_encode(bytes, n, again), len);
                assert_memory_equal(again, text, len);
            }
        }
    }
    /* Lengths 2 and 3: one and two bytes, each with one spelling. */
    assert_int_equal(accepted, 256 + 65536);
}

/* Random bytes of every length 0..299 come back from both spellings. */
static void test_round_trips_random_bytes(void **state)
{
    unsigned char in[300], out[300 + 2];
    char text[SC_BASE64_ENCODED_LEN(300)];

    (void)state;
    for (size_t len = 0; len < sizeof(in); len++) {
        for (int rep = 0; rep < 4; rep++) {
            size_t n, tl, outlen = 0;

            for (size_t k = 0; k < len; k++)
                in[k] = byte_at(k, len, rep);
            tl = sc_base64_encode(in, len, text);
            assert_int_equal(tl, (len + 2) / 3 * 4);
            assert_int_equal(sc_base64_decode(text, tl, out, &outlen), 0);
            assert_int_equal(outlen, len);
            assert_memory_equal(out, in, len);
            n = sc_base64url_encode(in, len, text);
            assert_int_equal(n, SC_BASE64URL_ENCODED_LEN(len));
            assert_null(memchr(text, '=', n));
            assert_int_equal(sc_base64url_decode(text, n, out, &outlen), 0);
            assert_int_equal(outlen, len);
            assert_memory_equal(out, in, len);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_alphabets),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_decode_accepts_exactly_the_encodings),
        cmocka_unit_test(test_round_trips_random_bytes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
