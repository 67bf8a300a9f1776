/* sc_redis: Pub/Sub connection with reconnect, liveness and batching. */
#include "sc_redis.h"

#include <errno.h>
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "sc_log.h"
#include "sc_server.h"

/* The four commands the registry can need, one batch each per flush. */
enum { B_SUB, B_UNSUB, B_PSUB, B_PUNSUB, B_KINDS };
static const char *const batch_cmd[B_KINDS] = {
    "SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE"};

struct batch {
    const char **argv;
    size_t *lens;
    int argc;
};

struct sc_redis {
    struct sc_server *srv;
    const struct sc_config *cfg;
    redisAsyncContext *ac;
    enum sc_redis_state state;
    uv_timer_t retry_timer;
    uv_timer_t live_timer;
    uv_prepare_t flush;
    int open_handles;
    unsigned attempt;        /* failed tries since last up */
    uint64_t since_ms;       /* connect started, or liveness probe sent */
    int probe_out;           /* a liveness SUBSCRIBE awaits its answer */
    int ever_up;
    int resync_pending;      /* lost Redis; tell subscribers once resynced */
    uint64_t rng;
    struct batch batch[B_KINDS];
    char live[64];           /* private channel used as the liveness probe */
    void (*done)(struct sc_server *);
};

static void redis_connect(struct sc_redis *r);
static void on_reply(redisAsyncContext *ac, void *reply, void *privdata);

static uint64_t rng_next(struct sc_redis *r)
{
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    return r->rng;
}

static void on_retry(uv_timer_t *t)
{
    redis_connect(t->data);
}

/* Capped exponential backoff with full jitter: a fleet of nodes that lost
 * the same Redis does not come back in lockstep. */
static void schedule_retry(struct sc_redis *r)
{
    uint64_t cap = (uint64_t)r->cfg->redis_backoff_min;
    uint64_t delay;

    for (unsigned i = 0; i < r->attempt && cap < (uint64_t)r->cfg->redis_backoff_max; i++)
        cap *= 2;
    if (cap > (uint64_t)r->cfg->redis_backoff_max)
        cap = (uint64_t)r->cfg->redis_backoff_max;
    delay = rng_next(r) % (cap + 1);
    r->attempt++;
    r->state = SC_REDIS_DOWN;
    SC_LOG(SC_LOG_INFO, "redis: retry %u in %llu ms", r->attempt,
           (unsigned long long)delay);
    uv_timer_start(&r->retry_timer, on_retry, delay, 0);
}

/* The connection is gone, whoever noticed. Subscriptions went with it. */
static void redis_lost(struct sc_redis *r, const char *why)
{
    if (r->state == SC_REDIS_CLOSED || r->state == SC_REDIS_DOWN)
        return;
    SC_LOG(SC_LOG_WARN, "redis: connection lost (%s); delivery paused", why);
    if (r->ever_up)
        r->resync_pending = 1;
    r->probe_out = 0;
    sc_registry_upstream_lost(&r->srv->reg);
    schedule_retry(r);
}

/* Drop the connection from outside any hiredis callback. */
static void redis_drop(struct sc_redis *r, const char *why)
{
    redisAsyncContext *ac = r->ac;

    r->ac = NULL;
    if (ac)
        redisAsyncFree(ac);
    redis_lost(r, why);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct sc_redis *r = ac->data;

    (void)status;
    if (r->ac != ac)
        return; /* we dropped it ourselves */
    r->ac = NULL;
    redis_lost(r, ac->errstr[0] ? ac->errstr : "closed by peer");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct sc_redis *r = ac->data;

    if (status == REDIS_OK || r->ac != ac)
        return;
    /* hiredis frees a context whose connect failed, without a disconnect
     * callback. */
    r->ac = NULL;
    redis_lost(r, ac->errstr);
}

static void on_auth(redisAsyncContext *ac, void *reply, void *privdata)
{
    redisReply *rep = reply;

    (void)privdata;
    if (rep && rep->type == REDIS_REPLY_ERROR) {
        SC_LOG(SC_LOG_ERROR, "redis: AUTH refused: %.*s", (int)rep->len, rep->str);
        redisAsyncDisconnect(ac);
    }
}

static void send_probe(struct sc_redis *r)
{
    if (redisAsyncCommand(r->ac, on_reply, r, "SUBSCRIBE %s", r->live) != REDIS_OK)
        return;
    r->probe_out = 1;
    r->since_ms = uv_now(r->srv->loop);
}

