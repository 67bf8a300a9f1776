/*
 * Unit tests for client/cli/msg.c (server frames, requests; base64 payloads
 * decode through shard/sc_base64, tested in tests/unit/shard) and
 * client/cli/policy.c (close codes, backoff).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"
#include "policy.h"

/* Parse a NUL-terminated frame; the result must be rc. */
static void parse(const char *text, int rc, struct sc_frame *f)
{
    assert_int_equal(sc_frame_parse(text, strlen(text), f), rc);
}

static void test_message_plain(void **state)
{
    struct sc_frame f;

    (void)state;
    parse("{\"op\":\"message\",\"channel\":\"news\",\"data\":\"hello\","
          "\"future\":[1,2]}",
          0, &f);
    assert_int_equal(f.op, SC_OP_MESSAGE);
    assert_string_equal(f.channel, "news");
    assert_null(f.pattern);
    assert_int_equal(f.data_len, 5);
    assert_memory_equal(f.data, "hello", 5);
    assert_false(f.base64);
    sc_frame_clear(&f);

    parse("{\"op\":\"message\",\"channel\":\"chat.room1\",\"pattern\":"
          "\"chat.*\",\"data\":\"a\\u0000b\\n\\u00e9\"}",
          0, &f);
    assert_string_equal(f.pattern, "chat.*");
    assert_int_equal(f.data_len, 6);
    assert_memory_equal(f.data, "a\0b\n\xc3\xa9", 6);
    sc_frame_clear(&f);

    parse("{\"op\":\"message\",\"channel\":\"c\",\"data\":\"\"}", 0, &f);
    assert_int_equal(f.data_len, 0);
    sc_frame_clear(&f);
}

static void test_message_base64(void **state)
{
    static const unsigned char want[] = {0x00, 0x01, 0x02, 0xff};
    struct sc_frame f;

    (void)state;
    parse("{\"op\":\"message\",\"channel\":\"blob\",\"data\":\"AAEC/w==\","
          "\"encoding\":\"base64\"}",
          0, &f);
    assert_true(f.base64);
    assert_int_equal(f.data_len, sizeof(want));
    assert_memory_equal(f.data, want, sizeof(want));
    sc_frame_clear(&f);

    parse("{\"op\":\"message\",\"channel\":\"b\",\"data\":\"AAE\","
          "\"encoding\":\"base64\"}",
          -EPROTO, &f);
    parse("{\"op\":\"message\",\"channel\":\"b\",\"data\":\"AA==\","
          "\"encoding\":\"hex\"}",
          -ENOTSUP, &f);
    parse("{\"op\":\"message\",\"channel\":\"b\",\"data\":\"AA==\","
          "\"encoding\":5}",
          -EPROTO, &f);
}

static void test_message_malformed(void **state)
{
    static const char *const proto[] = {
        "{\"op\":\"message\",\"data\":\"x\"}",
        "{\"op\":\"message\",\"channel\":\"c\"}",
        "{\"op\":\"message\",\"channel\":\"c\",\"data\":1}",
        "{\"op\":\"message\",\"channel\":7,\"data\":\"x\"}",
        "{\"op\":\"message\",\"channel\":\"c\",\"data\":\"x\","
        "\"pattern\":[]}",
        "{\"op\":\"redirect\",\"shard\":\"s\"}",
        "{\"op\":\"move\",\"url\":\"ws://h\",\"epoch\":\"3\"}",
        "{\"op\":\"missed\",\"channels\":\"news\"}",
        "{\"op\":\"error\",\"code\":1}",
    };
    static const char *const badmsg[] = {
        "",
        "not json",
        "[1,2]",
        "\"op\"",
        "{}",
        "{\"op\":1}",
        "{\"op\":null}",
        "{\"op\":\"ok\"",
        "{\"op\":\"\xff\"}",
        "{\"op\":\"ok\"} trailing",
    };
    struct sc_frame f;

    (void)state;
    for (size_t i = 0; i < sizeof(proto) / sizeof(proto[0]); i++)
        if (sc_frame_parse(proto[i], strlen(proto[i]), &f) != -EPROTO)
            fail_msg("not -EPROTO: %s", proto[i]);
    for (size_t i = 0; i < sizeof(badmsg) / sizeof(badmsg[0]); i++)
        if (sc_frame_parse(badmsg[i], strlen(badmsg[i]), &f) != -EBADMSG)
            fail_msg("not -EBADMSG: %s", badmsg[i]);
    /* The frame is parsed by length, not up to a NUL. */
    assert_int_equal(sc_frame_parse("{\"op\":\"ok\"}xyz", 11, &f), 0);
    sc_frame_clear(&f);
}

