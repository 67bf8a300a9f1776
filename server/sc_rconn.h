/* sc_rconn: one Redis connection that stays up: connect, AUTH, liveness
 * probes and reconnect with capped exponential backoff and full jitter,
 * forever, on the node's libuv loop.
 *
 * The owner supplies the probe (what to send so that Redis answers, which
 * differs for a Pub/Sub connection and a command connection) and learns of
 * every transition through callbacks. hiredis 0.14.1 has no async
 * timeouts, so a connect that hangs and a Redis that stops answering are
 * both caught by this module's own timer. */
#ifndef SC_RCONN_H
#define SC_RCONN_H

#include <hiredis/async.h>
#include <stdint.h>
#include <uv.h>

#include "sc_config.h"

enum sc_rconn_state {
    SC_RCONN_DOWN,       /* waiting to retry */
    SC_RCONN_CONNECTING, /* TCP, AUTH and the first probe under way */
    SC_RCONN_UP,         /* answering */
    SC_RCONN_CLOSED,     /* closed for good */
};

struct sc_rconn;

struct sc_rconn_ops {
    /* Queue a command whose answer proves Redis is serving us; the reply
     * callback must call sc_rconn_answered(). Return 0, or -1 if hiredis
     * refused the command. */
    int (*probe)(struct sc_rconn *rc, redisAsyncContext *ac);
    /* The first probe after a connect was answered. */
    void (*up)(struct sc_rconn *rc);
    /* The connection is gone (whoever noticed). Not called on close. */
    void (*lost)(struct sc_rconn *rc);
};

struct sc_rconn {
    const struct sc_rconn_ops *ops;
    void *data;       /* the owner's */
    const char *name; /* for logs: "pubsub", "cluster" */
    const struct sc_config *cfg;
    uv_loop_t *loop;
    redisAsyncContext *ac; /* NULL unless connecting or up */
    enum sc_rconn_state state;
    uv_timer_t retry_timer;
    uv_timer_t live_timer;
    int open_handles;
    unsigned attempt;  /* failed tries since last up */
    uint64_t since_ms; /* connect started, or probe sent */
    int probe_out;
    uint64_t last_rx_ms; /* when anything last arrived from Redis */
    int ever_up;
    uint64_t reconnects; /* times up again after a loss */
    uint64_t rng;
    void (*closed)(struct sc_rconn *rc);
};

/* Set up and start connecting. Returns 0; failures to connect are retried,
 * not returned. */
int sc_rconn_start(struct sc_rconn *rc, uv_loop_t *loop, const struct sc_config *cfg,
                   const struct sc_rconn_ops *ops, const char *name, void *data);

/* The owner's probe was answered. */
void sc_rconn_answered(struct sc_rconn *rc);

/* Something arrived from Redis: it is alive, even if the probe's answer is
 * still queued behind a backlog of messages. */
static inline void sc_rconn_heard(struct sc_rconn *rc, uint64_t now_ms)
{
    rc->last_rx_ms = now_ms;
}

/* Give up on the current connection (not from inside a hiredis callback:
 * there use redisAsyncDisconnect). The lost callback runs; a retry is
 * scheduled. */
void sc_rconn_drop(struct sc_rconn *rc, const char *why);

/* Close for good: the connection and both timers. closed(rc) runs once
 * nothing of rc is left on the loop; the owner may free rc then. */
void sc_rconn_close(struct sc_rconn *rc, void (*closed)(struct sc_rconn *rc));

#endif
