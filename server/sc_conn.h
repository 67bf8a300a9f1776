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

#include "sc_queue.h"
#include "sc_registry.h"
#include "sc_server.h"

enum { SC_LIST_NONE = 0, SC_LIST_ACTIVE, SC_LIST_PINGED };

struct sc_conn {
    struct lws *wsi;
    struct sc_server *srv;
    struct sc_conn *lprev, *lnext; /* on srv->active or srv->pinged */
    uint32_t stamp_ms;             /* last traffic, or when pinged (wraps) */
    uint8_t list;                  /* SC_LIST_*: which of the two */
    struct sc_queue q;
    struct sc_sub **subs;
    uint32_t nsubs, capsubs;
    char *rx;                      /* message being reassembled */
    uint32_t rxlen, rxcap;
    char *key;                     /* shard key (cluster mode only) */
    struct sc_conn_auth *auth;     /* identity; NULL when auth is off */
    uint32_t move_idx;             /* 1 + index in the move queue, or 0 */
    uint32_t flush_idx;            /* 1 + index in srv->flush, or 0 */
    uint32_t rl_tokens;            /* request budget, thousandths */
    uint32_t rl_ms;                /* when it was last refilled */
    uint16_t close_code;           /* nonzero: close at next writeable */
    unsigned established : 1;
    unsigned want_ping : 1;
    unsigned close_sent : 1;       /* our close frame is out */
    unsigned close_after_queue : 1; /* send what is queued, then close */
    unsigned awaiting_writable : 1; /* socket was full: WRITEABLE resumes */
    unsigned tls : 1;              /* only lws may write (SSL), but close_notify */
    unsigned failed : 1;           /* broke RFC 6455: half-close after our close frame */
    unsigned half_closed : 1;      /* our side of the connection is shut */
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
void sc_conn_flush_pending(struct sc_server *srv);

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
int sc_conn_auth_request(struct sc_conn *c, const struct sc_request *req, char *msg,
                         size_t msglen, uint16_t *close_code);
const struct sc_jwt_claims *sc_conn_auth_claims(const struct sc_conn *c);
const char *sc_conn_auth_subject(const struct sc_conn *c);
void sc_conn_auth_end(struct sc_conn *c);
/* Close connections whose token expired or that never authenticated. */
void sc_conn_auth_sweep(struct sc_server *srv);

/* Verify a token, as sc_auth_verify(), and count it in
 * shardcast_token_verifications_total: every verification goes through
 * here, so the count shows each token is verified once per connection. */
int sc_conn_auth_verify(struct sc_server *srv, const char *token, size_t len,
                        struct sc_jwt_claims **out, const char **code);

/* The upgrade of wsi was admitted with these verified claims (NULL: no
 * token). The connection wsi becomes takes them at ESTABLISHED, which
 * lws runs within the same call as the upgrade check, instead of
 * verifying the token a second time. Takes ownership of claims; a
 * handover nobody took is freed by the next one or at cleanup. */
void sc_conn_auth_handover(struct sc_server *srv, struct lws *wsi,
                           struct sc_jwt_claims *claims);

/* May a client with these claims (NULL: anonymous) subscribe to name?
 * SC_PERR_NONE, or SC_PERR_FORBIDDEN with the reason in msg when its
 * permissions do not allow it (auth on; budget as sc_auth_may_read) or
 * when it is reserved for the node: names under "<cluster-prefix>:" and
 * SC_REDIS_PROBE_PREFIX, and patterns that could match one of them. The
 * same check at the upgrade (?channels=) and for subscribe requests. */
int sc_conn_may_subscribe(struct sc_server *srv, const struct sc_jwt_claims *claims,
                          const char *name, size_t len, uint64_t *budget, char *msg,
                          size_t msglen);

/* Room for one URL argument: lws keeps a request's whole head in a
 * 4096-byte buffer (max_http_header_data), so none is longer. */
#define SC_URL_ARG_MAX 8192

/* ?channels= of wsi (an upgrade being checked, or a connection just
 * established), read into buf[0..buflen) and split and checked by
 * sc_channel_list_parse(); absent means no names. Returns as that does:
 * free *names after use, and keep buf while they are used. */
int sc_conn_url_channels(struct lws *wsi, const struct sc_proto_limits *lim, char *buf,
                         size_t buflen, struct sc_name **names, size_t *count, char *msg,
                         size_t msglen);

/* Keep-alive (sc_sweep.c): note traffic from c (nothing once c is
 * closing: a closing connection is never on a keep-alive list again), take
 * c off its list, and run one sweep. */
void sc_sweep_touch(struct sc_conn *c, uint64_t now_ms);
void sc_sweep_remove(struct sc_conn *c);
void sc_sweep_run(struct sc_server *srv, uint64_t now_ms);

#endif
