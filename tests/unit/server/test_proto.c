/* sc_proto: requests and replies of protocol v1 (docs/protocol.md). The
 * parser reads untrusted bytes, so besides every documented error code the
 * tests feed it every truncation of valid requests, byte mutations, deep
 * nesting and huge arrays. Inputs are heap copies of exactly their length
 * so ASan reports any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_msg.h"
#include "sc_proto.h"

/* The documented defaults: 64 channels of at most 128 printable bytes. */
static const struct sc_proto_limits ascii_lim = {64, 128, 0};
static const struct sc_proto_limits utf8_lim = {64, 128, 1};

static char msg[256];

/* Parse text[0..len) from an exact-size heap copy. */
static enum sc_perr parse_n(const char *text, size_t len, const struct sc_proto_limits *lim,
                            struct sc_request *req)
{
    char *copy = malloc(len ? len : 1);
    enum sc_perr e;

    assert_non_null(copy);
    memcpy(copy, text, len);
    msg[0] = 0;
    e = sc_request_parse(copy, len, lim, req, msg, sizeof(msg));
    free(copy);
    if (e != SC_PERR_NONE)
        assert_true(msg[0] != 0); /* every error comes with a message */
    return e;
}

static enum sc_perr parse(const char *text, struct sc_request *req)
{
    return parse_n(text, strlen(text), &ascii_lim, req);
}

/* The error a request gets; the request is freed. */
static enum sc_perr parse_err(const char *text)
{
    struct sc_request req;
    enum sc_perr e = parse(text, &req);

    sc_request_free(&req);
    return e;
}

#define assert_parse_err(text, want)                                                       \
    do {                                                                                   \
        enum sc_perr e_ = parse_err(text);                                                 \
        if (e_ != (want))                                                                  \
            fail_msg("%s: got %s, want %s", (text), sc_perr_code(e_), sc_perr_code(want)); \
    } while (0)

static enum sc_perr check(const char *name, size_t len, const struct sc_proto_limits *lim)
{
    char *copy = malloc(len ? len : 1);
    enum sc_perr e;

    assert_non_null(copy);
    memcpy(copy, name, len);
    msg[0] = 0;
    e = sc_channel_check(copy, len, lim, msg, sizeof(msg));
    free(copy);
    if (e != SC_PERR_NONE)
        assert_true(msg[0] != 0);
    return e;
}

static void assert_channel(const struct sc_request *req, size_t i, const char *want, size_t wlen)
{
    size_t len;
    const char *c = sc_request_channel(req, i, &len);

    assert_non_null(c);
    assert_int_equal(len, wlen);
    assert_memory_equal(c, want, wlen);
}

/* A reply frame's body parsed as JSON (the object must be complete). */
static json_t *reply_json(struct sc_msg *m)
{
    json_error_t err;
    size_t len;
    const char *body;
    json_t *v;

    assert_non_null(m);
    body = sc_msg_body(m, &len);
    v = json_loadb(body, len, JSON_ALLOW_NUL, &err);
    if (!v)
        fail_msg("reply is not JSON (%s): %.*s", err.text, (int)len, body);
    assert_true(json_is_object(v));
    sc_msg_unref(m);
    return v;
}

static const char *str_member(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_string(v))
        fail_msg("member %s missing or not a string", key);
    return json_string_value(v);
}

/* ---- valid requests ---------------------------------------------------- */

static void test_parse_subscribe(void **state)
{
    struct sc_request req;

    (void)state;
    assert_int_equal(
        parse("{\"op\":\"subscribe\",\"channels\":[\"news\",\"chat.*\"],\"id\":1}", &req),
        SC_PERR_NONE);
    assert_int_equal(req.op, SC_OP_SUBSCRIBE);
    assert_int_equal(req.nchannels, 2);
    assert_channel(&req, 0, "news", 4);
    assert_channel(&req, 1, "chat.*", 6);
    assert_true(json_is_integer(req.id));
    assert_int_equal(json_integer_value(req.id), 1);
    sc_request_free(&req);
}

static void test_parse_unsubscribe(void **state)
{
    struct sc_request req;

    (void)state;
    assert_int_equal(parse("{\"op\":\"unsubscribe\",\"channels\":[\"news\"],\"id\":2}", &req),
                     SC_PERR_NONE);
    assert_int_equal(req.op, SC_OP_UNSUBSCRIBE);
    assert_int_equal(req.nchannels, 1);
    assert_channel(&req, 0, "news", 4);
    sc_request_free(&req);
}

static void test_parse_ping_has_no_channels(void **state)
{
    struct sc_request req;

    (void)state;
    assert_int_equal(parse("{\"op\":\"ping\",\"id\":3}", &req), SC_PERR_NONE);
    assert_int_equal(req.op, SC_OP_PING);
    assert_int_equal(req.nchannels, 0);
    assert_null(req.channels);
    sc_request_free(&req);
}

/* "Unknown members are ignored, so newer clients can talk to older
 * nodes"; member order does not matter either. */
static void test_parse_ignores_unknown_members_and_order(void **state)
{
    struct sc_request req;

    (void)state;
    assert_int_equal(parse(" { \"future\" : {\"x\":[1,2,{}]}, \"channels\" : [ \"a\" ] ,"
                           " \"v\":2, \"op\" : \"subscribe\" } ",
                           &req),
                     SC_PERR_NONE);
    assert_int_equal(req.op, SC_OP_SUBSCRIBE);
    assert_channel(&req, 0, "a", 1);
    assert_null(req.id);
    sc_request_free(&req);
}

