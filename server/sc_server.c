/* sc_server: create, run and stop one node. */
#include "sc_server.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "sc_cluster.h"
#include "sc_conn.h"
#include "sc_log.h"
#include "sc_redis.h"
#include "sc_rxgate.h"
#include "sc_tls.h"
#include "sc_wsrx.h"

/* Frames gathered into one send. Large enough to amortise the syscall over
 * a hundred small messages, small enough that what lws copies when a
 * client's socket is full stays modest. */
#define SCRATCH_BYTES (16 * 1024)

/* A drain gets this long, on top of shutdown-timeout, to move clients. */
#define DRAIN_EXTRA_MS 30000
/* Once every move is sent, how long moved clients get to leave. */
#define DRAIN_SETTLE_MS 3000

static const struct lws_protocols protocols[] = {
    {"http", sc_http_callback, 0, 0, 0, NULL, 0},
    /* rx 256: the receive buffer is per connection and idle subscribers
     * dominate; tx is unbounded so gathered sends are never split. */
    {"shardcast", sc_conn_callback, sizeof(struct sc_conn), 256, 0, NULL, 1 << 28},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Unnamed upgrades (browsers send no subprotocol) go to "shardcast". */
static const struct lws_protocol_vhost_options pvo_default = {NULL, NULL, "default", "1"};
static const struct lws_protocol_vhost_options pvo = {NULL, &pvo_default, "shardcast", ""};

/* Keep-alive runs from sc_sweep.c; lws's per-connection validity timers
 * would cost O(connections) per re-arm. */
static const lws_retry_bo_t no_validity = {.secs_since_valid_ping = 0,
                                           .secs_since_valid_hangup = 0};

static uint64_t now_ms(const struct sc_server *srv)
{
    return uv_now(srv->loop);
}

int sc_server_healthy(const struct sc_server *srv)
{
    return !srv->stopping && srv->redis && sc_redis_state(srv->redis) == SC_REDIS_UP;
}

void sc_server_gauges(const struct sc_server *srv, struct sc_metrics_gauges *g)
{
    memset(g, 0, sizeof(*g));
    g->connections = srv->nconns;
    g->subscriptions = srv->reg.nsubs;
    g->channels = srv->reg.nchannels;
    g->patterns = srv->reg.npatterns;
    /* A running total (every queue counts into it): a scrape costs the
     * same at any number of connections. */
    g->queued_bytes = srv->queued_bytes;
    /* Redis's own state: during a stop /healthz says "stopping", but an
     * alert on redis_up must not fire on every deploy. */
    g->redis_up = srv->redis && sc_redis_state(srv->redis) == SC_REDIS_UP;
    if (srv->cluster) {
        g->clustered = 1;
        g->map_epoch = srv->cluster->epoch;
        g->map_shards = srv->cluster->map ? sc_shardmap_count(srv->cluster->map) : 0;
    }
    g->uptime_s = (double)(now_ms(srv) - srv->started_ms) / 1000.0;
}

void sc_server_publish(struct sc_server *srv, const char *channel, size_t clen,
                       const char *pattern, size_t plen, const char *data,
                       size_t dlen)
{
    struct sc_channel *ch;
    struct sc_msg *m;

    srv->metrics.redis_messages++;
    ch = pattern ? sc_registry_find(&srv->reg, pattern, plen)
                 : sc_registry_find(&srv->reg, channel, clen);
    if (!ch || !ch->subs || ch->pattern != (pattern != NULL))
        return;
    m = sc_msg_delivery(channel, clen, pattern, plen, data, dlen);
    if (!m) {
        srv->metrics.errors[SC_ERR_ALLOC]++;
        SC_LOG(SC_LOG_ERROR, "out of memory encoding a message of %zu bytes", dlen);
        return;
    }
    /* A slow subscriber is only marked for closing here; its link stays in
     * the list until LWS_CALLBACK_CLOSED, so the walk is safe. */
    for (struct sc_sub *s = ch->subs; s; s = s->next)
        if (sc_conn_send(s->conn, m) == 0)
            srv->metrics.deliveries++;
    sc_msg_unref(m);
}

static void missed_list(struct sc_conn_list *l)
{
    for (struct sc_conn *c = l->head, *next; c; c = next) {
        next = c->lnext;
        sc_conn_send_missed(c);
    }
}

void sc_server_resynced(struct sc_server *srv)
{
    SC_LOG(SC_LOG_INFO, "redis: all %zu channels subscribed again; notifying subscribers",
           srv->reg.nchannels);
    missed_list(&srv->active);
    missed_list(&srv->pinged);
}

/* The status event; docs/protocol.md, "Redis status". NULL on allocation
 * failure (counted and logged). */
static struct sc_msg *status_frame(struct sc_server *srv, int up)
{
    static const char down_json[] = "{\"op\":\"status\",\"redis\":\"down\"}";
    static const char up_json[] = "{\"op\":\"status\",\"redis\":\"up\"}";
    struct sc_msg *m = up ? sc_msg_text(up_json, sizeof(up_json) - 1)
                          : sc_msg_text(down_json, sizeof(down_json) - 1);

    if (!m) {
        srv->metrics.errors[SC_ERR_ALLOC]++;
        SC_LOG(SC_LOG_ERROR, "out of memory encoding a status event");
    }
    return m;
}

void sc_server_redis_status(struct sc_server *srv, int up)
{
    struct sc_conn_list *lists[] = {&srv->active, &srv->pinged};
    struct sc_msg *m;

    /* Every failed reconnect reports a loss: clients hear of changes only. */
    if (srv->redis_down == !up)
        return;
    srv->redis_down = !up;
    if (!(m = status_frame(srv, up)))
        return;
    /* A full queue closes its connection (4100) and unlinks it: step first. */
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        for (struct sc_conn *c = lists[i]->head, *next; c; c = next) {
            next = c->lnext;
            sc_conn_send(c, m);
        }
    sc_msg_unref(m);
}

void sc_server_redis_status_to(struct sc_server *srv, struct sc_conn *c)
{
    struct sc_msg *m;

    if (!srv->redis_down || !(m = status_frame(srv, 0)))
        return;
    sc_conn_send(c, m);
    sc_msg_unref(m);
}

static void on_flush_check(uv_check_t *h)
{
    struct sc_server *srv = h->data;

    sc_conn_flush_pending(srv);
    if (!srv->nflush)
        uv_check_stop(h);
}

void sc_server_flush_soon(struct sc_server *srv)
{
    /* uv_check runs right after this iteration's I/O callbacks, so every
     * message read from Redis in one read() is out in one writev. */
    if (!uv_is_active((uv_handle_t *)&srv->flush_check))
        uv_check_start(&srv->flush_check, on_flush_check);
}

static void on_sweep(uv_timer_t *t)
{
    sc_sweep_run(t->data, now_ms(t->data));
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct sc_server *srv = h->data;

    SC_LOG(SC_LOG_INFO, "signal %d: shutting down", signum);
    sc_server_stop(srv, srv->cfg->drain && signum == SIGTERM);
}

void sc_server_control(struct sc_server *srv, const char *msg, size_t len)
{
    if (srv->cluster)
        sc_cluster_control(srv->cluster, msg, len);
}

/* Close every connection on l with 1001. The walk takes each next link
 * before closing, so it ends after one pass whatever sc_conn_close does
 * with the list (it unlinks c; a connection already closing, which should
 * never be on a list, is just unlinked). */
static void close_list(struct sc_conn_list *l)
{
    for (struct sc_conn *c = l->head, *next; c; c = next) {
        next = c->lnext;
        if (c->close_code)
            sc_sweep_remove(c);
        else
            sc_conn_close(c, 1001);
    }
}

static void handle_closed(uv_handle_t *h)
{
    (void)h;
}

/* Last step of a stop: nothing of ours stays on the loop, so uv_run()
 * returns once lws and hiredis have closed their own handles. */
static void server_finish(struct sc_server *srv)
{
    if (srv->cluster) {
        sc_cluster_close(srv->cluster, NULL);
        srv->cluster = NULL;
    }
    if (srv->redis) {
        sc_redis_close(srv->redis, NULL);
        srv->redis = NULL;
    }
    /* First half of lws's teardown on a foreign loop: it closes its
     * handles as the loop runs on; sc_server_cleanup() finishes it. */
    if (srv->lws)
        lws_context_destroy(srv->lws);
    uv_close((uv_handle_t *)&srv->sweep_timer, handle_closed);
    uv_close((uv_handle_t *)&srv->stop_timer, handle_closed);
    uv_close((uv_handle_t *)&srv->flush_check, handle_closed);
    uv_close((uv_handle_t *)&srv->sigterm, handle_closed);
    uv_close((uv_handle_t *)&srv->sigint, handle_closed);
    SC_LOG(SC_LOG_INFO, "stopped");
}

/* A drain with nothing left to move, though clients remain: they either
 * have been sent a move and are leaving (give them a few seconds), or
 * have nowhere to go (the last shard). Either way stop waiting then. */
static int drain_stalled(struct sc_server *srv)
{
    if (!srv->cluster || !sc_cluster_drain_done(srv->cluster)) {
        srv->drain_idle_since_ms = 0;
        return 0;
    }
    if (!srv->drain_idle_since_ms)
        srv->drain_idle_since_ms = now_ms(srv);
    return now_ms(srv) - srv->drain_idle_since_ms >= DRAIN_SETTLE_MS;
}

/* Polls the stop: first every client gone, then every UNSUBSCRIBE their
 * leaving caused confirmed by Redis, or the deadline, whichever first. */
static void on_stop_timer(uv_timer_t *t)
{
    struct sc_server *srv = t->data;
    int late = now_ms(srv) >= srv->stop_deadline_ms;
    int redis_busy = srv->redis && sc_redis_state(srv->redis) == SC_REDIS_UP &&
                     !sc_registry_synced(&srv->reg);
    int cluster_busy = srv->cluster && sc_cluster_busy(srv->cluster);

    if (srv->draining && (late || srv->nconns == 0 || drain_stalled(srv))) {
        /* Moves are done (or out of time): close whoever is left. */
        srv->draining = 0;
        SC_LOG(SC_LOG_INFO, "drained; closing %zu connections with 1001", srv->nconns);
        close_list(&srv->active);
        close_list(&srv->pinged);
        srv->stop_deadline_ms = now_ms(srv) + (uint64_t)srv->cfg->shutdown_timeout * 1000;
        return;
    }
    if (!late && (srv->draining || srv->nconns > 0 || redis_busy || cluster_busy))
        return;
    if (late)
        SC_LOG(SC_LOG_WARN, "shutdown deadline passed with %zu connections open",
               srv->nconns);
    uv_timer_stop(t);
    server_finish(srv);
}

void sc_server_stop(struct sc_server *srv, int drain)
{
    uint64_t grace = (uint64_t)srv->cfg->shutdown_timeout * 1000;

    if (srv->stopping)
        return;
    srv->stopping = 1;
    drain = drain && srv->cluster;
    if (srv->cluster)
        sc_cluster_leave(srv->cluster, drain);
    if (drain) {
        /* Moves run at move-rate (default: over 5 s); give them that plus
         * the grace period before the remaining clients get 1001. */
        srv->draining = 1;
        SC_LOG(SC_LOG_INFO, "draining %zu connections to other shards", srv->nconns);
        grace += DRAIN_EXTRA_MS;
    } else {
        SC_LOG(SC_LOG_INFO, "closing %zu connections with 1001", srv->nconns);
        close_list(&srv->active);
        close_list(&srv->pinged);
    }
    srv->stop_deadline_ms = now_ms(srv) + grace;
    uv_timer_start(&srv->stop_timer, on_stop_timer, 20, 20);
}

/* Keys, permissions and origins, and the TLS files and ciphers: a mistake
 * in any of them is a configuration error, reported like the others
 * (sc_config_error) and returned as -EINVAL (exit 2). */
static int server_auth_init(struct sc_server *srv)
{
    const struct sc_config *cfg = srv->cfg;
    char err[512];

    if (sc_tls_check(cfg, err, sizeof(err)) < 0) {
        sc_config_error("%s", err);
        return -EINVAL;
    }
    if (sc_auth_init(&srv->auth, cfg, err, sizeof(err)) < 0) {
        sc_config_error("%s", err);
        return -EINVAL;
    }
    if (srv->auth.mode == SC_AUTH_OFF)
        SC_LOG(SC_LOG_WARN, "--auth off: anyone who reaches this port can read every "
               "channel (see docs/security.md)");
    return 0;
}

/* Pick the demo page directory: the flag, else the installed copy, else
 * the source tree this binary was built from. */
static int server_web_root(struct sc_server *srv)
{
    const char *cands[] = {srv->cfg->web_root, SC_WEB_INSTALL_DIR, SC_WEB_SOURCE_DIR};
    struct stat st;

    for (size_t i = 0; i < 3; i++) {
        if (!cands[i])
            continue;
        if (stat(cands[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(srv->web_root, sizeof(srv->web_root), "%s", cands[i]);
            return 0;
        }
        if (i == 0) {
            SC_LOG(SC_LOG_ERROR, "web-root %s: not a directory", cands[i]);
            return -ENOENT;
        }
    }
    srv->web_root[0] = 0;
    SC_LOG(SC_LOG_WARN, "no demo page directory found; / answers 404");
    return 0;
}

/* Raise the open-files limit to its hard cap, derive max-connections from
 * it when not configured, and say so at start-up when the configured value
 * cannot be reached, instead of failing under load. */
static void server_check_limits(struct sc_server *srv)
{
    enum { FD_RESERVE = 64 }; /* listener, Redis, files served, logs */
    struct rlimit rl;
    rlim_t usable;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        rl.rlim_cur = 1024;
    usable = rl.rlim_cur > FD_RESERVE * 2 ? rl.rlim_cur - FD_RESERVE : rl.rlim_cur / 2;
    srv->max_conns = srv->cfg->max_connections ? (size_t)srv->cfg->max_connections
                                               : (size_t)usable;
    /* Sockets still in their handshake live between usable and the
     * ceiling (they get a 503 at the upgrade); the fds above it are for
     * Redis, libuv and files served, so accept() never meets EMFILE. */
    srv->fd_ceiling = (int)(usable + (rl.rlim_cur - usable) / 2);
    if ((rlim_t)srv->max_conns > usable) {
        SC_LOG(SC_LOG_WARN,
               "max-connections %zu exceeds what open files allow (%llu, %d kept in "
               "reserve): serving at most %llu; raise `ulimit -n` for more",
               srv->max_conns, (unsigned long long)rl.rlim_cur, FD_RESERVE,
               (unsigned long long)usable);
        srv->max_conns = (size_t)usable;
    }
}

/* The lws context and the node's one vhost. Returns 0, -ENOSYS when the
 * context cannot be made (no libuv event lib), or -EADDRINUSE when the
 * listener cannot be bound (port in use, address not local, no permission):
 * the caller reports that in one line (main.c learns the reason from the
 * line lws logs). */
static int server_lws_create(struct sc_server *srv)
{
    struct lws_context_creation_info info;
    void *loops[1] = {srv->loop};

    memset(&info, 0, sizeof(info));
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                   LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN |
                   LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
    /* This lws binds the IPv6 wildcard, ignoring an IPv4 --host, unless
     * IPv6 is off for the vhost. */
    if (srv->cfg->host && strchr(srv->cfg->host, '.') && !strchr(srv->cfg->host, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = loops;
    info.port = (int)srv->cfg->port;
    info.iface = srv->cfg->host;
    info.protocols = protocols;
    info.pvo = &pvo;
    info.user = srv;
    info.timeout_secs = (unsigned)srv->cfg->handshake_timeout;
    info.timeout_secs_ah_idle = (unsigned)srv->cfg->handshake_timeout;
    info.retry_and_idle_policy = &no_validity;
    /* Header buffers are taken per connection still in its handshake and
     * given back after; a pool this deep lets honest clients through while
     * thousands of slow ones hold theirs until the handshake timeout. */
    info.max_http_header_pool = (unsigned short)srv->cfg->max_handshakes;
    /* The read hook answers a longer head with 431 before lws sees it. */
    info.max_http_header_data = SC_WSRX_HEAD_MAX;
    info.vhost_name = "shardcast";
    /* wss:// and https:// on the same port, through lws and OpenSSL. */
    sc_tls_apply(srv->cfg, &info);
    /* lws would otherwise keep a vhost whose address is not (yet) local
     * waiting for it, and run with no listener at all. */
    info.options |= LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    /* HTTP/1.1 only. Over h2, lws 4.1 opens a WebSocket for any extended
     * CONNECT (RFC 8441, rops_check_upgrades_h2() in lib/roles/h2/ops-h2.c)
     * without LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: no path, Origin,
     * connection-limit or handshake check at all. */
    if (srv->cfg->tls_cert)
        info.alpn = "http/1.1";
    info.pcontext = &srv->lws; /* lws clears it once fully destroyed */
    /* The vhost is created apart: when its listener cannot bind, lws
     * 4.1 still returns a context from lws_create_context() and aborts
     * later; lws_create_vhost() fails cleanly instead. */
    info.options |= LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    srv->lws = lws_create_context(&info);
    if (!srv->lws) {
        SC_LOG(SC_LOG_ERROR, "cannot create the lws context (is libwebsockets-evlib-uv "
               "installed?)");
        return -ENOSYS;
    }
    if (!lws_create_vhost(srv->lws, &info)) {
        /* On a foreign loop lws closes its handles as the loop runs on.
         * Nothing else is on the loop yet: run it until they are closed,
         * then finish the teardown as sc_server_cleanup() does, or the
         * context leaks. */
        lws_context_destroy(srv->lws);
        uv_run(srv->loop, UV_RUN_DEFAULT);
        if (srv->lws)
            lws_context_destroy(srv->lws);
        srv->lws = NULL;
        return -EADDRINUSE;
    }
    return 0;
}

int sc_server_start(struct sc_server *srv, const struct sc_config *cfg,
                    uv_loop_t *loop)
{
    int rc;

    memset(srv, 0, sizeof(*srv));
    srv->cfg = cfg;
    srv->loop = loop;
    srv->started_ms = uv_now(loop);
    srv->limits.max_channels = (size_t)cfg->max_channels;
    srv->limits.max_channel_length = (size_t)cfg->max_channel_length;
    srv->limits.utf8 = cfg->channel_set == SC_CHANNEL_UTF8;
    srv->scratch_cap = SCRATCH_BYTES;
    if ((rc = server_web_root(srv)) < 0)
        return rc;
    if ((rc = server_auth_init(srv)) < 0)
        return rc;
    if (!(srv->scratch = malloc(LWS_PRE + SCRATCH_BYTES))) {
        sc_auth_free(&srv->auth);
        return -ENOMEM;
    }
    if ((rc = sc_registry_init(&srv->reg)) < 0)
        goto fail_scratch;
    server_check_limits(srv);
    if ((rc = sc_rxgate_start(srv)) < 0)
        goto fail_registry;
    if ((rc = server_lws_create(srv)) < 0)
        goto fail_rxgate;
    if (cfg->shard_id && (rc = sc_cluster_start(srv, &srv->cluster)) < 0)
        goto fail_lws;
    if ((rc = sc_redis_start(srv, srv->cluster ? srv->cluster->channel : NULL,
                             &srv->redis)) < 0)
        goto fail_cluster;
    uv_timer_init(loop, &srv->sweep_timer);
    uv_timer_init(loop, &srv->stop_timer);
    uv_check_init(loop, &srv->flush_check);
    srv->flush_check.data = srv;
    uv_signal_init(loop, &srv->sigterm);
    uv_signal_init(loop, &srv->sigint);
    srv->sweep_timer.data = srv->stop_timer.data = srv;
    srv->sigterm.data = srv->sigint.data = srv;
    uv_timer_start(&srv->sweep_timer, on_sweep, 1000, 1000);
    uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
    uv_signal_start(&srv->sigint, on_signal, SIGINT);
    SC_LOG(SC_LOG_INFO, "listening on %s:%ld (ws://HOST:%ld/ws), redis %s:%ld, "
           "max %zu connections, web root %s", cfg->host ? cfg->host : "*", cfg->port,
           cfg->port, cfg->redis_host, cfg->redis_port, srv->max_conns,
           srv->web_root[0] ? srv->web_root : "(none)");
    return 0;
fail_cluster:
    if (srv->cluster)
        sc_cluster_close(srv->cluster, NULL);
    srv->cluster = NULL;
fail_lws:
    lws_context_destroy(srv->lws);
    srv->lws = NULL;
fail_rxgate:
    sc_rxgate_stop();
fail_registry:
    sc_registry_destroy(&srv->reg);
fail_scratch:
    free(srv->scratch);
    srv->scratch = NULL;
    sc_auth_free(&srv->auth);
    return rc;
}

void sc_server_cleanup(struct sc_server *srv)
{
    sc_auth_claims_free(srv->upgrade_claims);
    srv->upgrade_claims = NULL;
    sc_auth_free(&srv->auth);
    free(srv->auth_wheel);
    srv->auth_wheel = NULL;
    free(srv->flush);
    srv->flush = NULL;
    if (srv->lws) {
        lws_context_destroy(srv->lws);
        uv_run(srv->loop, UV_RUN_DEFAULT);
    }
    sc_rxgate_stop();
    sc_registry_destroy(&srv->reg);
    free(srv->scratch);
    srv->scratch = NULL;
}
