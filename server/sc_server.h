/* sc_server: one node, everything it owns, and the entry points the lws
 * protocol callbacks and the Redis module use to reach each other.
 *
 * A node is one thread running one libuv loop; lws and hiredis both run on
 * that loop, so nothing here is locked. */
#ifndef SC_SERVER_H
#define SC_SERVER_H

#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "sc_auth.h"
#include "sc_config.h"
#include "sc_metrics.h"
#include "sc_proto.h"
#include "sc_registry.h"

struct sc_redis;
struct sc_conn;
struct sc_cluster;

/* An intrusive FIFO of connections, for the keep-alive sweep. */
struct sc_conn_list {
    struct sc_conn *head, *tail;
    size_t count;
};

struct sc_server {
    const struct sc_config *cfg;
    uv_loop_t *loop;
    struct lws_context *lws;
    struct sc_registry reg;
    struct sc_redis *redis;
    struct sc_cluster *cluster;    /* NULL for a standalone node */
    struct sc_metrics metrics;
    struct sc_proto_limits limits;
    struct sc_auth auth;
    struct sc_conn_auth **auth_wheel; /* deadline slots, see sc_conn_auth.c */
    int64_t auth_swept;
    /* Claims of the upgrade just admitted, for its ESTABLISHED to take
     * (sc_conn_auth_handover): a token is verified once per connection. */
    struct lws *upgrade_wsi;
    struct sc_jwt_claims *upgrade_claims;

    /* Every open connection is on exactly one of these: active ones by
     * time of last traffic, pinged ones by time the ping went out. */
    struct sc_conn_list active, pinged;
    size_t nconns;
    uint64_t queued_bytes; /* in every connection's send queue (sc_queue total) */
    size_t max_conns;      /* max-connections, or derived from open files */
    int fd_ceiling;        /* an accepted socket at or above this fd is refused */

    /* Gathers several queued frames into one send. LWS_PRE in front. */
    unsigned char *scratch;
    size_t scratch_cap;

    /* Connections with frames to send, flushed once per loop iteration. */
    struct sc_conn **flush;
    size_t nflush, capflush;
    uv_check_t flush_check;

    uv_timer_t sweep_timer;
    uv_timer_t stop_timer;
    uv_signal_t sigterm, sigint;
    uint64_t started_ms;
    uint64_t stop_deadline_ms;
    uint64_t drain_idle_since_ms;
    int stopping;
    int draining;          /* stopping, but moving clients away first */
    int redis_down;        /* clients were told Redis is down */
    int exit_status;
    char web_root[4096];
};

/* Create the node on loop: lws context and listener, Redis connection,
 * timers, signal handlers. Returns 0, or a negative errno (nothing is left
 * running): -EINVAL or -ENOENT for a configuration error, reported on
 * stderr like sc_config's; -EADDRINUSE when the listener could not be
 * bound, which the caller reports (main.c, with the reason lws logged);
 * any other after logging why. */
int sc_server_start(struct sc_server *srv, const struct sc_config *cfg,
                    uv_loop_t *loop);

/* Begin a graceful stop: leave the shard map, close clients with 1001
 * (with drain: move them to other shards first), leave Redis, and let the
 * loop run dry. Safe to call more than once. */
void sc_server_stop(struct sc_server *srv, int drain);

/* A message on the node's own control channel. */
void sc_server_control(struct sc_server *srv, const char *msg, size_t len);

/* Free what the loop no longer uses; call after uv_run() returns. */
void sc_server_cleanup(struct sc_server *srv);

/* A message arrived from Redis: encode once, queue to every subscriber.
 * pattern is NULL for plain subscriptions. */
void sc_server_publish(struct sc_server *srv, const char *channel, size_t clen,
                       const char *pattern, size_t plen, const char *data,
                       size_t dlen);

/* Redis came back and every subscription is in place again: tell each
 * subscriber that messages may have been missed. */
void sc_server_resynced(struct sc_server *srv);

/* The Redis connection went down (up 0) or came back (up 1): queue
 * {"op":"status","redis":"down"|"up"} to every connection, one shared
 * frame, when that changes what clients were last told. A failure to
 * allocate is counted and logged; clients then miss the event. */
void sc_server_redis_status(struct sc_server *srv, int up);

/* A new connection: queue the "down" status event to c if Redis is down
 * (clients that connect while it is up hear nothing). */
void sc_server_redis_status_to(struct sc_server *srv, struct sc_conn *c);

/* Arrange for sc_conn_flush_pending() at the end of this iteration. */
void sc_server_flush_soon(struct sc_server *srv);

/* 1 when the node serves normally (Redis connected and answering). */
int sc_server_healthy(const struct sc_server *srv);

void sc_server_gauges(const struct sc_server *srv, struct sc_metrics_gauges *g);

/* The lws protocols: HTTP (health, metrics, upgrade checks) and the
 * WebSocket protocol; defined in sc_http.c and sc_conn.c. */
int sc_http_callback(struct lws *wsi, enum lws_callback_reasons reason,
                     void *user, void *in, size_t len);
int sc_conn_callback(struct lws *wsi, enum lws_callback_reasons reason,
                     void *user, void *in, size_t len);

/* Admit or refuse a WebSocket upgrade (the handshake per RFC 6455 4.2.1,
 * path, connection limit, Origin, ?token=, ?key=, ?channels=). Returns 0
 * to admit, or -1 after writing the refusal (400, 401, 403, 404, 426 or
 * 503, docs/protocol.md), for lws to close the connection. */
int sc_http_confirm_upgrade(struct lws *wsi, const char *proto);

#endif