/* The documented maximum is allowed: 64 channels of 128 bytes. */
static void test_parse_accepts_limits_exactly(void **state)
{
    char text[64 * 132 + 64], name[129];
    size_t n;
    struct sc_request req;

    (void)state;
    memset(name, 'c', 128);
    name[128] = 0;
    n = (size_t)snprintf(text, sizeof(text), "{\"op\":\"subscribe\",\"channels\":[");
    for (int i = 0; i < 64; i++) {
        name[0] = (char)('0' + i % 10);
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\"%s\"", i ? "," : "", name);
    }
    snprintf(text + n, sizeof(text) - n, "]}");
    assert_int_equal(parse(text, &req), SC_PERR_NONE);
    assert_int_equal(req.nchannels, 64);
    sc_request_free(&req);
}

/* ---- ids --------------------------------------------------------------- */

static void test_id_absent_is_null(void **state)
{
    struct sc_request req;

    (void)state;
    assert_int_equal(parse("{\"op\":\"ping\"}", &req), SC_PERR_NONE);
    assert_null(req.id);
    sc_request_free(&req);
}

static void test_id_integer_is_kept(void **state)
{
    static const char *const texts[] = {
        "{\"op\":\"ping\",\"id\":0}",
        "{\"op\":\"ping\",\"id\":-7}",
        "{\"op\":\"ping\",\"id\":9223372036854775807}",
    };
    static const long long want[] = {0, -7, 9223372036854775807LL};
    struct sc_request req;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(parse(texts[i], &req), SC_PERR_NONE);
        assert_true(json_is_integer(req.id));
        assert_true(json_integer_value(req.id) == want[i]);
        sc_request_free(&req);
    }
}

/* Up to 64 bytes, counted in bytes: 64 ASCII or 32 two-byte characters. */
static void test_id_string_of_64_bytes_is_accepted(void **state)
{
    char text[256], id[200] = "";
    struct sc_request req;

    (void)state;
    memset(id, 'x', 64);
    snprintf(text, sizeof(text), "{\"op\":\"ping\",\"id\":\"%s\"}", id);
    assert_int_equal(parse(text, &req), SC_PERR_NONE);
    assert_string_equal(json_string_value(req.id), id);
    sc_request_free(&req);

    id[0] = 0;
    for (int i = 0; i < 32; i++)
        strcat(id, "\xC3\xA9");
    snprintf(text, sizeof(text), "{\"op\":\"ping\",\"id\":\"%s\"}", id);
    assert_int_equal(parse(text, &req), SC_PERR_NONE);
    assert_int_equal(json_string_length(req.id), 64);
    sc_request_free(&req);

    assert_int_equal(parse("{\"op\":\"ping\",\"id\":\"\"}", &req), SC_PERR_NONE);
    assert_true(json_is_string(req.id));
    sc_request_free(&req);
}

static void test_id_string_over_64_bytes_is_bad_request(void **state)
{
    char text[256], id[200] = "";
    struct sc_request req;

    (void)state;
    memset(id, 'x', 65);
    snprintf(text, sizeof(text), "{\"op\":\"ping\",\"id\":\"%s\"}", id);
    assert_int_equal(parse(text, &req), SC_PERR_BAD_REQUEST);
    assert_null(req.id);
    sc_request_free(&req);

    /* 22 characters, 66 bytes. */
    id[0] = 0;
    for (int i = 0; i < 22; i++)
        strcat(id, "\xE2\x82\xAC");
    snprintf(text, sizeof(text), "{\"op\":\"ping\",\"id\":\"%s\"}", id);
    assert_int_equal(parse(text, &req), SC_PERR_BAD_REQUEST);
    sc_request_free(&req);
}

static void test_id_of_wrong_type_is_bad_request(void **state)
{
    (void)state;
    assert_parse_err("{\"op\":\"ping\",\"id\":1.5}", SC_PERR_BAD_REQUEST);
    assert_parse_err("{\"op\":\"ping\",\"id\":1e3}", SC_PERR_BAD_REQUEST);
    assert_parse_err("{\"op\":\"ping\",\"id\":true}", SC_PERR_BAD_REQUEST);
    assert_parse_err("{\"op\":\"ping\",\"id\":null}", SC_PERR_BAD_REQUEST);
    assert_parse_err("{\"op\":\"ping\",\"id\":[1]}", SC_PERR_BAD_REQUEST);
    assert_parse_err("{\"op\":\"ping\",\"id\":{}}", SC_PERR_BAD_REQUEST);
}

/* An integer beyond 64 bits is valid JSON that jansson cannot hold: the
 * request is bad_request (not bad_json), and a numeric id that cannot be
 * echoed unchanged is not echoed at all. A string id still is. */
static void test_id_integer_beyond_int64_is_bad_request(void **state)
{
    static const char *const big[] = {
        "{\"op\":\"ping\",\"id\":9223372036854775808}",
        "{\"op\":\"ping\",\"id\":-9223372036854775809}",
        "{\"op\":\"ping\",\"id\":-99999999999999999999}",
        "{\"id\":18446744073709551616,\"op\":\"subscribe\",\"channels\":[\"a\"]}",
    };
    struct sc_request req;

    (void)state;
    for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
        assert_int_equal(parse(big[i], &req), SC_PERR_BAD_REQUEST);
        assert_null(req.id);
        sc_request_free(&req);
    }
    /* The edges themselves are integers like any other. */
    assert_int_equal(parse("{\"op\":\"ping\",\"id\":9223372036854775807}", &req), SC_PERR_NONE);
    assert_int_equal(json_integer_value(req.id), INT64_MAX);
    sc_request_free(&req);
    assert_int_equal(parse("{\"op\":\"ping\",\"id\":-9223372036854775808}", &req), SC_PERR_NONE);
    assert_int_equal(json_integer_value(req.id), INT64_MIN);
    sc_request_free(&req);
    /* Elsewhere in the message: still bad_request, the string id echoed. */
    assert_int_equal(parse("{\"op\":\"ping\",\"id\":\"s\",\"x\":[1e2,99999999999999999999]}", &req),
                     SC_PERR_BAD_REQUEST);
    assert_non_null(req.id);
    assert_string_equal(json_string_value(req.id), "s");
    sc_request_free(&req);
    /* Broken JSON after the big integer stays bad_json. */
    assert_parse_err("{\"op\":\"ping\",\"id\":9223372036854775808", SC_PERR_BAD_JSON);
    assert_parse_err("[9223372036854775808]", SC_PERR_BAD_JSON);
}

