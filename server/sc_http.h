/* sc_http: the node's HTTP side on its one port: /healthz, /metrics,
 * /route, /shards, the demo page, and the checks that admit or refuse a
 * WebSocket upgrade (docs/protocol.md, "The opening handshake"). */
#ifndef SC_HTTP_H
#define SC_HTTP_H

#include <libwebsockets.h>

/* The HTTP protocol's lws callback. */
int sc_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len);

/* Admit or refuse a WebSocket upgrade (the handshake per RFC 6455 4.2.1,
 * path, connection limit, Origin, ?token=, ?key=, ?channels=). Returns 0
 * to admit, or -1 after writing the refusal (400, 401, 403, 404, 426 or
 * 503, docs/protocol.md), for lws to close the connection. */
int sc_http_confirm_upgrade(struct lws *wsi, const char *proto);

#endif
