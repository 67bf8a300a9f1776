/* sc_rconn: a Redis connection with reconnect, AUTH and liveness. */
#include "sc_rconn.h"

#include <hiredis/adapters/libuv.h>
#include <hiredis/hiredis.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <unistd.h>

#include "sc_log.h"

static void rconn_connect(struct sc_rconn *rc);

static uint64_t rng_next(struct sc_rconn *rc)
{
    rc->rng ^= rc->rng << 13;
    rc->rng ^= rc->rng >> 7;
    rc->rng ^= rc->rng << 17;
    return rc->rng;
}

static void on_retry(uv_timer_t *t)
{
    rconn_connect(t->data);
}

/* Full jitter below a doubling cap: a fleet of nodes that lost the same
 * Redis does not come back in lockstep. */
static void schedule_retry(struct sc_rconn *rc)
{
    uint64_t cap = (uint64_t)rc->cfg->redis_backoff_min;
    uint64_t max = (uint64_t)rc->cfg->redis_backoff_max;
    uint64_t delay;

    for (unsigned i = 0; i < rc->attempt && cap < max; i++)
        cap *= 2;
    if (cap > max)
        cap = max;
    delay = rng_next(rc) % (cap + 1);
    rc->attempt++;
    rc->state = SC_RCONN_DOWN;
    SC_LOG(SC_LOG_INFO, "redis %s: retry %u in %llu ms", rc->name, rc->attempt,
           (unsigned long long)delay);
    uv_timer_start(&rc->retry_timer, on_retry, delay, 0);
}

static void rconn_lost(struct sc_rconn *rc, const char *why)
{
    if (rc->state == SC_RCONN_CLOSED || rc->state == SC_RCONN_DOWN)
        return;
    SC_LOG(SC_LOG_WARN, "redis %s: connection lost (%s)", rc->name, why);
    rc->probe_out = 0;
    schedule_retry(rc);
    rc->ops->lost(rc);
}

void sc_rconn_drop(struct sc_rconn *rc, const char *why)
{
    redisAsyncContext *ac = rc->ac;

    rc->ac = NULL;
    if (ac)
        redisAsyncFree(ac);
    rconn_lost(rc, why);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct sc_rconn *rc = ac->data;

    (void)status;
    if (rc->ac != ac)
        return; /* dropped by us */
    rc->ac = NULL;
    rconn_lost(rc, ac->errstr[0] ? ac->errstr : "closed by peer");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct sc_rconn *rc = ac->data;

    if (status == REDIS_OK || rc->ac != ac)
        return;
    /* hiredis frees a context whose connect failed, and calls no
     * disconnect callback for it. */
    rc->ac = NULL;
    rconn_lost(rc, ac->errstr);
}

static void on_auth(redisAsyncContext *ac, void *reply, void *privdata)
{
    redisReply *rep = reply;
    struct sc_rconn *rc = privdata;

    if (rep && rep->type == REDIS_REPLY_ERROR) {
        SC_LOG(SC_LOG_ERROR, "redis %s: AUTH refused: %.*s", rc->name, (int)rep->len, rep->str);
        redisAsyncDisconnect(ac);
    }
}

static void send_probe(struct sc_rconn *rc)
{
    if (rc->ops->probe(rc, rc->ac) < 0)
        return;
    rc->probe_out = 1;
    rc->since_ms = uv_now(rc->loop);
}

