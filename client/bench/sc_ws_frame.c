/* Client-side WebSocket framing.
 *
 * The parser is a byte-stream state machine so that a frame can be split at
 * any byte by TCP: header bytes are gathered into a 14-byte array, payload
 * is handed out without a copy when a whole unfragmented frame sits in one
 * input chunk (the common case under load), and copied into a per-parser
 * buffer only when a frame spans chunks or a message spans fragments. */
#include "sc_ws_frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Contract: p is ready to parse a fresh stream; messages larger than max_msg
 * make sc_ws_parse fail with -EMSGSIZE. No memory is held until needed. */
void sc_ws_parser_init(struct sc_ws_parser *p, size_t max_msg)
{
    memset(p, 0, sizeof(*p));
    p->hdr_need = 2;
    p->max_msg = max_msg;
}

/* Contract: releases the reassembly buffer; p may be re-initialised. */
void sc_ws_parser_free(struct sc_ws_parser *p)
{
    free(p->buf);
    p->buf = NULL;
    p->buf_len = p->buf_cap = 0;
}

/* Contract: 0 when the 2-byte prefix is acceptable from a server, -EPROTO for
 * reserved bits (no extension is negotiated), masking, unknown opcodes, and
 * fragmentation rules RFC 6455 5.4/5.5 forbid. Sets hdr_need. */
static int check_prefix(struct sc_ws_parser *p)
{
    uint8_t b0 = p->hdr[0], b1 = p->hdr[1], len7 = b1 & 0x7f;
    int op = b0 & 0x0f;

    if ((b0 & 0x70) || (b1 & 0x80))
        return -EPROTO;
    switch (op) {
    case SC_WS_CONT:
        if (!p->msg_op)
            return -EPROTO;
        break;
    case SC_WS_TEXT:
    case SC_WS_BINARY:
        if (p->msg_op)
            return -EPROTO;
        break;
    case SC_WS_CLOSE:
    case SC_WS_PING:
    case SC_WS_PONG:
        if (!(b0 & 0x80) || len7 > 125)
            return -EPROTO;
        break;
    default: return -EPROTO;
    }
    p->opcode = (uint8_t)op;
    p->fin = (b0 & 0x80) != 0;
    p->hdr_need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
    return 0;
}

/* Contract: called when the whole header is in p->hdr; sets the payload
 * length and enforces max_msg over the message reassembled so far. */
static int finish_header(struct sc_ws_parser *p)
{
    uint8_t len7 = p->hdr[1] & 0x7f;
    uint64_t n = len7;
    int i;

    if (len7 == 126) {
        n = ((uint64_t)p->hdr[2] << 8) | p->hdr[3];
        if (n < 126)
            return -EPROTO; /* RFC 6455 5.2: minimal length encoding */
    } else if (len7 == 127) {
        n = 0;
        for (i = 0; i < 8; i++)
            n = (n << 8) | p->hdr[2 + i];
        if ((n >> 63) || n <= 0xffff)
            return -EPROTO;
    }
    if (p->opcode < SC_WS_CLOSE && n > p->max_msg - p->buf_len)
        return -EMSGSIZE;
    p->left = n;
    p->in_payload = 1;
    p->ctl_len = 0;
    return 0;
}

/* Contract: appends len bytes to the reassembly buffer, growing it
 * geometrically; -ENOMEM leaves it unchanged. */
static int buf_append(struct sc_ws_parser *p, const uint8_t *data, size_t len)
{
    size_t cap;
    uint8_t *nb;

    if (p->buf_len + len > p->buf_cap) {
        cap = p->buf_cap ? p->buf_cap : 256;
        while (cap < p->buf_len + len)
            cap *= 2;
        nb = realloc(p->buf, cap);
        if (!nb)
            return -ENOMEM;
        p->buf = nb;
        p->buf_cap = cap;
    }
    memcpy(p->buf + p->buf_len, data, len);
    p->buf_len += len;
    return 0;
}

/* Contract: the current frame's payload is complete; hands out a control
 * frame or, on FIN, the reassembled data message. direct/dlen is the payload
 * when it was not copied (whole unfragmented frame in one chunk). Returns the
 * callback's value. */
