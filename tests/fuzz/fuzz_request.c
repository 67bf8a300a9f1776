/* Fuzz target: what a client sends, in two forms picked by the first byte.
 *
 * JSON (any first byte but 0x01 and 0x02): one WebSocket text message, as a
 * client would send it (the corpus files are plain JSON requests), for the
 * client-protocol parser (server/sc_proto.h). Each input is parsed under
 * three sets of limits, the reply to it is built and decoded, and the raw
 * bytes also go through sc_channel_check() in both channel modes and, as
 * a ?channels= list, through sc_channel_list_parse(). Beyond
 * "no crash, no leak", the outcome is checked against the rules of
 * docs/protocol.md, decoded independently with jansson and fuzz_util.c:
 * which inputs succeed, which error class a failure may have, and that the
 * reply (each error code's, the connection's auth verdicts included) is a
 * well-framed JSON object echoing the id.
 *
 * Raw bytes (first byte 0x01: frames after an upgrade; 0x02: a connection
 * from its first byte, request head included), for the read checker
 * (server/sc_wsrx.h). Byte 1: bits 0-1 pick --max-message-size (16, 125,
 * 1024, 16384), bits 2-7 a chunk size; the rest is the stream. It is fed
 * whole, one byte at a time and in chunks: the verdict and its offset must
 * agree, and for frames match a frame-at-a-time reading of RFC 6455 below
 * (ref_frames), written apart from the incremental checker. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_msg.h"
#include "fuzz_util.h"
#include "sc_proto.h"
#include "sc_wsrx.h"

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
        if (len == strlen(ops[i].name) && !memcmp(json_string_value(op), ops[i].name, len))
            return (int)ops[i].op;
    return -1;
}

/* What the reference reading of the request says about its channels. */
struct chan_facts {
    int is_array, all_strings, names_ok;
    size_t n;
};

static struct chan_facts channel_facts(const json_t *chs, const struct sc_proto_limits *lim)
{
    struct chan_facts f = {json_is_array(chs), 1, 1, json_array_size(chs)};

    for (size_t i = 0; i < f.n; i++) {
        const json_t *c = json_array_get(chs, i);
        if (!json_is_string(c))
            f.all_strings = 0;
        else if (!ref_channel_ok((const unsigned char *)json_string_value(c), json_string_length(c),
                                 lim->max_channel_length, lim->utf8))
            f.names_ok = 0;
    }
    return f;
}

static int ref_is_pattern(const char *p, size_t len)
{
    return memchr(p, '*', len) || memchr(p, '?', len) || memchr(p, '[', len);
}

static void check_parsed(const struct sc_request *req, int op, const json_t *chs, size_t n,
                         const json_t *token)
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
        FUZZ_CHECK(len == strlen(sc_perr_code(e)) && !memcmp(s, sc_perr_code(e), len));
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
static int check_overflow(const char *text, size_t size, struct sc_request *req, enum sc_perr e,
                          const char *msg)
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

static void check_request(const char *text, size_t size, const struct sc_proto_limits *lim)
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
        int id_ok =
            !id || json_is_integer(id) || (json_is_string(id) && json_string_length(id) <= ID_MAX);
        int op = op_kind(json_object_get(root, "op"));
        const json_t *chs = json_object_get(root, "channels");
        const json_t *token = json_object_get(root, "token");
        struct chan_facts f = channel_facts(chs, lim);
        int shape_ok = f.is_array && f.n > 0 && f.all_strings;
        int token_ok = json_is_string(token) && json_string_length(token) > 0;
        int sub = op == SC_OP_SUBSCRIBE || op == SC_OP_UNSUBSCRIBE;
        int want_ok = id_ok && (op == SC_OP_PING || (op == SC_OP_AUTH && token_ok) ||
                                (sub && shape_ok && f.n <= lim->max_channels && f.names_ok));

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
        case SC_PERR_NONE: check_parsed(&req, op, chs, f.n, token); break;
        case SC_PERR_BAD_REQUEST:
            FUZZ_CHECK(!id_ok || op == -2 || (sub && !shape_ok) || (op == SC_OP_AUTH && !token_ok));
            break;
        case SC_PERR_UNKNOWN_OP: FUZZ_CHECK(op == -1); break;
        case SC_PERR_BAD_CHANNEL: FUZZ_CHECK(sub && f.is_array && !f.names_ok); break;
        case SC_PERR_TOO_MANY_CHANNELS:
            FUZZ_CHECK(sub && f.is_array && f.n > lim->max_channels);
            break;
        default: /* BAD_JSON; the parser returns no other code */ break;
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
    FUZZ_CHECK((e == SC_PERR_NONE) == ref_channel_ok((const unsigned char *)p, len, maxlen, utf8));
    if (e != SC_PERR_NONE)
        FUZZ_CHECK(memchr(msg, 0, sizeof(msg)) != NULL && msg[0] != 0);
}