static void test_replies(void **state)
{
    struct sc_frame f;

    (void)state;
    parse("{\"op\":\"ok\",\"id\":7}", 0, &f);
    assert_int_equal(f.op, SC_OP_OK);
    assert_true(f.has_id);
    assert_int_equal(f.id, 7);
    sc_frame_clear(&f);

    parse("{\"op\":\"ok\",\"id\":\"7\"}", 0, &f);
    assert_false(f.has_id);
    sc_frame_clear(&f);

    parse("{\"op\":\"error\",\"id\":1,\"code\":\"bad_channel\","
          "\"message\":\"channel name too long\"}",
          0, &f);
    assert_int_equal(f.op, SC_OP_ERROR);
    assert_int_equal(f.id, 1);
    assert_string_equal(f.code, "bad_channel");
    assert_string_equal(f.message, "channel name too long");
    sc_frame_clear(&f);

    parse("{\"op\":\"error\"}", 0, &f);
    assert_false(f.has_id);
    assert_null(f.code);
    assert_null(f.message);
    sc_frame_clear(&f);
}

static void test_events(void **state)
{
    struct sc_frame f;
    char buf[64];

    (void)state;
    parse("{\"op\":\"missed\",\"channels\":[\"news\",\"chat.*\"],"
          "\"reason\":\"redis_reconnect\"}",
          0, &f);
    assert_int_equal(f.op, SC_OP_MISSED);
    assert_string_equal(f.reason, "redis_reconnect");
    assert_int_equal(sc_channels_join(f.channels, buf, sizeof(buf)), 12);
    assert_string_equal(buf, "news, chat.*");
    assert_int_equal(sc_channels_join(f.channels, buf, 7), 12);
    assert_string_equal(buf, "news, ");
    sc_frame_clear(&f);

    parse("{\"op\":\"redirect\",\"url\":\"ws://n2:8080/ws\",\"shard\":\"s3\","
          "\"epoch\":12}",
          0, &f);
    assert_int_equal(f.op, SC_OP_REDIRECT);
    assert_string_equal(f.url, "ws://n2:8080/ws");
    assert_string_equal(f.shard, "s3");
    assert_true(f.has_epoch);
    assert_int_equal(f.epoch, 12);
    sc_frame_clear(&f);

    parse("{\"op\":\"move\",\"url\":\"ws://n3/ws\"}", 0, &f);
    assert_int_equal(f.op, SC_OP_MOVE);
    assert_null(f.shard);
    assert_false(f.has_epoch);
    sc_frame_clear(&f);

    parse("{\"op\":\"hello\",\"shard\":\"s2\",\"key\":\"user-42\","
          "\"epoch\":7,\"shards\":[{\"id\":\"s1\"},{\"id\":\"s2\"}]}",
          0, &f);
    assert_int_equal(f.op, SC_OP_HELLO);
    assert_string_equal(f.shard, "s2");
    assert_string_equal(f.key, "user-42");
    assert_true(f.has_epoch);
    assert_int_equal(f.epoch, 7);
    assert_int_equal(f.n_shards, 2);
    sc_frame_clear(&f);
    parse("{\"op\":\"hello\"}", 0, &f);
    assert_int_equal(f.op, SC_OP_HELLO);
    assert_null(f.shard);
    assert_int_equal(f.n_shards, -1);
    sc_frame_clear(&f);
    parse("{\"op\":\"hello\",\"shards\":7}", -EPROTO, &f);

    parse("{\"op\":\"status\",\"redis\":\"down\"}", 0, &f);
    assert_int_equal(f.op, SC_OP_STATUS);
    assert_string_equal(f.redis, "down");
    sc_frame_clear(&f);
    parse("{\"op\":\"status\"}", -EPROTO, &f);

    parse("{\"op\":\"hello_from_v2\",\"x\":{}}", 0, &f);
    assert_int_equal(f.op, SC_OP_UNKNOWN);
    sc_frame_clear(&f);
    sc_frame_clear(&f); /* safe twice */
}

