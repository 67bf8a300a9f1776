/* sc_cluster: membership in the Redis-held shard map. */
#include "sc_cluster.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sc_log.h"

enum cas_op { CAS_ADD_SELF, CAS_REMOVE_SELF, CAS_REMOVE_DEAD };

static void on_tick(uv_timer_t *t);

static long long wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static redisAsyncContext *cluster_ac(struct sc_cluster *cl)
{
    return cl->conn.state == SC_RCONN_UP ? cl->conn.ac : NULL;
}

static int self_in_map(const struct sc_cluster *cl)
{
    return cl->map && sc_shardmap_find(cl->map, cl->cfg->shard_id) != NULL;
}

/* Take a map read from Redis as ours. Takes ownership of map. */
static void cluster_adopt(struct sc_cluster *cl, sc_shardmap *map)
{
    int changed = !cl->map || sc_shardmap_epoch(map) != cl->epoch;

    sc_shardmap_free(cl->map);
    cl->map = map;
    cl->epoch = sc_shardmap_epoch(map);
    if (!changed)
        return;
    SC_LOG(SC_LOG_INFO, "cluster: map epoch %llu, %zu shards%s", (unsigned long long)cl->epoch,
           sc_shardmap_count(map), self_in_map(cl) ? "" : " (this node not in it)");
    cl->ops->map_changed(cl->data);
}

/* Parse a GET reply: the stored map, or an empty epoch-0 map for nil.
 * NULL (and a log line) when the stored form is broken. */
static sc_shardmap *map_from_reply(const redisReply *rep)
{
    sc_shardmap *m = NULL;
    char err[160];

    if (rep && rep->type == REDIS_REPLY_NIL) {
        if (sc_shardmap_new(&m, 0) < 0)
            return NULL;
        return m;
    }
    if (!rep || rep->type != REDIS_REPLY_STRING)
        return NULL;
    if (sc_shardmap_parse(rep->str, rep->len, &m, err, sizeof(err)) < 0) {
        SC_LOG(SC_LOG_ERROR, "cluster: stored map is invalid: %s", err);
        return NULL;
    }
    return m;
}

/* --- compare-and-set of the map -------------------------------------- */

struct cas {
    struct sc_cluster *cl;
    enum cas_op op;
    size_t ndead;
    char **dead;
    sc_shardmap *map; /* as read under WATCH */
};

static void cas_free(struct cas *x)
{
    sc_shardmap_free(x->map);
    for (size_t i = 0; i < x->ndead; i++)
        free(x->dead[i]);
    free(x->dead);
    free(x);
}

static void cas_done(struct sc_cluster *cl)
{
    cl->cas_inflight = 0;
}

static void on_cas_exec(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct sc_cluster *cl = privdata;
    redisReply *rep = reply;

    (void)ac;
    cas_done(cl);
    if (!rep)
        return;
    if (rep->type == REDIS_REPLY_NIL)
        SC_LOG(SC_LOG_INFO, "cluster: map changed under us; retrying");
    /* Either way the next read adopts what Redis now holds. */
    uv_timer_start(&cl->tick, on_tick, 0, (uint64_t)cl->cfg->heartbeat_ttl / 3);
}

/* Apply the mutation. Returns 1 if the map changed, 0 if not, <0 on error. */
static int cas_apply(struct cas *x, sc_shardmap *m)
{
    const struct sc_config *cfg = x->cl->cfg;
    const struct sc_shard *me = sc_shardmap_find(m, cfg->shard_id);
    int changed = 0, rc;

    switch (x->op) {
    case CAS_ADD_SELF:
        if (me && !strcmp(me->url, x->cl->url) && me->weight == (uint32_t)cfg->weight)
            return 0;
        if (me)
            sc_shardmap_remove(m, cfg->shard_id);
        rc = sc_shardmap_add(m, cfg->shard_id, x->cl->url, (uint32_t)cfg->weight);
        return rc < 0 ? rc : 1;
    case CAS_REMOVE_SELF: return me ? (sc_shardmap_remove(m, cfg->shard_id), 1) : 0;
    case CAS_REMOVE_DEAD:
        for (size_t i = 0; i < x->ndead; i++)
            if (sc_shardmap_remove(m, x->dead[i]) == 0)
                changed = 1;
        return changed;
    }
    return 0;
}

