/* sc_server: create, run and stop one node, and wire its parts: the ops
 * tables the lower modules report through are implemented here. */
#include "sc_server.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "sc_conn.h"
#include "sc_http.h"
#include "sc_log.h"
#include "sc_rxgate.h"
#include "sc_tls.h"
#include "sc_wsrx.h"

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

/* Keep-alive runs from sc_keepalive.c; lws's per-connection validity
 * timers would cost O(connections) per re-arm. */
static const lws_retry_bo_t no_validity = {.secs_since_valid_ping = 0,
                                           .secs_since_valid_hangup = 0};

static uint64_t now_ms(const struct sc_server *srv)
{
    return uv_now(srv->hub.loop);
}

static struct sc_server *server_of_hub(struct sc_hub *h)
{
    return sc_container_of(h, struct sc_server, hub);
}

static int redis_up(const struct sc_server *srv)
{
    return srv->pubsub && sc_pubsub_state(srv->pubsub) == SC_PUBSUB_UP;
}

/* --- the connections' ops (sc_hub_ops) --------------------------------- */

static int hub_admit(struct sc_hub *h, struct sc_conn *c, const char *key, size_t len)
{
    return sc_route_admit(&server_of_hub(h)->route, c, key, len);
}

static void hub_forget(struct sc_hub *h, struct sc_conn *c)
{
    sc_route_forget(&server_of_hub(h)->route, c);
}

static void on_flush_check(uv_check_t *h)
{
    struct sc_server *srv = h->data;

    sc_conn_flush_pending(&srv->hub);
    if (!srv->hub.nflush)
        uv_check_stop(h);
}

static void hub_flush_soon(struct sc_hub *h)
{
    struct sc_server *srv = server_of_hub(h);

    /* uv_check runs right after this iteration's I/O callbacks, so every
     * message read from Redis in one read() is out in one writev. */
    if (!uv_is_active((uv_handle_t *)&srv->flush_check))
        uv_check_start(&srv->flush_check, on_flush_check);
}

static const char *redis_state_name(const struct sc_server *srv)
{
    switch (srv->pubsub ? sc_pubsub_state(srv->pubsub) : SC_PUBSUB_CLOSED) {
    case SC_PUBSUB_UP: return "up";
    case SC_PUBSUB_CONNECTING: return "connecting";
    case SC_PUBSUB_DOWN: return "down";
    default: return "closed";
    }
}

static void hub_status(struct sc_hub *h, struct sc_hub_status *st)
{
    struct sc_server *srv = server_of_hub(h);
    struct sc_metrics_gauges *g = &st->gauges;

    memset(st, 0, sizeof(*st));
    st->healthy = !h->stopping && redis_up(srv);
    st->redis = redis_state_name(srv);
    g->connections = h->nconns;
    g->subscriptions = h->reg.nsubs;
    g->channels = h->reg.nchannels;
    g->patterns = h->reg.npatterns;
    /* A running total (every queue counts into it): a scrape costs the
     * same at any number of connections. */
    g->queued_bytes = h->queued_bytes;
    /* Redis's own state: during a stop /healthz says "stopping", but an
     * alert on redis_up must not fire on every deploy. */
    g->redis_up = redis_up(srv);
    if (srv->cluster) {
        g->clustered = 1;
        g->map_epoch = srv->cluster->epoch;
        g->map_shards = srv->cluster->map ? sc_shardmap_count(srv->cluster->map) : 0;
    }
    g->uptime_s = (double)(now_ms(srv) - srv->started_ms) / 1000.0;
    if (srv->pubsub) {
        h->metrics.redis_reconnects = sc_pubsub_reconnects(srv->pubsub);
        h->metrics.errors[SC_ERR_REDIS_PROTOCOL] = sc_pubsub_protocol_errors(srv->pubsub);
    }
}

static int hub_route_json(struct sc_hub *h, const char *key, size_t len, struct sc_buf *b)
{
    return sc_route_json(&server_of_hub(h)->route, key, len, b);
}

static int hub_shards_json(struct sc_hub *h, struct sc_buf *b)
{
    sc_route_shards_json(&server_of_hub(h)->route, b);
    return 0;
}

