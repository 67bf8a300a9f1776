/* sc_msg: one complete, immutable WebSocket text frame, shared by
 * reference count.
 *
 * A published message is encoded once per node into a sc_msg; every
 * subscriber's queue holds a reference to the same bytes, so a fan-out to N
 * connections costs N pointer pushes and no copies. The frame carries its
 * own header (server frames are unmasked, so it is the same for every
 * receiver) and LWS_PRE bytes of headroom in front, as lws_write() wants. */
#ifndef SC_MSG_H
#define SC_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "sc_buf.h"

struct sc_msg {
    uint32_t refs;
    uint32_t off; /* frame start, from the start of this struct */
    size_t len;   /* frame length, header included */
};

/* Start building a frame body in b: reserves the headroom so the finished
 * frame needs no copy. Append the JSON body to b afterwards. */
void sc_msg_begin(struct sc_buf *b);

/* Turn the body built in b into a frame with one reference. Takes b's
 * storage (b is left empty and reusable). Returns NULL and frees the
 * storage if b failed to allocate. */
struct sc_msg *sc_msg_finish(struct sc_buf *b);

/* A frame holding a copy of json[0..len). NULL on allocation failure. */
struct sc_msg *sc_msg_text(const char *json, size_t len);

/* The delivery frame {"op":"message","channel":...,["pattern":...,]"data":...}
 * for a message Redis handed us; data that is not UTF-8 goes base64 with
 * "encoding":"base64". pattern may be NULL. NULL on allocation failure. */
struct sc_msg *sc_msg_delivery(const char *channel, size_t clen, const char *pattern, size_t plen,
                               const char *data, size_t dlen);

static inline struct sc_msg *sc_msg_ref(struct sc_msg *m)
{
    m->refs++;
    return m;
}

/* Drop one reference; the frame is freed with its last one. */
void sc_msg_unref(struct sc_msg *m);

static inline const unsigned char *sc_msg_frame(const struct sc_msg *m)
{
    return (const unsigned char *)m + m->off;
}

/* The body (JSON text) of the frame, for tests and logs. */
const char *sc_msg_body(const struct sc_msg *m, size_t *len);

#endif