static void redis_connect(struct sc_redis *r)
{
    const struct sc_config *cfg = r->cfg;
    redisAsyncContext *ac = redisAsyncConnect(cfg->redis_host, (int)cfg->redis_port);

    r->state = SC_REDIS_CONNECTING;
    r->since_ms = uv_now(r->srv->loop);
    if (!ac || ac->err) {
        const char *why = ac ? ac->errstr : "out of memory";
        SC_LOG(SC_LOG_WARN, "redis: cannot connect to %s:%ld: %s", cfg->redis_host,
               cfg->redis_port, why);
        if (ac)
            redisAsyncFree(ac);
        schedule_retry(r);
        return;
    }
    ac->data = r;
    r->ac = ac;
    if (redisLibuvAttach(ac, r->srv->loop) != REDIS_OK) {
        redis_drop(r, "cannot attach to the event loop");
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (cfg->redis_password && cfg->redis_user)
        redisAsyncCommand(ac, on_auth, r, "AUTH %s %s", cfg->redis_user,
                          cfg->redis_password);
    else if (cfg->redis_password)
        redisAsyncCommand(ac, on_auth, r, "AUTH %s", cfg->redis_password);
    send_probe(r);
}

static int str_is(const redisReply *e, const char *s)
{
    size_t n = strlen(s);
    return e->type == REDIS_REPLY_STRING && e->len == n && memcmp(e->str, s, n) == 0;
}

/* The liveness probe was answered: the connection is up (again). */
static void probe_answered(struct sc_redis *r)
{
    r->probe_out = 0;
    if (r->state != SC_REDIS_CONNECTING)
        return;
    r->state = SC_REDIS_UP;
    r->attempt = 0;
    if (r->ever_up)
        r->srv->metrics.redis_reconnects++;
    r->ever_up = 1;
    SC_LOG(SC_LOG_INFO, "redis: connected to %s:%ld, %zu channels to subscribe",
           r->cfg->redis_host, r->cfg->redis_port, r->srv->reg.nchannels);
    sc_redis_kick(r);
}

static void confirmed(struct sc_redis *r, const redisReply *name, int subscribed)
{
    sc_registry_confirm(&r->srv->reg, name->str, name->len, subscribed);
    sc_redis_kick(r);
}

/* Every Pub/Sub reply lands here: messages, and confirmations of our own
 * (P)(UN)SUBSCRIBE commands. Replies that do not have the documented shape
 * are counted and dropped; they cannot come from a real Redis. */
static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct sc_redis *r = privdata;
    redisReply *rep = reply, **e;

    if (!rep || r->ac != ac || r->state == SC_REDIS_CLOSED)
        return;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 3 ||
        rep->element[0]->type != REDIS_REPLY_STRING ||
        rep->element[1]->type != REDIS_REPLY_STRING)
        goto bad;
    e = rep->element;
    if (str_is(e[0], "message") && e[2]->type == REDIS_REPLY_STRING) {
        if (!str_is(e[1], r->live))
            sc_server_publish(r->srv, e[1]->str, e[1]->len, NULL, 0, e[2]->str,
                              e[2]->len);
    } else if (str_is(e[0], "pmessage") && rep->elements == 4 &&
               e[2]->type == REDIS_REPLY_STRING && e[3]->type == REDIS_REPLY_STRING) {
        sc_server_publish(r->srv, e[2]->str, e[2]->len, e[1]->str, e[1]->len,
                          e[3]->str, e[3]->len);
    } else if (str_is(e[0], "subscribe") || str_is(e[0], "psubscribe")) {
        if (str_is(e[1], r->live))
            probe_answered(r);
        else
            confirmed(r, e[1], 1);
    } else if (str_is(e[0], "unsubscribe") || str_is(e[0], "punsubscribe")) {
        confirmed(r, e[1], 0);
    } else {
        goto bad;
    }
    if (r->resync_pending && r->state == SC_REDIS_UP && sc_registry_synced(&r->srv->reg)) {
        r->resync_pending = 0;
        sc_server_resynced(r->srv);
    }
    return;
bad:
    r->srv->metrics.errors[SC_ERR_REDIS_PROTOCOL]++;
    SC_LOG(SC_LOG_WARN, "redis: unexpected reply of type %d ignored", rep->type);
}

/* Runs every redis-ping-interval: bounds the connect time, and probes a
 * connection that is up. A probe unanswered for redis-timeout means Redis
 * is stuck (stopped, swapping, or a dead path that TCP has not noticed). */