static void on_cas_get(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct cas *x = privdata;

    (void)ac;
    x->map = map_from_reply(reply);
}

/* Last read of a CAS: how many of the heartbeats we thought dead exist
 * again; then mutate and write back, or give up. */
static void on_cas_read(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct cas *x = privdata;
    struct sc_cluster *cl = x->cl;
    redisReply *rep = reply;
    char *enc = NULL, note[48];
    size_t enclen;
    int changed;

    if (!rep || !x->map || rep->type != REDIS_REPLY_INTEGER)
        goto abort;
    /* A shard we found silent has written a heartbeat since: leave it. */
    if (x->op == CAS_REMOVE_DEAD && rep->integer > 0)
        goto abort;
    changed = cas_apply(x, x->map);
    if (changed < 0)
        SC_LOG(SC_LOG_ERROR, "cluster: cannot change the map (%s)", strerror(-changed));
    if (changed <= 0 || sc_shardmap_set_epoch(x->map, sc_shardmap_epoch(x->map) + 1) < 0 ||
        sc_shardmap_encode(x->map, &enc, &enclen) < 0)
        goto abort;
    snprintf(note, sizeof(note), "epoch %llu", (unsigned long long)sc_shardmap_epoch(x->map));
    redisAsyncCommand(ac, NULL, NULL, "MULTI");
    redisAsyncCommand(ac, NULL, NULL, "SET %s %b", cl->key_map, enc, enclen);
    redisAsyncCommand(ac, NULL, NULL, "PUBLISH %s %s", cl->channel, note);
    redisAsyncCommand(ac, on_cas_exec, cl, "EXEC");
    free(enc);
    cas_free(x);
    return;
abort:
    if (rep)
        redisAsyncCommand(ac, NULL, NULL, "UNWATCH");
    cas_done(cl);
    cas_free(x);
}

/* WATCH the map (and the heartbeats of shards about to be removed), read,
 * mutate, and write back in MULTI/EXEC: concurrent changes by other nodes
 * abort ours instead of being lost. Takes ownership of x. */
static void cluster_cas(struct sc_cluster *cl, struct cas *x)
{
    redisAsyncContext *ac = cluster_ac(cl);
    size_t n = 2 + x->ndead;
    const char **argv = calloc(n, sizeof(*argv));
    char **keys = calloc(x->ndead + 1, sizeof(*keys));
    int ok = ac && argv && keys;

    for (size_t i = 0; ok && i < x->ndead; i++) {
        size_t len = strlen(cl->key_hb_prefix) + strlen(x->dead[i]) + 1;
        if (!(keys[i] = malloc(len)))
            ok = 0;
        else
            snprintf(keys[i], len, "%s%s", cl->key_hb_prefix, x->dead[i]);
    }
    if (ok) {
        argv[0] = "WATCH";
        argv[1] = cl->key_map;
        for (size_t i = 0; i < x->ndead; i++)
            argv[2 + i] = keys[i];
        redisAsyncCommandArgv(ac, NULL, NULL, (int)n, argv, NULL);
        /* Plain reads, not MULTI: EXEC would end the WATCH. */
        redisAsyncCommand(ac, on_cas_get, x, "GET %s", cl->key_map);
        argv[0] = "EXISTS";
        argv[1] = cl->key_hb_prefix; /* never a key; EXISTS needs one */
        redisAsyncCommandArgv(ac, on_cas_read, x, (int)n, argv, NULL);
        cl->cas_inflight = 1;
    }
    for (size_t i = 0; keys && i < x->ndead; i++)
        free(keys[i]);
    free(keys);
    free(argv);
    if (!ok)
        cas_free(x);
}

