/* The map's contract: argument checks, error codes, ordering, lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>

#include "shard_test.h"

#define URL "ws://127.0.0.1:8080/ws"

static void test_new_and_free(void **state)
{
    sc_shardmap *map = NULL;
    const struct sc_shard *o = NULL;

    (void)state;
    assert_int_equal(sc_shardmap_new(NULL, 0), -EINVAL);
    assert_int_equal(sc_shardmap_new(&map, SC_SHARDMAP_EPOCH_MAX + 1), -EINVAL);
    assert_null(map);
    assert_int_equal(sc_shardmap_new(&map, SC_SHARDMAP_EPOCH_MAX), 0);
    assert_int_equal(sc_shardmap_epoch(map), SC_SHARDMAP_EPOCH_MAX);
    assert_int_equal(sc_shardmap_count(map), 0);
    assert_null(sc_shardmap_at(map, 0));
    assert_int_equal(sc_shardmap_owner(map, "k", 1, &o), -ENOENT);
    assert_null(o);
    sc_shardmap_free(map);
    sc_shardmap_free(NULL);
}

static void test_add_rejects_bad_arguments(void **state)
{
    static const char *const bad_ids[] = {
        "", "a b", "a/b", "caf\xc3\xa9", "tab\t", "q\"", "\xff",
    };
    static const char *const bad_urls[] = {
        "", "ws://a b", "ws://\x01", "ws://\x7f", "ws://\xc3\xa9", "ws://\"", "ws://\\"};
    char longurl[SC_SHARD_URL_MAX + 2], longid[SC_SHARD_ID_MAX + 2];
    sc_shardmap *map = make_map(0, NULL);
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad_ids) / sizeof(*bad_ids); i++)
        assert_int_equal(sc_shardmap_add(map, bad_ids[i], URL, 1), -EINVAL);
    for (i = 0; i < sizeof(bad_urls) / sizeof(*bad_urls); i++)
        assert_int_equal(sc_shardmap_add(map, "a", bad_urls[i], 1), -EINVAL);
    memset(longurl, 'u', sizeof(longurl) - 1);
    longurl[sizeof(longurl) - 1] = '\0';
    assert_int_equal(sc_shardmap_add(map, "a", longurl, 1), -EINVAL);
    longurl[SC_SHARD_URL_MAX] = '\0';
    assert_int_equal(sc_shardmap_add(map, "a", longurl, 1), 0);
    assert_int_equal(sc_shardmap_add(NULL, "b", URL, 1), -EINVAL);
    assert_int_equal(sc_shardmap_add(map, NULL, URL, 1), -EINVAL);
    assert_int_equal(sc_shardmap_add(map, "b", NULL, 1), -EINVAL);
    assert_int_equal(sc_shardmap_add(map, "b", URL, 0), -EINVAL);
    assert_int_equal(sc_shardmap_add(map, "b", URL, SC_SHARD_WEIGHT_MAX + 1), -EINVAL);
    assert_int_equal(sc_shardmap_add(map, "b", URL, SC_SHARD_WEIGHT_MAX), 0);
    memset(longid, 'i', sizeof(longid) - 1);
    memcpy(longid, "Az09._:-", 8);
    longid[sizeof(longid) - 1] = '\0';
    assert_int_equal(sc_shardmap_add(map, longid, URL, 1), -EINVAL);
    longid[SC_SHARD_ID_MAX] = '\0';
    assert_int_equal(sc_shardmap_add(map, longid, URL, 1), 0);
    assert_int_equal(sc_shardmap_add(map, "a", URL, 2), -EEXIST);
    assert_int_equal(sc_shardmap_count(map), 3);
    assert_int_equal(sc_shardmap_find(map, "a")->weight, 1);
    sc_shardmap_free(map);
}

static void test_capacity_limit(void **state)
{
    sc_shardmap *map = make_map(SC_SHARDMAP_MAX_SHARDS, NULL);

    (void)state;
    assert_int_equal(sc_shardmap_add(map, "one-too-many", URL, 1), -E2BIG);
    assert_int_equal(sc_shardmap_add(map, "s0", URL, 1), -EEXIST);
    assert_int_equal(sc_shardmap_remove(map, "s7"), 0);
    assert_int_equal(sc_shardmap_add(map, "one-too-many", URL, 1), 0);
    sc_shardmap_free(map);
}

static void test_order_find_remove(void **state)
{
    static const char *const ids[] = {"m", "B", "a10", "a", "a1", "z", "_", "0"};
    static const char *const sorted[] = {"0", "B", "_", "a", "a1", "a10", "m", "z"};
    sc_shardmap *map = make_map(0, NULL);
    const struct sc_shard *s;
    size_t i;

    (void)state;
    for (i = 0; i < 8; i++)
        assert_int_equal(sc_shardmap_add(map, ids[i], URL, (uint32_t)i + 1), 0);
    for (i = 0; i < 8; i++)
        assert_string_equal(sc_shardmap_at(map, i)->id, sorted[i]);
    s = sc_shardmap_find(map, "a10");
    assert_non_null(s);
    assert_string_equal(s->url, URL);
    assert_int_equal(s->weight, 3);
    assert_null(sc_shardmap_find(map, "a2"));
    assert_null(sc_shardmap_find(map, NULL));
    assert_int_equal(sc_shardmap_remove(map, "a2"), -ENOENT);
    assert_int_equal(sc_shardmap_remove(map, NULL), -EINVAL);
    assert_int_equal(sc_shardmap_remove(map, "a"), 0);
    assert_int_equal(sc_shardmap_remove(map, "a"), -ENOENT);
    assert_int_equal(sc_shardmap_count(map), 7);
    assert_string_equal(sc_shardmap_at(map, 3)->id, "a1");
    assert_null(sc_shardmap_at(map, 7));
    sc_shardmap_free(map);
}

/* Placement depends on the set of shards, not on the order they came in. */
static void test_owner_ignores_insertion_order(void **state)
{
    sc_shardmap *fwd = make_map(0, NULL), *rev = make_map(0, NULL);
    const struct sc_shard *a, *b;
    char id[16], key[32];
    int i;

    (void)state;
    for (i = 0; i < 20; i++) {
        snprintf(id, sizeof(id), "n%d", i);
        assert_int_equal(sc_shardmap_add(fwd, id, URL, (uint32_t)(i % 3 + 1)), 0);
        snprintf(id, sizeof(id), "n%d", 19 - i);
        assert_int_equal(sc_shardmap_add(rev, id, URL, (uint32_t)((19 - i) % 3 + 1)), 0);
    }
    for (i = 0; i < 5000; i++) {
        size_t len = key_of(key, sizeof(key), i);
        assert_int_equal(sc_shardmap_owner(fwd, key, len, &a), 0);
        assert_int_equal(sc_shardmap_owner(rev, key, len, &b), 0);
        assert_string_equal(a->id, b->id);
    }
    sc_shardmap_free(fwd);
    sc_shardmap_free(rev);
}