static int finish_frame(struct sc_ws_parser *p, const uint8_t *direct, size_t dlen, sc_ws_msg_fn fn,
                        void *ctx)
{
    int op = p->opcode, rc;

    p->in_payload = 0;
    p->hdr_len = 0;
    p->hdr_need = 2;
    if (op >= SC_WS_CLOSE)
        return fn(ctx, op, p->ctl, p->ctl_len);
    if (!p->fin) {
        if (op != SC_WS_CONT)
            p->msg_op = (uint8_t)op;
        return 0;
    }
    if (op == SC_WS_CONT)
        op = p->msg_op;
    p->msg_op = 0;
    if (direct)
        return fn(ctx, op, direct, dlen);
    rc = fn(ctx, op, p->buf, p->buf_len);
    p->buf_len = 0;
    return rc;
}

/* Contract: consumes payload bytes of the current frame from *in; returns 0
 * or what finish_frame returned; -ENOMEM if reassembly could not grow. */
static int eat_payload(struct sc_ws_parser *p, const uint8_t **in, size_t *len, sc_ws_msg_fn fn,
                       void *ctx)
{
    size_t n = *len < p->left ? *len : (size_t)p->left;
    const uint8_t *data = *in;
    int rc;

    *in += n;
    *len -= n;
    if (p->opcode >= SC_WS_CLOSE) {
        memcpy(p->ctl + p->ctl_len, data, n);
        p->ctl_len = (uint8_t)(p->ctl_len + n);
    } else if (p->fin && p->opcode != SC_WS_CONT && n == p->left && p->buf_len == 0) {
        /* Whole unfragmented frame in this chunk: no copy. */
        p->left = 0;
        return finish_frame(p, data, n, fn, ctx);
    } else if (n && (rc = buf_append(p, data, n)) < 0) {
        return rc;
    }
    p->left -= n;
    return p->left ? 0 : finish_frame(p, NULL, 0, fn, ctx);
}

/* Contract: feeds len bytes of server stream to the parser, calling fn for
 * each complete message or control frame. Returns 0 when all input was
 * consumed, a negative errno on a protocol violation (-EPROTO), oversize
 * message (-EMSGSIZE) or allocation failure, or the first non-zero value fn
 * returned (the rest of the input is then left unparsed). */
int sc_ws_parse(struct sc_ws_parser *p, const uint8_t *in, size_t len, sc_ws_msg_fn fn, void *ctx)
{
    size_t n;
    int rc;

    while (len > 0) {
        if (p->in_payload) {
            rc = eat_payload(p, &in, &len, fn, ctx);
            if (rc)
                return rc;
            continue;
        }
        n = p->hdr_need - p->hdr_len;
        if (n > len)
            n = len;
        memcpy(p->hdr + p->hdr_len, in, n);
        p->hdr_len = (uint8_t)(p->hdr_len + n);
        in += n;
        len -= n;
        if (p->hdr_len == 2 && p->hdr_need == 2 && (rc = check_prefix(p)) < 0)
            return rc;
        if (p->hdr_len < p->hdr_need)
            continue;
        if ((rc = finish_header(p)) < 0)
            return rc;
        /* Zero-length frames complete without payload bytes. */
        if (p->left == 0 && (rc = eat_payload(p, &in, &len, fn, ctx)))
            return rc;
    }
    return 0;
}

/* Contract: writes one masked client frame (FIN set) into out and returns its
 * size, or 0 when cap is too small. The payload is masked with mask_key as
 * RFC 6455 5.3 requires of every client frame. */
size_t sc_ws_encode(uint8_t *out, size_t cap, int opcode, const void *payload, size_t len,
                    uint32_t mask_key)
{
    const uint8_t *src = payload;
    uint8_t mask[4];
    size_t h = 2, i;

    if (len >= 126)
        h += len > 0xffff ? 8 : 2;
    if (cap < h + 4 || cap - h - 4 < len)
        return 0;
    out[0] = (uint8_t)(0x80 | (opcode & 0x0f));
    if (len < 126) {
        out[1] = (uint8_t)(0x80 | len);
    } else if (len <= 0xffff) {
        out[1] = 0x80 | 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
    } else {
        out[1] = 0x80 | 127;
        for (i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
    }
    memcpy(mask, &mask_key, 4);
    memcpy(out + h, mask, 4);
    h += 4;
    for (i = 0; i < len; i++)
        out[h + i] = src[i] ^ mask[i & 3];
    return h + len;
}
