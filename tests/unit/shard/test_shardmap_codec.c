/* The stored form: exact encoding, round trip, and every rejection reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>

#include "shard_test.h"

#define ENCODED                                                   \
    "{\"v\":1,\"epoch\":7,\"shards\":["                           \
    "{\"id\":\"a\",\"url\":\"wss://a.example/ws\",\"weight\":1}," \
    "{\"id\":\"b\",\"url\":\"ws://b:8080/ws?x=1&y=%22\",\"weight\":2}]}"

/* Parses from an exactly sized heap copy, so ASan sees any over-read. */
static int parse(const char *s, size_t len, sc_shardmap **out, char *err, size_t errlen)
{
    char *copy = malloc(len ? len : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, s, len);
    rc = sc_shardmap_parse(copy, len, out, err, errlen);
    free(copy);
    return rc;
}

/* The biggest map there can be: every limit at its maximum. */
static sc_shardmap *make_full_map(void)
{
    char id[SC_SHARD_ID_MAX + 1], url[SC_SHARD_URL_MAX + 1];
    sc_shardmap *map = NULL;
    int i;

    assert_int_equal(sc_shardmap_new(&map, SC_SHARDMAP_EPOCH_MAX), 0);
    memset(url, '~', SC_SHARD_URL_MAX);
    url[SC_SHARD_URL_MAX] = '\0';
    for (i = 0; i < SC_SHARDMAP_MAX_SHARDS; i++) {
        snprintf(id, sizeof(id), "%064d", i);
        assert_int_equal(sc_shardmap_add(map, id, url, SC_SHARD_WEIGHT_MAX), 0);
    }
    return map;
}

static void test_encode_exact_and_canonical(void **state)
{
    sc_shardmap *map = NULL;
    char *s = NULL;
    size_t len = 0;

    (void)state;
    assert_int_equal(sc_shardmap_new(&map, 7), 0);
    assert_int_equal(sc_shardmap_add(map, "b", "ws://b:8080/ws?x=1&y=%22", 2), 0);
    assert_int_equal(sc_shardmap_add(map, "a", "wss://a.example/ws", 1), 0);
    assert_int_equal(sc_shardmap_encode(map, &s, &len), 0);
    print_message("stored form: %s\n", s);
    assert_string_equal(s, ENCODED);
    assert_int_equal(len, strlen(ENCODED));
    free(s);
    assert_int_equal(sc_shardmap_encode(map, &s, NULL), 0);
    free(s);
    assert_int_equal(sc_shardmap_encode(NULL, &s, NULL), -EINVAL);
    assert_int_equal(sc_shardmap_encode(map, NULL, NULL), -EINVAL);
    sc_shardmap_free(map);

    assert_int_equal(sc_shardmap_new(&map, 0), 0);
    assert_int_equal(sc_shardmap_encode(map, &s, NULL), 0);
    assert_string_equal(s, "{\"v\":1,\"epoch\":0,\"shards\":[]}");
    free(s);
    sc_shardmap_free(map);
}