static void test_owner_arguments(void **state)
{
    sc_shardmap *map = make_map(3, NULL);
    const struct sc_shard *o = NULL, *o2 = NULL;
    double s;

    (void)state;
    assert_int_equal(sc_shardmap_owner(NULL, "k", 1, &o), -EINVAL);
    assert_int_equal(sc_shardmap_owner(map, "k", 1, NULL), -EINVAL);
    assert_int_equal(sc_shardmap_owner(map, NULL, 1, &o), -EINVAL);
    assert_null(o);
    assert_int_equal(sc_shardmap_owner(map, NULL, 0, &o), 0);
    assert_int_equal(sc_shardmap_owner(map, "", 0, &o2), 0);
    assert_ptr_equal(o, o2);
    /* Keys are bytes: an embedded NUL is part of the key. */
    assert_int_equal(sc_shardmap_owner(map, "a\0b", 3, &o), 0);
    assert_int_equal(sc_shard_score("s0", 1, "k", 1, &s), 0);
    assert_true(s > 0);
    assert_int_equal(sc_shard_score("s 0", 1, "k", 1, &s), -EINVAL);
    assert_int_equal(sc_shard_score("s0", 0, "k", 1, &s), -EINVAL);
    assert_int_equal(sc_shard_score("s0", 1, NULL, 1, &s), -EINVAL);
    assert_int_equal(sc_shard_score("s0", 1, "k", 1, NULL), -EINVAL);
    sc_shardmap_free(map);
}

static void test_epoch(void **state)
{
    sc_shardmap *map = make_map(1, NULL);

    (void)state;
    assert_int_equal(sc_shardmap_set_epoch(map, 42), 0);
    assert_int_equal(sc_shardmap_epoch(map), 42);
    assert_int_equal(sc_shardmap_add(map, "x", URL, 1), 0);
    assert_int_equal(sc_shardmap_epoch(map), 42);
    assert_int_equal(sc_shardmap_set_epoch(map, SC_SHARDMAP_EPOCH_MAX + 1), -ERANGE);
    assert_int_equal(sc_shardmap_epoch(map), 42);
    assert_int_equal(sc_shardmap_set_epoch(NULL, 1), -EINVAL);
    sc_shardmap_free(map);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_and_free),
        cmocka_unit_test(test_add_rejects_bad_arguments),
        cmocka_unit_test(test_capacity_limit),
        cmocka_unit_test(test_order_find_remove),
        cmocka_unit_test(test_owner_ignores_insertion_order),
        cmocka_unit_test(test_owner_arguments),
        cmocka_unit_test(test_epoch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
