/* sc_cluster: this node's membership in the shard map kept in Redis.
 *
 * Redis holds, under the configured prefix P:
 *   P:map         the map: epoch and shards {id, url, weight}, in the
 *                 stored form of shard/sc_shard.h, changed only by
 *                 compare-and-set (WATCH/MULTI), epoch + 1 per change;
 *   P:hb:ID       each shard's heartbeat, a JSON object with a TTL;
 *   P:control     channel: "epoch N" after every change, "drain ID".
 * A shard whose heartbeat expired is removed by the first node to notice.
 * Every node re-reads the map on each announcement and on every heartbeat
 * tick, so all hold the same map within a tick of any change.
 *
 * The module reports to its owner through sc_cluster_ops; routing clients
 * by the map is sc_route's. */
#ifndef SC_CLUSTER_H
#define SC_CLUSTER_H

#include <stdint.h>
#include <uv.h>

#include "sc_buf.h"
#include "sc_rconn.h"
#include "sc_shard.h"

/* What membership reports to its owner (data is the owner's pointer). */
struct sc_cluster_ops {
    /* The map changed (a new epoch was read). */
    void (*map_changed)(void *data);
    /* A "drain ID" for this shard arrived on the control channel. */
    void (*drain_requested)(void *data);
    /* The node's client count, for its heartbeat. */
    size_t (*connections)(void *data);
};

/* What the last heartbeat scan saw of one shard. */
struct sc_member_info {
    char id[SC_SHARD_ID_MAX + 1];
    long long connections;
    long long started_ms;
    long long hb_ms; /* when it last wrote its heartbeat (its clock) */
};

struct sc_cluster {
    struct sc_rconn conn; /* first: rconn callbacks cast back */
    const struct sc_config *cfg;
    const struct sc_cluster_ops *ops;
    void *data;
    sc_shardmap *map; /* NULL until first read */
    uint64_t epoch;
    struct sc_member_info *info; /* from the last heartbeat scan */
    size_t ninfo;
    uv_timer_t tick;
    int open_handles;
    int cas_inflight; /* a WATCH/MULTI is under way */
    int leaving;      /* take ourselves out of the map */
    int draining;     /* ...and move every client away */
    int left;         /* out of the map and heartbeat gone */
    long long started_ms;
    char url[256];
    char key_map[96];
    char key_hb_prefix[96];
    char channel[96];
    void (*done)(void *data);
};

/* Join the cluster named by cfg (shard-id set), on loop. Returns 0 or
 * -ENOMEM; Redis failures are retried. */
int sc_cluster_start(uv_loop_t *loop, const struct sc_config *cfg, const struct sc_cluster_ops *ops,
                     void *data, struct sc_cluster **out);

/* Leave: out of the map, heartbeat deleted (drain: the node moves its
 * clients away meanwhile, sc_route). */
void sc_cluster_leave(struct sc_cluster *cl, int drain);

/* 1 once this node is out of the map it last read. */
int sc_cluster_drain_done(const struct sc_cluster *cl);

/* 1 while leaving still has Redis work to finish. */
int sc_cluster_busy(const struct sc_cluster *cl);

/* Close the connection and timer; done(data) once all are closed, then the
 * module frees itself. */
void sc_cluster_close(struct sc_cluster *cl, void (*done)(void *data));

/* A message on the control channel. */
void sc_cluster_control(struct sc_cluster *cl, const char *msg, size_t len);

#endif