static void on_live_timer(uv_timer_t *t)
{
    struct sc_redis *r = t->data;
    uint64_t now = uv_now(r->srv->loop);
    uint64_t timeout = (uint64_t)r->cfg->redis_timeout;

    if (r->state == SC_REDIS_CONNECTING && now - r->since_ms >= timeout) {
        redis_drop(r, "connect timed out");
    } else if (r->state == SC_REDIS_UP) {
        if (r->probe_out && now - r->since_ms >= timeout)
            redis_drop(r, "no answer within redis-timeout");
        else if (!r->probe_out)
            send_probe(r);
    }
}

/* Returns 0, or -EIO when hiredis refused the command: the connection is
 * then unusable and the caller drops it. */
static int batch_send(struct sc_redis *r, int kind)
{
    struct batch *b = &r->batch[kind];
    int argc = b->argc;

    if (argc <= 1)
        return 0;
    b->argc = 1;
    if (redisAsyncCommandArgv(r->ac, on_reply, r, argc, b->argv, b->lens) != REDIS_OK)
        return -EIO;
    return 0;
}

/* Before the loop waits: turn every dirty registry entry into one of four
 * batched commands. The registry marks each in flight, so a name never has
 * two commands outstanding. */
static void on_flush(uv_prepare_t *h)
{
    struct sc_redis *r = h->data;
    struct sc_channel *ch;
    enum sc_upstream_op op;
    int kind;

    uv_prepare_stop(h);
    if (r->state != SC_REDIS_UP || !r->ac)
        return;
    while ((ch = sc_registry_take_dirty(&r->srv->reg, &op))) {
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
    redis_drop(r, "command refused by hiredis");
}

void sc_redis_kick(struct sc_redis *r)
{
    if (r && r->state == SC_REDIS_UP && r->srv->reg.dirty_head)
        uv_prepare_start(&r->flush, on_flush);
}

enum sc_redis_state sc_redis_state(const struct sc_redis *r)
{
    return r->state;
}

static int batches_init(struct sc_redis *r)
{
    size_t n = (size_t)r->cfg->redis_batch + 1;

    for (int k = 0; k < B_KINDS; k++) {
        struct batch *b = &r->batch[k];
        if (!(b->argv = malloc(sizeof(*b->argv) * n)) ||
            !(b->lens = malloc(sizeof(*b->lens) * n)))
            return -ENOMEM;
        b->argv[0] = batch_cmd[k];
        b->lens[0] = strlen(batch_cmd[k]);
        b->argc = 1;
    }
    return 0;
}

static void batches_free(struct sc_redis *r)
{
    for (int k = 0; k < B_KINDS; k++) {
        free(r->batch[k].argv);
        free(r->batch[k].lens);
    }
}

int sc_redis_start(struct sc_server *srv, struct sc_redis **out)
{
    struct sc_redis *r = calloc(1, sizeof(*r));

    if (!r)
        return -ENOMEM;
    r->srv = srv;
    r->cfg = srv->cfg;
    if (batches_init(r) < 0) {
        batches_free(r);
        free(r);
        return -ENOMEM;
    }
    if (getrandom(&r->rng, sizeof(r->rng), GRND_NONBLOCK) != sizeof(r->rng) || !r->rng)
        r->rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
    snprintf(r->live, sizeof(r->live), "__shardcast.live.%d.%016llx", (int)getpid(),
             (unsigned long long)rng_next(r));
    uv_timer_init(srv->loop, &r->retry_timer);
    uv_timer_init(srv->loop, &r->live_timer);
    uv_prepare_init(srv->loop, &r->flush);
    r->retry_timer.data = r->live_timer.data = r->flush.data = r;
    r->open_handles = 3;
    uv_timer_start(&r->live_timer, on_live_timer, (uint64_t)r->cfg->redis_ping_interval,
                   (uint64_t)r->cfg->redis_ping_interval);
    *out = r;
    redis_connect(r);
    return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct sc_redis *r = h->data;

    if (--r->open_handles > 0)
        return;
    struct sc_server *srv = r->srv;
    void (*done)(struct sc_server *) = r->done;
    batches_free(r);
    free(r);
    if (done)
        done(srv);
}

void sc_redis_close(struct sc_redis *r, void (*done)(struct sc_server *))
{
    redisAsyncContext *ac = r->ac;

    if (r->state == SC_REDIS_CLOSED)
        return;
    r->state = SC_REDIS_CLOSED;
    r->done = done;
    r->ac = NULL;
    /* Closing the socket ends every subscription in Redis at once. */
    if (ac)
        redisAsyncFree(ac);
    uv_close((uv_handle_t *)&r->retry_timer, on_handle_closed);
    uv_close((uv_handle_t *)&r->live_timer, on_handle_closed);
    uv_close((uv_handle_t *)&r->flush, on_handle_closed);
}
