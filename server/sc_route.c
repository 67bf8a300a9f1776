/* sc_route: route clients by the shard map: keys, hello, redirects, and
 * rate-limited moves when the map changes. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "sc_cluster.h"
#include "sc_conn.h"
#include "sc_log.h"
#include "sc_names.h"
#include "sc_server.h"

/* Without --move-rate, a change is spread over this many seconds. */
#define MOVE_SPREAD_S 5.0
#define MOVE_MIN_RATE 20.0
#define MOVE_TICK_MS 100

/* The shard that owns key, or NULL while the map is empty or unknown. */
static const struct sc_shard *route_owner(const struct sc_cluster *c, const char *key)
{
    const struct sc_shard *s;

    if (!c->map || sc_shardmap_owner(c->map, key, strlen(key), &s) < 0)
        return NULL;
    return s;
}

static int is_self(const struct sc_cluster *c, const struct sc_shard *s)
{
    return s && !strcmp(s->id, c->srv->cfg->shard_id);
}

/* A key this node owns, so a client that brought none stays here and can
 * reconnect with it. Random, so keys say nothing about anything. */
static char *route_assign_key(const struct sc_cluster *c)
{
    char *key = malloc(17);
    unsigned char r[8];

    for (int tries = 0; key && tries < 512; tries++) {
        if (getrandom(r, sizeof(r), 0) != sizeof(r))
            break;
        for (int i = 0; i < 8; i++)
            snprintf(key + 2 * i, 3, "%02x", r[i]);
        const struct sc_shard *s = route_owner(c, key);
        if (!s || is_self(c, s))
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
static void route_send_away(struct sc_cluster *c, struct sc_conn *conn,
                            const struct sc_shard *to, int move)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:I}", "op", move ? "move" : "redirect", "url",
                          to->url, "shard", to->id, "epoch", (json_int_t)c->epoch);

    send_json(conn, o);
    sc_conn_close_after(conn, move ? 4201 : 4200);
    if (move)
        c->srv->metrics.moves++;
    else
        c->srv->metrics.redirects++;
}

static int route_hello(struct sc_cluster *c, struct sc_conn *conn)
{
    json_t *shards = json_array();
    size_t n = c->map ? sc_shardmap_count(c->map) : 0;

    for (size_t i = 0; shards && i < n; i++) {
        const struct sc_shard *s = sc_shardmap_at(c->map, i);
        json_array_append_new(shards, json_pack("{s:s,s:s,s:i}", "id", s->id, "url", s->url,
                                                "weight", (int)s->weight));
    }
    return send_json(conn, json_pack("{s:s,s:s,s:s,s:I,s:o}", "op", "hello", "shard",
                                     c->srv->cfg->shard_id, "key", conn->key, "epoch",
                                     (json_int_t)c->epoch, "shards",
                                     shards ? shards : json_array()));
}

int sc_route_admit(struct sc_cluster *c, struct sc_conn *conn, const char *key,
                   size_t keylen)
{
    const struct sc_shard *owner;

    conn->key = key ? strndup(key, keylen) : route_assign_key(c);
    if (!conn->key)
        return -ENOMEM;
    owner = route_owner(c, conn->key);
    /* A node that is leaving owns nothing; one that has no map yet (Redis
     * down since start) serves everyone rather than no one. */
    if (owner && !is_self(c, owner)) {
        route_send_away(c, conn, owner, 0);
        return 0;
    }
    return route_hello(c, conn) == -ENOMEM ? -ENOMEM : 0;
}

/* --- moves ------------------------------------------------------------ */

static void route_clear_moves(struct sc_cluster *c)
{
    for (size_t i = c->move_pos; i < c->nmoves; i++)
        if (c->moves[i])
            c->moves[i]->move_idx = 0;
    free(c->moves);
    c->moves = NULL;
    c->nmoves = c->move_pos = 0;
    c->move_credit = 0;
}

static void queue_list(struct sc_cluster *c, struct sc_conn_list *l, size_t *n)
{
    for (struct sc_conn *conn = l->head; conn; conn = conn->lnext) {
        const struct sc_shard *s;
        if (!conn->key || conn->close_code)
            continue;
        s = route_owner(c, conn->key);
        if (!s || is_self(c, s))
            continue;
        c->moves[*n] = conn;
        conn->move_idx = (uint32_t)++*n;
    }
}

