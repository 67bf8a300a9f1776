/* sc_proto: protocol v1 requests and replies (docs/protocol.md).
 *
 * Parsing takes untrusted bytes from a socket; it never trusts a length or
 * a type, and every failure maps to one documented error code. */
#ifndef SC_PROTO_H
#define SC_PROTO_H

#include <jansson.h>
#include <stddef.h>

#include "sc_msg.h"

enum sc_op { SC_OP_SUBSCRIBE, SC_OP_UNSUBSCRIBE, SC_OP_PING, SC_OP_AUTH };

enum sc_perr {
    SC_PERR_NONE = 0,
    SC_PERR_BAD_JSON,
    SC_PERR_BAD_REQUEST,
    SC_PERR_UNKNOWN_OP,
    SC_PERR_BAD_CHANNEL,
    SC_PERR_TOO_MANY_CHANNELS,
    SC_PERR_UNAUTHORIZED,
    SC_PERR_FORBIDDEN,
    SC_PERR_RATE_LIMITED,
};

struct sc_proto_limits {
    size_t max_channels; /* per request and per connection */
    size_t max_channel_length;
    int utf8; /* channel names may be any UTF-8 */
};

struct sc_request {
    enum sc_op op;
    json_t *root; /* owns everything below */
    json_t *id;   /* NULL when absent */
    size_t nchannels;
    json_t *channels;  /* array of strings, NULL for ping */
    const char *token; /* auth: the token (owned by root) */
    size_t token_len;
};

/* Parse one text message. Returns SC_PERR_NONE and fills req, or an error
 * code with a human message in msg; req->id is set whenever the id could
 * be read, so the error reply can echo it. Valid JSON with an integer
 * beyond 64 bits is bad_request (not bad_json), and such an id is not
 * echoed. Always call sc_request_free(). */
enum sc_perr sc_request_parse(const char *text, size_t len, const struct sc_proto_limits *lim,
                              struct sc_request *req, char *msg, size_t msglen);
void sc_request_free(struct sc_request *req);

/* Channel i of a parsed request (valid name, checked by the parser). */
const char *sc_request_channel(const struct sc_request *req, size_t i, size_t *len);

/* Returns SC_PERR_NONE if name[0..len) is an allowed channel name, else
 * SC_PERR_BAD_CHANNEL with the reason in msg. */
enum sc_perr sc_channel_check(const char *name, size_t len, const struct sc_proto_limits *lim,
                              char *msg, size_t msglen);

/* A channel name as (pointer, length) into a buffer someone else owns. */
struct sc_name {
    const char *p;
    size_t len;
};

/* Split a comma-separated list of channel names (the ?channels= value of
 * a WebSocket URL) and check it as a subscribe request's channels are
 * checked: an empty name (",,", or a comma first or last) is bad_channel,
 * more names than max_channels is too_many_channels, found before anything
 * is allocated. An empty list has no names. Returns SC_PERR_NONE with *out
 * (NULL when *count is 0, else the caller frees it; the names point into
 * list), an error code with the reason in msg and *out NULL, or -ENOMEM. */
int sc_channel_list_parse(const char *list, size_t len, const struct sc_proto_limits *lim,
                          struct sc_name **out, size_t *count, char *msg, size_t msglen);

/* 1 if the name is a Redis glob pattern (has *, ? or [). */
int sc_channel_is_pattern(const char *name, size_t len);

/* The wire code of an error ("bad_json", ...). */
const char *sc_perr_code(enum sc_perr e);

/* {"op":"ok"[,"id":ID]} and {"op":"error"[,"id":ID],"code":..,"message":..}.
 * NULL on allocation failure. */
struct sc_msg *sc_reply_ok(const json_t *id);
struct sc_msg *sc_reply_error(const json_t *id, enum sc_perr e, const char *message);

#endif
