/* sc_pubsub: the node's Pub/Sub client, on one reconnecting Redis link
 * (sc_rconn).
 *
 * It keeps Redis subscribed to exactly the registry's channels, reports
 * every message to its owner, and treats Redis as a live dependency: on
 * any loss (closed socket, error, or no answer to the liveness check
 * within the timeout) sc_rconn reconnects forever with capped exponential
 * backoff and full jitter; this module then resubscribes every channel in
 * batches and reports once all are back, so subscribers learn what they
 * may have missed.
 *
 * hiredis 0.14.1 has no async timeouts and drops replies to PING while
 * subscribed, so liveness is checked by re-subscribing to a private
 * channel: Redis answers every SUBSCRIBE, even a repeated one. */
#ifndef SC_PUBSUB_H
#define SC_PUBSUB_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "sc_config.h"
#include "sc_registry.h"

struct sc_pubsub;

/* A standalone node's liveness probe channel is this prefix, its pid and
 * a random tag. Clients may not subscribe under it (sc_access.c). */
#define SC_PUBSUB_PROBE_PREFIX "__shardcast.live."

/* Same values as enum sc_rconn_state. */
enum sc_pubsub_state {
    SC_PUBSUB_DOWN,       /* waiting to retry */
    SC_PUBSUB_CONNECTING, /* TCP, AUTH and first SUBSCRIBE under way */
    SC_PUBSUB_UP,         /* answering */
    SC_PUBSUB_CLOSED,     /* shut down for good */
};

/* What the client reports to its owner (data is the owner's pointer). */
struct sc_pubsub_ops {
    /* A message on a subscribed channel; pattern NULL unless it came
     * through a pattern subscription. */
    void (*message)(void *data, const char *channel, size_t clen, const char *pattern, size_t plen,
                    const char *payload, size_t dlen);
    /* A message on the probe channel (a cluster's control channel). */
    void (*control)(void *data, const char *msg, size_t len);
    /* The link went down (up 0: every subscription is gone) or came back
     * (up 1: resubscribing starts). */
    void (*link)(void *data, int up);
    /* After a loss, every channel is subscribed again. */
    void (*resynced)(void *data);
};

/* Start connecting; reg is the registry whose channels to keep subscribed.
 * probe_channel, if not NULL, is subscribed for the liveness probe and its
 * messages go to ops->control (the cluster's control channel); NULL picks
 * a private channel. Returns 0 or -ENOMEM; later failures are retried. */
int sc_pubsub_start(uv_loop_t *loop, const struct sc_config *cfg, struct sc_registry *reg,
                    const char *probe_channel, const struct sc_pubsub_ops *ops, void *data,
                    struct sc_pubsub **out);

/* The registry has commands to send: flush them before the loop next
 * waits, batched. Cheap to call many times per iteration; NULL is fine. */
void sc_pubsub_kick(struct sc_pubsub *r);

enum sc_pubsub_state sc_pubsub_state(const struct sc_pubsub *r);

/* Times the link came back after a loss; replies that were not what Redis
 * sends (counted, dropped). */
uint64_t sc_pubsub_reconnects(const struct sc_pubsub *r);
uint64_t sc_pubsub_protocol_errors(const struct sc_pubsub *r);

/* Leave Redis (unsubscribe everything, disconnect) and close every handle.
 * done(data) runs once nothing of this module is left on the loop; the
 * module frees itself then. */
void sc_pubsub_close(struct sc_pubsub *r, void (*done)(void *data));

#endif