static void on_move_tick(uv_timer_t *t);

void sc_route_map_changed(struct sc_cluster *c)
{
    struct sc_server *srv = c->srv;
    size_t n = 0;

    route_clear_moves(c);
    if (!c->map || sc_shardmap_count(c->map) == 0 || !srv->nconns)
        return;
    c->moves = malloc(sizeof(*c->moves) * srv->nconns);
    if (!c->moves) {
        srv->metrics.errors[SC_ERR_ALLOC]++;
        return;
    }
    queue_list(c, &srv->active, &n);
    queue_list(c, &srv->pinged, &n);
    c->nmoves = n;
    if (!n)
        return;
    SC_LOG(SC_LOG_INFO, "cluster: moving %zu of %zu clients to their new shards", n,
           srv->nconns);
    uv_timer_start(&c->move_timer, on_move_tick, 0, MOVE_TICK_MS);
}

/* Move a budget of clients per tick, so a map change does not become a
 * reconnect storm on the new owner. */
static void on_move_tick(uv_timer_t *t)
{
    struct sc_cluster *c = t->data;
    double rate = (double)c->srv->cfg->move_rate;

    if (rate <= 0) {
        rate = (double)c->nmoves / MOVE_SPREAD_S;
        if (rate < MOVE_MIN_RATE)
            rate = MOVE_MIN_RATE;
    }
    c->move_credit += rate * MOVE_TICK_MS / 1000.0;
    while (c->move_credit >= 1.0 && c->move_pos < c->nmoves) {
        struct sc_conn *conn = c->moves[c->move_pos++];
        const struct sc_shard *s;
        if (!conn)
            continue;
        conn->move_idx = 0;
        s = route_owner(c, conn->key);
        if (!s || is_self(c, s))
            continue;
        route_send_away(c, conn, s, 1);
        c->move_credit -= 1.0;
    }
    if (c->move_pos >= c->nmoves) {
        uv_timer_stop(t);
        route_clear_moves(c);
    }
}

void sc_route_forget(struct sc_cluster *c, struct sc_conn *conn)
{
    if (conn->move_idx && conn->move_idx <= c->nmoves &&
        c->moves[conn->move_idx - 1] == conn)
        c->moves[conn->move_idx - 1] = NULL;
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

int sc_route_json(struct sc_cluster *c, const char *key, size_t len, struct sc_buf *b)
{
    const struct sc_shard *s;

    if (!sc_key_valid(key, len))
        return -EINVAL;
    if (!c->map || sc_shardmap_owner(c->map, key, len, &s) < 0)
        return -ENOENT;
    append_json(b, json_pack("{s:s,s:s,s:I}", "shard", s->id, "url", s->url, "epoch",
                             (json_int_t)c->epoch));
    return 0;
}

static const struct sc_member_info *member_info(const struct sc_cluster *c, const char *id)
{
    for (size_t i = 0; i < c->ninfo; i++)
        if (!strcmp(c->info[i].id, id))
            return &c->info[i];
    return NULL;
}

void sc_route_shards_json(struct sc_cluster *c, struct sc_buf *b)
{
    json_t *arr = json_array();
    size_t n = c->map ? sc_shardmap_count(c->map) : 0;

    for (size_t i = 0; arr && i < n; i++) {
        const struct sc_shard *s = sc_shardmap_at(c->map, i);
        const struct sc_member_info *mi = member_info(c, s->id);
        json_t *o = json_pack("{s:s,s:s,s:i}", "id", s->id, "url", s->url, "weight",
                              (int)s->weight);
        if (o && mi && mi->hb_ms) {
            json_object_set_new(o, "connections", json_integer(mi->connections));
            json_object_set_new(o, "started_ms", json_integer(mi->started_ms));
            json_object_set_new(o, "heartbeat_ms", json_integer(mi->hb_ms));
        }
        json_array_append_new(arr, o);
    }
    append_json(b, json_pack("{s:I,s:s,s:o}", "epoch", (json_int_t)c->epoch, "self",
                             c->srv->cfg->shard_id, "shards", arr ? arr : json_array()));
}