/* ---- raw client bytes (sc_wsrx) ---- */

/* 1 if q[0..m) (m <= 4) can begin a well-formed UTF-8 sequence longer
 * than m: completed with the smallest byte each range of RFC 3629 allows. */
static int ref_utf8_prefix(const unsigned char *q, size_t m)
{
    static const unsigned char second[] = {0x80, 0x90, 0xa0};
    unsigned char buf[4];
    uint32_t cp;

    for (size_t k = 0; k < sizeof(second); k++) {
        memcpy(buf, q, m);
        for (size_t j = m; j < 4; j++)
            buf[j] = j == 1 ? second[k] : 0x80;
        if (ref_utf8_seq(buf, 4, &cp) > m)
            return 1;
    }
    return 0;
}

/* Index of the byte of p[0..len) where it stops being (a prefix of) UTF-8,
 * or len. */
static size_t ref_utf8_bad_at(const unsigned char *p, size_t len)
{
    size_t i = 0, n;
    uint32_t cp;

    while (i < len) {
        if ((n = ref_utf8_seq(p + i, len - i, &cp))) {
            i += n;
            continue;
        }
        /* four bytes that are no sequence fail at the fourth */
        for (size_t m = 1; m <= 4 && i + m <= len; m++)
            if (!ref_utf8_prefix(p + i, m))
                return i + m - 1;
        return len; /* a character begun and not finished */
    }
    return len;
}

