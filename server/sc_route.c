/* sc_route: route clients by the shard map: keys, hello, redirects, and
 * rate-limited moves when the map changes. */
#include "sc_route.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "sc_log.h"
#include "sc_names.h"

/* Without --move-rate, a change is spread over this many seconds. */
#define MOVE_SPREAD_S 5.0
#define MOVE_MIN_RATE 20.0
#define MOVE_TICK_MS 100

/* The shard that owns key, or NULL while the map is empty or unknown. */
static const struct sc_shard *route_owner(const struct sc_route *rt, const char *key)
{
    const struct sc_shard *s;

    if (!rt->cl->map || sc_shardmap_owner(rt->cl->map, key, strlen(key), &s) < 0)
        return NULL;
    return s;
}

static int is_self(const struct sc_route *rt, const struct sc_shard *s)
{
    return s && !strcmp(s->id, rt->hub->cfg->shard_id);
}

/* A key this node owns, so a client that brought none stays here and can
 * reconnect with it. Random, so keys say nothing about anything. */
static char *route_assign_key(const struct sc_route *rt)
{
    char *key = malloc(17);
    unsigned char r[8];

    for (int tries = 0; key && tries < 512; tries++) {
        if (getrandom(r, sizeof(r), 0) != sizeof(r))
            break;
        for (int i = 0; i < 8; i++)
            snprintf(key + 2 * i, 3, "%02x", r[i]);
        const struct sc_shard *s = route_owner(rt, key);
        if (!s || is_self(rt, s))
            break;
    }
    return key;
}

static int send_json(struct sc_conn *conn, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    struct sc_msg *m = text ? sc_msg_text(text, strlen(text)) : NULL;
    int rc = m ? sc_conn_send(conn, m) : -ENOMEM;

    if (m)
        sc_msg_unref(m);
    free(text);
    json_decref(o);
    return rc;
}

/* {"op":"redirect"|"move","url":...,"shard":...,"epoch":N}, then close
 * with 4200/4201 once it is out: the client reconnects there at once. */
static void route_send_away(struct sc_route *rt, struct sc_conn *conn, const struct sc_shard *to,
                            int move)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:I}", "op", move ? "move" : "redirect", "url", to->url,
                          "shard", to->id, "epoch", (json_int_t)rt->cl->epoch);

    send_json(conn, o);
    sc_conn_close_after(conn, move ? 4201 : 4200);
    if (move)
        rt->hub->metrics.moves++;
    else
        rt->hub->metrics.redirects++;
}

static int route_hello(struct sc_route *rt, struct sc_conn *conn)
{
    json_t *shards = json_array();
    size_t n = rt->cl->map ? sc_shardmap_count(rt->cl->map) : 0;

    for (size_t i = 0; shards && i < n; i++) {
        const struct sc_shard *s = sc_shardmap_at(rt->cl->map, i);
        json_array_append_new(shards, json_pack("{s:s,s:s,s:i}", "id", s->id, "url", s->url,
                                                "weight", (int)s->weight));
    }
    return send_json(conn, json_pack("{s:s,s:s,s:s,s:I,s:o}", "op", "hello", "shard",
                                     rt->hub->cfg->shard_id, "key", conn->key, "epoch",
                                     (json_int_t)rt->cl->epoch, "shards",
                                     shards ? shards : json_array()));
}

int sc_route_admit(struct sc_route *rt, struct sc_conn *conn, const char *key, size_t keylen)
{
    const struct sc_shard *owner;

    conn->key = key ? strndup(key, keylen) : route_assign_key(rt);
    if (!conn->key)
        return -ENOMEM;
    owner = route_owner(rt, conn->key);
    /* A node that is leaving owns nothing; one that has no map yet (Redis
     * down since start) serves everyone rather than no one. */
    if (owner && !is_self(rt, owner)) {
        route_send_away(rt, conn, owner, 0);
        return 0;
    }
    return route_hello(rt, conn) == -ENOMEM ? -ENOMEM : 0;
}

/* --- moves ------------------------------------------------------------ */

static void route_clear_moves(struct sc_route *rt)
{
    for (size_t i = rt->move_pos; i < rt->nmoves; i++)
        if (rt->moves[i])
            rt->moves[i]->move_idx = 0;
    free(rt->moves);
    rt->moves = NULL;
    rt->nmoves = rt->move_pos = 0;
    rt->move_credit = 0;
}

static void queue_list(struct sc_route *rt, struct sc_list *l, size_t *n)
{
    for (struct sc_link *link = l->head; link; link = link->next) {
        struct sc_conn *conn = sc_conn_of(link);
        const struct sc_shard *s;
        if (!conn->key || conn->close_code)
            continue;
        s = route_owner(rt, conn->key);
        if (!s || is_self(rt, s))
            continue;
        rt->moves[*n] = conn;
        conn->move_idx = (uint32_t)++ * n;
    }
}

static void on_move_tick(uv_timer_t *t);

