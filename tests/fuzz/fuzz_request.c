/* Fuzz target: the client-protocol parser (server/sc_proto.h).
 *
 * Input: one WebSocket text message, as a client would send it (the corpus
 * files are plain JSON requests). Each input is parsed under three sets of
 * limits, the reply to it is built and decoded, and the raw bytes also go
 * through sc_channel_check() in both channel modes and, as a ?channels=
 * list, through sc_channel_list_parse().
 *
 * Beyond "no crash, no leak", the outcome is checked against the rules of
 * docs/protocol.md, decoded independently with jansson and fuzz_util.c:
 * which inputs succeed, which error class a failure may have, and that the
 * reply (each error code's, the connection's auth verdicts included) is a
 * well-framed JSON object echoing the id. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_msg.h"
#include "fuzz_util.h"
#include "sc_proto.h"

#define ID_MAX 64 /* docs/protocol.md: "a string of at most 64 bytes" */

static const struct sc_proto_limits limit_sets[] = {
    {64, 128, 0}, /* the defaults (--channel-bytes ascii) */
    {64, 128, 1}, /* --channel-bytes utf8 */
    {3, 8, 1},    /* tight, so short inputs reach the limit checks */
};

/* op as docs/protocol.md reads it: -2 not a string, -1 unknown. Compared
 * with the length so "ping\u0000x" is not "ping". */
static int op_kind(const json_t *op)
{
    static const struct {
        const char *name;
        enum sc_op op;
    } ops[] = {{"subscribe", SC_OP_SUBSCRIBE},
               {"unsubscribe", SC_OP_UNSUBSCRIBE},
               {"ping", SC_OP_PING},
               {"auth", SC_OP_AUTH}};
    size_t len;

    if (!json_is_string(op))
        return -2;
    len = json_string_length(op);
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (len == strlen(ops[i].name) &&
            !memcmp(json_string_value(op), ops[i].name, len))
            return (int)ops[i].op;
    return -1;
}

/* What the reference reading of the request says about its channels. */
struct chan_facts {
    int is_array, all_strings, names_ok;
    size_t n;
};

static struct chan_facts channel_facts(const json_t *chs,
                                       const struct sc_proto_limits *lim)
{
    struct chan_facts f = {json_is_array(chs), 1, 1, json_array_size(chs)};

    for (size_t i = 0; i < f.n; i++) {
        const json_t *c = json_array_get(chs, i);
        if (!json_is_string(c))
            f.all_strings = 0;
        else if (!ref_channel_ok((const unsigned char *)json_string_value(c),
                                 json_string_length(c),
                                 lim->max_channel_length, lim->utf8))
            f.names_ok = 0;
    }
    return f;
}

static int ref_is_pattern(const char *p, size_t len)
{
    return memchr(p, '*', len) || memchr(p, '?', len) || memchr(p, '[', len);
}

static void check_parsed(const struct sc_request *req, int op,
                         const json_t *chs, size_t n, const json_t *token)
{
    FUZZ_CHECK((int)req->op == op);
    if (op == SC_OP_AUTH) {
        /* the token's bytes, NULs included; owned by the request */
        FUZZ_CHECK(req->token_len == json_string_length(token));
        FUZZ_CHECK(!memcmp(req->token, json_string_value(token), req->token_len));
    } else {
        FUZZ_CHECK(req->token == NULL && req->token_len == 0);
    }
    if (op == SC_OP_PING || op == SC_OP_AUTH) {
        /* they ignore channels, even if present */
        FUZZ_CHECK(req->channels == NULL && req->nchannels == 0);
        return;
    }
    FUZZ_CHECK(req->nchannels == n);
    for (size_t i = 0; i < n; i++) {
        const json_t *want = json_array_get(chs, i);
        size_t len;
        const char *got = sc_request_channel(req, i, &len);
        FUZZ_CHECK(len == json_string_length(want));
        FUZZ_CHECK(!memcmp(got, json_string_value(want), len));
        FUZZ_CHECK(sc_channel_is_pattern(got, len) == ref_is_pattern(got, len));
    }
}

/* The reply to a request: {"op":"ok"[,"id"]} or {"op":"error"[,"id"],
 * "code","message"}, exactly those members. */
