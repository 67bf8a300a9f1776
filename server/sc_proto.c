/* sc_proto: parse and validate client requests; build replies. */
#include "sc_proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_json.h"

#define ID_MAX_STRING 64

static const char *const perr_codes[] = {
    "ok",           "bad_json",  "bad_request",  "unknown_op", "bad_channel", "too_many_channels",
    "unauthorized", "forbidden", "rate_limited",
};

const char *sc_perr_code(enum sc_perr e)
{
    return perr_codes[e];
}

int sc_channel_is_pattern(const char *name, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (name[i] == '*' || name[i] == '?' || name[i] == '[')
            return 1;
    return 0;
}

enum sc_perr sc_channel_check(const char *name, size_t len, const struct sc_proto_limits *lim,
                              char *msg, size_t msglen)
{
    if (len == 0) {
        snprintf(msg, msglen, "empty channel name");
        return SC_PERR_BAD_CHANNEL;
    }
    if (len > lim->max_channel_length) {
        snprintf(msg, msglen, "channel name longer than %zu bytes", lim->max_channel_length);
        return SC_PERR_BAD_CHANNEL;
    }
    if (lim->utf8 && !sc_utf8_valid((const unsigned char *)name, len)) {
        snprintf(msg, msglen, "channel name is not valid UTF-8");
        return SC_PERR_BAD_CHANNEL;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        int ok = lim->utf8 ? (c >= 0x20 && c != 0x7F) : (c > 0x20 && c < 0x7F);
        /* C1 controls (U+0080-U+009F) are encoded C2 80..C2 9F. */
        if (lim->utf8 && c == 0xC2 && i + 1 < len && (unsigned char)name[i + 1] < 0xA0)
            ok = 0;
        if (!ok || c == ',') {
            snprintf(msg, msglen, "channel name has a byte that is not allowed (0x%02x at %zu)", c,
                     i);
            return SC_PERR_BAD_CHANNEL;
        }
    }
    return SC_PERR_NONE;
}

static enum sc_perr fail(char *msg, size_t msglen, enum sc_perr e, const char *text)
{
    snprintf(msg, msglen, "%s", text);
    return e;
}

int sc_channel_list_parse(const char *list, size_t len, const struct sc_proto_limits *lim,
                          struct sc_name **out, size_t *count, char *msg, size_t msglen)
{
    const char *end = list + len;
    size_t n = 1, k = 0;
    struct sc_name *names;

    *out = NULL;
    *count = 0;
    if (len == 0)
        return SC_PERR_NONE;
    for (const char *p = list; (p = memchr(p, ',', (size_t)(end - p))); p++)
        n++;
    if (n > lim->max_channels) {
        snprintf(msg, msglen, "at most %zu channels per connection", lim->max_channels);
        return SC_PERR_TOO_MANY_CHANNELS;
    }
    if (!(names = malloc(sizeof(*names) * n)))
        return -ENOMEM;
    for (const char *p = list; k < n; k++) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t l = comma ? (size_t)(comma - p) : (size_t)(end - p);
        enum sc_perr e = sc_channel_check(p, l, lim, msg, msglen);
        if (e != SC_PERR_NONE) {
            free(names);
            return e;
        }
        names[k].p = p;
        names[k].len = l;
        p += l + 1;
    }
    *out = names;
    *count = n;
    return SC_PERR_NONE;
}

/* id: an integer, or a string of at most ID_MAX_STRING bytes. */
static enum sc_perr parse_id(struct sc_request *req, char *msg, size_t msglen)
{
    json_t *id = json_object_get(req->root, "id");

    if (!id)
        return SC_PERR_NONE;
    if (json_is_integer(id) || (json_is_string(id) && json_string_length(id) <= ID_MAX_STRING)) {
        req->id = id;
        return SC_PERR_NONE;
    }
    return fail(msg, msglen, SC_PERR_BAD_REQUEST,
                "id must be an integer or a string of at most 64 bytes");
}

/* jansson stops at an integer beyond 64 bits, which JSON allows. Read the
 * message again with every integer as a double: if that parses, it is a
 * JSON object the node cannot take as is (bad_request); a string id is
 * still echoed, a numeric one cannot be echoed unchanged and is not. */
static enum sc_perr parse_overflow(const char *text, size_t len, struct sc_request *req, char *msg,
                                   size_t msglen)
{
    json_error_t jerr;
    json_t *id;

    req->root = json_loadb(text, len, JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &jerr);
    if (!req->root || !json_is_object(req->root))
        return fail(msg, msglen, SC_PERR_BAD_JSON, "message is not a JSON object");
    id = json_object_get(req->root, "id");
    if (json_is_string(id) && json_string_length(id) <= ID_MAX_STRING)
        req->id = id;
    return fail(msg, msglen, SC_PERR_BAD_REQUEST,
                "an integer does not fit in 64 bits (id must be an integer from -2^63 to "
                "2^63-1 or a string)");
}

