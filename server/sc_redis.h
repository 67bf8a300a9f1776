/* sc_redis: the node's one Redis connection, for Pub/Sub.
 *
 * It keeps Redis subscribed to exactly the registry's channels, delivers
 * every message to the node, and treats Redis as a live dependency: on any
 * loss (closed socket, error, or no answer to the liveness check within
 * the timeout) it reconnects forever with capped exponential backoff and
 * full jitter, then resubscribes every channel in batches and tells the
 * node once all are back, so subscribers learn what they may have missed.
 *
 * hiredis 0.14.1 has no async timeouts and drops replies to PING while
 * subscribed, so liveness is checked by re-subscribing to a private
 * channel: Redis answers every SUBSCRIBE, even a repeated one. */
#ifndef SC_REDIS_H
#define SC_REDIS_H

#include <stdint.h>
#include <uv.h>

struct sc_server;
struct sc_redis;

/* A standalone node's liveness probe channel is this prefix, its pid and
 * a random tag. Clients may not subscribe under it (sc_conn_auth.c). */
#define SC_REDIS_PROBE_PREFIX "__shardcast.live."

/* Same values as enum sc_rconn_state. */
enum sc_redis_state {
    SC_REDIS_DOWN,       /* waiting to retry */
    SC_REDIS_CONNECTING, /* TCP, AUTH and first SUBSCRIBE under way */
    SC_REDIS_UP,         /* answering */
    SC_REDIS_CLOSED,     /* shut down for good */
};

/* Start connecting. probe_channel, if not NULL, is subscribed for the
 * liveness probe and its messages go to sc_server_control() (the cluster's
 * control channel); NULL picks a private channel. Returns 0 or -ENOMEM;
 * later failures are retried. */
int sc_redis_start(struct sc_server *srv, const char *probe_channel,
                   struct sc_redis **out);

/* The registry has commands to send: flush them before the loop next
 * waits, batched. Cheap to call many times per iteration. */
void sc_redis_kick(struct sc_redis *r);

enum sc_redis_state sc_redis_state(const struct sc_redis *r);

/* Leave Redis (unsubscribe everything, disconnect) and close every handle.
 * done(srv) runs once nothing of this module is left on the loop; the
 * module frees itself then. */
void sc_redis_close(struct sc_redis *r, void (*done)(struct sc_server *));

#endif