static void test_round_trip(void **state)
{
    static const char loose[] =
        " {\"shards\" : [ {\"weight\":2, \"url\":\"ws://b:8080/ws?x=1&y=%22\","
        "\"id\":\"b\", \"future\": [1, {\"x\": null}]},\n"
        "{\"id\":\"\\u0061\",\"url\":\"wss://a.example/ws\",\"weight\":1}],"
        "\"epoch\":7, \"v\":1, \"note\":\"unknown members are ignored\"}\t";
    sc_shardmap *map = NULL, *big = make_full_map();
    char *s = NULL, *s2 = NULL, err[128];
    size_t len;

    (void)state;
    assert_int_equal(parse(loose, strlen(loose), &map, err, sizeof(err)), 0);
    assert_string_equal(err, "");
    assert_int_equal(sc_shardmap_epoch(map), 7);
    assert_int_equal(sc_shardmap_find(map, "b")->weight, 2);
    assert_int_equal(sc_shardmap_encode(map, &s, NULL), 0);
    assert_string_equal(s, ENCODED);
    free(s);
    sc_shardmap_free(map);

    /* The largest map encodes within the parser's size limit. */
    assert_int_equal(sc_shardmap_encode(big, &s, &len), 0);
    print_message("stored form of the largest map (%d shards): %zu bytes (limit %u)\n",
                  SC_SHARDMAP_MAX_SHARDS, len, SC_SHARDMAP_ENCODED_MAX);
    assert_int_equal(parse(s, len, &map, NULL, 0), 0);
    assert_int_equal(sc_shardmap_count(map), SC_SHARDMAP_MAX_SHARDS);
    assert_int_equal(sc_shardmap_epoch(map), SC_SHARDMAP_EPOCH_MAX);
    assert_int_equal(sc_shardmap_encode(map, &s2, NULL), 0);
    assert_string_equal(s, s2);
    free(s);
    free(s2);
    sc_shardmap_free(map);
    sc_shardmap_free(big);
}

struct bad {
    const char *in;
    int rc;
    const char *why; /* substring of the error message */
};

static const struct bad bad[] = {
    {"", -EBADMSG, "JSON"},
    {"nul", -EBADMSG, "JSON"},
    {"[]", -EBADMSG, "expected a JSON object"},
    {"{\"epoch\":1,\"shards\":[]}", -EBADMSG, "v:"},
    {"{\"v\":2,\"epoch\":1,\"shards\":[]}", -EBADMSG, "v:"},
    {"{\"v\":\"1\",\"epoch\":1,\"shards\":[]}", -EBADMSG, "v:"},
    {"{\"v\":1,\"shards\":[]}", -EBADMSG, "epoch:"},
    {"{\"v\":1,\"epoch\":-1,\"shards\":[]}", -EBADMSG, "epoch:"},
    {"{\"v\":1,\"epoch\":1.0,\"shards\":[]}", -EBADMSG, "epoch:"},
    {"{\"v\":1,\"epoch\":9007199254740992,\"shards\":[]}", -EBADMSG, "epoch:"},
    {"{\"v\":1,\"epoch\":99999999999999999999,\"shards\":[]}", -EBADMSG, "JSON"},
    {"{\"v\":1,\"epoch\":1}", -EBADMSG, "shards:"},
    {"{\"v\":1,\"epoch\":1,\"shards\":{}}", -EBADMSG, "shards:"},
    {"{\"v\":1,\"epoch\":1,\"shards\":[1]}", -EBADMSG, "shards[0]: expected an object"},
    {"{\"v\":1,\"epoch\":1,\"shards\":[{\"url\":\"u\",\"weight\":1}]}", -EBADMSG, "shards[0].id"},
    {"{\"v\":1,\"epoch\":1,\"shards\":[{\"id\":\"a b\",\"url\":\"u\",\"weight\":1}]}", -EBADMSG,
     "shards[0].id"},
    {"{\"v\":1,\"epoch\":1,\"shards\":[{\"id\":\"a\\u0000\",\"url\":\"u\",\"weight\":1}]}",
     -EBADMSG, "JSON"},
    {"{\"v\":1,\"epoch\":1,\"shards\":[{\"id\":\"a\",\"url\":\"\",\"weight\":1}]}", -EBADMSG,
     "shards[0].url"},
    {"{\"v\":1,\"epoch\":1,\"shards\":[{\"id\":\"a\",\"weight\":1}]}", -EBADMSG, "shards[0].url"},
    {"{\"v\":1,\"epoch\":1,\"shards\":[{\"id\":\"a\",\"url\":\"u\\\"\",\"weight\":1}]}", -EBADMSG,
     "shards[0].url"},
    {"{\"v\":1,\"epoch\":1,\"shards\":[{\"id\":\"a\",\"url\":\"u\\\\\",\"weight\":1}]}", -EBADMSG,
     "shards[0].url"},
    {"{\"v\":1,\"epoch\":1,\"shards\":[{\"id\":\"a\",\"url\":\"u\"}]}", -EBADMSG,
     "shards[0].weight"},
    {"{\"v\":1,\"epoch\":1,\"shards\":[{\"id\":\"a\",\"url\":\"u\",\"weight\":0}]}", -EBADMSG,
     "shards[0].weight"},
    {"{\"v\":1,\"epoch\":1,\"shards\":[{\"id\":\"a\",\"url\":\"u\",\"weight\":1000001}]}", -EBADMSG,
     "shards[0].weight"},
    {"{\"v\":1,\"epoch\":1,\"shards\":[{\"id\":\"a\",\"url\":\"u\",\"weight\":2.0}]}", -EBADMSG,
     "shards[0].weight"},
    {"{\"v\":1,\"epoch\":1,\"shards\":[{\"id\":\"a\",\"url\":\"u\",\"weight\":1},"
     "{\"id\":\"a\",\"url\":\"v\",\"weight\":2}]}",
     -EBADMSG, "shards[1].id: duplicate \"a\""},
    {"{\"v\":1,\"v\":1,\"epoch\":1,\"shards\":[]}", -EBADMSG, "duplicate object key"},
    {"{\"v\":1,\"epoch\":1,\"shards\":[]} x", -EBADMSG, "JSON"},
    {"{\"v\":1,\"epoch\":1,\"shards\":[]}{}", -EBADMSG, "JSON"},
    {"{\"v\":1,\"epoch\":1,\"shards\":[],\"x\":\"\xff\"}", -EBADMSG, "JSON"},
};