static enum sc_perr parse_channels(struct sc_request *req, const struct sc_proto_limits *lim,
                                   char *msg, size_t msglen)
{
    json_t *chs = json_object_get(req->root, "channels");
    size_t n;

    if (!json_is_array(chs) || (n = json_array_size(chs)) == 0)
        return fail(msg, msglen, SC_PERR_BAD_REQUEST,
                    "channels must be a non-empty array of strings");
    if (n > lim->max_channels) {
        snprintf(msg, msglen, "at most %zu channels per connection", lim->max_channels);
        return SC_PERR_TOO_MANY_CHANNELS;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(chs, i);
        enum sc_perr e;
        if (!json_is_string(c))
            return fail(msg, msglen, SC_PERR_BAD_REQUEST,
                        "channels must be a non-empty array of strings");
        e = sc_channel_check(json_string_value(c), json_string_length(c), lim, msg, msglen);
        if (e != SC_PERR_NONE)
            return e;
    }
    req->channels = chs;
    req->nchannels = n;
    return SC_PERR_NONE;
}

enum sc_perr sc_request_parse(const char *text, size_t len, const struct sc_proto_limits *lim,
                              struct sc_request *req, char *msg, size_t msglen)
{
    json_error_t jerr;
    const char *op;
    size_t oplen;
    json_t *jop;
    enum sc_perr e;

    memset(req, 0, sizeof(*req));
    /* JSON_ALLOW_NUL keeps a NUL inside a string from truncating a name
     * silently; such a name then fails the byte check instead. */
    req->root = json_loadb(text, len, JSON_ALLOW_NUL, &jerr);
    if (!req->root && json_error_code(&jerr) == json_error_numeric_overflow)
        return parse_overflow(text, len, req, msg, msglen);
    if (!req->root || !json_is_object(req->root))
        return fail(msg, msglen, SC_PERR_BAD_JSON, "message is not a JSON object");
    if ((e = parse_id(req, msg, msglen)) != SC_PERR_NONE)
        return e;
    jop = json_object_get(req->root, "op");
    if (!json_is_string(jop))
        return fail(msg, msglen, SC_PERR_BAD_REQUEST, "op must be a string");
    /* Compare with the length: "ping\u0000x" is not "ping". */
    op = json_string_value(jop);
    oplen = json_string_length(jop);
    if (oplen == 4 && !memcmp(op, "ping", 4)) {
        req->op = SC_OP_PING;
        return SC_PERR_NONE;
    }
    if (oplen == 4 && !memcmp(op, "auth", 4)) {
        json_t *t = json_object_get(req->root, "token");
        if (!json_is_string(t) || json_string_length(t) == 0)
            return fail(msg, msglen, SC_PERR_BAD_REQUEST, "token must be a non-empty string");
        req->op = SC_OP_AUTH;
        req->token = json_string_value(t);
        req->token_len = json_string_length(t);
        return SC_PERR_NONE;
    }
    if (oplen == 9 && !memcmp(op, "subscribe", 9))
        req->op = SC_OP_SUBSCRIBE;
    else if (oplen == 11 && !memcmp(op, "unsubscribe", 11))
        req->op = SC_OP_UNSUBSCRIBE;
    else
        return fail(msg, msglen, SC_PERR_UNKNOWN_OP,
                    "op must be subscribe, unsubscribe, ping or auth");
    return parse_channels(req, lim, msg, msglen);
}

void sc_request_free(struct sc_request *req)
{
    json_decref(req->root);
    memset(req, 0, sizeof(*req));
}

const char *sc_request_channel(const struct sc_request *req, size_t i, size_t *len)
{
    json_t *c = json_array_get(req->channels, i);

    *len = json_string_length(c);
    return json_string_value(c);
}

static void append_id(struct sc_buf *b, const json_t *id)
{
    if (!id)
        return;
    sc_buf_append_str(b, ",\"id\":");
    if (json_is_integer(id))
        sc_buf_printf(b, "%lld", (long long)json_integer_value(id));
    else
        sc_json_append_string(b, json_string_value(id), json_string_length(id));
}

struct sc_msg *sc_reply_ok(const json_t *id)
{
    struct sc_buf b;

    sc_msg_begin(&b);
    sc_buf_append_str(&b, "{\"op\":\"ok\"");
    append_id(&b, id);
    sc_buf_append_str(&b, "}");
    return sc_msg_finish(&b);
}

struct sc_msg *sc_reply_error(const json_t *id, enum sc_perr e, const char *message)
{
    struct sc_buf b;

    sc_msg_begin(&b);
    sc_buf_append_str(&b, "{\"op\":\"error\"");
    append_id(&b, id);
    sc_buf_printf(&b, ",\"code\":\"%s\",\"message\":", sc_perr_code(e));
    sc_json_append_string(&b, message, strlen(message));
    sc_buf_append_str(&b, "}");
    return sc_msg_finish(&b);
}