/* "req->id is set whenever the id could be read, so the error reply can
 * echo it": check it for every error that comes after the id. */
static void test_id_is_read_for_every_later_error(void **state)
{
    static const struct {
        const char *text;
        enum sc_perr want;
    } cases[] = {
        {"{\"id\":\"q\",\"op\":7}", SC_PERR_BAD_REQUEST},
        {"{\"id\":\"q\"}", SC_PERR_BAD_REQUEST},
        {"{\"id\":\"q\",\"op\":\"publish\"}", SC_PERR_UNKNOWN_OP},
        {"{\"id\":\"q\",\"op\":\"subscribe\"}", SC_PERR_BAD_REQUEST},
        {"{\"id\":\"q\",\"op\":\"subscribe\",\"channels\":[\"a b\"]}", SC_PERR_BAD_CHANNEL},
        {"{\"op\":\"unsubscribe\",\"channels\":[\"\"],\"id\":\"q\"}", SC_PERR_BAD_CHANNEL},
    };
    struct sc_request req;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(parse(cases[i].text, &req), cases[i].want);
        if (!json_is_string(req.id) || strcmp(json_string_value(req.id), "q"))
            fail_msg("%s: id not kept", cases[i].text);
        sc_request_free(&req);
    }
}

static void test_id_is_read_for_too_many_channels(void **state)
{
    const struct sc_proto_limits lim = {2, 128, 0};
    const char *text = "{\"op\":\"subscribe\",\"channels\":[\"a\",\"b\",\"c\"],\"id\":9}";
    struct sc_request req;

    (void)state;
    assert_int_equal(parse_n(text, strlen(text), &lim, &req), SC_PERR_TOO_MANY_CHANNELS);
    assert_int_equal(json_integer_value(req.id), 9);
    sc_request_free(&req);
}

/* ---- error codes ------------------------------------------------------- */

/* "the frame is not a JSON object" */
static void test_bad_json_for_anything_but_one_json_object(void **state)
{
    static const char *const texts[] = {
        "",
        " ",
        "hello",
        "{",
        "}",
        "{\"op\":\"ping\"",
        "{\"op\":\"ping\"}x",
        "{\"op\":\"ping\"}{}",
        "{\"op\":'ping'}",
        "{op:\"ping\"}",
        "{\"op\":\"ping\",}",
        "[]",
        "[{\"op\":\"ping\"}]",
        "\"ping\"",
        "42",
        "null",
        "true",
        "{\"op\":\"p\xFFng\"}", /* not UTF-8 */
    };
    struct sc_request req;

    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        enum sc_perr e = parse(texts[i], &req);
        if (e != SC_PERR_BAD_JSON)
            fail_msg("#%zu %s: got %s", i, texts[i], sc_perr_code(e));
        assert_null(req.id);
        sc_request_free(&req);
    }
}

static void test_bad_request_when_op_missing_or_not_string(void **state)
{
    (void)state;
    assert_parse_err("{}", SC_PERR_BAD_REQUEST);
    assert_parse_err("{\"channels\":[\"a\"]}", SC_PERR_BAD_REQUEST);
    assert_parse_err("{\"op\":1}", SC_PERR_BAD_REQUEST);
    assert_parse_err("{\"op\":null}", SC_PERR_BAD_REQUEST);
    assert_parse_err("{\"op\":[\"ping\"]}", SC_PERR_BAD_REQUEST);
    assert_parse_err("{\"op\":{\"ping\":1}}", SC_PERR_BAD_REQUEST);
    assert_parse_err("{\"OP\":\"ping\"}", SC_PERR_BAD_REQUEST);
}

/* Ops are matched exactly: case, spaces and prefixes do not count. */
static void test_unknown_op(void **state)
{
    (void)state;
    assert_parse_err("{\"op\":\"publish\"}", SC_PERR_UNKNOWN_OP);
    assert_parse_err("{\"op\":\"\"}", SC_PERR_UNKNOWN_OP);
    assert_parse_err("{\"op\":\"PING\"}", SC_PERR_UNKNOWN_OP);
    assert_parse_err("{\"op\":\"ping \"}", SC_PERR_UNKNOWN_OP);
    assert_parse_err("{\"op\":\"pin\"}", SC_PERR_UNKNOWN_OP);
    assert_parse_err("{\"op\":\"subscribes\",\"channels\":[\"a\"]}", SC_PERR_UNKNOWN_OP);
}

/* A NUL inside op (allowed through by JSON_ALLOW_NUL) must not make
 * "ping\u0000junk" a ping: the op is not one of the three names. */
static void test_op_with_embedded_nul_is_unknown_op(void **state)
{
    (void)state;
    assert_parse_err("{\"op\":\"ping\\u0000\"}", SC_PERR_UNKNOWN_OP);
    assert_parse_err("{\"op\":\"ping\\u0000junk\"}", SC_PERR_UNKNOWN_OP);
    assert_parse_err("{\"op\":\"subscribe\\u0000x\",\"channels\":[\"a\"]}", SC_PERR_UNKNOWN_OP);
}

