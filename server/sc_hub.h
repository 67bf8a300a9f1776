/* sc_hub: what every connection of a node shares, and the one way the
 * connection layer (sc_conn, sc_http, sc_access, sc_rxgate) reaches the
 * node above it.
 *
 * The node (sc_server) embeds one hub, fills it at start and is the lws
 * context's user, through the hub: protocol callbacks find it with
 * sc_hub_of(). Everything here runs on the node's one loop thread.
 *
 * Lower modules never call the node: what only the node can do (route a
 * client by the shard map, say how Redis is, schedule a flush) goes
 * through the ops table, as sc_rconn reports to its owner. */
#ifndef SC_HUB_H
#define SC_HUB_H

#include <libwebsockets.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "sc_auth.h"
#include "sc_buf.h"
#include "sc_config.h"
#include "sc_keepalive.h"
#include "sc_metrics.h"
#include "sc_proto.h"
#include "sc_registry.h"

struct sc_hub;
struct sc_conn;
struct sc_conn_auth;

/* What /healthz and /metrics show that only the node knows. */
struct sc_hub_status {
    int healthy;       /* serving normally: Redis up, not stopping */
    const char *redis; /* "up", "connecting", "down" or "closed" */
    struct sc_metrics_gauges gauges;
};

struct sc_hub_ops {
    /* A connection was just established with shard key (NULL: none). On a
     * clustered node: greet it, or redirect it to the key's owner. Returns
     * 0, or -ENOMEM. NULL on a standalone node. */
    int (*admit)(struct sc_hub *h, struct sc_conn *c, const char *key, size_t len);
    /* c is closing: it must not be moved any more. NULL when standalone. */
    void (*forget)(struct sc_hub *h, struct sc_conn *c);
    /* Frames were queued: flush them once this loop iteration's I/O is done
     * (sc_conn_flush_pending). */
    void (*flush_soon)(struct sc_hub *h);
    /* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE, which lws offers the WebSocket
     * protocol: admit (0) or refuse (-1, answered) the upgrade. */
    int (*confirm_upgrade)(struct lws *wsi, const char *proto);
    /* Fill *st for a health or metrics answer. */
    void (*status)(struct sc_hub *h, struct sc_hub_status *st);
    /* GET /route?key= and GET /shards bodies: 0, -ENOENT (not clustered,
     * or no shard owns anything yet), -EINVAL (bad key). */
    int (*route_json)(struct sc_hub *h, const char *key, size_t len, struct sc_buf *b);
    int (*shards_json)(struct sc_hub *h, struct sc_buf *b);
};

struct sc_hub {
    const struct sc_hub_ops *ops;
    const struct sc_config *cfg;
    uv_loop_t *loop;
    struct sc_registry reg;
    struct sc_metrics metrics;
    struct sc_proto_limits limits;
    struct sc_auth auth;
    struct sc_list *auth_wheel; /* deadline slots, see sc_conn_auth.c */
    int64_t auth_swept;
    /* Claims of the upgrade just admitted, for its ESTABLISHED to take
     * (sc_access_take): a token is verified once per connection. */
    struct lws *upgrade_wsi;
    struct sc_jwt_claims *upgrade_claims;

    /* Every open connection that is not closing is on one of its lists. */
    struct sc_keepalive ka;
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

    int stopping;   /* new upgrades get 503, new connections 1001 */
    int redis_down; /* clients were told Redis is down */
    char web_root[4096];
};

/* The hub of the node an lws callback runs for. */
static inline struct sc_hub *sc_hub_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* Set up h for cfg on loop: registry, limits, scratch buffer, empty lists.
 * Returns 0 or -ENOMEM (nothing to free). */
int sc_hub_init(struct sc_hub *h, const struct sc_config *cfg, uv_loop_t *loop,
                const struct sc_hub_ops *ops);

/* Free what sc_hub_init and the connections left (after the loop). */
void sc_hub_free(struct sc_hub *h);

#endif
