/* sc_msg: refcounted, pre-framed WebSocket text messages. */
#include "sc_msg.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "sc_json.h"

/* struct, then LWS_PRE, then the longest WebSocket header (10 bytes). The
 * header is written right before the body, so the frame may start a few
 * bytes into this area. */
#define MSG_HEADROOM (sizeof(struct sc_msg) + LWS_PRE + 10)

void sc_msg_begin(struct sc_buf *b)
{
    static const char zeros[MSG_HEADROOM];

    sc_buf_init(b);
    sc_buf_append(b, zeros, sizeof(zeros));
}

/* Write the unmasked FIN+text header ending right before body; returns
 * its length. RFC 6455 5.2: 7-bit, 16-bit or 64-bit length forms. */
static size_t frame_header(unsigned char *body, size_t len)
{
    if (len < 126) {
        body[-2] = 0x81;
        body[-1] = (unsigned char)len;
        return 2;
    }
    if (len <= 0xFFFF) {
        body[-4] = 0x81;
        body[-3] = 126;
        body[-2] = (unsigned char)(len >> 8);
        body[-1] = (unsigned char)len;
        return 4;
    }
    body[-10] = 0x81;
    body[-9] = 127;
    for (int i = 0; i < 8; i++)
        body[-8 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
    return 10;
}

struct sc_msg *sc_msg_finish(struct sc_buf *b)
{
    struct sc_msg *m;
    unsigned char *body;
    size_t blen, hlen;

    if (sc_buf_failed(b) || b->len < MSG_HEADROOM) {
        sc_buf_free(b);
        return NULL;
    }
    /* Escaping may have doubled the capacity; queues may hold this frame
     * for a while, so give the slack back. */
    if (b->cap - b->len > 256) {
        char *p = realloc(b->data, b->len);
        if (p)
            b->data = p;
    }
    m = (struct sc_msg *)b->data;
    body = (unsigned char *)b->data + MSG_HEADROOM;
    blen = b->len - MSG_HEADROOM;
    hlen = frame_header(body, blen);
    m->refs = 1;
    m->off = (uint32_t)(MSG_HEADROOM - hlen);
    m->len = blen + hlen;
    sc_buf_init(b);
    return m;
}

struct sc_msg *sc_msg_text(const char *json, size_t len)
{
    struct sc_buf b;

    sc_msg_begin(&b);
    sc_buf_append(&b, json, len);
    return sc_msg_finish(&b);
}

struct sc_msg *sc_msg_delivery(const char *channel, size_t clen, const char *pattern, size_t plen,
                               const char *data, size_t dlen)
{
    struct sc_buf b;
    int utf8 = sc_utf8_valid((const unsigned char *)data, dlen);

    sc_msg_begin(&b);
    sc_buf_append_str(&b, "{\"op\":\"message\",\"channel\":");
    sc_json_append_string(&b, channel, clen);
    if (pattern) {
        sc_buf_append_str(&b, ",\"pattern\":");
        sc_json_append_string(&b, pattern, plen);
    }
    if (utf8) {
        sc_buf_append_str(&b, ",\"data\":");
        sc_json_append_string(&b, data, dlen);
        sc_buf_append_str(&b, "}");
    } else {
        sc_buf_append_str(&b, ",\"data\":\"");
        sc_base64_append(&b, data, dlen);
        sc_buf_append_str(&b, "\",\"encoding\":\"base64\"}");
    }
    return sc_msg_finish(&b);
}

void sc_msg_unref(struct sc_msg *m)
{
    if (--m->refs == 0)
        free(m);
}

const char *sc_msg_body(const struct sc_msg *m, size_t *len)
{
    *len = m->len - (MSG_HEADROOM - m->off);
    return (const char *)m + MSG_HEADROOM;
}