static struct cas *cas_new(struct sc_cluster *cl, enum cas_op op)
{
    struct cas *x = calloc(1, sizeof(*x));

    if (x) {
        x->cl = cl;
        x->op = op;
    }
    return x;
}

/* --- heartbeat, map reads and the liveness scan ---------------------- */

static void send_heartbeat(struct sc_cluster *cl, redisAsyncContext *ac)
{
    const struct sc_config *cfg = cl->cfg;
    char key[160];
    json_t *o = json_pack(
        "{s:s,s:s,s:i,s:I,s:I,s:I,s:I}", "id", cfg->shard_id, "url", cl->url, "weight",
        (int)cfg->weight, "started_ms", (json_int_t)cl->started_ms, "hb_ms", (json_int_t)wall_ms(),
        "connections", (json_int_t)cl->ops->connections(cl->data), "epoch", (json_int_t)cl->epoch);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

    snprintf(key, sizeof(key), "%s%s", cl->key_hb_prefix, cfg->shard_id);
    if (text)
        redisAsyncCommand(ac, NULL, NULL, "SET %s %s PX %ld", key, text, cfg->heartbeat_ttl);
    free(text);
    json_decref(o);
}

/* Heartbeats of every shard in the map: remember what they say, and
 * remove the shards whose heartbeat is gone. */
static void on_scan(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct sc_cluster *cl = privdata;
    redisReply *rep = reply;
    struct cas *x = NULL;
    size_t n;

    (void)ac;
    if (!rep || rep->type != REDIS_REPLY_ARRAY || !cl->map ||
        (n = sc_shardmap_count(cl->map)) != rep->elements)
        return;
    struct sc_member_info *info = calloc(n ? n : 1, sizeof(*info));
    if (!info)
        return;
    for (size_t i = 0; i < n; i++) {
        const struct sc_shard *s = sc_shardmap_at(cl->map, i);
        json_t *o = NULL;
        snprintf(info[i].id, sizeof(info[i].id), "%s", s->id);
        if (rep->element[i]->type == REDIS_REPLY_STRING)
            o = json_loadb(rep->element[i]->str, rep->element[i]->len, 0, NULL);
        if (o) {
            info[i].connections = json_integer_value(json_object_get(o, "connections"));
            info[i].started_ms = json_integer_value(json_object_get(o, "started_ms"));
            info[i].hb_ms = json_integer_value(json_object_get(o, "hb_ms"));
            json_decref(o);
        } else if (strcmp(s->id, cl->cfg->shard_id) != 0) {
            if (!x && !(x = cas_new(cl, CAS_REMOVE_DEAD)))
                continue;
            char **d = realloc(x->dead, sizeof(*d) * (x->ndead + 1));
            if (!d || !(d[x->ndead] = strdup(s->id))) {
                if (d)
                    x->dead = d;
                continue;
            }
            x->dead = d;
            SC_LOG(SC_LOG_WARN, "cluster: shard %s missed its heartbeat; removing it", s->id);
            x->ndead++;
        }
    }
    free(cl->info);
    cl->info = info;
    cl->ninfo = n;
    if (x && !cl->cas_inflight)
        cluster_cas(cl, x);
    else if (x)
        cas_free(x);
}

static void cluster_scan(struct sc_cluster *cl, redisAsyncContext *ac)
{
    size_t n = sc_shardmap_count(cl->map);
    const char **argv = calloc(n + 1, sizeof(*argv));
    char **keys = calloc(n + 1, sizeof(*keys));
    int ok = argv && keys && n > 0;

    for (size_t i = 0; ok && i < n; i++) {
        const char *id = sc_shardmap_at(cl->map, i)->id;
        size_t len = strlen(cl->key_hb_prefix) + strlen(id) + 1;
        if (!(keys[i] = malloc(len)))
            ok = 0;
        else
            snprintf(keys[i], len, "%s%s", cl->key_hb_prefix, id);
        argv[i + 1] = keys[i];
    }
    if (ok) {
        argv[0] = "MGET";
        redisAsyncCommandArgv(ac, on_scan, cl, (int)n + 1, argv, NULL);
    }
    for (size_t i = 0; keys && i < n; i++)
        free(keys[i]);
    free(keys);
    free(argv);
}

