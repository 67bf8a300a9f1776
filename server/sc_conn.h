/* sc_conn: one WebSocket client: its send queue, its subscriptions, its
 * partly received message and its keep-alive state.
 *
 * lws allocates a struct sc_conn as each connection's session data and
 * frees it after LWS_CALLBACK_CLOSED; everything the struct points to is
 * freed in that callback. */
#ifndef SC_CONN_H
#define SC_CONN_H

#include <libwebsockets.h>
#include <stdint.h>

#include "sc_hub.h"
#include "sc_keepalive.h"
#include "sc_queue.h"
#include "sc_registry.h"

struct sc_conn {
    struct lws *wsi;
    struct sc_hub *hub;
    struct sc_ka_entry ka; /* on hub->ka's lists unless closing */
    struct sc_queue q;
    struct sc_sub **subs;
    uint32_t nsubs, capsubs;
    char *rx; /* message being reassembled */
    uint32_t rxlen, rxcap;
    char *key;                 /* shard key (cluster mode only) */
    struct sc_conn_auth *auth; /* identity; NULL when auth is off */
    uint32_t move_idx;         /* 1 + index in the move queue, or 0 */
    uint32_t flush_idx;        /* 1 + index in hub->flush, or 0 */
    uint32_t rl_tokens;        /* request budget, thousandths */
    uint32_t rl_ms;            /* when it was last refilled */
    uint16_t close_code;       /* nonzero: close at next writeable */
    unsigned established : 1;
    unsigned want_ping : 1;
    unsigned close_sent : 1;        /* our close frame is out */
    unsigned close_after_queue : 1; /* send what is queued, then close */
    unsigned awaiting_writable : 1; /* socket was full: WRITEABLE resumes */
    unsigned tls : 1;               /* only lws may write (SSL), but close_notify */
    unsigned failed : 1;            /* broke RFC 6455: half-close after our close frame */
    unsigned half_closed : 1;       /* our side of the connection is shut */
};

/* Queue a frame to the client (a reference is taken). A full queue closes
 * the connection as a slow consumer. Returns 0, or -1 if the connection is
 * closing and the frame was not queued. */
int sc_conn_send(struct sc_conn *c, struct sc_msg *m);

/* Close with a WebSocket close code at the next chance to write; drops
 * whatever is still queued. */
void sc_conn_close(struct sc_conn *c, uint16_t code);

/* Fail the connection (RFC 6455 7.1.7): a close frame with code, then our
 * side of the TCP connection is shut. For the read hook (sc_rxgate.c),
 * which has already stopped passing on what the client sends. */
void sc_conn_fail(struct sc_conn *c, uint16_t code);

/* Flush every connection that got frames this loop iteration. */
void sc_conn_flush_pending(struct sc_hub *hub);

/* Close with code once everything already queued is sent: for a last
 * event (redirect, move) that must reach the client before the close. */
void sc_conn_close_after(struct sc_conn *c, uint16_t code);

/* Send the missed-messages event listing c's subscriptions, if any. */
void sc_conn_send_missed(struct sc_conn *c);

/* Identity (sc_conn_auth.c). start: at ESTABLISHED, adopt the claims the
 * upgrade check handed over (or, in required mode, start the clock for an
 * auth message); returns 0 or -ENOMEM. gate: SC_PERR_UNAUTHORIZED if op
 * is not allowed yet. request: carry out {"op":"auth"}; returns an error
 * code for the reply (msg filled), SC_PERR_NONE or -ENOMEM, and sets
 * *close_code (else 0) when the connection must close once that reply is
 * out. claims: the connection's verified claims, or NULL. end: at close.
 * subject: the token's sub, or NULL. */
int sc_conn_auth_start(struct sc_conn *c);
int sc_conn_auth_gate(const struct sc_conn *c, enum sc_op op);
int sc_conn_auth_request(struct sc_conn *c, const struct sc_request *req, char *msg, size_t msglen,
                         uint16_t *close_code);
const struct sc_jwt_claims *sc_conn_auth_claims(const struct sc_conn *c);
const char *sc_conn_auth_subject(const struct sc_conn *c);
void sc_conn_auth_end(struct sc_conn *c);
/* Close connections whose token expired or that never authenticated. */
void sc_conn_auth_sweep(struct sc_hub *hub);

/* The connection whose keep-alive entry is linked by l (iterating the
 * hub's keep-alive lists, which hold every connection not closing). */
static inline struct sc_conn *sc_conn_of(struct sc_link *l)
{
    return sc_container_of(sc_container_of(l, struct sc_ka_entry, link), struct sc_conn, ka);
}

/* Keep-alive callbacks (sc_keepalive_init's ping and dead, data = hub):
 * send a ping; close with 4101 after no answer. */
void sc_conn_ping_due(struct sc_ka_entry *e, void *hub);
void sc_conn_ping_timeout(struct sc_ka_entry *e, void *hub);

/* Queue a shared frame m to every connection not closing (m keeps the
 * caller's reference). Returns how many took it. */
size_t sc_conn_broadcast(struct sc_hub *hub, struct sc_msg *m);

/* The status event (docs/protocol.md, "Redis status"): Redis is up (1)
 * or down (0). NULL on allocation failure (counted and logged). */
struct sc_msg *sc_conn_status_frame(struct sc_hub *hub, int up);

/* The WebSocket protocol's lws callback. */
int sc_conn_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len);

#endif
