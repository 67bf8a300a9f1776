/* sc_pubsub: the Pub/Sub client: batching, liveness, resync. */
#include "sc_pubsub.h"

#include <errno.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "sc_log.h"
#include "sc_rconn.h"

/* The four commands the registry can need, one batch each per flush. */
enum { B_SUB, B_UNSUB, B_PSUB, B_PUNSUB, B_KINDS };
static const char *const batch_cmd[B_KINDS] = {"SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE",
                                               "PUNSUBSCRIBE"};

struct batch {
    const char **argv;
    size_t *lens;
    int argc;
};

struct sc_pubsub {
    struct sc_rconn conn; /* first: sc_rconn callbacks cast back */
    struct sc_registry *reg;
    const struct sc_config *cfg;
    const struct sc_pubsub_ops *ops;
    void *data; /* the owner's, for ops and done */
    uint64_t protocol_errors;
    uv_prepare_t flush;
    int open_handles;
    int resync_pending; /* lost Redis; tell subscribers once resynced */
    struct batch batch[B_KINDS];
    char live[128]; /* channel SUBSCRIBEd as the liveness probe */
    void (*done)(void *data);
};

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata);

/* Redis answers every SUBSCRIBE, even a repeated one, while hiredis drops
 * the reply to a PING on a subscribed connection: so the probe is a
 * SUBSCRIBE of a channel nobody else uses. */
static int redis_probe(struct sc_rconn *c, redisAsyncContext *ac)
{
    struct sc_pubsub *r = (struct sc_pubsub *)c;

    return redisAsyncCommand(ac, on_reply, r, "SUBSCRIBE %s", r->live) == REDIS_OK ? 0 : -1;
}

static void redis_up(struct sc_rconn *c)
{
    struct sc_pubsub *r = (struct sc_pubsub *)c;

    SC_LOG(SC_LOG_INFO, "redis: %zu channels to subscribe", r->reg->nchannels);
    sc_pubsub_kick(r);
    r->ops->link(r->data, 1);
}

/* The connection is gone, and with it every subscription. */
static void redis_lost(struct sc_rconn *c)
{
    struct sc_pubsub *r = (struct sc_pubsub *)c;

    if (c->ever_up)
        r->resync_pending = 1;
    SC_LOG(SC_LOG_WARN, "redis: delivery paused until Redis is back");
    sc_registry_upstream_lost(r->reg);
    r->ops->link(r->data, 0);
}

static const struct sc_rconn_ops redis_ops = {redis_probe, redis_up, redis_lost};

static int str_is(const redisReply *e, const char *s)
{
    size_t n = strlen(s);
    return e->type == REDIS_REPLY_STRING && e->len == n && memcmp(e->str, s, n) == 0;
}

static void confirmed(struct sc_pubsub *r, const redisReply *name, int subscribed)
{
    sc_registry_confirm(r->reg, name->str, name->len, subscribed);
    sc_pubsub_kick(r);
}

/* Every Pub/Sub reply lands here: messages, and confirmations of our own
 * (P)(UN)SUBSCRIBE commands. Replies that do not have the documented shape
 * are counted and dropped; they cannot come from a real Redis. */
static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct sc_pubsub *r = privdata;
    redisReply *rep = reply, **e;

    if (!rep || r->conn.ac != ac || r->conn.state == SC_RCONN_CLOSED)
        return;
    sc_rconn_heard(&r->conn, uv_now(r->conn.loop));
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 3 ||
        rep->element[0]->type != REDIS_REPLY_STRING || rep->element[1]->type != REDIS_REPLY_STRING)
        goto bad;
    e = rep->element;
    if (str_is(e[0], "message") && e[2]->type == REDIS_REPLY_STRING) {
        if (str_is(e[1], r->live))
            r->ops->control(r->data, e[2]->str, e[2]->len);
        else
            r->ops->message(r->data, e[1]->str, e[1]->len, NULL, 0, e[2]->str, e[2]->len);
    } else if (str_is(e[0], "pmessage") && rep->elements == 4 && e[2]->type == REDIS_REPLY_STRING &&
               e[3]->type == REDIS_REPLY_STRING) {
        r->ops->message(r->data, e[2]->str, e[2]->len, e[1]->str, e[1]->len, e[3]->str, e[3]->len);
    } else if (str_is(e[0], "subscribe") || str_is(e[0], "psubscribe")) {
        if (str_is(e[1], r->live))
            sc_rconn_answered(&r->conn);
        else
            confirmed(r, e[1], 1);
    } else if (str_is(e[0], "unsubscribe") || str_is(e[0], "punsubscribe")) {
        confirmed(r, e[1], 0);
    } else {
        goto bad;
    }
    if (r->resync_pending && r->conn.state == SC_RCONN_UP && sc_registry_synced(r->reg)) {
        r->resync_pending = 0;
        r->ops->resynced(r->data);
    }
    return;
bad:
    r->protocol_errors++;
    SC_LOG(SC_LOG_WARN, "redis: unexpected reply of type %d ignored", rep->type);
}

/* Returns 0, or -EIO when hiredis refused the command: the connection is
 * then unusable and the caller drops it. */
