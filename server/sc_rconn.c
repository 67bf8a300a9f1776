/* sc_rconn: a Redis connection with reconnect, AUTH and liveness. */
#include "sc_rconn.h"

#include <hiredis/adapters/libuv.h>
#include <hiredis/hiredis.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "sc_log.h"

static void rconn_connect(struct sc_rconn *c);

static uint64_t rng_next(struct sc_rconn *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return c->rng;
}

static void on_retry(uv_timer_t *t)
{
    rconn_connect(t->data);
}

/* Full jitter below a doubling cap: a fleet of nodes that lost the same
 * Redis does not come back in lockstep. */
static void schedule_retry(struct sc_rconn *c)
{
    uint64_t cap = (uint64_t)c->cfg->redis_backoff_min;
    uint64_t max = (uint64_t)c->cfg->redis_backoff_max;
    uint64_t delay;

    for (unsigned i = 0; i < c->attempt && cap < max; i++)
        cap *= 2;
    if (cap > max)
        cap = max;
    delay = rng_next(c) % (cap + 1);
    c->attempt++;
    c->state = SC_RCONN_DOWN;
    SC_LOG(SC_LOG_INFO, "redis %s: retry %u in %llu ms", c->name, c->attempt,
           (unsigned long long)delay);
    uv_timer_start(&c->retry_timer, on_retry, delay, 0);
}

static void rconn_lost(struct sc_rconn *c, const char *why)
{
    if (c->state == SC_RCONN_CLOSED || c->state == SC_RCONN_DOWN)
        return;
    SC_LOG(SC_LOG_WARN, "redis %s: connection lost (%s)", c->name, why);
    c->probe_out = 0;
    schedule_retry(c);
    c->ops->lost(c);
}

void sc_rconn_drop(struct sc_rconn *c, const char *why)
{
    redisAsyncContext *ac = c->ac;

    c->ac = NULL;
    if (ac)
        redisAsyncFree(ac);
    rconn_lost(c, why);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct sc_rconn *c = ac->data;

    (void)status;
    if (c->ac != ac)
        return; /* dropped by us */
    c->ac = NULL;
    rconn_lost(c, ac->errstr[0] ? ac->errstr : "closed by peer");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct sc_rconn *c = ac->data;

    if (status == REDIS_OK || c->ac != ac)
        return;
    /* hiredis frees a context whose connect failed, and calls no
     * disconnect callback for it. */
    c->ac = NULL;
    rconn_lost(c, ac->errstr);
}

static void on_auth(redisAsyncContext *ac, void *reply, void *privdata)
{
    redisReply *rep = reply;
    struct sc_rconn *c = privdata;

    if (rep && rep->type == REDIS_REPLY_ERROR) {
        SC_LOG(SC_LOG_ERROR, "redis %s: AUTH refused: %.*s", c->name, (int)rep->len,
               rep->str);
        redisAsyncDisconnect(ac);
    }
}

static void send_probe(struct sc_rconn *c)
{
    if (c->ops->probe(c, c->ac) < 0)
        return;
    c->probe_out = 1;
    c->since_ms = uv_now(c->loop);
}

static void rconn_connect(struct sc_rconn *c)
{
    const struct sc_config *cfg = c->cfg;
    redisAsyncContext *ac = redisAsyncConnect(cfg->redis_host, (int)cfg->redis_port);

    c->state = SC_RCONN_CONNECTING;
    c->since_ms = uv_now(c->loop);
    if (!ac || ac->err) {
        SC_LOG(SC_LOG_WARN, "redis %s: cannot connect to %s:%ld: %s", c->name,
               cfg->redis_host, cfg->redis_port, ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        schedule_retry(c);
        return;
    }
    ac->data = c;
    c->ac = ac;
    if (redisLibuvAttach(ac, c->loop) != REDIS_OK) {
        sc_rconn_drop(c, "cannot attach to the event loop");
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (cfg->redis_password && cfg->redis_user)
        redisAsyncCommand(ac, on_auth, c, "AUTH %s %s", cfg->redis_user,
                          cfg->redis_password);
    else if (cfg->redis_password)
        redisAsyncCommand(ac, on_auth, c, "AUTH %s", cfg->redis_password);
    send_probe(c);
}

void sc_rconn_answered(struct sc_rconn *c)
{
    c->probe_out = 0;
    if (c->state != SC_RCONN_CONNECTING)
        return;
    c->state = SC_RCONN_UP;
    c->attempt = 0;
    if (c->ever_up)
        c->reconnects++;
    c->ever_up = 1;
    SC_LOG(SC_LOG_INFO, "redis %s: connected to %s:%ld", c->name, c->cfg->redis_host,
           c->cfg->redis_port);
    c->ops->up(c);
}

static int rconn_unread(const struct sc_rconn *c)
{
    int n = 0;

    return c->ac && ioctl(c->ac->c.fd, FIONREAD, &n) == 0 && n > 0;
}

/* Every redis-ping-interval: bound the connect time, and probe a
 * connection that is up. A probe unanswered for redis-timeout means Redis
 * is stuck (stopped, swapping, or a dead path TCP has not noticed). */
static void on_live_timer(uv_timer_t *t)
{
    struct sc_rconn *c = t->data;
    uint64_t now = uv_now(c->loop);
    uint64_t timeout = (uint64_t)c->cfg->redis_timeout;

    if (c->state == SC_RCONN_CONNECTING && now - c->since_ms >= timeout) {
        sc_rconn_drop(c, "connect timed out");
    } else if (c->state == SC_RCONN_UP) {
        /* A Redis that is sending (a backlog ahead of the probe's answer)
         * is alive; so is one whose answer waits unread in our socket after
         * a long loop iteration (timers run before reads). */
        if (c->probe_out && now - c->since_ms >= timeout &&
            now - c->last_rx_ms >= timeout && !rconn_unread(c))
            sc_rconn_drop(c, "no answer within redis-timeout");
        else if (!c->probe_out)
            send_probe(c);
    }
}

int sc_rconn_start(struct sc_rconn *c, uv_loop_t *loop,
                   const struct sc_config *cfg, const struct sc_rconn_ops *ops,
                   const char *name, void *data)
{
    memset(c, 0, sizeof(*c));
    c->ops = ops;
    c->data = data;
    c->name = name;
    c->cfg = cfg;
    c->loop = loop;
    if (getrandom(&c->rng, sizeof(c->rng), GRND_NONBLOCK) != sizeof(c->rng) || !c->rng)
        c->rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
    uv_timer_init(loop, &c->retry_timer);
    uv_timer_init(loop, &c->live_timer);
    c->retry_timer.data = c->live_timer.data = c;
    c->open_handles = 2;
    uv_timer_start(&c->live_timer, on_live_timer, (uint64_t)cfg->redis_ping_interval,
                   (uint64_t)cfg->redis_ping_interval);
    rconn_connect(c);
    return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct sc_rconn *c = h->data;

    if (--c->open_handles == 0 && c->closed)
        c->closed(c);
}

void sc_rconn_close(struct sc_rconn *c, void (*closed)(struct sc_rconn *c))
{
    redisAsyncContext *ac = c->ac;

    if (c->state == SC_RCONN_CLOSED)
        return;
    c->state = SC_RCONN_CLOSED;
    c->closed = closed;
    c->ac = NULL;
    /* Closing the socket also ends every subscription it held. */
    if (ac)
        redisAsyncFree(ac);
    uv_close((uv_handle_t *)&c->retry_timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->live_timer, on_handle_closed);
}