void sc_route_map_changed(struct sc_route *rt)
{
    struct sc_hub *hub = rt->hub;
    size_t n = 0;

    route_clear_moves(rt);
    if (!rt->cl->map || sc_shardmap_count(rt->cl->map) == 0 || !hub->nconns)
        return;
    rt->moves = malloc(sizeof(*rt->moves) * hub->nconns);
    if (!rt->moves) {
        hub->metrics.errors[SC_ERR_ALLOC]++;
        return;
    }
    queue_list(rt, &hub->ka.active, &n);
    queue_list(rt, &hub->ka.pinged, &n);
    rt->nmoves = n;
    if (!n)
        return;
    SC_LOG(SC_LOG_INFO, "cluster: moving %zu of %zu clients to their new shards", n, hub->nconns);
    uv_timer_start(&rt->move_timer, on_move_tick, 0, MOVE_TICK_MS);
}

/* Move a budget of clients per tick, so a map change does not become a
 * reconnect storm on the new owner. */
static void on_move_tick(uv_timer_t *t)
{
    struct sc_route *rt = t->data;
    double rate = (double)rt->hub->cfg->move_rate;

    if (rate <= 0) {
        rate = (double)rt->nmoves / MOVE_SPREAD_S;
        if (rate < MOVE_MIN_RATE)
            rate = MOVE_MIN_RATE;
    }
    rt->move_credit += rate * MOVE_TICK_MS / 1000.0;
    while (rt->move_credit >= 1.0 && rt->move_pos < rt->nmoves) {
        struct sc_conn *conn = rt->moves[rt->move_pos++];
        const struct sc_shard *s;
        if (!conn)
            continue;
        conn->move_idx = 0;
        s = route_owner(rt, conn->key);
        if (!s || is_self(rt, s))
            continue;
        route_send_away(rt, conn, s, 1);
        rt->move_credit -= 1.0;
    }
    if (rt->move_pos >= rt->nmoves) {
        uv_timer_stop(t);
        route_clear_moves(rt);
    }
}

void sc_route_forget(struct sc_route *rt, struct sc_conn *conn)
{
    if (conn->move_idx && conn->move_idx <= rt->nmoves && rt->moves[conn->move_idx - 1] == conn)
        rt->moves[conn->move_idx - 1] = NULL;
    conn->move_idx = 0;
}

/* --- HTTP bodies -------------------------------------------------------- */

static void append_json(struct sc_buf *b, json_t *o)
{
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

    if (text) {
        sc_buf_append_str(b, text);
        sc_buf_append(b, "\n", 1);
    } else {
        b->failed = 1;
    }
    free(text);
    json_decref(o);
}

int sc_route_json(struct sc_route *rt, const char *key, size_t len, struct sc_buf *b)
{
    const struct sc_shard *s;

    if (!sc_key_valid(key, len))
        return -EINVAL;
    if (!rt->cl->map || sc_shardmap_owner(rt->cl->map, key, len, &s) < 0)
        return -ENOENT;
    append_json(b, json_pack("{s:s,s:s,s:I}", "shard", s->id, "url", s->url, "epoch",
                             (json_int_t)rt->cl->epoch));
    return 0;
}

static const struct sc_member_info *member_info(const struct sc_route *rt, const char *id)
{
    for (size_t i = 0; i < rt->cl->ninfo; i++)
        if (!strcmp(rt->cl->info[i].id, id))
            return &rt->cl->info[i];
    return NULL;
}

void sc_route_shards_json(struct sc_route *rt, struct sc_buf *b)
{
    json_t *arr = json_array();
    size_t n = rt->cl->map ? sc_shardmap_count(rt->cl->map) : 0;

    for (size_t i = 0; arr && i < n; i++) {
        const struct sc_shard *s = sc_shardmap_at(rt->cl->map, i);
        const struct sc_member_info *mi = member_info(rt, s->id);
        json_t *o =
            json_pack("{s:s,s:s,s:i}", "id", s->id, "url", s->url, "weight", (int)s->weight);
        if (o && mi && mi->hb_ms) {
            json_object_set_new(o, "connections", json_integer(mi->connections));
            json_object_set_new(o, "started_ms", json_integer(mi->started_ms));
            json_object_set_new(o, "heartbeat_ms", json_integer(mi->hb_ms));
        }
        json_array_append_new(arr, o);
    }
    append_json(b, json_pack("{s:I,s:s,s:o}", "epoch", (json_int_t)rt->cl->epoch, "self",
                             rt->hub->cfg->shard_id, "shards", arr ? arr : json_array()));
}

/* --- life cycle --------------------------------------------------------- */

void sc_route_init(struct sc_route *rt, struct sc_hub *hub, struct sc_cluster *cl)
{
    memset(rt, 0, sizeof(*rt));
    rt->hub = hub;
    rt->cl = cl;
    uv_timer_init(hub->loop, &rt->move_timer);
    rt->move_timer.data = rt;
}

int sc_route_idle(const struct sc_route *rt)
{
    return rt->move_pos >= rt->nmoves;
}

static void on_move_timer_closed(uv_handle_t *h)
{
    struct sc_route *rt = h->data;

    route_clear_moves(rt);
    if (rt->closed)
        rt->closed(rt);
}

void sc_route_close(struct sc_route *rt, void (*closed)(struct sc_route *rt))
{
    rt->closed = closed;
    uv_close((uv_handle_t *)&rt->move_timer, on_move_timer_closed);
}