/* "channels missing or not an array of strings" (and non-empty). */
static void test_bad_request_when_channels_not_nonempty_string_array(void **state)
{
    static const char *const bodies[] = {
        "",
        ",\"channels\":null",
        ",\"channels\":\"news\"",
        ",\"channels\":[]",
        ",\"channels\":{}",
        ",\"channels\":[1]",
        ",\"channels\":[\"a\",2]",
        ",\"channels\":[\"a\",null]",
        ",\"channels\":[[\"a\"]]",
        ",\"channels\":[\"a\",{}]",
    };
    char text[128];

    (void)state;
    for (int op = 0; op < 2; op++) {
        for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
            snprintf(text, sizeof(text), "{\"op\":\"%s\"%s}", op ? "unsubscribe" : "subscribe",
                     bodies[i]);
            assert_parse_err(text, SC_PERR_BAD_REQUEST);
        }
    }
}

static void test_bad_channel_in_request(void **state)
{
    char text[512], name[200];

    (void)state;
    assert_parse_err("{\"op\":\"subscribe\",\"channels\":[\"\"]}", SC_PERR_BAD_CHANNEL);
    assert_parse_err("{\"op\":\"subscribe\",\"channels\":[\"a b\"]}", SC_PERR_BAD_CHANNEL);
    assert_parse_err("{\"op\":\"subscribe\",\"channels\":[\"a,b\"]}", SC_PERR_BAD_CHANNEL);
    assert_parse_err("{\"op\":\"subscribe\",\"channels\":[\"a\\tb\"]}", SC_PERR_BAD_CHANNEL);
    assert_parse_err("{\"op\":\"subscribe\",\"channels\":[\"a\x7f\"]}", SC_PERR_BAD_CHANNEL);
    assert_parse_err("{\"op\":\"subscribe\",\"channels\":[\"caf\xC3\xA9\"]}", SC_PERR_BAD_CHANNEL);
    memset(name, 'n', 129);
    name[129] = 0;
    snprintf(text, sizeof(text), "{\"op\":\"subscribe\",\"channels\":[\"%s\"]}", name);
    assert_parse_err(text, SC_PERR_BAD_CHANNEL);
}

/* All-or-nothing: one bad name fails the whole request, wherever it is. */
static void test_one_bad_channel_fails_whole_request(void **state)
{
    (void)state;
    assert_parse_err("{\"op\":\"subscribe\",\"channels\":[\"ok\",\"a b\",\"fine\"]}",
                     SC_PERR_BAD_CHANNEL);
    assert_parse_err("{\"op\":\"subscribe\",\"channels\":[\"ok\",\"fine\",\"\"]}",
                     SC_PERR_BAD_CHANNEL);
}

/* A NUL inside a name must not truncate it to a valid-looking "a": it is
 * a byte outside the allowed set in both modes. */
static void test_nul_inside_channel_is_bad_channel(void **state)
{
    const char *text = "{\"op\":\"subscribe\",\"channels\":[\"a\\u0000b\"]}";
    struct sc_request req;

    (void)state;
    assert_int_equal(parse_n(text, strlen(text), &ascii_lim, &req), SC_PERR_BAD_CHANNEL);
    sc_request_free(&req);
    assert_int_equal(parse_n(text, strlen(text), &utf8_lim, &req), SC_PERR_BAD_CHANNEL);
    sc_request_free(&req);
}

static void test_too_many_channels_past_limit(void **state)
{
    const struct sc_proto_limits lim = {3, 128, 0};
    const char *three = "{\"op\":\"subscribe\",\"channels\":[\"a\",\"b\",\"c\"]}";
    const char *four = "{\"op\":\"unsubscribe\",\"channels\":[\"a\",\"b\",\"c\",\"d\"]}";
    struct sc_request req;

    (void)state;
    assert_int_equal(parse_n(three, strlen(three), &lim, &req), SC_PERR_NONE);
    sc_request_free(&req);
    assert_int_equal(parse_n(four, strlen(four), &lim, &req), SC_PERR_TOO_MANY_CHANNELS);
    sc_request_free(&req);
}

/* ---- channel names ----------------------------------------------------- */

static void test_channel_length_bound(void **state)
{
    const struct sc_proto_limits lim5 = {64, 5, 0};
    char name[130];

    (void)state;
    memset(name, 'x', sizeof(name));
    assert_int_equal(check(name, 0, &ascii_lim), SC_PERR_BAD_CHANNEL);
    assert_int_equal(check(name, 1, &ascii_lim), SC_PERR_NONE);
    assert_int_equal(check(name, 128, &ascii_lim), SC_PERR_NONE);
    assert_int_equal(check(name, 129, &ascii_lim), SC_PERR_BAD_CHANNEL);
    assert_int_equal(check(name, 128, &utf8_lim), SC_PERR_NONE);
    assert_int_equal(check(name, 129, &utf8_lim), SC_PERR_BAD_CHANNEL);
    assert_int_equal(check(name, 5, &lim5), SC_PERR_NONE);
    assert_int_equal(check(name, 6, &lim5), SC_PERR_BAD_CHANNEL);
}

/* The bound is in bytes, not characters. */
static void test_channel_length_counts_bytes_in_utf8_mode(void **state)
{
    const struct sc_proto_limits lim4 = {64, 4, 1};

    (void)state;
    assert_int_equal(check("\xC3\xA9\xC3\xA9", 4, &lim4), SC_PERR_NONE);
    assert_int_equal(check("\xC3\xA9\xC3\xA9\xC3\xA9", 6, &lim4), SC_PERR_BAD_CHANNEL);
    assert_int_equal(check("\xF0\x9F\x98\x80", 4, &lim4), SC_PERR_NONE);
}

/* ascii: every byte 0x21-0x7E except ',' (each byte tried alone and in
 * the middle of a name). */
static void test_ascii_mode_allows_exactly_printable_minus_comma(void **state)
{
    char name[3] = {'a', 0, 'z'};

    (void)state;
    for (int c = 0; c < 256; c++) {
        enum sc_perr want =
            (c >= 0x21 && c <= 0x7E && c != ',') ? SC_PERR_NONE : SC_PERR_BAD_CHANNEL;
        char one = (char)c;
        name[1] = (char)c;
        if (check(&one, 1, &ascii_lim) != want || check(name, 3, &ascii_lim) != want)
            fail_msg("byte 0x%02x: want %s", c, sc_perr_code(want));
    }
}