static int batch_send(struct sc_pubsub *r, int kind)
{
    struct batch *b = &r->batch[kind];
    int argc = b->argc;

    if (argc <= 1)
        return 0;
    b->argc = 1;
    if (redisAsyncCommandArgv(r->conn.ac, on_reply, r, argc, b->argv, b->lens) != REDIS_OK)
        return -EIO;
    return 0;
}

/* Before the loop waits: turn every dirty registry entry into one of four
 * batched commands. The registry marks each in flight, so a name never has
 * two commands outstanding. */
static void on_flush(uv_prepare_t *h)
{
    struct sc_pubsub *r = h->data;
    struct sc_channel *ch;
    enum sc_upstream_op op;
    int kind;

    uv_prepare_stop(h);
    if (r->conn.state != SC_RCONN_UP || !r->conn.ac)
        return;
    while ((ch = sc_registry_take_dirty(r->reg, &op))) {
        kind = (ch->pattern ? B_PSUB : B_SUB) + (op == SC_UP_UNSUBSCRIBE);
        struct batch *b = &r->batch[kind];
        b->argv[b->argc] = ch->name;
        b->lens[b->argc++] = ch->len;
        if (b->argc > r->cfg->redis_batch && batch_send(r, kind) < 0)
            goto fail;
    }
    for (kind = 0; kind < B_KINDS; kind++)
        if (batch_send(r, kind) < 0)
            goto fail;
    return;
fail:
    for (kind = 0; kind < B_KINDS; kind++)
        r->batch[kind].argc = 1;
    sc_rconn_drop(&r->conn, "command refused by hiredis");
}

void sc_pubsub_kick(struct sc_pubsub *r)
{
    if (r && r->conn.state == SC_RCONN_UP && r->reg->dirty.count)
        uv_prepare_start(&r->flush, on_flush);
}

enum sc_pubsub_state sc_pubsub_state(const struct sc_pubsub *r)
{
    return (enum sc_pubsub_state)r->conn.state;
}

uint64_t sc_pubsub_reconnects(const struct sc_pubsub *r)
{
    return r->conn.reconnects;
}

uint64_t sc_pubsub_protocol_errors(const struct sc_pubsub *r)
{
    return r->protocol_errors;
}

static int batches_init(struct sc_pubsub *r, const struct sc_config *cfg)
{
    size_t n = (size_t)cfg->redis_batch + 1;

    for (int k = 0; k < B_KINDS; k++) {
        struct batch *b = &r->batch[k];
        if (!(b->argv = malloc(sizeof(*b->argv) * n)) || !(b->lens = malloc(sizeof(*b->lens) * n)))
            return -ENOMEM;
        b->argv[0] = batch_cmd[k];
        b->lens[0] = strlen(batch_cmd[k]);
        b->argc = 1;
    }
    return 0;
}

static void batches_free(struct sc_pubsub *r)
{
    for (int k = 0; k < B_KINDS; k++) {
        free(r->batch[k].argv);
        free(r->batch[k].lens);
    }
}

int sc_pubsub_start(uv_loop_t *loop, const struct sc_config *cfg, struct sc_registry *reg,
                    const char *probe_channel, const struct sc_pubsub_ops *ops, void *data,
                    struct sc_pubsub **out)
{
    struct sc_pubsub *r = calloc(1, sizeof(*r));
    uint64_t tag;

    if (!r)
        return -ENOMEM;
    r->reg = reg;
    r->cfg = cfg;
    r->ops = ops;
    r->data = data;
    if (batches_init(r, cfg) < 0) {
        batches_free(r);
        free(r);
        return -ENOMEM;
    }
    if (getrandom(&tag, sizeof(tag), GRND_NONBLOCK) != sizeof(tag))
        tag = (uint64_t)uv_hrtime();
    if (probe_channel)
        snprintf(r->live, sizeof(r->live), "%s", probe_channel);
    else
        snprintf(r->live, sizeof(r->live), SC_PUBSUB_PROBE_PREFIX "%d.%016llx", (int)getpid(),
                 (unsigned long long)tag);
    uv_prepare_init(loop, &r->flush);
    r->flush.data = r;
    r->open_handles = 2; /* the flush handle and the connection */
    *out = r;
    return sc_rconn_start(&r->conn, loop, cfg, &redis_ops, "pubsub", r);
}

static void pubsub_release(struct sc_pubsub *r)
{
    void *data = r->data;
    void (*done)(void *) = r->done;

    if (--r->open_handles > 0)
        return;
    batches_free(r);
    free(r);
    if (done)
        done(data);
}

static void on_flush_closed(uv_handle_t *h)
{
    pubsub_release(h->data);
}

static void on_conn_closed(struct sc_rconn *c)
{
    pubsub_release((struct sc_pubsub *)c);
}

void sc_pubsub_close(struct sc_pubsub *r, void (*done)(void *data))
{
    if (r->conn.state == SC_RCONN_CLOSED)
        return;
    r->done = done;
    sc_rconn_close(&r->conn, on_conn_closed);
    uv_close((uv_handle_t *)&r->flush, on_flush_closed);
}