/* The map as Redis holds it now: adopt it, then put ourselves in (or take
 * ourselves out) if it does not say what we want. */
static void on_map(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct sc_cluster *cl = privdata;
    sc_shardmap *m = map_from_reply(reply);
    struct cas *x = NULL;

    if (!m)
        return;
    cluster_adopt(cl, m);
    if (cl->cas_inflight)
        return;
    if (!cl->leaving && !self_in_map(cl))
        x = cas_new(cl, CAS_ADD_SELF);
    else if (cl->leaving && self_in_map(cl))
        x = cas_new(cl, CAS_REMOVE_SELF);
    if (x)
        cluster_cas(cl, x);
    else
        cluster_scan(cl, ac);
}

static void cluster_refresh(struct sc_cluster *cl)
{
    redisAsyncContext *ac = cluster_ac(cl);

    if (ac && !cl->cas_inflight)
        redisAsyncCommand(ac, on_map, cl, "GET %s", cl->key_map);
}

static void on_left(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct sc_cluster *cl = privdata;

    (void)ac;
    if (reply)
        cl->left = 1;
}

static void on_tick(uv_timer_t *t)
{
    struct sc_cluster *cl = t->data;
    redisAsyncContext *ac = cluster_ac(cl);

    if (!ac || cl->cas_inflight)
        return;
    if (cl->leaving && !self_in_map(cl) && cl->map) {
        /* Out of the map. While clients remain (a drain moving them), keep
         * the heartbeat so shardctl shows them counting down; then delete
         * it, so shardctl sees us gone only when we are. */
        if (cl->ops->connections(cl->data) > 0) {
            send_heartbeat(cl, ac);
        } else if (!cl->left) {
            char key[160];
            snprintf(key, sizeof(key), "%s%s", cl->key_hb_prefix, cl->cfg->shard_id);
            redisAsyncCommand(ac, on_left, cl, "DEL %s", key);
        }
        cluster_refresh(cl);
        return;
    }
    send_heartbeat(cl, ac);
    cluster_refresh(cl);
}

/* --- lifecycle --------------------------------------------------------- */

static int cluster_probe(struct sc_rconn *rc, redisAsyncContext *ac);

static void on_pong(redisAsyncContext *ac, void *reply, void *privdata)
{
    (void)ac;
    if (reply)
        sc_rconn_answered(privdata);
}

static int cluster_probe(struct sc_rconn *rc, redisAsyncContext *ac)
{
    return redisAsyncCommand(ac, on_pong, rc, "PING") == REDIS_OK ? 0 : -1;
}

static void cluster_up(struct sc_rconn *rc)
{
    struct sc_cluster *cl = (struct sc_cluster *)rc;

    /* Join (or rejoin after an outage) without waiting for the next tick. */
    uv_timer_start(&cl->tick, on_tick, 0, (uint64_t)cl->cfg->heartbeat_ttl / 3);
}

static void cluster_lost(struct sc_rconn *rc)
{
    /* Pending replies were dropped with the connection. */
    ((struct sc_cluster *)rc)->cas_inflight = 0;
}

static const struct sc_rconn_ops cluster_ops = {cluster_probe, cluster_up, cluster_lost};