/* utf8: any ASCII but controls (0x00-0x1F), DEL and ','; space is
 * allowed. */
static void test_utf8_mode_ascii_byte_rules(void **state)
{
    char name[3] = {'a', 0, 'z'};

    (void)state;
    for (int c = 0; c < 128; c++) {
        enum sc_perr want =
            (c >= 0x20 && c != 0x7F && c != ',') ? SC_PERR_NONE : SC_PERR_BAD_CHANNEL;
        name[1] = (char)c;
        if (check(name, 3, &utf8_lim) != want)
            fail_msg("byte 0x%02x: want %s", c, sc_perr_code(want));
    }
}

static void test_utf8_mode_accepts_valid_multibyte_names(void **state)
{
    static const char *const names[] = {
        "caf\xC3\xA9",  "\xE6\x97\xA5\xE6\x9C\xAC", "\xF0\x9F\x98\x80", "a b",
        "\xEF\xBF\xBD", "\xF4\x8F\xBF\xBF",         "\xC2\xA0",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (check(names[i], strlen(names[i]), &utf8_lim) != SC_PERR_NONE)
            fail_msg("#%zu rejected: %s", i, msg);
}

static void test_utf8_mode_rejects_invalid_utf8(void **state)
{
    static const char *const names[] = {
        "\xFF",
        "a\xC3",
        "\xC0\xAF",
        "\xED\xA0\x80",
        "\xF4\x90\x80\x80",
        "\x80",
        "\xE6\x97",
        "ok\xE6\x97"
        "ok",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (check(names[i], strlen(names[i]), &utf8_lim) != SC_PERR_BAD_CHANNEL)
            fail_msg("#%zu accepted", i);
}

/* docs/protocol.md: utf8 allows "any valid UTF-8 without control
 * characters"; U+0080-U+009F are control characters (Unicode category Cc,
 * the C1 set) just like U+0000-U+001F and U+007F. U+009B is CSI, which a
 * terminal showing a log line would act on. */
static void test_utf8_mode_rejects_c1_control_characters(void **state)
{
    static const char *const names[] = {
        "a\xC2\x80",
        "a\xC2\x85",
        "a\xC2\x9B[2J",
        "a\xC2\x9F",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (check(names[i], strlen(names[i]), &utf8_lim) != SC_PERR_BAD_CHANNEL)
            fail_msg("C1 control #%zu (C2 %02X) accepted", i, (unsigned char)names[i][2]);
}

static void test_is_pattern_detects_glob_characters(void **state)
{
    (void)state;
    assert_int_equal(sc_channel_is_pattern("chat.*", 6), 1);
    assert_int_equal(sc_channel_is_pattern("a?c", 3), 1);
    assert_int_equal(sc_channel_is_pattern("[ab]", 4), 1);
    assert_int_equal(sc_channel_is_pattern("*", 1), 1);
    assert_int_equal(sc_channel_is_pattern("x[", 2), 1);
    /* Escaped glob characters still make a pattern (matched by Redis). */
    assert_int_equal(sc_channel_is_pattern("a\\*", 3), 1);
    assert_int_equal(sc_channel_is_pattern("news", 4), 0);
    assert_int_equal(sc_channel_is_pattern("a]b", 3), 0);
    assert_int_equal(sc_channel_is_pattern("a\\b", 3), 0);
    assert_int_equal(sc_channel_is_pattern("a.b-c_d:e/f", 11), 0);
    assert_int_equal(sc_channel_is_pattern("", 0), 0);
}

/* The name is len bytes, not a C string: bytes after len do not count and
 * bytes after a NUL do. */
static void test_is_pattern_uses_length_not_nul(void **state)
{
    (void)state;
    assert_int_equal(sc_channel_is_pattern("ab*", 2), 0);
    assert_int_equal(sc_channel_is_pattern("a\0*", 3), 1);
}

/* ---- hostile input ----------------------------------------------------- */

static char *repeat(const char *open, size_t n, const char *close, size_t *len)
{
    size_t ol = strlen(open), cl = strlen(close);
    char *s = malloc(n * (ol + cl) + 1);

    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * ol, open, ol);
    for (size_t i = 0; i < n; i++)
        memcpy(s + n * ol + i * cl, close, cl);
    *len = n * (ol + cl);
    return s;
}

/* 100,000 levels of nesting must fail cleanly, not overflow the stack. */
static void test_deeply_nested_json_is_rejected_without_crash(void **state)
{
    static const char *const shapes[][2] = {
        {"[", "]"},
        {"{\"a\":", "}"},
        {"{\"op\":\"subscribe\",\"channels\":[", "]}"},
    };
    struct sc_request req;

    (void)state;
    for (size_t i = 0; i < 3; i++) {
        size_t len;
        char *s = repeat(shapes[i][0], 100000, shapes[i][1], &len);
        assert_int_not_equal(parse_n(s, len, &ascii_lim, &req), SC_PERR_NONE);
        sc_request_free(&req);
        /* Unbalanced too: only the openers. */
        assert_int_equal(parse_n(s, 100000 * strlen(shapes[i][0]), &ascii_lim, &req),
                         SC_PERR_BAD_JSON);
        sc_request_free(&req);
        free(s);
    }
}

/* A huge array is refused by count, whatever its elements. */
static void test_huge_channel_array_is_too_many_channels(void **state)
{
    static const char *const elems[] = {"\"a\",", "1,", "[],", "\"\","};
    const char *head = "{\"op\":\"subscribe\",\"channels\":[";
    struct sc_request req;

    (void)state;
    for (size_t k = 0; k < 4; k++) {
        size_t n = 200000, el = strlen(elems[k]), hl = strlen(head);
        char *s = malloc(hl + n * el + 4);
        assert_non_null(s);
        memcpy(s, head, hl);
        for (size_t i = 0; i < n; i++)
            memcpy(s + hl + i * el, elems[k], el);
        memcpy(s + hl + n * el - 1, "]}", 2); /* replace the last comma */
        assert_int_equal(parse_n(s, hl + n * el + 1, &ascii_lim, &req), SC_PERR_TOO_MANY_CHANNELS);
        sc_request_free(&req);
        free(s);
    }
}

/* The largest configurable limit (--max-channels 100000) parses. */
static void test_largest_channel_limit_parses(void **state)
{
    const struct sc_proto_limits lim = {100000, 128, 0};
    const char *head = "{\"op\":\"subscribe\",\"channels\":[";
    size_t n = 100000, hl = strlen(head), len = 0;
    char *s = malloc(hl + n * 10 + 4);
    struct sc_request req;

    (void)state;
    assert_non_null(s);
    memcpy(s, head, hl);
    len = hl;
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(s + len, "%s\"c%zu\"", i ? "," : "", i);
    memcpy(s + len, "]}", 2);
    len += 2;
    assert_int_equal(parse_n(s, len, &lim, &req), SC_PERR_NONE);
    assert_int_equal(req.nchannels, n);
    assert_channel(&req, n - 1, "c99999", 6);
    sc_request_free(&req);
    free(s);
}

static const char *const valid_requests[] = {
    "{\"op\":\"subscribe\",\"channels\":[\"news\",\"chat.*\"],\"id\":1}",
    "{\"op\":\"unsubscribe\",\"channels\":[\"news\"],\"id\":2}",
    "{\"op\":\"ping\",\"id\":3}",
    "{\"op\":\"ping\"}",
    "{\"id\":\"abc\\\"\\u00e9\",\"op\":\"subscribe\",\"channels\":[\"a\\u0062c\"],\"x\":[1,{\"y\":"
    "null}]}",
    " {\"op\" : \"ping\" , \"id\" : -12345678901}",
};

/* Every truncation of a valid request is an error (an incomplete JSON
 * object), never a crash or an over-read (ASan), and the whole request
 * parses. */
static void test_every_prefix_of_valid_request_is_bad_json(void **state)
{
    struct sc_request req;

    (void)state;
    for (size_t i = 0; i < sizeof(valid_requests) / sizeof(valid_requests[0]); i++) {
        size_t len = strlen(valid_requests[i]);
        for (size_t cut = 0; cut < len; cut++) {
            enum sc_perr e = parse_n(valid_requests[i], cut, &ascii_lim, &req);
            if (e != SC_PERR_BAD_JSON)
                fail_msg("request %zu cut at %zu: %s", i, cut, sc_perr_code(e));
            assert_null(req.id);
            sc_request_free(&req);
        }
        assert_int_equal(parse_n(valid_requests[i], len, &ascii_lim, &req), SC_PERR_NONE);
        sc_request_free(&req);
    }
}

/* Every single-byte change of a valid request: any outcome but a crash,
 * and whatever is accepted holds only names that pass the channel check
 * and an id of a permitted type. */
static void test_single_byte_mutations_never_yield_invalid_request(void **state)
{
    static const unsigned char repl[] = {0x00, 0x01, ' ', '"', ',', ':',  '[',  ']',  '{',
                                         '}',  '\\', '*', 'a', '0', 0x7F, 0x80, 0xC3, 0xFF};
    struct sc_request req;
    char buf[256];

    (void)state;
    for (size_t i = 0; i < sizeof(valid_requests) / sizeof(valid_requests[0]); i++) {
        size_t len = strlen(valid_requests[i]);
        assert_true(len < sizeof(buf));
        for (size_t at = 0; at < len; at++) {
            for (size_t r = 0; r < sizeof(repl); r++) {
                memcpy(buf, valid_requests[i], len);
                buf[at] = (char)repl[r];
                for (int utf8 = 0; utf8 < 2; utf8++) {
                    if (parse_n(buf, len, utf8 ? &utf8_lim : &ascii_lim, &req) == SC_PERR_NONE) {
                        for (size_t c = 0; c < req.nchannels; c++) {
                            size_t clen;
                            const char *name = sc_request_channel(&req, c, &clen);
                            assert_int_equal(check(name, clen, utf8 ? &utf8_lim : &ascii_lim),
                                             SC_PERR_NONE);
                        }
                        assert_true(req.op == SC_OP_PING || req.nchannels > 0);
                        assert_true(!req.id || json_is_integer(req.id) ||
                                    (json_is_string(req.id) && json_string_length(req.id) <= 64));
                    }
                    sc_request_free(&req);
                }
            }
        }
    }
}

/* ---- replies ----------------------------------------------------------- */

static void test_perr_codes_are_the_documented_names(void **state)
{
    (void)state;
    assert_string_equal(sc_perr_code(SC_PERR_BAD_JSON), "bad_json");
    assert_string_equal(sc_perr_code(SC_PERR_BAD_REQUEST), "bad_request");
    assert_string_equal(sc_perr_code(SC_PERR_UNKNOWN_OP), "unknown_op");
    assert_string_equal(sc_perr_code(SC_PERR_BAD_CHANNEL), "bad_channel");
    assert_string_equal(sc_perr_code(SC_PERR_TOO_MANY_CHANNELS), "too_many_channels");
}

static void test_reply_ok_without_id(void **state)
{
    json_t *o = reply_json(sc_reply_ok(NULL));

    (void)state;
    assert_int_equal(json_object_size(o), 1);
    assert_string_equal(str_member(o, "op"), "ok");
    json_decref(o);
}

static void test_reply_ok_echoes_integer_ids(void **state)
{
    static const json_int_t ids[] = {0, 1, -1, 9223372036854775807LL, -9223372036854775807LL - 1};

    (void)state;
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        json_t *id = json_integer(ids[i]);
        json_t *o = reply_json(sc_reply_ok(id));
        assert_int_equal(json_object_size(o), 2);
        assert_string_equal(str_member(o, "op"), "ok");
        assert_true(json_is_integer(json_object_get(o, "id")));
        assert_true(json_integer_value(json_object_get(o, "id")) == ids[i]);
        json_decref(o);
        json_decref(id);
    }
}

/* String ids come back unchanged, whatever they hold. */
static void test_reply_ok_echoes_string_ids(void **state)
{
    static const char *const ids[] = {"", "abc", "q\"uo\\te\n\t", "caf\xC3\xA9 \xF0\x9F\x98\x80",
                                      "</script>"};

    (void)state;
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        json_t *id = json_string(ids[i]);
        json_t *o = reply_json(sc_reply_ok(id));
        assert_string_equal(str_member(o, "id"), ids[i]);
        json_decref(o);
        json_decref(id);
    }
    /* A NUL inside survives too. */
    json_t *id = json_stringn("a\0b", 3);
    json_t *o = reply_json(sc_reply_ok(id));
    assert_int_equal(json_string_length(json_object_get(o, "id")), 3);
    assert_memory_equal(json_string_value(json_object_get(o, "id")), "a\0b", 3);
    json_decref(o);
    json_decref(id);
}