static void check_reply(const json_t *id, enum sc_perr e, const char *msg)
{
    struct sc_msg *m = e ? sc_reply_error(id, e, msg) : sc_reply_ok(id);
    json_t *r;
    const char *s;
    size_t len;

    FUZZ_CHECK(m != NULL);
    r = fuzz_msg_json(m);
    s = fuzz_json_str(r, "op", &len);
    if (id)
        FUZZ_CHECK(json_equal(json_object_get(r, "id"), (json_t *)id));
    else
        FUZZ_CHECK(json_object_get(r, "id") == NULL);
    if (e == SC_PERR_NONE) {
        FUZZ_CHECK(len == 2 && !memcmp(s, "ok", 2));
        FUZZ_CHECK(json_object_size(r) == 1u + (id != NULL));
    } else {
        FUZZ_CHECK(len == 5 && !memcmp(s, "error", 5));
        FUZZ_CHECK(json_object_size(r) == 3u + (id != NULL));
        s = fuzz_json_str(r, "code", &len);
        FUZZ_CHECK(len == strlen(sc_perr_code(e)) &&
                   !memcmp(s, sc_perr_code(e), len));
        s = fuzz_json_str(r, "message", &len);
        FUZZ_CHECK(len == strlen(msg) && !memcmp(s, msg, len));
    }
    json_decref(r);
    sc_msg_unref(m);
}

/* JSON that jansson stops reading at an integer beyond 64 bits: if it is
 * an object once integers are read as doubles, the parser must say
 * bad_request and echo only a valid string id. Returns 1 when it checked
 * (and freed req), 0 when the text is not such an object. */
static int check_overflow(const char *text, size_t size, struct sc_request *req,
                          enum sc_perr e, const char *msg)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, size, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
    const json_t *id;

    if (!json_is_object(root)) {
        json_decref(root);
        return 0;
    }
    FUZZ_CHECK(e == SC_PERR_BAD_REQUEST);
    id = json_object_get(root, "id");
    if (json_is_string(id) && json_string_length(id) <= ID_MAX)
        FUZZ_CHECK(req->id != NULL && json_equal(req->id, (json_t *)id));
    else
        FUZZ_CHECK(req->id == NULL);
    json_decref(root);
    check_reply(req->id, e, msg);
    sc_request_free(req);
    return 1;
}

/* A ?channels= list: split at every comma, each piece a valid name, at most
 * max_channels pieces; an empty list has none. */
static void check_list(const char *p, size_t len, const struct sc_proto_limits *lim)
{
    struct sc_name *names;
    size_t count, pieces = len ? 1 : 0, start = 0, k = 0;
    int all_ok = 1, rc;
    char msg[256];

    for (size_t i = 0; i < len; i++)
        pieces += p[i] == ',';
    for (size_t i = 0; i <= len && len; i++) {
        if (i < len && p[i] != ',')
            continue;
        all_ok &= ref_channel_ok((const unsigned char *)p + start, i - start,
                                 lim->max_channel_length, lim->utf8);
        start = i + 1;
    }
    memset(msg, 0x7E, sizeof(msg));
    rc = sc_channel_list_parse(p, len, lim, &names, &count, msg, sizeof(msg));
    if (rc == -ENOMEM)
        return;
    if (pieces > lim->max_channels) {
        FUZZ_CHECK(rc == SC_PERR_TOO_MANY_CHANNELS);
    } else {
        FUZZ_CHECK(rc == (all_ok ? SC_PERR_NONE : SC_PERR_BAD_CHANNEL));
    }
    if (rc != SC_PERR_NONE) {
        FUZZ_CHECK(names == NULL && memchr(msg, 0, sizeof(msg)) != NULL && msg[0] != 0);
        return;
    }
    FUZZ_CHECK(count == pieces);
    for (size_t i = 0; i < count; i++) {
        FUZZ_CHECK(names[i].p == p + k && memchr(names[i].p, ',', names[i].len) == NULL);
        k += names[i].len + 1;
    }
    free(names);
}

