/*
 * msg.c - shardcast protocol frames, client side.
 *
 * Parsing is strict about the members this client relies on and silent about
 * everything else, as the protocol asks: unknown members and unknown ops are
 * how newer nodes stay compatible with older clients.
 */
#include "msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sc_base64.h"

/* The ops we act on, by name. */
static const struct {
    const char *name;
    enum sc_op op;
} sc_ops[] = {
    {"message", SC_OP_MESSAGE}, {"missed", SC_OP_MISSED},     {"ok", SC_OP_OK},
    {"error", SC_OP_ERROR},     {"redirect", SC_OP_REDIRECT}, {"move", SC_OP_MOVE},
    {"hello", SC_OP_HELLO},     {"status", SC_OP_STATUS},
};

/*
 * Look up a string member.  Absent (or JSON null) is fine unless required;
 * present with another type is a protocol error either way, because a
 * client that guessed would print garbage.  Returns 0 or -EPROTO.
 */
static int sc_get_str(const json_t *o, const char *key, int required, const char **out)
{
    const json_t *v = json_object_get(o, key);

    *out = NULL;
    if (!v || json_is_null(v))
        return required ? -EPROTO : 0;
    if (!json_is_string(v))
        return -EPROTO;
    *out = json_string_value(v);
    return 0;
}

/*
 * Fill the payload members of a "message" frame, decoding base64 into
 * f->owned.  Returns 0, -EPROTO, -ENOTSUP or -ENOMEM.
 */
static int sc_parse_message(struct sc_frame *f)
{
    const json_t *data = json_object_get(f->root, "data");
    const char *enc;
    size_t len;

    if (sc_get_str(f->root, "channel", 1, &f->channel) ||
        sc_get_str(f->root, "pattern", 0, &f->pattern) ||
        sc_get_str(f->root, "encoding", 0, &enc) || !json_is_string(data))
        return -EPROTO;
    len = json_string_length(data);
    if (!enc) {
        f->data = (const unsigned char *)json_string_value(data);
        f->data_len = len;
        return 0;
    }
    if (strcmp(enc, "base64"))
        return -ENOTSUP;
    f->owned = malloc(SC_BASE64_DECODED_MAX(len));
    if (!f->owned)
        return -ENOMEM;
    if (sc_base64_decode(json_string_value(data), len, f->owned, &f->data_len))
        return -EPROTO;
    f->data = f->owned;
    f->base64 = 1;
    return 0;
}

/* Fill id / code / message of an "ok" or "error" reply.  0 or -EPROTO. */
static int sc_parse_reply(struct sc_frame *f)
{
    const json_t *id = json_object_get(f->root, "id");

    /* String ids are legal but never ours: treat them as no id. */
    if (json_is_integer(id)) {
        f->has_id = 1;
        f->id = json_integer_value(id);
    }
    if (f->op == SC_OP_OK)
        return 0;
    if (sc_get_str(f->root, "code", 0, &f->code) || sc_get_str(f->root, "message", 0, &f->message))
        return -EPROTO;
    return 0;
}

/* Fill channels / reason of a "missed" event.  0 or -EPROTO. */
static int sc_parse_missed(struct sc_frame *f)
{
    const json_t *ch = json_object_get(f->root, "channels");

    if (ch && !json_is_array(ch))
        return -EPROTO;
    f->channels = ch;
    return sc_get_str(f->root, "reason", 0, &f->reason);
}

/* Fill epoch when the frame has one.  0 or -EPROTO. */
static int sc_parse_epoch(struct sc_frame *f)
{
    const json_t *epoch = json_object_get(f->root, "epoch");

    if (epoch && !json_is_null(epoch)) {
        if (!json_is_integer(epoch))
            return -EPROTO;
        f->has_epoch = 1;
        f->epoch = json_integer_value(epoch);
    }
    return 0;
}

/* Fill url / shard / epoch of a "redirect" or "move".  0 or -EPROTO. */
static int sc_parse_redirect(struct sc_frame *f)
{
    if (sc_get_str(f->root, "url", 1, &f->url) || sc_get_str(f->root, "shard", 0, &f->shard))
        return -EPROTO;
    return sc_parse_epoch(f);
}

/*
 * Fill shard / key / epoch / n_shards of a "hello".  Only printed, so
 * nothing is required.  0 or -EPROTO.
 */