static void test_reply_error_has_code_message_and_id(void **state)
{
    json_t *id = json_integer(42);

    (void)state;
    for (int e = SC_PERR_BAD_JSON; e <= SC_PERR_TOO_MANY_CHANNELS; e++) {
        for (int with_id = 0; with_id < 2; with_id++) {
            json_t *o = reply_json(
                sc_reply_error(with_id ? id : NULL, (enum sc_perr)e, "what \"went\" wrong\n"));
            assert_int_equal(json_object_size(o), with_id ? 4 : 3);
            assert_string_equal(str_member(o, "op"), "error");
            assert_string_equal(str_member(o, "code"), sc_perr_code((enum sc_perr)e));
            assert_string_equal(str_member(o, "message"), "what \"went\" wrong\n");
            if (with_id)
                assert_int_equal(json_integer_value(json_object_get(o, "id")), 42);
            else
                assert_null(json_object_get(o, "id"));
            json_decref(o);
        }
    }
    json_decref(id);
}

/* The reply examples of docs/protocol.md, byte for byte, produced from
 * the request that earns them. */
static void test_replies_match_protocol_doc_examples(void **state)
{
    struct sc_request req;
    struct sc_msg *m;
    size_t len;
    const char *body;
    const char *want_ok = "{\"op\":\"ok\",\"id\":1}";
    const char *want_err = "{\"op\":\"error\",\"id\":1,\"code\":\"bad_request\","
                           "\"message\":\"channels must be a non-empty array of strings\"}";

    (void)state;
    assert_int_equal(parse("{\"op\":\"ping\",\"id\":1}", &req), SC_PERR_NONE);
    m = sc_reply_ok(req.id);
    body = sc_msg_body(m, &len);
    assert_int_equal(len, strlen(want_ok));
    assert_memory_equal(body, want_ok, len);
    sc_msg_unref(m);
    sc_request_free(&req);

    enum sc_perr e = parse("{\"op\":\"subscribe\",\"channels\":[],\"id\":1}", &req);
    assert_int_equal(e, SC_PERR_BAD_REQUEST);
    m = sc_reply_error(req.id, e, msg);
    body = sc_msg_body(m, &len);
    if (len != strlen(want_err) || memcmp(body, want_err, len))
        fail_msg("got %.*s", (int)len, body);
    sc_msg_unref(m);
    sc_request_free(&req);
}

