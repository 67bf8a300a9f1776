/* Determinism: every case in tests/vectors/shard_vectors.json (also checked
 * against client/web/shardhash.js by tests/web) has the expected owner, and
 * every listed score has the expected bits. Usage: test_shard_vectors FILE */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>

#include "shard_test.h"

static const char *vectors_path;

/* The key's bytes from "key" (UTF-8) or "key_hex"; caller frees. */
static unsigned char *key_of_case(const json_t *c, size_t *len)
{
    const json_t *k = json_object_get(c, "key");
    const char *hex = json_string_value(json_object_get(c, "key_hex"));
    unsigned char *b;
    size_t i;

    if (k) {
        assert_true(json_is_string(k));
        *len = json_string_length(k);
        b = malloc(*len + 1);
        assert_non_null(b);
        memcpy(b, json_string_value(k), *len);
        return b;
    }
    assert_non_null(hex);
    *len = strlen(hex) / 2;
    b = malloc(*len + 1);
    assert_non_null(b);
    for (i = 0; i < *len; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        b[i] = (unsigned char)v;
    }
    return b;
}

static int check_set(const json_t *set)
{
    const json_t *shards = json_object_get(set, "shards");
    const json_t *cases = json_object_get(set, "cases"), *s, *c;
    sc_shardmap *map = NULL;
    size_t i;

    assert_int_equal(sc_shardmap_new(&map, 0), 0);
    json_array_foreach(shards, i, s) assert_int_equal(
        sc_shardmap_add(map, json_string_value(json_object_get(s, "id")), "ws://x/ws",
                        (uint32_t)json_integer_value(json_object_get(s, "weight"))),
        0);
    json_array_foreach(cases, i, c)
    {
        const struct sc_shard *o = NULL;
        size_t len;
        unsigned char *key = key_of_case(c, &len);
        assert_int_equal(sc_shardmap_owner(map, key, len, &o), 0);
        assert_string_equal(o->id, json_string_value(json_object_get(c, "owner")));
        free(key);
    }
    sc_shardmap_free(map);
    return (int)json_array_size(cases);
}

static void test_owners(void **state)
{
    json_error_t err;
    json_t *root = json_load_file(vectors_path, 0, &err), *set;
    int n = 0;
    size_t i;

    (void)state;
    if (!root)
        print_error("%s:%d: %s\n", vectors_path, err.line, err.text);
    assert_non_null(root);
    json_array_foreach(json_object_get(root, "sets"), i, set) n += check_set(set);
    print_message("vectors: %d owner cases in %zu sets agree\n", n, i);
    assert_true(n >= 300);
    json_decref(root);
}

static void test_scores(void **state)
{
    json_t *root = json_load_file(vectors_path, 0, NULL), *s;
    size_t i;

    (void)state;
    assert_non_null(root);
    json_array_foreach(json_object_get(root, "scores"), i, s)
    {
        size_t len;
        unsigned char *key = key_of_case(s, &len);
        char bits[17];
        uint64_t b;
        double score;
        assert_int_equal(sc_shard_score(json_string_value(json_object_get(s, "id")),
                                        (uint32_t)json_integer_value(json_object_get(s, "weight")),
                                        key, len, &score),
                         0);
        memcpy(&b, &score, sizeof(b));
        snprintf(bits, sizeof(bits), "%016llx", (unsigned long long)b);
        assert_string_equal(bits, json_string_value(json_object_get(s, "bits")));
        free(key);
    }
    print_message("vectors: %zu scores agree bit for bit\n", i);
    assert_true(i > 0);
    json_decref(root);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_owners),
        cmocka_unit_test(test_scores),
    };
    if (argc != 2) {
        fprintf(stderr, "usage: %s shard_vectors.json\n", argv[0]);
        return 2;
    }
    vectors_path = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