static void check_request(const char *text, size_t size,
                          const struct sc_proto_limits *lim)
{
    struct sc_request req;
    json_error_t jerr;
    char msg[256]; /* what server/sc_conn.c passes */
    enum sc_perr e;
    json_t *root;

    /* Poison msg so a missing or unterminated message shows. */
    memset(msg, 0x7E, sizeof(msg));
    e = sc_request_parse(text, size, lim, &req, msg, sizeof(msg));
    /* unauthorized and forbidden are the connection's verdicts, never the
     * parser's */
    FUZZ_CHECK(e <= SC_PERR_TOO_MANY_CHANNELS);
    if (e != SC_PERR_NONE)
        FUZZ_CHECK(memchr(msg, 0, sizeof(msg)) != NULL && msg[0] != 0);

    root = json_loadb(text, size, JSON_ALLOW_NUL, &jerr);
    if (!root && json_error_code(&jerr) == json_error_numeric_overflow &&
        check_overflow(text, size, &req, e, msg))
        return;
    FUZZ_CHECK((e == SC_PERR_BAD_JSON) == !json_is_object(root));
    if (json_is_object(root)) {
        const json_t *id = json_object_get(root, "id");
        int id_ok = !id || json_is_integer(id) ||
                    (json_is_string(id) && json_string_length(id) <= ID_MAX);
        int op = op_kind(json_object_get(root, "op"));
        const json_t *chs = json_object_get(root, "channels");
        const json_t *token = json_object_get(root, "token");
        struct chan_facts f = channel_facts(chs, lim);
        int shape_ok = f.is_array && f.n > 0 && f.all_strings;
        int token_ok = json_is_string(token) && json_string_length(token) > 0;
        int sub = op == SC_OP_SUBSCRIBE || op == SC_OP_UNSUBSCRIBE;
        int want_ok = id_ok && (op == SC_OP_PING ||
                                (op == SC_OP_AUTH && token_ok) ||
                                (sub && shape_ok && f.n <= lim->max_channels &&
                                 f.names_ok));

        FUZZ_CHECK((e == SC_PERR_NONE) == want_ok);
        /* The error reply echoes the id whenever it is a valid one, and
         * never an invalid one. */
        if (id_ok && id)
            FUZZ_CHECK(req.id != NULL && json_equal(req.id, (json_t *)id));
        else
            FUZZ_CHECK(req.id == NULL);
        /* Each error class needs a reason of its class in the request;
         * which one wins when there are several is not specified. */
        switch (e) {
        case SC_PERR_NONE:
            check_parsed(&req, op, chs, f.n, token);
            break;
        case SC_PERR_BAD_REQUEST:
            FUZZ_CHECK(!id_ok || op == -2 || (sub && !shape_ok) ||
                       (op == SC_OP_AUTH && !token_ok));
            break;
        case SC_PERR_UNKNOWN_OP:
            FUZZ_CHECK(op == -1);
            break;
        case SC_PERR_BAD_CHANNEL:
            FUZZ_CHECK(sub && f.is_array && !f.names_ok);
            break;
        case SC_PERR_TOO_MANY_CHANNELS:
            FUZZ_CHECK(sub && f.is_array && f.n > lim->max_channels);
            break;
        default: /* BAD_JSON; the parser returns no other code */
            break;
        }
    } else {
        FUZZ_CHECK(req.id == NULL);
    }
    json_decref(root);

    check_reply(req.id, e, msg);
    /* The replies the connection layer builds from the same id. */
    check_reply(req.id, SC_PERR_UNAUTHORIZED, "token refused");
    check_reply(req.id, SC_PERR_FORBIDDEN, "may not read \"x\"");
    sc_request_free(&req);
}

/* The raw bytes as one channel name (the ?channels= path of the upgrade
 * request hands sc_channel_check() bytes that never were JSON). */
static void check_channel(const char *p, size_t len, size_t maxlen, int utf8)
{
    struct sc_proto_limits lim = {64, maxlen, utf8};
    char msg[200];
    enum sc_perr e;

    memset(msg, 0x7E, sizeof(msg));
    e = sc_channel_check(p, len, &lim, msg, sizeof(msg));
    FUZZ_CHECK(e == SC_PERR_NONE || e == SC_PERR_BAD_CHANNEL);
    FUZZ_CHECK((e == SC_PERR_NONE) ==
               ref_channel_ok((const unsigned char *)p, len, maxlen, utf8));
    if (e != SC_PERR_NONE)
        FUZZ_CHECK(memchr(msg, 0, sizeof(msg)) != NULL && msg[0] != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;

    fuzz_init();
    for (size_t i = 0; i < sizeof(limit_sets) / sizeof(limit_sets[0]); i++)
        check_request(text, size, &limit_sets[i]);
    for (size_t i = 0; i < sizeof(limit_sets) / sizeof(limit_sets[0]); i++)
        check_list(text, size, &limit_sets[i]);
    for (int utf8 = 0; utf8 <= 1; utf8++) {
        check_channel(text, size, 128, utf8);
        check_channel(text, size, 4096, utf8); /* the configurable maximum */
    }
    return 0;
}