/* Parse error -> reply, end to end: the reply carries the request's string
 * id and the parser's message. */
static void test_error_reply_for_parsed_request_echoes_string_id(void **state)
{
    struct sc_request req;
    enum sc_perr e = parse("{\"op\":\"subscribe\",\"id\":\"r-1\",\"channels\":[\"a,b\"]}", &req);
    json_t *o;

    (void)state;
    assert_int_equal(e, SC_PERR_BAD_CHANNEL);
    o = reply_json(sc_reply_error(req.id, e, msg));
    assert_string_equal(str_member(o, "id"), "r-1");
    assert_string_equal(str_member(o, "code"), "bad_channel");
    assert_string_equal(str_member(o, "message"), msg);
    json_decref(o);
    sc_request_free(&req);
}

/* ?channels= lists: split at commas, each name checked like a request's,
 * an empty name is bad_channel, the count bounded by max_channels. */
static enum sc_perr list_parse(const char *list, const struct sc_proto_limits *lim,
                               struct sc_name **out, size_t *count)
{
    size_t len = strlen(list);
    char *copy = malloc(len ? len : 1);
    int rc;

    assert_non_null(copy);
    memcpy(copy, list, len);
    msg[0] = 0;
    rc = sc_channel_list_parse(copy, len, lim, out, count, msg, sizeof(msg));
    assert_true(rc >= 0);
    if (rc != SC_PERR_NONE) {
        assert_true(msg[0] != 0);
        assert_null(*out);
    } else {
        for (size_t i = 0; i < *count; i++) { /* names point into the list */
            assert_true((*out)[i].p >= copy && (*out)[i].p + (*out)[i].len <= copy + len);
            (*out)[i].p = list + ((*out)[i].p - copy);
        }
    }
    free(copy);
    return (enum sc_perr)rc;
}