static void test_requests(void **state)
{
    char *ch[] = {"news", "chat.*", "say \"hi\""};
    char *bad[] = {"ok", "\xff"};
    char *out;
    size_t len;

    (void)state;
    assert_int_equal(sc_subscribe_request(ch, 3, 7, &out, &len), 0);
    assert_string_equal(out, "{\"op\":\"subscribe\",\"channels\":[\"news\","
                             "\"chat.*\",\"say \\\"hi\\\"\"],\"id\":7}");
    assert_int_equal(len, strlen(out));
    free(out);
    assert_int_equal(sc_subscribe_request(ch, 0, 1, &out, &len), -EINVAL);
    assert_int_equal(sc_subscribe_request(bad, 2, 1, &out, &len), -EINVAL);

    assert_int_equal(sc_missed_event(ch, 2, "client_reconnect", &out), 0);
    assert_string_equal(out, "{\"op\":\"missed\",\"channels\":[\"news\","
                             "\"chat.*\"],\"reason\":\"client_reconnect\"}");
    free(out);
}

static void test_compact(void **state)
{
    const char *text = "{\n  \"op\": \"message\",\n  \"channel\": \"c\","
                       "\n  \"data\": \"x\\u0000y\"\n}";
    struct sc_frame f;
    char *out;

    (void)state;
    parse(text, 0, &f);
    out = sc_frame_compact(&f);
    assert_string_equal(out, "{\"op\":\"message\",\"channel\":\"c\","
                             "\"data\":\"x\\u0000y\"}");
    free(out);
    sc_frame_clear(&f);
}

static void test_close_policy(void **state)
{
    static const int stop[] = {1000, 1002, 1003, 1007, 1008, 1009, 4000, 4050, 4099};
    static const int backoff[] = {1001, 1006, 1011, 1012, 1013, 4100, 4101, 4199, 4300, 3000, 0};
    static const int now[] = {4200, 4201, 4299};

    (void)state;
    for (size_t i = 0; i < sizeof(stop) / sizeof(stop[0]); i++)
        assert_int_equal(sc_close_action(stop[i]), SC_STOP);
    for (size_t i = 0; i < sizeof(backoff) / sizeof(backoff[0]); i++)
        assert_int_equal(sc_close_action(backoff[i]), SC_RECONNECT_BACKOFF);
    for (size_t i = 0; i < sizeof(now) / sizeof(now[0]); i++)
        assert_int_equal(sc_close_action(now[i]), SC_RECONNECT_NOW);
    assert_string_equal(sc_close_describe(4100), "slow consumer");
    assert_string_equal(sc_close_describe(4999), "");
}

static void test_backoff(void **state)
{
    (void)state;
    /* The window doubles from base up to cap; rnd picks inside it. */
    assert_int_equal(sc_backoff_ms(0, 500, 30000, 0), 0);
    assert_int_equal(sc_backoff_ms(0, 500, 30000, 500), 500);
    assert_int_equal(sc_backoff_ms(0, 500, 30000, 501), 0);
    assert_int_equal(sc_backoff_ms(1, 500, 30000, 1000), 1000);
    assert_int_equal(sc_backoff_ms(3, 500, 30000, 4000), 4000);
    assert_int_equal(sc_backoff_ms(3, 500, 30000, 4001), 0);
    assert_int_equal(sc_backoff_ms(6, 500, 30000, 30000), 30000);
    assert_int_equal(sc_backoff_ms(6, 500, 30000, 30001), 0);
    assert_int_equal(sc_backoff_ms(1000, 500, 30000, UINT32_MAX), UINT32_MAX % 30001);
    for (uint32_t r = 0; r < 100000; r += 997)
        assert_true(sc_backoff_ms(40, 500, 30000, r) <= 30000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_plain),
        cmocka_unit_test(test_message_base64),
        cmocka_unit_test(test_message_malformed),
        cmocka_unit_test(test_replies),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_compact),
        cmocka_unit_test(test_close_policy),
        cmocka_unit_test(test_backoff),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
