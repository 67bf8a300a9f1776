/* sc_metrics: Prometheus text exposition of the node's state. */
#include "sc_metrics.h"

static const char *const err_names[SC_ERR_KINDS] = {
    "bad_json",        "bad_request",  "unknown_op",     "bad_channel",   "too_many_channels",
    "message_too_big", "binary_frame", "ping_timeout",   "rejected_full", "rejected_request",
    "redis_protocol",  "alloc",        "unauthorized",   "forbidden",     "origin",
    "token_expired",   "rate_limited", "protocol_error",
};

static void metric(struct sc_buf *b, const char *name, const char *type, const char *help,
                   uint64_t v)
{
    sc_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
                  (unsigned long long)v);
}

void sc_metrics_render(const struct sc_metrics *m, const struct sc_metrics_gauges *g,
                       struct sc_buf *b)
{
    metric(b, "shardcast_connections", "gauge", "Open WebSocket connections.", g->connections);
    metric(b, "shardcast_connections_total", "counter", "WebSocket connections accepted.",
           m->connections_total);
    metric(b, "shardcast_subscriptions", "gauge", "Subscriptions held by local connections.",
           g->subscriptions);
    metric(b, "shardcast_channels", "gauge",
           "Channels and patterns this node subscribes to in Redis.", g->channels);
    metric(b, "shardcast_patterns", "gauge", "Patterns among shardcast_channels.", g->patterns);
    metric(b, "shardcast_queued_bytes", "gauge", "Bytes waiting in connection send queues.",
           g->queued_bytes);
    metric(b, "shardcast_redis_up", "gauge", "1 when the Redis connection is up and answering.",
           (uint64_t)g->redis_up);
    metric(b, "shardcast_redis_messages_total", "counter", "Messages received from Redis Pub/Sub.",
           m->redis_messages);
    metric(b, "shardcast_deliveries_total", "counter", "Messages queued to subscribers.",
           m->deliveries);
    metric(b, "shardcast_bytes_out_total", "counter", "WebSocket bytes written to clients.",
           m->bytes_out);
    metric(b, "shardcast_requests_total", "counter", "Requests received from clients.",
           m->requests);
    metric(b, "shardcast_slow_consumer_disconnects_total", "counter",
           "Connections closed with 4100 because their queue was full.",
           m->slow_consumer_disconnects);
    metric(b, "shardcast_redis_reconnects_total", "counter",
           "Times the Redis connection was re-established after a loss.", m->redis_reconnects);
    metric(b, "shardcast_missed_events_total", "counter",
           "missed events sent to clients after Redis came back.", m->missed_events);
    metric(b, "shardcast_redirects_total", "counter",
           "Clients sent to the shard that owns their key at connect.", m->redirects);
    metric(b, "shardcast_moves_total", "counter",
           "Clients moved to another shard after a map change.", m->moves);
    metric(b, "shardcast_token_verifications_total", "counter",
           "Tokens verified (signature and claims), at upgrades and auth requests.",
           m->token_verifications);
    if (g->clustered) {
        metric(b, "shardcast_map_epoch", "gauge", "Epoch of the shard map held.", g->map_epoch);
        metric(b, "shardcast_map_shards", "gauge", "Shards in the map held.", g->map_shards);
    }
    sc_buf_printf(b, "# HELP shardcast_errors_total Errors by kind.\n"
                     "# TYPE shardcast_errors_total counter\n");
    for (int i = 0; i < SC_ERR_KINDS; i++)
        sc_buf_printf(b, "shardcast_errors_total{kind=\"%s\"} %llu\n", err_names[i],
                      (unsigned long long)m->errors[i]);
    sc_buf_printf(b,
                  "# HELP shardcast_uptime_seconds Seconds since start.\n"
                  "# TYPE shardcast_uptime_seconds gauge\n"
                  "shardcast_uptime_seconds %.3f\n",
                  g->uptime_s);
}
