/* sc_metrics: the node's counters and their Prometheus text form.
 *
 * Counters are plain integers bumped on the one service thread; gauges are
 * read at scrape time from figures the node keeps current (counts and
 * running totals), never by walking its connections, so a scrape costs the
 * same at any number of them. */
#ifndef SC_METRICS_H
#define SC_METRICS_H

#include <stdint.h>

#include "sc_buf.h"

/* Kinds of client or upstream error, one label value each. */
enum sc_err_kind {
    SC_ERR_BAD_JSON,
    SC_ERR_BAD_REQUEST,
    SC_ERR_UNKNOWN_OP,
    SC_ERR_BAD_CHANNEL,
    SC_ERR_TOO_MANY_CHANNELS,
    SC_ERR_MESSAGE_TOO_BIG,
    SC_ERR_BINARY_FRAME,
    SC_ERR_PING_TIMEOUT,
    SC_ERR_REJECTED_FULL,    /* upgrade refused: max connections */
    SC_ERR_REJECTED_REQUEST, /* upgrade refused: bad path or channels */
    SC_ERR_REDIS_PROTOCOL,   /* a reply from Redis we could not use */
    SC_ERR_ALLOC,
    SC_ERR_UNAUTHORIZED, /* bad or missing token */
    SC_ERR_FORBIDDEN,    /* channel not allowed for this connection */
    SC_ERR_ORIGIN,       /* upgrade refused: Origin not allowed */
    SC_ERR_TOKEN_EXPIRED,
    SC_ERR_RATE_LIMITED,
    SC_ERR_PROTOCOL, /* frame breaking RFC 6455: closed with 1002 or 1007 */
    SC_ERR_KINDS
};

struct sc_metrics {
    uint64_t connections_total;
    uint64_t redis_messages;
    uint64_t deliveries;
    uint64_t bytes_out;
    uint64_t requests;
    uint64_t slow_consumer_disconnects;
    uint64_t redis_reconnects;
    uint64_t missed_events;
    uint64_t redirects;
    uint64_t moves;
    uint64_t token_verifications;
    uint64_t errors[SC_ERR_KINDS];
};

/* Gauges the scrape reads from the node at that moment. */
struct sc_metrics_gauges {
    uint64_t connections;
    uint64_t subscriptions;
    uint64_t channels;
    uint64_t patterns;
    uint64_t queued_bytes;
    int redis_up;
    int clustered;
    uint64_t map_epoch;
    uint64_t map_shards;
    double uptime_s;
};

/* Append the Prometheus text exposition (version 0.0.4) to b. */
void sc_metrics_render(const struct sc_metrics *m, const struct sc_metrics_gauges *g,
                       struct sc_buf *b);

#endif