static const struct sc_hub_ops standalone_ops = {
    NULL, NULL, hub_flush_soon, sc_http_confirm_upgrade, hub_status, NULL, NULL,
};
static const struct sc_hub_ops clustered_ops = {
    hub_admit,  hub_forget,     hub_flush_soon,  sc_http_confirm_upgrade,
    hub_status, hub_route_json, hub_shards_json,
};

/* The read hook failed a connection (sc_rxgate.c). */
static void conn_failed(void *conn, uint16_t code)
{
    sc_conn_fail(conn, code);
}

/* --- the Pub/Sub client's ops (sc_pubsub_ops) -------------------------- */

/* A message arrived from Redis: encode once, queue to every subscriber. */
static void pubsub_message(void *data, const char *channel, size_t clen, const char *pattern,
                           size_t plen, const char *payload, size_t dlen)
{
    struct sc_hub *h = data;
    struct sc_channel *ch;
    struct sc_msg *m;

    h->metrics.redis_messages++;
    ch = pattern ? sc_registry_find(&h->reg, pattern, plen)
                 : sc_registry_find(&h->reg, channel, clen);
    if (!ch || !ch->subs.count || ch->pattern != (pattern != NULL))
        return;
    m = sc_msg_delivery(channel, clen, pattern, plen, payload, dlen);
    if (!m) {
        h->metrics.errors[SC_ERR_ALLOC]++;
        SC_LOG(SC_LOG_ERROR, "out of memory encoding a message of %zu bytes", dlen);
        return;
    }
    /* A slow subscriber is only marked for closing here; its link stays in
     * the list until LWS_CALLBACK_CLOSED, so the walk is safe. */
    for (struct sc_sub *s = sc_sub_first(ch); s; s = sc_sub_next(s))
        if (sc_conn_send(s->conn, m) == 0)
            h->metrics.deliveries++;
    sc_msg_unref(m);
}

static void pubsub_control(void *data, const char *msg, size_t len)
{
    struct sc_server *srv = data;

    if (srv->cluster)
        sc_cluster_control(srv->cluster, msg, len);
}

/* The link went down or came back: tell every client, once per change
 * (every failed reconnect reports a loss again). */
static void pubsub_link(void *data, int up)
{
    struct sc_server *srv = data;
    struct sc_msg *m;

    if (srv->hub.redis_down == !up)
        return;
    srv->hub.redis_down = !up;
    if ((m = sc_conn_status_frame(&srv->hub, up))) {
        sc_conn_broadcast(&srv->hub, m);
        sc_msg_unref(m);
    }
}

/* Every subscription is in place again: tell each subscriber that
 * messages may have been missed. */
static void pubsub_resynced(void *data)
{
    struct sc_server *srv = data;
    struct sc_list *lists[] = {&srv->hub.ka.active, &srv->hub.ka.pinged};

    SC_LOG(SC_LOG_INFO, "redis: all %zu channels subscribed again; notifying subscribers",
           srv->hub.reg.nchannels);
    for (size_t i = 0; i < 2; i++)
        for (struct sc_link *l = lists[i]->head, *next; l; l = next) {
            next = l->next;
            sc_conn_send_missed(sc_conn_of(l));
        }
}

static const struct sc_pubsub_ops pubsub_ops = {
    pubsub_message,
    pubsub_control,
    pubsub_link,
    pubsub_resynced,
};

static void registry_dirty(void *data)
{
    sc_pubsub_kick(((struct sc_server *)data)->pubsub);
}

/* --- membership's ops (sc_cluster_ops) --------------------------------- */

static void cluster_map_changed(void *data)
{
    sc_route_map_changed(&((struct sc_server *)data)->route);
}

static void cluster_drain_requested(void *data)
{
    SC_LOG(SC_LOG_INFO, "cluster: drain requested");
    sc_server_stop(data, 1);
}

static size_t cluster_connections(void *data)
{
    return ((struct sc_server *)data)->hub.nconns;
}

static const struct sc_cluster_ops cluster_ops = {
    cluster_map_changed,
    cluster_drain_requested,
    cluster_connections,
};

/* --- timers, signals, stop --------------------------------------------- */

