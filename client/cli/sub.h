/*
 * sub.h - state of one "shardcast-cli sub" run, shared by the connection
 * side (sub.c) and the frame side (sub_frames.c).  Private to the
 * subcommand.
 */
#ifndef SC_CLI_SUB_H
#define SC_CLI_SUB_H

#include "cli.h"
#include "url.h"

#include <libwebsockets.h>
#include <stdint.h>

/* Where the single connection is in its life. */
enum sc_state {
    SC_ST_IDLE,       /* no connection; sul_connect may be pending */
    SC_ST_CONNECTING, /* lws is connecting / handshaking */
    SC_ST_OPEN,       /* WebSocket established */
    SC_ST_DONE,       /* exit_code is final; the loop is ending */
};

struct sc_sub {
    const struct sc_sub_opts *o;
    struct lws_context *ctx;
    struct lws *wsi;
    enum sc_state st;
    int exit_code;

    struct sc_ws_url origin; /* command line URL, with the key */
    struct sc_ws_url cur;    /* where the next attempt goes */
    struct sc_ws_url next;   /* from a redirect/move, not yet used */
    int has_next;
    char *shard;     /* shard of the last accepted redirect */
    long long epoch; /* and its epoch, when it had one */
    int has_epoch;

    lws_sorted_usec_list_t sul_connect;
    lws_sorted_usec_list_t sul_timeout;
    lws_sorted_usec_list_t sul_handshake; /* --connect-timeout */
    char host_hdr[300];

    unsigned char *rx; /* one frame, reassembled */
    size_t rx_len, rx_cap;
    unsigned char *tx; /* LWS_PRE + the subscribe request */
    size_t tx_len;

    long long sub_id;   /* id of this connection's subscribe */
    int subscribed;     /* this connection got its "ok" */
    int ever_open;      /* a handshake has succeeded once */
    int handshake_late; /* this attempt hit --connect-timeout */
    int gap;            /* lost a subscription; report it */
    int close_code;     /* peer's close code, or 1006 */
    char close_reason[124];

    unsigned int failures;     /* backoff attempts since the last ok */
    unsigned int cur_failures; /* connect failures in a row at cur */
    unsigned int rapid;        /* at-once reconnects since the last ok */

    long received;
    int64_t last_msg_us; /* CLOCK_MONOTONIC */
};

/*
 * sc_sub_finish() - record the final exit status and stop: no reconnect
 * is scheduled after this and the service loop ends.  The first status
 * recorded wins.
 */
void sc_sub_finish(struct sc_sub *s, int code);

/* sc_sub_now_us() - CLOCK_MONOTONIC in microseconds. */
int64_t sc_sub_now_us(void);

/*
 * sc_sub_frame() - act on one complete text frame from the node (s->rx,
 * s->rx_len bytes).  Returns 0 to keep the connection, or -1 when the run
 * is over (sc_sub_finish() was called) and the connection should close.
 */
int sc_sub_frame(struct sc_sub *s);

#endif /* SC_CLI_SUB_H */
