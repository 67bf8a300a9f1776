/* sc_route: route a node's clients by the shard map (sc_cluster).
 *
 * A client presents ?key=K (or the token's subject); the owner of K under
 * the map serves it, anyone else redirects it (close 4200). When the map
 * changes, clients whose key now belongs elsewhere are moved (close 4201)
 * at a bounded rate; the rest are not touched. */
#ifndef SC_ROUTE_H
#define SC_ROUTE_H

#include <stddef.h>
#include <uv.h>

#include "sc_buf.h"
#include "sc_cluster.h"
#include "sc_conn.h"
#include "sc_hub.h"

struct sc_route {
    struct sc_hub *hub;
    struct sc_cluster *cl;
    uv_timer_t move_timer;
    /* Clients to move, in order; entries of clients that left are NULL. */
    struct sc_conn **moves;
    size_t nmoves, move_pos;
    double move_credit;
    void (*closed)(struct sc_route *rt);
};

/* Set up rt for the connections of hub and the map of cl (its timer goes
 * on hub's loop). */
void sc_route_init(struct sc_route *rt, struct sc_hub *hub, struct sc_cluster *cl);

/* A client just connected: settle its key, then greet it, or redirect it
 * to the owner. Returns 0, or -ENOMEM. */
int sc_route_admit(struct sc_route *rt, struct sc_conn *conn, const char *key, size_t keylen);

/* The map changed: queue the clients whose key belongs elsewhere now. */
void sc_route_map_changed(struct sc_route *rt);

/* A client is closing: forget it in the move queue. */
void sc_route_forget(struct sc_route *rt, struct sc_conn *conn);

/* 1 when no move is queued. */
int sc_route_idle(const struct sc_route *rt);

/* GET /route?key=K and GET /shards bodies. Return 0, -ENOENT (no shard
 * owns anything yet) or -EINVAL (bad key). */
int sc_route_json(struct sc_route *rt, const char *key, size_t len, struct sc_buf *b);
void sc_route_shards_json(struct sc_route *rt, struct sc_buf *b);

/* Close the move timer and drop the queue; closed(rt) once the timer is
 * off the loop (NULL: nobody waits). */
void sc_route_close(struct sc_route *rt, void (*closed)(struct sc_route *rt));

#endif
