/* sc_cluster: this node's membership in the shard map kept in Redis, and
 * the routing of clients by that map.
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
 * Routing (sc_route.c): a client presents ?key=K; the owner of K under the
 * map serves it, anyone else redirects it (close 4200). When the map
 * changes, clients whose key now belongs elsewhere are moved (close 4201)
 * at a bounded rate; the rest are not touched. */
#ifndef SC_CLUSTER_H
#define SC_CLUSTER_H

#include <stdint.h>
#include <uv.h>

#include "sc_buf.h"
#include "sc_rconn.h"
#include "sc_shard.h"

struct sc_server;
struct sc_conn;

/* What the last heartbeat scan saw of one shard. */
struct sc_member_info {
    char id[SC_SHARD_ID_MAX + 1];
    long long connections;
    long long started_ms;
    long long hb_ms;  /* when it last wrote its heartbeat (its clock) */
};

struct sc_cluster {
    struct sc_rconn conn;         /* first: rconn callbacks cast back */
    struct sc_server *srv;
    sc_shardmap *map;             /* NULL until first read */
    uint64_t epoch;
    struct sc_member_info *info;  /* from the last heartbeat scan */
    size_t ninfo;
    uv_timer_t tick;
    uv_timer_t move_timer;
    int open_handles;
    int cas_inflight;             /* a WATCH/MULTI is under way */
    int leaving;                  /* take ourselves out of the map */
    int draining;                 /* ...and move every client away */
    int left;                     /* out of the map and heartbeat gone */
    long long started_ms;
    char url[256];
    char key_map[96];
    char key_hb_prefix[96];
    char channel[96];
    /* Clients to move, in order; entries of clients that left are NULL. */
    struct sc_conn **moves;
    size_t nmoves, move_pos;
    double move_credit;
    void (*done)(struct sc_server *);
};

/* Join the cluster named by cfg (shard-id set). Returns 0 or -ENOMEM. */
int sc_cluster_start(struct sc_server *srv, struct sc_cluster **out);

/* Leave: out of the map, heartbeat deleted; with drain, every client is
 * moved first (the node stops itself once they are gone). */
void sc_cluster_leave(struct sc_cluster *c, int drain);

/* 1 once a drain has nothing left to move (all sent away, or no other
 * shard to send them to). */
int sc_cluster_drain_done(const struct sc_cluster *c);

/* 1 while leaving still has Redis work to finish. */
int sc_cluster_busy(const struct sc_cluster *c);

/* Close the connection and timers; done(srv) once all are closed, then the
 * module frees itself. */
void sc_cluster_close(struct sc_cluster *c, void (*done)(struct sc_server *));

/* A message on the control channel. */
void sc_cluster_control(struct sc_cluster *c, const char *msg, size_t len);

/* --- routing (sc_route.c) --- */

/* A client just connected: settle its key, then greet it, or redirect it
 * to the owner. Returns 0, or -ENOMEM. */
int sc_route_admit(struct sc_cluster *c, struct sc_conn *conn, const char *key,
                   size_t keylen);

/* The map changed: queue the clients whose key belongs elsewhere now. */
void sc_route_map_changed(struct sc_cluster *c);

/* A client is closing: forget it in the move queue. */
void sc_route_forget(struct sc_cluster *c, struct sc_conn *conn);

/* GET /route?key=K and GET /shards bodies. Return 0, -ENOENT (no shard
 * owns anything yet) or -EINVAL (bad key). */
int sc_route_json(struct sc_cluster *c, const char *key, size_t len, struct sc_buf *b);
void sc_route_shards_json(struct sc_cluster *c, struct sc_buf *b);

#endif