static void test_channel_list_splits_at_commas(void **state)
{
    struct sc_name *n;
    size_t count;

    (void)state;
    assert_int_equal(list_parse("news,chat.*,a", &ascii_lim, &n, &count), SC_PERR_NONE);
    assert_int_equal(count, 3);
    assert_int_equal(n[0].len, 4);
    assert_memory_equal(n[0].p, "news", 4);
    assert_int_equal(n[1].len, 6);
    assert_memory_equal(n[1].p, "chat.*", 6);
    assert_int_equal(n[2].len, 1);
    assert_memory_equal(n[2].p, "a", 1);
    free(n);
    assert_int_equal(list_parse("", &ascii_lim, &n, &count), SC_PERR_NONE);
    assert_int_equal(count, 0);
    assert_null(n);
}

static void test_channel_list_empty_name_is_bad_channel(void **state)
{
    static const char *const bad[] = {",", "a,,b", ",a", "a,", ",,", "a,b,"};
    struct sc_name *n;
    size_t count;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (list_parse(bad[i], &ascii_lim, &n, &count) != SC_PERR_BAD_CHANNEL)
            fail_msg("%s: not bad_channel", bad[i]);
        assert_int_equal(count, 0);
    }
    /* Every other rule of a name holds too. */
    assert_int_equal(list_parse("a,has space", &ascii_lim, &n, &count), SC_PERR_BAD_CHANNEL);
    assert_int_equal(list_parse("a,\x01", &ascii_lim, &n, &count), SC_PERR_BAD_CHANNEL);
}

static void test_channel_list_bounded_by_max_channels(void **state)
{
    struct sc_proto_limits lim = {1000, 128, 0};
    char list[4000];
    struct sc_name *n;
    size_t count, len = 0;

    (void)state;
    /* 1000 names fit (no silent cap below the limit)... */
    for (int i = 0; i < 1000; i++)
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%x", i ? "," : "", i);
    assert_int_equal(list_parse(list, &lim, &n, &count), SC_PERR_NONE);
    assert_int_equal(count, 1000);
    assert_int_equal(n[999].len, 3);
    assert_memory_equal(n[999].p, "3e7", 3);
    free(n);
    /* ...1001 do not, whatever the names. */
    snprintf(list + len, sizeof(list) - len, ",zz");
    assert_int_equal(list_parse(list, &lim, &n, &count), SC_PERR_TOO_MANY_CHANNELS);
    lim.max_channels = 2;
    assert_int_equal(list_parse(",,", &lim, &n, &count), SC_PERR_TOO_MANY_CHANNELS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_subscribe),
        cmocka_unit_test(test_parse_unsubscribe),
        cmocka_unit_test(test_parse_ping_has_no_channels),
        cmocka_unit_test(test_parse_ignores_unknown_members_and_order),
        cmocka_unit_test(test_parse_accepts_limits_exactly),
        cmocka_unit_test(test_id_absent_is_null),
        cmocka_unit_test(test_id_integer_is_kept),
        cmocka_unit_test(test_id_string_of_64_bytes_is_accepted),
        cmocka_unit_test(test_id_string_over_64_bytes_is_bad_request),
        cmocka_unit_test(test_id_of_wrong_type_is_bad_request),
        cmocka_unit_test(test_id_integer_beyond_int64_is_bad_request),
        cmocka_unit_test(test_id_is_read_for_every_later_error),
        cmocka_unit_test(test_id_is_read_for_too_many_channels),
        cmocka_unit_test(test_bad_json_for_anything_but_one_json_object),
        cmocka_unit_test(test_bad_request_when_op_missing_or_not_string),
        cmocka_unit_test(test_unknown_op),
        cmocka_unit_test(test_op_with_embedded_nul_is_unknown_op),
        cmocka_unit_test(test_bad_request_when_channels_not_nonempty_string_array),
        cmocka_unit_test(test_bad_channel_in_request),
        cmocka_unit_test(test_one_bad_channel_fails_whole_request),
        cmocka_unit_test(test_nul_inside_channel_is_bad_channel),
        cmocka_unit_test(test_too_many_channels_past_limit),
        cmocka_unit_test(test_channel_length_bound),
        cmocka_unit_test(test_channel_length_counts_bytes_in_utf8_mode),
        cmocka_unit_test(test_ascii_mode_allows_exactly_printable_minus_comma),
        cmocka_unit_test(test_utf8_mode_ascii_byte_rules),
        cmocka_unit_test(test_utf8_mode_accepts_valid_multibyte_names),
        cmocka_unit_test(test_utf8_mode_rejects_invalid_utf8),
        cmocka_unit_test(test_utf8_mode_rejects_c1_control_characters),
        cmocka_unit_test(test_is_pattern_detects_glob_characters),
        cmocka_unit_test(test_is_pattern_uses_length_not_nul),
        cmocka_unit_test(test_deeply_nested_json_is_rejected_without_crash),
        cmocka_unit_test(test_huge_channel_array_is_too_many_channels),
        cmocka_unit_test(test_largest_channel_limit_parses),
        cmocka_unit_test(test_every_prefix_of_valid_request_is_bad_json),
        cmocka_unit_test(test_single_byte_mutations_never_yield_invalid_request),
        cmocka_unit_test(test_perr_codes_are_the_documented_names),
        cmocka_unit_test(test_reply_ok_without_id),
        cmocka_unit_test(test_reply_ok_echoes_integer_ids),
        cmocka_unit_test(test_reply_ok_echoes_string_ids),
        cmocka_unit_test(test_reply_error_has_code_message_and_id),
        cmocka_unit_test(test_replies_match_protocol_doc_examples),
        cmocka_unit_test(test_error_reply_for_parsed_request_echoes_string_id),
        cmocka_unit_test(test_channel_list_splits_at_commas),
        cmocka_unit_test(test_channel_list_empty_name_is_bad_channel),
        cmocka_unit_test(test_channel_list_bounded_by_max_channels),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