void sc_cluster_control(struct sc_cluster *cl, const char *msg, size_t len)
{
    const char *id = cl->cfg->shard_id;
    size_t idlen = strlen(id);

    if (len > 6 && !memcmp(msg, "drain ", 6) && len - 6 == idlen && !memcmp(msg + 6, id, idlen)) {
        SC_LOG(SC_LOG_INFO, "cluster: drain requested");
        cl->ops->drain_requested(cl->data);
        return;
    }
    if (len > 6 && !memcmp(msg, "epoch ", 6) && strtoull(msg + 6, NULL, 10) != cl->epoch)
        cluster_refresh(cl);
}

void sc_cluster_leave(struct sc_cluster *cl, int drain)
{
    if (cl->leaving && (cl->draining || !drain))
        return;
    cl->leaving = 1;
    cl->draining = drain;
    SC_LOG(SC_LOG_INFO, "cluster: leaving the map%s", drain ? " and moving clients away" : "");
    cluster_refresh(cl);
}

int sc_cluster_drain_done(const struct sc_cluster *cl)
{
    /* Out of the map: every other shard knows; moving the clients away is
     * the router's part (sc_route_idle). */
    return cl->leaving && cl->map && !self_in_map(cl);
}

int sc_cluster_busy(const struct sc_cluster *cl)
{
    /* Done once out of the map with the heartbeat deleted, or once Redis
     * is unreachable (the heartbeat then expires by itself). */
    return cl->leaving && !cl->left && cl->conn.state == SC_RCONN_UP;
}

int sc_cluster_start(uv_loop_t *loop, const struct sc_config *cfg, const struct sc_cluster_ops *ops,
                     void *data, struct sc_cluster **out)
{
    struct sc_cluster *cl = calloc(1, sizeof(*cl));

    if (!cl)
        return -ENOMEM;
    cl->cfg = cfg;
    cl->ops = ops;
    cl->data = data;
    cl->started_ms = wall_ms();
    if (cfg->advertise_url)
        snprintf(cl->url, sizeof(cl->url), "%s", cfg->advertise_url);
    else if (cfg->host && strchr(cfg->host, ':'))
        snprintf(cl->url, sizeof(cl->url), "ws://[%s]:%ld/ws", cfg->host, cfg->port);
    else
        snprintf(cl->url, sizeof(cl->url), "ws://%s:%ld/ws",
                 cfg->host && strcmp(cfg->host, "0.0.0.0") ? cfg->host : "127.0.0.1", cfg->port);
    snprintf(cl->key_map, sizeof(cl->key_map), "%s:map", cfg->cluster_prefix);
    snprintf(cl->key_hb_prefix, sizeof(cl->key_hb_prefix), "%s:hb:", cfg->cluster_prefix);
    snprintf(cl->channel, sizeof(cl->channel), "%s:control", cfg->cluster_prefix);
    uv_timer_init(loop, &cl->tick);
    cl->tick.data = cl;
    cl->open_handles = 2; /* the timer and the connection */
    *out = cl;
    SC_LOG(SC_LOG_INFO, "cluster: shard %s at %s, weight %ld, prefix %s", cfg->shard_id, cl->url,
           cfg->weight, cfg->cluster_prefix);
    return sc_rconn_start(&cl->conn, loop, cfg, &cluster_ops, "cluster", cl);
}

static void cluster_release(struct sc_cluster *cl)
{
    void *data = cl->data;
    void (*done)(void *) = cl->done;

    if (--cl->open_handles > 0)
        return;
    sc_shardmap_free(cl->map);
    free(cl->info);
    free(cl);
    if (done)
        done(data);
}

static void on_timer_closed(uv_handle_t *h)
{
    cluster_release(h->data);
}

static void on_conn_closed(struct sc_rconn *rc)
{
    cluster_release((struct sc_cluster *)rc);
}

void sc_cluster_close(struct sc_cluster *cl, void (*done)(void *data))
{
    if (cl->conn.state == SC_RCONN_CLOSED)
        return;
    cl->done = done;
    sc_rconn_close(&cl->conn, on_conn_closed);
    uv_close((uv_handle_t *)&cl->tick, on_timer_closed);
}
