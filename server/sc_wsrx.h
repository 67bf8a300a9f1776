/* sc_wsrx: an incremental checker of the raw bytes one client sends, fed
 * exactly what the node reads from the socket, before libwebsockets parses
 * them (sc_rxgate.c feeds it). It looks only for what lws 4.1 gets wrong or
 * answers with a bare TCP close:
 *
 * - the HTTP request head, up to its blank line: a header line without a
 *   colon (lws keeps swallowing it until its buffer fills or the handshake
 *   times out) is 400; a head over SC_WSRX_HEAD_MAX bytes is 431. It also
 *   notes whether the head asks for an upgrade, and skips a Content-Length
 *   body, so it knows whether frames or another request head follow;
 * - WebSocket frames (RFC 6455 section 5), server side: every frame header
 *   (RSV bits, opcodes, masking, fragmentation, control-frame rules, the
 *   64-bit length's top bit) is 1002; a message whose announced size (with
 *   what earlier fragments brought) passes the limit is 1009 as soon as the
 *   length is known; a close frame's payload (1 byte, a code a peer may not
 *   send) is 1002, and its reason must be UTF-8 (1007). Other payloads are
 *   skipped without being looked at; lws checks text for UTF-8 itself.
 *
 * Pure: no I/O, no allocation. The state is small (idle connections
 * dominate the node's memory) and the same for any split of the input. */
#ifndef SC_WSRX_H
#define SC_WSRX_H

#include <stddef.h>
#include <stdint.h>

/* A request head longer than this is refused with 431. The node gives lws
 * a header buffer of this size (sc_server.c); lws stores less than the raw
 * head for most requests, so lws's own overflow (a bare close) is left
 * only for heads of many tiny unknown headers. */
#define SC_WSRX_HEAD_MAX 4096

enum sc_wsrx_mode {
    SC_WSRX_HEAD,   /* in an HTTP request head */
    SC_WSRX_BODY,   /* in a request body of known length */
    SC_WSRX_FRAMES, /* WebSocket frames from the client */
    SC_WSRX_PASS,   /* a body of unknown length: no longer checked */
    SC_WSRX_CLOSED, /* the client's close frame is complete */
    SC_WSRX_FAILED, /* failed; code holds why */
};

/* sc_wsrx_feed() results besides the failure codes (HTTP 400 or 431,
 * WebSocket 1002, 1007 or 1009). */
enum {
    SC_WSRX_OK = 0,  /* every byte may go on */
    SC_WSRX_END = 1, /* the client's close frame ended: nothing after it may */
};

struct sc_wsrx {
    uint32_t n;      /* head: its bytes so far; body, frames: bytes left */
    uint32_t msg;    /* frames: earlier fragments' bytes; head: Content-Length */
    uint8_t mask[4]; /* the frame's masking key */
    uint16_t code;   /* the client's close code (0: none), or the failure */
    uint8_t mode;    /* enum sc_wsrx_mode */
    uint8_t st;      /* where in the head line or the frame header */
    uint8_t b0;      /* frames: the header's first byte; head: name candidates */
    uint8_t aux;     /* length bytes left, key or close payload index; name index */
    uint8_t utf8;    /* close reason: UTF-8 decoder state */
    uint8_t flags;   /* SC_WSRX_F_* (sc_wsrx.c) */
};

/* A fresh connection: a request head comes first. */
void sc_wsrx_init(struct sc_wsrx *rx);

/* Frames come next (lws upgraded the connection); a checker still in a
 * head or past a body it could not follow has lost track (see the .c). */
void sc_wsrx_upgraded(struct sc_wsrx *rx);

/* lws answered the request as plain HTTP: a request head comes next, even
 * if this one asked for an upgrade. */
void sc_wsrx_served_http(struct sc_wsrx *rx);

/* Another check refused the connection with code (an HTTP status or a
 * close code): from now on every byte is dropped, as after a failure of
 * this checker's own. */
void sc_wsrx_fail(struct sc_wsrx *rx, uint16_t code);

/* Check the next len bytes. Returns SC_WSRX_OK (all of them are fine),
 * SC_WSRX_END, or a failure code; then *ok is the number of bytes before
 * the one that ended the frame (END) or showed the failure, and every later
 * call returns the same with *ok = 0. max_message is the largest message in
 * bytes (--max-message-size). */
int sc_wsrx_feed(struct sc_wsrx *rx, uint32_t max_message, const unsigned char *p, size_t len,
                 size_t *ok);

/* The status code of the client's close frame once it ended (END), or 0
 * when it carried none. */
uint16_t sc_wsrx_close_code(const struct sc_wsrx *rx);

#endif
