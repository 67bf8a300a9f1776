/* WebSocket (RFC 6455) framing for the client side: a streaming parser for
 * server frames that accepts input split anywhere, and an encoder for masked
 * client frames. */
#ifndef SC_BENCH_WS_FRAME_H
#define SC_BENCH_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

enum {
    SC_WS_CONT = 0x0,
    SC_WS_TEXT = 0x1,
    SC_WS_BINARY = 0x2,
    SC_WS_CLOSE = 0x8,
    SC_WS_PING = 0x9,
    SC_WS_PONG = 0xA,
};

/* Largest client frame header: 2 + 8 (64-bit length) + 4 (mask). */
#define SC_WS_MAX_HEADER 14

/* Called once per complete message (data messages after reassembly of
 * fragments) and once per control frame. Return 0 to go on; any other value
 * stops the parse and is returned by sc_ws_parse. */
typedef int (*sc_ws_msg_fn)(void *ctx, int opcode, const uint8_t *data, size_t len);

struct sc_ws_parser {
    uint8_t hdr[SC_WS_MAX_HEADER];
    uint8_t hdr_len;    /* header bytes gathered so far */
    uint8_t hdr_need;   /* header bytes this frame needs (2 until known) */
    uint8_t in_payload; /* header complete, payload bytes pending */
    uint8_t opcode;     /* opcode of the current frame */
    uint8_t fin;
    uint8_t msg_op; /* opcode of a fragmented message in progress, or 0 */
    uint64_t left;  /* payload bytes of the current frame still to come */
    uint8_t *buf;   /* data message reassembly (fragments, split frames) */
    size_t buf_len;
    size_t buf_cap;
    size_t max_msg;
    uint8_t ctl_len;
    uint8_t ctl[125]; /* control frame payloads are at most 125 bytes */
};

void sc_ws_parser_init(struct sc_ws_parser *p, size_t max_msg);
void sc_ws_parser_free(struct sc_ws_parser *p);
int sc_ws_parse(struct sc_ws_parser *p, const uint8_t *in, size_t len, sc_ws_msg_fn fn, void *ctx);

size_t sc_ws_encode(uint8_t *out, size_t cap, int opcode, const void *payload, size_t len,
                    uint32_t mask_key);

#endif