static int sc_parse_hello(struct sc_frame *f)
{
    const json_t *shards = json_object_get(f->root, "shards");

    if (sc_get_str(f->root, "shard", 0, &f->shard) || sc_get_str(f->root, "key", 0, &f->key) ||
        (shards && !json_is_null(shards) && !json_is_array(shards)))
        return -EPROTO;
    f->n_shards = json_is_array(shards) ? (long)json_array_size(shards) : -1;
    return sc_parse_epoch(f);
}

/* Dispatch to the member parser for f->op.  0 or a negative errno. */
static int sc_parse_members(struct sc_frame *f)
{
    switch (f->op) {
    case SC_OP_MESSAGE: return sc_parse_message(f);
    case SC_OP_OK:
    case SC_OP_ERROR: return sc_parse_reply(f);
    case SC_OP_MISSED: return sc_parse_missed(f);
    case SC_OP_REDIRECT:
    case SC_OP_MOVE: return sc_parse_redirect(f);
    case SC_OP_HELLO: return sc_parse_hello(f);
    case SC_OP_STATUS: return sc_get_str(f->root, "redis", 1, &f->redis);
    case SC_OP_UNKNOWN: break;
    }
    return 0;
}

int sc_frame_parse(const char *text, size_t len, struct sc_frame *f)
{
    const char *op;
    int rc;

    memset(f, 0, sizeof(*f));
    /* JSON_ALLOW_NUL: a published payload may hold NUL bytes. */
    f->root = json_loadb(text, len, JSON_ALLOW_NUL, NULL);
    if (!json_is_object(f->root) || sc_get_str(f->root, "op", 1, &op)) {
        sc_frame_clear(f);
        return -EBADMSG;
    }
    for (size_t i = 0; i < sizeof(sc_ops) / sizeof(sc_ops[0]); i++)
        if (!strcmp(op, sc_ops[i].name))
            f->op = sc_ops[i].op;
    rc = sc_parse_members(f);
    if (rc)
        sc_frame_clear(f);
    return rc;
}

void sc_frame_clear(struct sc_frame *f)
{
    json_decref(f->root);
    free(f->owned);
    memset(f, 0, sizeof(*f));
}

/*
 * Build a JSON array of strings from C strings.  Returns the new array, or
 * NULL if one is not valid UTF-8 or memory ran out (the caller cannot tell
 * which; both end the request it was building).
 */
static json_t *sc_string_array(char *const *v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < n; i++) {
        if (json_array_append_new(a, json_string(v[i]))) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/*
 * Dump o compactly, stealing the reference.  Returns 0 with *out (and
 * *out_len when non-NULL) set, or -EINVAL when o is NULL.
 */
static int sc_dump(json_t *o, char **out, size_t *out_len)
{
    if (!o)
        return -EINVAL;
    *out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!*out)
        return -ENOMEM;
    if (out_len)
        *out_len = strlen(*out);
    return 0;
}

int sc_subscribe_request(char *const *channels, size_t n, long long id, char **out, size_t *out_len)
{
    json_t *ch;

    if (!n || !(ch = sc_string_array(channels, n)))
        return -EINVAL;
    return sc_dump(
        json_pack("{s:s, s:o, s:I}", "op", "subscribe", "channels", ch, "id", (json_int_t)id), out,
        out_len);
}

int sc_missed_event(char *const *channels, size_t n, const char *reason, char **out)
{
    json_t *ch = sc_string_array(channels, n);

    if (!ch)
        return -EINVAL;
    return sc_dump(json_pack("{s:s, s:o, s:s}", "op", "missed", "channels", ch, "reason", reason),
                   out, NULL);
}

/*
 * Append s at offset at of buf (size len), truncating, keeping buf
 * NUL-terminated.  Returns strlen(s) so callers can count the full length.
 */
static size_t sc_append(char *buf, size_t len, size_t at, const char *s)
{
    size_t sl = strlen(s);

    if (at + 1 < len) {
        size_t room = len - at - 1, n = sl < room ? sl : room;

        memcpy(buf + at, s, n);
        buf[at + n] = '\0';
    }
    return sl;
}

size_t sc_channels_join(const json_t *channels, char *buf, size_t len)
{
    size_t want = 0, i;
    const json_t *v;

    if (len)
        buf[0] = '\0';
    json_array_foreach(channels, i, v)
    {
        const char *s = json_string_value(v);

        if (!s)
            continue;
        want += sc_append(buf, len, want, want ? ", " : "");
        want += sc_append(buf, len, want, s);
    }
    return want;
}

char *sc_frame_compact(const struct sc_frame *f)
{
    return json_dumps(f->root, JSON_COMPACT);
}
