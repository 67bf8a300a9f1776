/*
 * msg.h - the JSON side of the shardcast protocol as a client sees it:
 * building requests and taking server frames apart.  No I/O here, so all of
 * it is unit-tested.
 */
#ifndef SC_CLI_MSG_H
#define SC_CLI_MSG_H

#include <jansson.h>
#include <stddef.h>

/* The server frames a client acts on; anything else is SC_OP_UNKNOWN. */
enum sc_op {
    SC_OP_UNKNOWN,
    SC_OP_MESSAGE,
    SC_OP_MISSED,
    SC_OP_OK,
    SC_OP_ERROR,
    SC_OP_REDIRECT, /* followed by close 4200: reconnect to url now */
    SC_OP_MOVE,     /* followed by close 4201: reconnect to url now */
    SC_OP_HELLO,    /* a clustered node's greeting */
    SC_OP_STATUS,   /* the node lost Redis, or has it again */
};

/*
 * One parsed server frame.  String members point into root (or into owned,
 * for a base64 payload) and live until sc_frame_clear().  Members that do not
 * apply to op, or that the frame lacks, are NULL / 0.
 */
struct sc_frame {
    enum sc_op op;
    json_t *root;

    /* message */
    const char *channel;
    const char *pattern;
    const unsigned char *data; /* decoded payload; may hold NULs */
    size_t data_len;
    int base64;           /* data arrived base64-encoded */
    unsigned char *owned; /* buffer behind data when base64 */

    /* ok, error (our requests always carry integer ids) */
    int has_id;
    long long id;
    const char *code;
    const char *message;

    /* missed */
    const json_t *channels; /* array of strings, or NULL */
    const char *reason;

    /* redirect, move; hello (shard, epoch) */
    const char *url;
    const char *shard;
    int has_epoch;
    long long epoch;

    /* hello */
    const char *key;
    long n_shards; /* entries of "shards", -1 without it */

    /* status: "up", "down", or a value from a newer node */
    const char *redis;
};

/*
 * sc_frame_parse() - take one text frame apart.
 * On 0, *f is filled and must be released with sc_frame_clear(); an op this
 * client does not know gives SC_OP_UNKNOWN (newer nodes may send more).
 * Errors, after which *f holds nothing: -EBADMSG (not a JSON object: bad
 * JSON, invalid UTF-8, no string "op"), -EPROTO (a known op with a missing or
 * mistyped member, or bad base64), -ENOTSUP (a payload encoding other than
 * base64), -ENOMEM.
 */
int sc_frame_parse(const char *text, size_t len, struct sc_frame *f);

/* sc_frame_clear() - release a parsed frame; safe on a zeroed one. */
void sc_frame_clear(struct sc_frame *f);

/*
 * sc_subscribe_request() - build {"op":"subscribe","channels":[...],"id":id}.
 * Returns 0 and a malloc'd compact JSON text in *out (length in *out_len),
 * -EINVAL if n is 0 or a channel is not valid UTF-8 (JSON cannot carry it),
 * or -ENOMEM.
 */
int sc_subscribe_request(char *const *channels, size_t n, long long id, char **out,
                         size_t *out_len);

/*
 * sc_missed_event() - a client-side "missed" event for the channels
 * we hold, in the same shape the node uses, for --json consumers to treat
 * the client's own reconnect gap like the node's Redis gap.
 * Returns 0 and a malloc'd JSON text in *out, -EINVAL or -ENOMEM.
 */
int sc_missed_event(char *const *channels, size_t n, const char *reason, char **out);

/*
 * sc_channels_join() - the names in a JSON array of strings joined with
 * ", " for a human; non-strings are skipped.  Writes a NUL-terminated,
 * possibly truncated string and returns the length it wanted (snprintf
 * style).
 */
size_t sc_channels_join(const json_t *channels, char *buf, size_t len);

/*
 * sc_frame_compact() - the frame re-encoded as one line of JSON, for --json
 * output of a frame that came with raw line breaks.  Returns a malloc'd
 * string or NULL on allocation failure.
 */
char *sc_frame_compact(const struct sc_frame *f);

#endif /* SC_CLI_MSG_H */
