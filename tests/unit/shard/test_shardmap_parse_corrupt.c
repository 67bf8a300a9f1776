/* The parser on hostile input: every truncation, every one-byte replacement
 * (all 256 values), deletion and duplication of a valid stored form either
 * parses into a map that round-trips or fails with -EBADMSG and a reason.
 * Run under ASan/UBSan to make "never crashes, never over-reads" checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>

#include "shard_test.h"

static char *valid;
static size_t valid_len;
static int accepted, rejected;

static int setup(void **state)
{
    sc_shardmap *map = NULL;

    (void)state;
    assert_int_equal(sc_shardmap_new(&map, 1234567), 0);
    assert_int_equal(sc_shardmap_add(map, "node-a", "ws://10.0.0.1:8080/ws", 1), 0);
    assert_int_equal(sc_shardmap_add(map, "node-b", "wss://b.example:443/ws", 2), 0);
    assert_int_equal(sc_shardmap_add(map, "c", "ws://[::1]:9/ws?q=1", 1000000), 0);
    assert_int_equal(sc_shardmap_encode(map, &valid, &valid_len), 0);
    sc_shardmap_free(map);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    print_message("corruption: %d variants parsed into maps, %d rejected\n", accepted, rejected);
    free(valid);
    return 0;
}

/* A successful parse must re-encode to something that parses to itself. */
static void check_one(const char *in, size_t len)
{
    char *copy = malloc(len ? len : 1), *enc = NULL, *enc2 = NULL, err[200];
    sc_shardmap *map = NULL, *again = NULL;
    int rc;

    assert_non_null(copy);
    memcpy(copy, in, len);
    rc = sc_shardmap_parse(copy, len, &map, err, sizeof(err));
    free(copy);
    if (rc) {
        if (rc != -EBADMSG)
            print_error("rc %d for %.*s\n", rc, (int)len, in);
        assert_int_equal(rc, -EBADMSG);
        assert_true(err[0] != '\0');
        assert_null(map);
        rejected++;
        return;
    }
    accepted++;
    assert_int_equal(sc_shardmap_encode(map, &enc, NULL), 0);
    assert_int_equal(sc_shardmap_parse(enc, strlen(enc), &again, NULL, 0), 0);
    assert_int_equal(sc_shardmap_encode(again, &enc2, NULL), 0);
    assert_string_equal(enc, enc2);
    free(enc);
    free(enc2);
    sc_shardmap_free(again);
    sc_shardmap_free(map);
}

static void test_whole(void **state)
{
    sc_shardmap *map = NULL;

    (void)state;
    assert_int_equal(sc_shardmap_parse(valid, valid_len, &map, NULL, 0), 0);
    assert_int_equal(sc_shardmap_count(map), 3);
    sc_shardmap_free(map);
}

/* No proper prefix of a JSON object is a JSON object. */
static void test_truncations(void **state)
{
    size_t n;
    int before = accepted;

    (void)state;
    for (n = 0; n < valid_len; n++)
        check_one(valid, n);
    assert_int_equal(accepted, before);
}

static void test_replacements(void **state)
{
    char *buf = malloc(valid_len);
    size_t i;
    int b;

    (void)state;
    assert_non_null(buf);
    for (i = 0; i < valid_len; i++) {
        for (b = 0; b < 256; b++) {
            if (b == (unsigned char)valid[i])
                continue;
            memcpy(buf, valid, valid_len);
            buf[i] = (char)b;
            check_one(buf, valid_len);
        }
    }
    free(buf);
}

static void test_deletions_and_duplications(void **state)
{
    char *buf = malloc(valid_len + 1);
    size_t i;

    (void)state;
    assert_non_null(buf);
    for (i = 0; i < valid_len; i++) {
        memcpy(buf, valid, i);
        memcpy(buf + i, valid + i + 1, valid_len - i - 1);
        check_one(buf, valid_len - 1);
        memcpy(buf, valid, i + 1);
        memcpy(buf + i + 1, valid + i, valid_len - i);
        check_one(buf, valid_len + 1);
    }
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_replacements),
        cmocka_unit_test(test_deletions_and_duplications),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