static void rconn_connect(struct sc_rconn *rc)
{
    const struct sc_config *cfg = rc->cfg;
    redisAsyncContext *ac = redisAsyncConnect(cfg->redis_host, (int)cfg->redis_port);

    rc->state = SC_RCONN_CONNECTING;
    rc->since_ms = uv_now(rc->loop);
    if (!ac || ac->err) {
        SC_LOG(SC_LOG_WARN, "redis %s: cannot connect to %s:%ld: %s", rc->name, cfg->redis_host,
               cfg->redis_port, ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        schedule_retry(rc);
        return;
    }
    ac->data = rc;
    rc->ac = ac;
    if (redisLibuvAttach(ac, rc->loop) != REDIS_OK) {
        sc_rconn_drop(rc, "cannot attach to the event loop");
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (cfg->redis_password && cfg->redis_user)
        redisAsyncCommand(ac, on_auth, rc, "AUTH %s %s", cfg->redis_user, cfg->redis_password);
    else if (cfg->redis_password)
        redisAsyncCommand(ac, on_auth, rc, "AUTH %s", cfg->redis_password);
    send_probe(rc);
}

void sc_rconn_answered(struct sc_rconn *rc)
{
    rc->probe_out = 0;
    if (rc->state != SC_RCONN_CONNECTING)
        return;
    rc->state = SC_RCONN_UP;
    rc->attempt = 0;
    if (rc->ever_up)
        rc->reconnects++;
    rc->ever_up = 1;
    SC_LOG(SC_LOG_INFO, "redis %s: connected to %s:%ld", rc->name, rc->cfg->redis_host,
           rc->cfg->redis_port);
    rc->ops->up(rc);
}

static int rconn_unread(const struct sc_rconn *rc)
{
    int n = 0;

    return rc->ac && ioctl(rc->ac->c.fd, FIONREAD, &n) == 0 && n > 0;
}

/* Every redis-ping-interval: bound the connect time, and probe a
 * connection that is up. A probe unanswered for redis-timeout means Redis
 * is stuck (stopped, swapping, or a dead path TCP has not noticed). */
static void on_live_timer(uv_timer_t *t)
{
    struct sc_rconn *rc = t->data;
    uint64_t now = uv_now(rc->loop);
    uint64_t timeout = (uint64_t)rc->cfg->redis_timeout;

    if (rc->state == SC_RCONN_CONNECTING && now - rc->since_ms >= timeout) {
        sc_rconn_drop(rc, "connect timed out");
    } else if (rc->state == SC_RCONN_UP) {
        /* A Redis that is sending (a backlog ahead of the probe's answer)
         * is alive; so is one whose answer waits unread in our socket after
         * a long loop iteration (timers run before reads). */
        if (rc->probe_out && now - rc->since_ms >= timeout && now - rc->last_rx_ms >= timeout &&
            !rconn_unread(rc))
            sc_rconn_drop(rc, "no answer within redis-timeout");
        else if (!rc->probe_out)
            send_probe(rc);
    }
}

int sc_rconn_start(struct sc_rconn *rc, uv_loop_t *loop, const struct sc_config *cfg,
                   const struct sc_rconn_ops *ops, const char *name, void *data)
{
    memset(rc, 0, sizeof(*rc));
    rc->ops = ops;
    rc->data = data;
    rc->name = name;
    rc->cfg = cfg;
    rc->loop = loop;
    if (getrandom(&rc->rng, sizeof(rc->rng), GRND_NONBLOCK) != sizeof(rc->rng) || !rc->rng)
        rc->rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
    uv_timer_init(loop, &rc->retry_timer);
    uv_timer_init(loop, &rc->live_timer);
    rc->retry_timer.data = rc->live_timer.data = rc;
    rc->open_handles = 2;
    uv_timer_start(&rc->live_timer, on_live_timer, (uint64_t)cfg->redis_ping_interval,
                   (uint64_t)cfg->redis_ping_interval);
    rconn_connect(rc);
    return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct sc_rconn *rc = h->data;

    if (--rc->open_handles == 0 && rc->closed)
        rc->closed(rc);
}

void sc_rconn_close(struct sc_rconn *rc, void (*closed)(struct sc_rconn *rc))
{
    redisAsyncContext *ac = rc->ac;

    if (rc->state == SC_RCONN_CLOSED)
        return;
    rc->state = SC_RCONN_CLOSED;
    rc->closed = closed;
    rc->ac = NULL;
    /* Closing the socket also ends every subscription it held. */
    if (ac)
        redisAsyncFree(ac);
    uv_close((uv_handle_t *)&rc->retry_timer, on_handle_closed);
    uv_close((uv_handle_t *)&rc->live_timer, on_handle_closed);
}
