/* sc_handshake: the pure parts of the WebSocket opening handshake (RFC
 * 6455 section 4.2.1): checks of the request's header values, a streaming
 * scanner for percent-escapes in the request target, and the small
 * HTTP/1.1 responses that refuse a handshake.
 *
 * Nothing here touches lws or a socket, so every function can be fuzzed
 * (tests/fuzz/fuzz_handshake.c) and unit-tested on bytes alone. Header
 * values are given as lws_hdr_copy() returns them: a header sent more than
 * once arrives as its values joined with ','. */
#ifndef SC_HANDSHAKE_H
#define SC_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

/* The subprotocol the node speaks (docs/protocol.md). */
#define SC_HS_SUBPROTOCOL "shardcast"

/* 1 if v[0..len) is an HTTP version a WebSocket upgrade may use: HTTP/1.1
 * (or a later HTTP/1.x). HTTP/1.0 and anything malformed give 0. */
int sc_hs_http11(const char *v, size_t len);

/* 1 if Sec-WebSocket-Version v[0..len) is exactly 13 (optional whitespace
 * around it allowed). Missing (len 0), other versions, or a list give 0. */
int sc_hs_version_13(const char *v, size_t len);

/* 1 if Sec-WebSocket-Key v[0..len) is the base64 of 16 bytes: 22 base64
 * characters then "==" (optional whitespace around it allowed). */
int sc_hs_key_valid(const char *v, size_t len);

/* 1 if the comma-separated list v[0..len) has an element equal to token
 * (compared without case when nocase), elements trimmed of whitespace. */
int sc_hs_list_has(const char *v, size_t len, const char *token, int nocase);

/* 1 if v[0..len) is a list lws 4.1 reads to its end (lws_tokenize() in
 * lws_process_ws_upgrade(), which drops the connection at anything else):
 * non-empty RFC 7230 tokens, none made of digits and dots only (lws reads
 * those as numbers), none of 63 bytes or more. */
int sc_hs_token_list(const char *v, size_t len);

/* Connection v[0..len): 1 if it is a token list (sc_hs_token_list) with
 * an "upgrade" element in any case. */
int sc_hs_connection_ok(const char *v, size_t len);

/* Sec-WebSocket-Protocol v[0..len), when the client sent one: 1 if it is a
 * token list (sc_hs_token_list) that offers SC_HS_SUBPROTOCOL and does not
 * name "http" (the node's HTTP protocol, which lws would bind to if it
 * came first). */
int sc_hs_subprotocol_ok(const char *v, size_t len);

/* The reason phrase of an HTTP status this node sends ("Bad Request"). */
const char *sc_hs_reason_phrase(unsigned status);

/* Format a whole response that ends the connection in out: "HTTP/1.1
 * <status> <phrase>", a plain-text Content-Type, Content-Length,
 * Cache-Control: no-store, Connection: close, then body (may be NULL). A
 * 426 also names what to upgrade to: Sec-WebSocket-Version: 13 (RFC 6455
 * section 4.4) and Upgrade: websocket, with Connection: Upgrade, close
 * (RFC 7231 section 6.5.15); a 405, Allow: GET (section 6.5.5). Returns
 * the length, or 0 if it does not fit in cap bytes. */
size_t sc_hs_response(char *out, size_t cap, unsigned status, const char *body);

/* Which query parameter a bad escape was found in. */
enum sc_hs_param { SC_HS_PARAM_OTHER, SC_HS_PARAM_CHANNELS, SC_HS_PARAM_KEY };

enum sc_hs_verdict {
    SC_HS_FINE = 0,    /* nothing wrong so far */
    SC_HS_BAD_ESCAPE,  /* '%' not followed by two hex digits */
    SC_HS_NUL,         /* %00, which would end the value early */
    SC_HS_BAD_UPGRADE, /* an Upgrade header lws would refuse (403) */
    SC_HS_METHOD,      /* a method lws does not know (403), or CONNECT */
    SC_HS_NOT_HTTP,    /* a request line that starts with no method */
};

/* Streaming scanner of the request heads of one HTTP/1.x connection, for
 * what lws 4.1 would answer itself, before any callback, with an HTML
 * "HTTP/1.0 403" or by dropping the connection. Set it up with
 * sc_hs_scan_init for a new connection. It follows each method (those lws
 * knows, in any case; CONNECT, which lws turns into a raw socket, is
 * refused), each request target (escapes and query parameter names
 * decoded as lws does), and the Upgrade header lines, whose value lws
 * takes whole: one header whose value, after leading spaces, is
 * "websocket" or "h2c" in any case. It starts again at the next request,
 * and stops after a request with an Upgrade header (frames follow). 8
 * bytes, so a table of one per file descriptor stays small. */
struct sc_hs_scan {
    uint8_t state;
    uint8_t ret;   /* state to resume after an escape */
    uint8_t hi;    /* first hex digit of an escape */
    uint8_t n;     /* method length, decoded name length, or line ends */
    uint8_t match; /* methods, names or Upgrade values still matching */
    uint8_t param; /* enum sc_hs_param of the value being read */
    uint8_t hp;    /* position in a header line's name or Upgrade value */
    uint8_t up;    /* this head: Upgrade seen / bad, method CONNECT */
};

void sc_hs_scan_init(struct sc_hs_scan *s);

/* Scan the next len bytes the client sent. Returns SC_HS_FINE, or the
 * first problem found; then *at is the offset in p of the byte that made
 * it one (for an Upgrade header or CONNECT, the end of the head), *param
 * the parameter it was in, and the scan is over. */
enum sc_hs_verdict sc_hs_scan_feed(struct sc_hs_scan *s, const unsigned char *p, size_t len,
                                   size_t *at, enum sc_hs_param *param);

/* The status to refuse a verdict with: 405 (with Allow: GET) for a
 * method, else 400. */
unsigned sc_hs_verdict_status(enum sc_hs_verdict v);

/* The refusal text for a verdict: "bad_channel: ...", "bad_key: ...",
 * "bad_request: ...", "GET only" or, for an Upgrade, "only WebSocket
 * upgrades are served", ending in "\n". Static storage. */
const char *sc_hs_verdict_reason(enum sc_hs_verdict v, enum sc_hs_param param);

#endif