static void test_rejections(void **state)
{
    sc_shardmap *map = NULL;
    char err[160];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        int rc = parse(bad[i].in, strlen(bad[i].in), &map, err, sizeof(err));
        print_message("reject %-3zu %s\n", i, err);
        assert_int_equal(rc, bad[i].rc);
        assert_non_null(strstr(err, bad[i].why));
        assert_null(map);
    }
}

static void test_limits_and_arguments(void **state)
{
    const size_t each = sizeof("{\"id\":\"s0000\",\"url\":\"u\",\"weight\":1},");
    size_t size = 64 + (SC_SHARDMAP_MAX_SHARDS + 1) * each, len;
    char *s = malloc(size), err[64];
    sc_shardmap *map = NULL;
    int i;

    (void)state;
    assert_non_null(s);
    len = (size_t)snprintf(s, size, "{\"v\":1,\"epoch\":1,\"shards\":[");
    for (i = 0; i <= SC_SHARDMAP_MAX_SHARDS; i++)
        len += (size_t)snprintf(s + len, size - len,
                                "%s{\"id\":\"s%04d\",\"url\":\"u\",\"weight\":1}", i ? "," : "", i);
    len += (size_t)snprintf(s + len, size - len, "]}");
    assert_true(len < size - 1);
    assert_int_equal(parse(s, len, &map, err, sizeof(err)), -EBADMSG);
    assert_string_equal(err, "shards: more than 1024 entries");
    free(s);

    assert_int_equal(sc_shardmap_parse("{}", SC_SHARDMAP_ENCODED_MAX + 1, &map, NULL, 0),
                     -EMSGSIZE);
    assert_int_equal(sc_shardmap_parse(NULL, 0, &map, NULL, 0), -EBADMSG);
    assert_int_equal(sc_shardmap_parse(NULL, 1, &map, NULL, 0), -EINVAL);
    assert_int_equal(sc_shardmap_parse("{}", 2, NULL, NULL, 0), -EINVAL);
    assert_null(map);
    /* A short error buffer is truncated and still terminated. */
    assert_int_equal(sc_shardmap_parse("[]", 2, &map, err, 8), -EBADMSG);
    assert_string_equal(err, "expecte");
    err[0] = 'x';
    assert_int_equal(sc_shardmap_parse("[]", 2, &map, err, 1), -EBADMSG);
    assert_int_equal(err[0], '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_exact_and_canonical),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_limits_and_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