static void on_tick(uv_timer_t *t)
{
    struct sc_server *srv = t->data;

    sc_conn_auth_sweep(&srv->hub);
    sc_keepalive_run(&srv->hub.ka, now_ms(srv));
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct sc_server *srv = h->data;

    SC_LOG(SC_LOG_INFO, "signal %d: shutting down", signum);
    sc_server_stop(srv, srv->hub.cfg->drain && signum == SIGTERM);
}

/* Close every connection on l with 1001. The walk takes each next link
 * before closing, so it ends after one pass (sc_conn_close unlinks c). */
static void close_list(struct sc_list *l)
{
    for (struct sc_link *link = l->head, *next; link; link = next) {
        next = link->next;
        sc_conn_close(sc_conn_of(link), 1001);
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
        sc_route_close(&srv->route, NULL);
        sc_cluster_close(srv->cluster, NULL);
        srv->cluster = NULL;
    }
    if (srv->pubsub) {
        sc_pubsub_close(srv->pubsub, NULL);
        srv->pubsub = NULL;
    }
    /* First half of lws's teardown on a foreign loop: it closes its
     * handles as the loop runs on; sc_server_cleanup() finishes it. */
    if (srv->lws)
        lws_context_destroy(srv->lws);
    uv_close((uv_handle_t *)&srv->tick_timer, handle_closed);
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
    if (!srv->cluster || !sc_cluster_drain_done(srv->cluster) || !sc_route_idle(&srv->route)) {
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
    int redis_busy = redis_up(srv) && !sc_registry_synced(&srv->hub.reg);
    int cluster_busy = srv->cluster && sc_cluster_busy(srv->cluster);

    if (srv->draining && (late || srv->hub.nconns == 0 || drain_stalled(srv))) {
        /* Moves are done (or out of time): close whoever is left. */
        srv->draining = 0;
        SC_LOG(SC_LOG_INFO, "drained; closing %zu connections with 1001", srv->hub.nconns);
        close_list(&srv->hub.ka.active);
        close_list(&srv->hub.ka.pinged);
        srv->stop_deadline_ms = now_ms(srv) + (uint64_t)srv->hub.cfg->shutdown_timeout * 1000;
        return;
    }
    if (!late && (srv->draining || srv->hub.nconns > 0 || redis_busy || cluster_busy))
        return;
    if (late)
        SC_LOG(SC_LOG_WARN, "shutdown deadline passed with %zu connections open", srv->hub.nconns);
    uv_timer_stop(t);
    server_finish(srv);
}

void sc_server_stop(struct sc_server *srv, int drain)
{
    uint64_t grace = (uint64_t)srv->hub.cfg->shutdown_timeout * 1000;

    if (srv->hub.stopping)
        return;
    srv->hub.stopping = 1;
    drain = drain && srv->cluster;
    if (srv->cluster)
        sc_cluster_leave(srv->cluster, drain);
    if (drain) {
        /* Moves run at move-rate (default: over 5 s); give them that plus
         * the grace period before the remaining clients get 1001. */
        srv->draining = 1;
        SC_LOG(SC_LOG_INFO, "draining %zu connections to other shards", srv->hub.nconns);
        grace += DRAIN_EXTRA_MS;
    } else {
        SC_LOG(SC_LOG_INFO, "closing %zu connections with 1001", srv->hub.nconns);
        close_list(&srv->hub.ka.active);
        close_list(&srv->hub.ka.pinged);
    }
    srv->stop_deadline_ms = now_ms(srv) + grace;
    uv_timer_start(&srv->stop_timer, on_stop_timer, 20, 20);
}

/* Keys, permissions and origins, and the TLS files and ciphers: a mistake
 * in any of them is a configuration error, reported like the others
 * (sc_config_error) and returned as -EINVAL (exit 2). */
static int server_auth_init(struct sc_server *srv)
{
    const struct sc_config *cfg = srv->hub.cfg;
    char err[512];

    if (sc_tls_check(cfg, err, sizeof(err)) < 0) {
        sc_config_error("%s", err);
        return -EINVAL;
    }
    if (sc_auth_init(&srv->hub.auth, cfg, err, sizeof(err)) < 0) {
        sc_config_error("%s", err);
        return -EINVAL;
    }
    if (srv->hub.auth.mode == SC_AUTH_OFF)
        SC_LOG(SC_LOG_WARN, "--auth off: anyone who reaches this port can read every "
                            "channel (see docs/security.md)");
    return 0;
}

/* Pick the demo page directory: the flag, else the installed copy, else
 * the source tree this binary was built from. */
static int server_web_root(struct sc_server *srv)
{
    const char *cands[] = {srv->hub.cfg->web_root, SC_WEB_INSTALL_DIR, SC_WEB_SOURCE_DIR};
    struct stat st;

    for (size_t i = 0; i < 3; i++) {
        if (!cands[i])
            continue;
        if (stat(cands[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(srv->hub.web_root, sizeof(srv->hub.web_root), "%s", cands[i]);
            return 0;
        }
        if (i == 0) {
            SC_LOG(SC_LOG_ERROR, "web-root %s: not a directory", cands[i]);
            return -ENOENT;
        }
    }
    srv->hub.web_root[0] = 0;
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
    srv->hub.max_conns =
        srv->hub.cfg->max_connections ? (size_t)srv->hub.cfg->max_connections : (size_t)usable;
    /* Sockets still in their handshake live between usable and the
     * ceiling (they get a 503 at the upgrade); the fds above it are for
     * Redis, libuv and files served, so accept() never meets EMFILE. */
    srv->hub.fd_ceiling = (int)(usable + (rl.rlim_cur - usable) / 2);
    if ((rlim_t)srv->hub.max_conns > usable) {
        SC_LOG(SC_LOG_WARN,
               "max-connections %zu exceeds what open files allow (%llu, %d kept in "
               "reserve): serving at most %llu; raise `ulimit -n` for more",
               srv->hub.max_conns, (unsigned long long)rl.rlim_cur, FD_RESERVE,
               (unsigned long long)usable);
        srv->hub.max_conns = (size_t)usable;
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
    void *loops[1] = {srv->hub.loop};

    memset(&info, 0, sizeof(info));
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                   LWS_SERVER_OPTION_UV_NO_SIGSEGV_SIGFPE_SPIN |
                   LWS_SERVER_OPTION_DISABLE_OS_CA_CERTS;
    /* This lws binds the IPv6 wildcard, ignoring an IPv4 --host, unless
     * IPv6 is off for the vhost. */
    if (srv->hub.cfg->host && strchr(srv->hub.cfg->host, '.') && !strchr(srv->hub.cfg->host, ':'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = loops;
    info.port = (int)srv->hub.cfg->port;
    info.iface = srv->hub.cfg->host;
    info.protocols = protocols;
    info.pvo = &pvo;
    info.user = &srv->hub; /* sc_hub_of() finds it */
    info.timeout_secs = (unsigned)srv->hub.cfg->handshake_timeout;
    info.timeout_secs_ah_idle = (unsigned)srv->hub.cfg->handshake_timeout;
    info.retry_and_idle_policy = &no_validity;
    /* Header buffers are taken per connection still in its handshake and
     * given back after; a pool this deep lets honest clients through while
     * thousands of slow ones hold theirs until the handshake timeout. */
    info.max_http_header_pool = (unsigned short)srv->hub.cfg->max_handshakes;
    /* The read hook answers a longer head with 431 before lws sees it. */
    info.max_http_header_data = SC_WSRX_HEAD_MAX;
    info.vhost_name = "shardcast";
    /* wss:// and https:// on the same port, through lws and OpenSSL. */
    sc_tls_apply(srv->hub.cfg, &info);
    /* lws would otherwise keep a vhost whose address is not (yet) local
     * waiting for it, and run with no listener at all. */
    info.options |= LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
    /* HTTP/1.1 only. Over h2, lws 4.1 opens a WebSocket for any extended
     * CONNECT (RFC 8441, rops_check_upgrades_h2() in lib/roles/h2/ops-h2.c)
     * without LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: no path, Origin,
     * connection-limit or handshake check at all. */
    if (srv->hub.cfg->tls_cert)
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
        uv_run(srv->hub.loop, UV_RUN_DEFAULT);
        if (srv->lws)
            lws_context_destroy(srv->lws);
        srv->lws = NULL;
        return -EADDRINUSE;
    }
    return 0;
}

/* The parts that talk to Redis: membership and routing (clustered), then
 * the Pub/Sub client, whose probe channel is the cluster's control
 * channel when there is one. Returns 0 or -ENOMEM (nothing left). */
static int server_redis_start(struct sc_server *srv)
{
    struct sc_hub *h = &srv->hub;
    int rc;

    if (h->cfg->shard_id) {
        if ((rc = sc_cluster_start(h->loop, h->cfg, &cluster_ops, srv, &srv->cluster)) < 0)
            return rc;
        sc_route_init(&srv->route, h, srv->cluster);
    }
    h->reg.on_dirty = registry_dirty;
    h->reg.dirty_data = srv;
    rc = sc_pubsub_start(h->loop, h->cfg, &h->reg, srv->cluster ? srv->cluster->channel : NULL,
                         &pubsub_ops, srv, &srv->pubsub);
    if (rc < 0 && srv->cluster) {
        sc_route_close(&srv->route, NULL);
        sc_cluster_close(srv->cluster, NULL);
        srv->cluster = NULL;
    }
    return rc;
}

/* Timers and signal handlers on the loop. */
static void server_handles_start(struct sc_server *srv, uv_loop_t *loop)
{
    uv_timer_init(loop, &srv->tick_timer);
    uv_timer_init(loop, &srv->stop_timer);
    uv_check_init(loop, &srv->flush_check);
    uv_signal_init(loop, &srv->sigterm);
    uv_signal_init(loop, &srv->sigint);
    srv->flush_check.data = srv->tick_timer.data = srv->stop_timer.data = srv;
    srv->sigterm.data = srv->sigint.data = srv;
    uv_timer_start(&srv->tick_timer, on_tick, 1000, 1000);
    uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
    uv_signal_start(&srv->sigint, on_signal, SIGINT);
}

int sc_server_start(struct sc_server *srv, const struct sc_config *cfg, uv_loop_t *loop)
{
    int rc;

    memset(srv, 0, sizeof(*srv));
    srv->started_ms = uv_now(loop);
    if ((rc = sc_hub_init(&srv->hub, cfg, loop, cfg->shard_id ? &clustered_ops : &standalone_ops)) <
        0)
        return rc;
    sc_keepalive_init(&srv->hub.ka, (uint32_t)cfg->ping_interval * 1000,
                      (uint32_t)cfg->pong_timeout * 1000, sc_conn_ping_due, sc_conn_ping_timeout,
                      &srv->hub);
    if ((rc = server_web_root(srv)) < 0 || (rc = server_auth_init(srv)) < 0)
        goto fail_hub;
    server_check_limits(srv);
    if ((rc = sc_rxgate_start(&srv->hub, conn_failed)) < 0)
        goto fail_auth;
    if ((rc = server_lws_create(srv)) < 0)
        goto fail_rxgate;
    if ((rc = server_redis_start(srv)) < 0)
        goto fail_lws;
    server_handles_start(srv, loop);
    SC_LOG(SC_LOG_INFO,
           "listening on %s:%ld (ws://HOST:%ld/ws), redis %s:%ld, "
           "max %zu connections, web root %s",
           cfg->host ? cfg->host : "*", cfg->port, cfg->port, cfg->redis_host, cfg->redis_port,
           srv->hub.max_conns, srv->hub.web_root[0] ? srv->hub.web_root : "(none)");
    return 0;
fail_lws:
    lws_context_destroy(srv->lws);
    srv->lws = NULL;
fail_rxgate:
    sc_rxgate_stop();
fail_auth:
    sc_auth_free(&srv->hub.auth);
fail_hub:
    sc_hub_free(&srv->hub);
    return rc;
}

void sc_server_cleanup(struct sc_server *srv)
{
    sc_auth_free(&srv->hub.auth);
    if (srv->lws) {
        lws_context_destroy(srv->lws);
        uv_run(srv->hub.loop, UV_RUN_DEFAULT);
    }
    sc_rxgate_stop();
    sc_hub_free(&srv->hub);
}