/* RFC 6455 7.4 and the IANA registry: codes a peer may send. */
static int ref_close_code_ok(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

/* A close frame's payload p[0..avail) of plen (masked with key). Returns
 * the verdict and *at relative to p; SC_WSRX_OK while undecided. */
static int ref_close(const unsigned char *p, size_t avail, uint64_t plen, const unsigned char *key,
                     size_t *at)
{
    unsigned char u[125];
    size_t r;

    for (size_t j = 0; j < avail; j++)
        u[j] = p[j] ^ key[j & 3];
    if (avail >= 2 && !ref_close_code_ok((unsigned)u[0] << 8 | u[1])) {
        *at = 1;
        return 1002;
    }
    if (avail > 2 && (r = ref_utf8_bad_at(u + 2, avail - 2)) < avail - 2) {
        *at = 2 + r;
        return 1007;
    }
    if (avail < plen)
        return SC_WSRX_OK;
    if (plen > 2 && !ref_utf8_valid(u + 2, avail - 2)) {
        *at = avail - 1; /* the reason ends inside a character */
        return 1007;
    }
    *at = avail;
    return SC_WSRX_END;
}

/* The documented detection points: a header byte at the byte itself; a
 * 64-bit length's top bit at its first byte, its upper 32 bits at the
 * first non-zero one, the message limit at the last length byte. */
static int ref_frames(const unsigned char *p, size_t len, uint64_t max, size_t *at)
{
    size_t i = 0;
    int in_msg = 0;
    uint64_t msg = 0;

#define REF_FAIL(code, pos) \
    do {                    \
        *at = (pos);        \
        return (code);      \
    } while (0)
    for (;;) {
        unsigned b0, b1, op;
        uint64_t plen;
        size_t nlen;

        if (i >= len)
            REF_FAIL(SC_WSRX_OK, len);
        b0 = p[i];
        op = b0 & 0x0f;
        if ((b0 & 0x70) || (op >= 3 && op <= 7) || op > 10 || (op >= 8 && !(b0 & 0x80)) ||
            (op == 0 && !in_msg) || ((op == 1 || op == 2) && in_msg))
            REF_FAIL(1002, i);
        if (++i >= len)
            REF_FAIL(SC_WSRX_OK, len);
        b1 = p[i];
        plen = b1 & 0x7f;
        if (!(b1 & 0x80) || (op >= 8 && plen > 125) || (op == 8 && plen == 1))
            REF_FAIL(1002, i);
        nlen = plen == 126 ? 2 : plen == 127 ? 8 : 0;
        if (nlen)
            plen = 0;
        for (size_t k = 0; k < nlen; k++) {
            unsigned c;
            if (++i >= len)
                REF_FAIL(SC_WSRX_OK, len);
            c = p[i];
            if (nlen == 8 && k == 0 && (c & 0x80))
                REF_FAIL(1002, i);
            if (nlen == 8 && k < 4 && c)
                REF_FAIL(1009, i);
            plen = plen << 8 | c;
        }
        if (op == 1 || op == 2)
            msg = 0;
        if (op < 8) {
            if (msg + plen > max)
                REF_FAIL(1009, i);
            msg += plen;
            in_msg = !(b0 & 0x80);
        }
        if (len - i - 1 < 4)
            REF_FAIL(SC_WSRX_OK, len);
        i += 5; /* the key, then the payload from i */
        if (op == 8) {
            size_t avail = len - i < plen ? len - i : (size_t)plen, rat = 0;
            int v = ref_close(p + i, avail, plen, p + i - 4, &rat);
            REF_FAIL(v, v == SC_WSRX_OK ? len : i + rat);
        }
        if (len - i < plen)
            REF_FAIL(SC_WSRX_OK, len);
        i += (size_t)plen;
    }
#undef REF_FAIL
}

/* Feed p[0..len) in chunks of step bytes (0: whole). Returns the verdict
 * and its absolute offset; *frames_at, if given, the offset where the
 * checker went from a head to frames (or SIZE_MAX). */
static int raw_feed(struct sc_wsrx *rx, uint32_t max, const uint8_t *p, size_t len, size_t step,
                    size_t *at, size_t *frames_at)
{
    size_t off = 0, ok;

    if (frames_at)
        *frames_at = rx->mode == SC_WSRX_FRAMES ? 0 : SIZE_MAX;
    while (off < len) {
        size_t n = step && len - off > step ? step : len - off;
        int head = rx->mode == SC_WSRX_HEAD;
        int v = sc_wsrx_feed(rx, max, p + off, n, &ok);
        FUZZ_CHECK(ok <= n);
        if (v != SC_WSRX_OK) {
            *at = off + ok;
            return v;
        }
        FUZZ_CHECK(ok == n);
        off += n;
        if (frames_at && head && rx->mode == SC_WSRX_FRAMES && *frames_at == SIZE_MAX)
            *frames_at = off; /* exact when step is 1 */
    }
    *at = len;
    return SC_WSRX_OK;
}

static void check_raw(const uint8_t *data, size_t size)
{
    static const uint32_t maxes[] = {16, 125, 1024, 16384};
    static const char upgrade[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n";
    const uint8_t *p = data + 2;
    size_t len = size - 2, at[3], frames_at = SIZE_MAX, ok, rat;
    uint32_t max = maxes[data[1] & 3];
    struct sc_wsrx start, rx;
    int v[3];

    sc_wsrx_init(&start);
    if (data[0] == 0x01) {
        FUZZ_CHECK(sc_wsrx_feed(&start, max, (const uint8_t *)upgrade, sizeof(upgrade) - 1, &ok) ==
                   SC_WSRX_OK);
        FUZZ_CHECK(start.mode == SC_WSRX_FRAMES);
    }
    rx = start;
    v[0] = raw_feed(&rx, max, p, len, 0, &at[0], NULL);
    /* sticky: once decided, every later byte gets the same answer */
    if (v[0] != SC_WSRX_OK)
        FUZZ_CHECK(sc_wsrx_feed(&rx, max, p, len, &ok) == v[0] && ok == 0);
    rx = start;
    v[1] = raw_feed(&rx, max, p, len, 1, &at[1], &frames_at);
    rx = start;
    v[2] = raw_feed(&rx, max, p, len, 1 + (data[1] >> 2), &at[2], NULL);
    FUZZ_CHECK(v[0] == v[1] && v[1] == v[2]);
    FUZZ_CHECK(at[0] == at[1] && at[1] == at[2]);
    switch (v[0]) {
    case SC_WSRX_OK:
    case SC_WSRX_END:
    case 1002:
    case 1007:
    case 1009: break;
    case 400: /* shown by the LF of the line without a colon */
        FUZZ_CHECK(data[0] == 0x02 && p[at[0]] == '\n');
        break;
    case 431: FUZZ_CHECK(data[0] == 0x02); break;
    default: FUZZ_CHECK(!"an undocumented verdict");
    }
    /* From where frames begin, the frame-at-a-time reading agrees. */
    if (frames_at != SIZE_MAX && at[0] >= frames_at) {
        int r = ref_frames(p + frames_at, len - frames_at, max, &rat);
        FUZZ_CHECK(r == v[0] && frames_at + rat == at[0]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;

    fuzz_init();
    if (size >= 2 && (data[0] == 0x01 || data[0] == 0x02)) {
        check_raw(data, size);
        return 0;
    }
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
