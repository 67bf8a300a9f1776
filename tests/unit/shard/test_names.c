/* shard/sc_names: the shard-id / cluster-prefix alphabet, the shard URL
 * rule and the client-key rule, the one copy the node, the shard map,
 * shardctl and shardcast-cli ask. Bytes are tried one by one against the
 * documented sets (README, docs/sharding.md, docs/protocol.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sc_names.h"

/* The documented alphabet, spelled out here rather than taken from the
 * code under test. */
static const char name_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-";

/* valid() takes strings of 1..max bytes of fill, no more. */
static void expect_length_bound(int (*valid)(const char *), size_t max, char fill)
{
    char s[300];

    assert_true(max + 2 <= sizeof(s));
    memset(s, fill, max + 1);
    s[max] = '\0';
    assert_true(valid(s));
    s[max] = fill;
    s[max + 1] = '\0';
    assert_false(valid(s));
    assert_false(valid(""));
    assert_false(valid(NULL));
}

static void test_name_accepts_the_alphabet_and_lengths(void **state)
{
    (void)state;
    assert_int_equal(SC_NAME_MAX, 64);
    assert_true(sc_name_valid("a"));
    assert_true(sc_name_valid("node-1.eu:west_2"));
    assert_true(sc_name_valid(name_alphabet + strlen(name_alphabet) - 64));
    expect_length_bound(sc_name_valid, SC_NAME_MAX, 'x');
}

static void test_name_checks_every_byte(void **state)
{
    (void)state;
    for (int c = 1; c < 256; c++) {
        char one[2] = {(char)c, 0}, mid[4] = {'a', (char)c, 'b', 0};
        int want = strchr(name_alphabet, c) != NULL;

        if (sc_name_valid(one) != want || sc_name_valid(mid) != want)
            fail_msg("byte 0x%02x: want %d", c, want);
    }
}

static void test_shard_url(void **state)
{
    static const char *const bad[] = {
        "",        "ws://a b", "ws://\x01", "ws://\x7f", "ws://\xc3\xa9",
        "ws://\"", "ws://\\",  "ws://h/\t",
    };

    (void)state;
    assert_int_equal(SC_SHARD_URL_MAX, 255);
    assert_true(sc_shard_url_valid("ws://127.0.0.1:8080/ws"));
    assert_true(sc_shard_url_valid("wss://[::1]:1/ws?x=%20&y=~!$'()*+,;"));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (sc_shard_url_valid(bad[i]))
            fail_msg("accepted \"%s\"", bad[i]);
    expect_length_bound(sc_shard_url_valid, SC_SHARD_URL_MAX, 'u');
}

static void test_key_lengths(void **state)
{
    char k[SC_KEY_MAX + 1];

    (void)state;
    assert_int_equal(SC_KEY_MAX, 128);
    memset(k, 'k', sizeof(k));
    assert_true(sc_key_valid(k, 1));
    assert_true(sc_key_valid(k, SC_KEY_MAX));
    assert_false(sc_key_valid(k, SC_KEY_MAX + 1));
    assert_false(sc_key_valid(k, 0));
    assert_false(sc_key_valid(NULL, 0));
    /* The length counts, not a NUL: an embedded NUL is a bad byte. */
    assert_false(sc_key_valid("a\0b", 3));
    assert_true(sc_key_valid("user-42/\xce\xb1", 8)); /* ASCII part */
}

/* Printable ASCII but space, anywhere in the key. */
static void test_key_checks_every_byte(void **state)
{
    (void)state;
    for (int c = 0; c < 256; c++) {
        char one = (char)c, mid[3] = {'a', (char)c, 'b'};
        int want = c >= 0x21 && c <= 0x7E;

        if (sc_key_valid(&one, 1) != want || sc_key_valid(mid, 3) != want)
            fail_msg("byte 0x%02x: want %d", c, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_accepts_the_alphabet_and_lengths),
        cmocka_unit_test(test_name_checks_every_byte),
        cmocka_unit_test(test_shard_url),
        cmocka_unit_test(test_key_lengths),
        cmocka_unit_test(test_key_checks_every_byte),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
