/* sc_server: one node: it owns every part and is the one place that wires
 * them together.
 *
 *   sc_conn, sc_http  (connections, HTTP)  --ops-->  sc_hub  <-- sc_server
 *   sc_pubsub         (Pub/Sub client)     --ops-->           sc_server
 *   sc_cluster        (shard-map member)   --ops-->           sc_server
 *   sc_route          (clients by the map) <--calls--         sc_server
 *
 * Lower modules report upward through their ops tables, implemented here;
 * see docs/architecture.md. A node is one thread running one libuv loop;
 * lws and hiredis both run on that loop, so nothing here is locked. */
#ifndef SC_SERVER_H
#define SC_SERVER_H

#include <libwebsockets.h>
#include <stdint.h>
#include <uv.h>

#include "sc_cluster.h"
#include "sc_config.h"
#include "sc_hub.h"
#include "sc_pubsub.h"
#include "sc_route.h"

struct sc_server {
    struct sc_hub hub; /* what connections share; lws's user */
    struct lws_context *lws;
    struct sc_pubsub *pubsub;
    struct sc_cluster *cluster; /* NULL for a standalone node */
    struct sc_route route;      /* in use when cluster is not NULL */

    uv_check_t flush_check;
    uv_timer_t tick_timer; /* keep-alive and token deadlines, 1 s */
    uv_timer_t stop_timer;
    uv_signal_t sigterm, sigint;
    uint64_t started_ms;
    uint64_t stop_deadline_ms;
    uint64_t drain_idle_since_ms;
    int draining; /* stopping, but moving clients away first */
};

/* Create the node on loop: lws context and listener, Redis connection,
 * timers, signal handlers. Returns 0, or a negative errno (nothing is left
 * running): -EINVAL or -ENOENT for a configuration error, reported on
 * stderr like sc_config's; -EADDRINUSE when the listener could not be
 * bound, which the caller reports (main.c, with the reason lws logged);
 * any other after logging why. */
int sc_server_start(struct sc_server *srv, const struct sc_config *cfg, uv_loop_t *loop);

/* Begin a graceful stop: leave the shard map, close clients with 1001
 * (with drain: move them to other shards first), leave Redis, and let the
 * loop run dry. Safe to call more than once. */
void sc_server_stop(struct sc_server *srv, int drain);

/* Free what the loop no longer uses; call after uv_run() returns. */
void sc_server_cleanup(struct sc_server *srv);

#endif
