/*
 * sub.c - "shardcast-cli sub": one WebSocket connection to a node, kept
 * alive across drops and redirects until the run has an exit status.
 *
 * lws runs on its default poll() loop: with a single connection there is
 * nothing for epoll or libuv to win.  Timers are lws "sul"s on that loop:
 * sul_connect starts every attempt (so a reconnect never starts from inside
 * an lws callback), sul_handshake enforces --connect-timeout on it, and
 * sul_timeout enforces --timeout.  Frames are handed to sub_frames.c once
 * reassembled.
 */
#include "msg.h"
#include "out.h"
#include "policy.h"
#include "sub.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define SC_PROTOCOL "shardcast-cli"
#define SC_BACKOFF_BASE_MS 500
#define SC_BACKOFF_CAP_MS 30000
/* At-once reconnects allowed in a row before backoff applies anyway: two
 * nodes redirecting to each other must not become a busy loop. */
#define SC_RAPID_MAX 5
/* Failed connects at a redirect target before going back to the URL the
 * user gave, which knows the current shard map. */
#define SC_REDIRECT_FAILS 3
#define SC_RX_MAX (64u << 20)

/*
 * Keep-alive through lws's validity timer: a PING after 20 s without a
 * PONG, hang up at 35 s.  That matches the protocol's "no traffic for ping
 * interval + pong timeout (25 + 10 s) means dead", and our PINGs count as
 * traffic for the node, so it never needs to ping us.
 */
static const uint32_t sc_retry_table[] = {1000};
static const lws_retry_bo_t sc_keepalive = {
    .retry_ms_table = sc_retry_table,
    .retry_ms_table_count = 1,
    .secs_since_valid_ping = 20,
    .secs_since_valid_hangup = 35,
};

static volatile sig_atomic_t sc_signal;
static struct lws_context *sc_signal_ctx;

int64_t sc_sub_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void sc_sub_finish(struct sc_sub *s, int code)
{
    if (s->st == SC_ST_DONE)
        return;
    s->st = SC_ST_DONE;
    s->exit_code = code;
    lws_sul_cancel(&s->sul_connect);
    lws_sul_cancel(&s->sul_timeout);
    lws_sul_cancel(&s->sul_handshake);
    /* Called from a timer, lws would go back to poll() with nothing due:
	 * wake it so the service loop sees the end now. */
    if (s->ctx)
        lws_cancel_service(s->ctx);
}

/* A uniformly random 32-bit value for backoff jitter. */
static uint32_t sc_random(void)
{
    uint32_t r;

    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
        r = (uint32_t)rand();
    return r;
}

/* The URL s->cur as text for messages. */
static const char *sc_cur_text(const struct sc_sub *s, char *buf, size_t len)
{
    if (sc_ws_url_format(&s->cur, buf, len) < 0)
        return s->cur.host;
    return buf;
}

/*
 * Point s->cur at a copy of u.  On allocation failure the run ends (exit 1)
 * rather than silently retrying the old target.  Returns 0 or -ENOMEM.
 */
static int sc_retarget(struct sc_sub *s, const struct sc_ws_url *u)
{
    struct sc_ws_url copy;

    if (sc_ws_url_copy(&copy, u)) {
        sc_err("out of memory");
        sc_sub_finish(s, SC_EXIT_FAILURE);
        return -ENOMEM;
    }
    sc_ws_url_free(&s->cur);
    s->cur = copy;
    s->cur_failures = 0;
    return 0;
}

static void sc_connect_cb(lws_sorted_usec_list_t *sul);

/*
 * Schedule the next attempt.  now asks for an at-once reconnect (a 42xx
 * close), which is granted unless too many happened in a row; otherwise
 * the delay is full-jitter backoff and counts against --max-retries.
 * what says why, for the notice.
 */
static void sc_schedule(struct sc_sub *s, int now, const char *what)
{
    char buf[600];
    uint32_t ms;

    if (now && s->rapid++ < SC_RAPID_MAX) {
        sc_debug("%s; reconnecting to %s at once", what, sc_cur_text(s, buf, sizeof(buf)));
        lws_sul_schedule(s->ctx, 0, &s->sul_connect, sc_connect_cb, 0);
        return;
    }
    if (s->o->max_retries >= 0 && s->failures >= (unsigned long)s->o->max_retries) {
        sc_err("%s; giving up after %u reconnect attempt(s)", what, s->failures);
        sc_sub_finish(s, SC_EXIT_FAILURE);
        return;
    }
    ms = sc_backoff_ms(s->failures++, SC_BACKOFF_BASE_MS, SC_BACKOFF_CAP_MS, sc_random());
    sc_note("%s; reconnecting in %.1f s", what, ms / 1000.0);
    lws_sul_schedule(s->ctx, 0, &s->sul_connect, sc_connect_cb, (lws_usec_t)ms * LWS_US_PER_MS);
}

/*
 * A connection attempt failed before the handshake completed.  The very
 * first one ends the run (exit 6 when it timed out, else 1): a mistyped
 * URL should fail fast, not spin.
 */
static void sc_connect_failed(struct sc_sub *s, const char *why)
{
    char buf[600], what[800];

    snprintf(what, sizeof(what), "cannot connect to %s: %s", sc_cur_text(s, buf, sizeof(buf)),
             why ? why : "unknown error");
    if (!s->ever_open) {
        sc_err("%s", what);
        sc_sub_finish(s, s->handshake_late ? SC_EXIT_CONNECT_TIMEOUT : SC_EXIT_FAILURE);
        return;
    }
    if (++s->cur_failures >= SC_REDIRECT_FAILS && !sc_ws_url_equal(&s->cur, &s->origin)) {
        if (sc_retarget(s, &s->origin))
            return;
        snprintf(what + strlen(what), sizeof(what) - strlen(what), "; going back to %s",
                 sc_cur_text(s, buf, sizeof(buf)));
    }
    sc_schedule(s, 0, what);
}

/* An established connection closed: follow the close code's class. */
static void sc_closed(struct sc_sub *s)
{
    enum sc_close_action a = sc_close_action(s->close_code);
    const char *meaning = sc_close_describe(s->close_code);
    char what[400];

    snprintf(what, sizeof(what), "connection closed (%d%s%s%s%s)", s->close_code,
             *meaning ? " " : "", meaning, s->close_reason[0] ? ": " : "", s->close_reason);
    if (a == SC_STOP) {
        sc_err("%s; the node asked us not to reconnect", what);
        sc_sub_finish(s, SC_EXIT_CLOSED);
        return;
    }
    /* Wherever a redirect event pointed is the place to go, even if its
	 * 42xx close got lost on the way. */
    if (s->has_next) {
        s->has_next = 0;
        if (sc_retarget(s, &s->next))
            return;
    }
    sc_schedule(s, a == SC_RECONNECT_NOW, what);
}

/*
 * The connection is gone, before or after the handshake (why is lws's
 * error text for the former).  Called from more than one lws callback for
 * the same attempt, so only the first call of an attempt acts.
 */
static void sc_lost(struct sc_sub *s, const char *why)
{
    int was_open = s->st == SC_ST_OPEN;

    if (s->st != SC_ST_CONNECTING && s->st != SC_ST_OPEN)
        return;
    lws_sul_cancel(&s->sul_handshake);
    s->st = SC_ST_IDLE;
    s->wsi = NULL;
    s->tx_len = 0;
    if (s->subscribed)
        s->gap = 1;
    s->subscribed = 0;
    if (was_open)
        sc_closed(s);
    else
        sc_connect_failed(s, why);
}

/* The LCCSCF_ flags for the current target. */
static int sc_tls_flags(const struct sc_sub *s)
{
    if (!s->cur.tls)
        return 0;
    if (!s->o->insecure)
        return LCCSCF_USE_SSL;
    return LCCSCF_USE_SSL | LCCSCF_ALLOW_SELFSIGNED | LCCSCF_ALLOW_EXPIRED |
           LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK | LCCSCF_ALLOW_INSECURE;
}

/*
 * sul_handshake: the attempt under way has not completed its TCP connect
 * and WebSocket upgrade within --connect-timeout.  A node that accepts and
 * never answers would otherwise hold it for as long as the kernel keeps
 * the socket.  The attempt fails as any other does; the wsi is killed
 * after s has let go of it, so its callbacks find nothing to do.
 */
static void sc_handshake_timeout_cb(lws_sorted_usec_list_t *sul)
{
    struct sc_sub *s = lws_container_of(sul, struct sc_sub, sul_handshake);
    struct lws *wsi = s->wsi;
    char why[128];

    if (s->st != SC_ST_CONNECTING)
        return;
    snprintf(why, sizeof(why),
             "timed out: TCP connect and WebSocket "
             "upgrade not done within %g s (--connect-timeout)",
             s->o->connect_timeout_s);
    s->handshake_late = 1;
    sc_lost(s, why);
    if (wsi)
        lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
}

/* sul_connect: start one connection attempt to s->cur. */
static void sc_connect_cb(lws_sorted_usec_list_t *sul)
{
    struct sc_sub *s = lws_container_of(sul, struct sc_sub, sul_connect);
    struct lws_client_connect_info i;
    char buf[600];

    if (s->st != SC_ST_IDLE)
        return;
    if (sc_ws_url_host_header(&s->cur, s->host_hdr, sizeof(s->host_hdr)) < 0)
        s->host_hdr[0] = '\0';
    memset(&i, 0, sizeof(i));
    i.context = s->ctx;
    i.address = s->cur.host;
    i.port = s->cur.port;
    i.path = s->cur.path;
    i.host = s->host_hdr;
    i.ssl_connection = sc_tls_flags(s);
    i.local_protocol_name = SC_PROTOCOL;
    i.retry_and_idle_policy = &sc_keepalive;
    i.pwsi = &s->wsi;
    s->st = SC_ST_CONNECTING;
    s->handshake_late = 0;
    s->close_code = SC_CLOSE_ABNORMAL;
    s->close_reason[0] = '\0';
    s->rx_len = 0;
    sc_debug("connecting to %s", sc_cur_text(s, buf, sizeof(buf)));
    lws_sul_schedule(s->ctx, 0, &s->sul_handshake, sc_handshake_timeout_cb,
                     (lws_usec_t)(s->o->connect_timeout_s * 1e6));
    if (!lws_client_connect_via_info(&i))
        sc_lost(s, "connection failed to start (unknown host?)");
}

static void sc_timeout_cb(lws_sorted_usec_list_t *sul);

/*
 * Handshake done: queue this connection's subscribe request, and start the
 * --timeout clock at the first one.  Returns 0, or -1 to drop the
 * connection (out of memory: the run is over).
 */
static int sc_established(struct sc_sub *s, struct lws *wsi)
{
    char *req;
    size_t len;

    lws_sul_cancel(&s->sul_handshake);
    s->st = SC_ST_OPEN;
    if (!s->ever_open && s->o->timeout_s > 0) {
        s->last_msg_us = sc_sub_now_us();
        lws_sul_schedule(s->ctx, 0, &s->sul_timeout, sc_timeout_cb,
                         (lws_usec_t)(s->o->timeout_s * 1e6));
    }
    s->ever_open = 1;
    s->cur_failures = 0;
    if (sc_subscribe_request(s->o->channels, s->o->n_channels, ++s->sub_id, &req, &len)) {
        sc_err("out of memory");
        sc_sub_finish(s, SC_EXIT_FAILURE);
        return -1;
    }
    free(s->tx);
    /* lws writes the frame header into the LWS_PRE bytes in front. */
    s->tx = malloc(LWS_PRE + len);
    if (!s->tx) {
        free(req);
        sc_err("out of memory");
        sc_sub_finish(s, SC_EXIT_FAILURE);
        return -1;
    }
    memcpy(s->tx + LWS_PRE, req, len);
    s->tx_len = len;
    free(req);
    sc_debug("connected; subscribing (id %lld)", s->sub_id);
    lws_callback_on_writable(wsi);
    return 0;
}

/*
 * Append one piece of a frame.  Returns 0, -EFBIG past SC_RX_MAX, or
 * -ENOMEM.  One spare byte is kept for the parser's convenience.
 */
static int sc_rx_append(struct sc_sub *s, const void *in, size_t len)
{
    size_t need = s->rx_len + len + 1, cap = s->rx_cap ? s->rx_cap : 4096;
    unsigned char *p;

    if (s->rx_len + len > SC_RX_MAX)
        return -EFBIG;
    if (need > s->rx_cap) {
        while (cap < need)
            cap *= 2;
        p = realloc(s->rx, cap);
        if (!p)
            return -ENOMEM;
        s->rx = p;
        s->rx_cap = cap;
    }
    memcpy(s->rx + s->rx_len, in, len);
    s->rx_len += len;
    s->rx[s->rx_len] = '\0';
    return 0;
}

/*
 * One piece of an incoming frame: reassemble, then hand whole text frames
 * on.  Returns 0, or -1 to close the connection (the run is over).
 */
static int sc_receive(struct sc_sub *s, struct lws *wsi, const void *in, size_t len)
{
    int rc;

    if (s->st != SC_ST_OPEN)
        return -1;
    rc = sc_rx_append(s, in, len);
    if (rc) {
        sc_err("cannot take a frame from the node: %s",
               rc == -EFBIG ? "larger than 64 MiB" : strerror(-rc));
        sc_sub_finish(s, SC_EXIT_FAILURE);
        return -1;
    }
    if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
        return 0;
    if (lws_frame_is_binary(wsi)) {
        sc_debug("ignoring a binary frame; the protocol is text only");
        rc = 0;
    } else {
        rc = sc_sub_frame(s);
    }
    s->rx_len = 0;
    if (rc)
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
    return rc;
}

/* Send the queued subscribe request.  Returns 0 or -1 (drop). */
static int sc_writeable(struct sc_sub *s, struct lws *wsi)
{
    size_t len = s->tx_len;

    if (!len)
        return 0;
    s->tx_len = 0;
    if (lws_write(wsi, s->tx + LWS_PRE, len, LWS_WRITE_TEXT) < (int)len) {
        sc_debug("sending the subscribe request failed");
        return -1;
    }
    return 0;
}

/* Keep the node's close code and reason for the decision in sc_closed(). */
static void sc_peer_close(struct sc_sub *s, const unsigned char *in, size_t len)
{
    size_t rlen;

    if (len < 2)
        return;
    s->close_code = in[0] << 8 | in[1];
    rlen = len - 2 < sizeof(s->close_reason) - 1 ? len - 2 : sizeof(s->close_reason) - 1;
    memcpy(s->close_reason, in + 2, rlen);
    s->close_reason[rlen] = '\0';
}

/*
 * Describe a failed handshake: lws's text plus the HTTP status when there
 * was one (503 means the node is full, 400 that it refused the URL).
 */
static void sc_connect_error(struct sc_sub *s, struct lws *wsi, const char *in)
{
    char why[256];
    unsigned int status = wsi ? lws_http_client_http_response(wsi) : 0;

    if (status && status != 101)
        snprintf(why, sizeof(why), "HTTP %u (%s)", status, in ? in : "handshake refused");
    else
        snprintf(why, sizeof(why), "%s", in ? in : "connection failed");
    sc_lost(s, why);
}

/* The lws protocol callback: routes events to the functions above. */
static int sc_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    struct sc_sub *s = lws_context_user(lws_get_context(wsi));

    (void)user;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: sc_connect_error(s, wsi, in); break;
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        return s->st == SC_ST_CONNECTING ? sc_established(s, wsi) : -1;
    case LWS_CALLBACK_CLIENT_RECEIVE: return sc_receive(s, wsi, in, len);
    case LWS_CALLBACK_CLIENT_WRITEABLE: return sc_writeable(s, wsi);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: sc_peer_close(s, in, len); break;
    case LWS_CALLBACK_CLIENT_CLOSED: sc_lost(s, NULL); break;
    default: break;
    }
    return 0;
}

static const struct lws_protocols sc_protocols[] = {
    {SC_PROTOCOL, sc_callback, 0, 65536, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* sul_timeout: end the run when --timeout passed since the last message. */
static void sc_timeout_cb(lws_sorted_usec_list_t *sul)
{
    struct sc_sub *s = lws_container_of(sul, struct sc_sub, sul_timeout);
    int64_t deadline = s->last_msg_us + (int64_t)(s->o->timeout_s * 1e6);
    int64_t now = sc_sub_now_us();

    /* Re-arming on every message would cost a list insert each; checking
	 * when the timer fires costs one per period instead. */
    if (now < deadline) {
        lws_sul_schedule(s->ctx, 0, &s->sul_timeout, sc_timeout_cb, deadline - now);
        return;
    }
    sc_err("no message for %g s", s->o->timeout_s);
    sc_sub_finish(s, SC_EXIT_TIMEOUT);
}

/* Ctrl-C / SIGTERM: note it and wake the loop, which then ends. */
static void sc_on_signal(int sig)
{
    sc_signal = sig;
    if (sc_signal_ctx)
        lws_cancel_service(sc_signal_ctx);
}

/*
 * Check the command line's URL, key and channels and set up s->origin and
 * s->cur.  Returns 0 or an exit status (2 for bad input, 1 for memory).
 */
static int sc_sub_prepare(struct sc_sub *s, const struct sc_sub_opts *o)
{
    char *req;
    size_t len;
    int rc;

    if (sc_ws_url_parse(o->url, &s->origin)) {
        fprintf(stderr,
                SC_CLI_NAME " sub: bad URL '%s': want "
                            "ws://HOST[:PORT][/PATH] or wss://...\n",
                o->url);
        return SC_EXIT_USAGE;
    }
    if (o->key && (rc = sc_ws_url_add_key(&s->origin, o->key))) {
        if (rc != -EEXIST)
            return SC_EXIT_FAILURE;
        fprintf(stderr,
                SC_CLI_NAME " sub: --key given but URL '%s' "
                            "already has a key parameter\n",
                o->url);
        return SC_EXIT_USAGE;
    }
    rc = sc_subscribe_request(o->channels, o->n_channels, 0, &req, &len);
    if (rc == -EINVAL) {
        fprintf(stderr, SC_CLI_NAME " sub: a CHANNEL is not valid "
                                    "UTF-8\n");
        return SC_EXIT_USAGE;
    }
    if (rc)
        return SC_EXIT_FAILURE;
    free(req);
    return sc_ws_url_copy(&s->cur, &s->origin) ? SC_EXIT_FAILURE : 0;
}

/*
 * Create the lws context (quiet unless -v) with s as its user pointer.
 * Returns 0 or -EIO.
 */
static int sc_sub_context(struct sc_sub *s)
{
    struct lws_context_creation_info info;
    int levels = 0;

    if (s->o->verbose >= 1)
        levels = LLL_ERR | LLL_WARN;
    if (s->o->verbose >= 2)
        levels |= LLL_NOTICE | LLL_INFO;
    lws_set_log_level(levels, NULL);
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = sc_protocols;
    info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.user = s;
    info.fd_limit_per_thread = 1 + 1 + 1;
    s->ctx = lws_create_context(&info);
    return s->ctx ? 0 : -EIO;
}

/* Install sc_on_signal for SIGINT and SIGTERM, without SA_RESTART. */
static void sc_sub_signals(struct lws_context *ctx)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = sc_on_signal;
    sigemptyset(&sa.sa_mask);
    sc_signal_ctx = ctx;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Release everything a run holds.  The context goes first: its teardown
 * still calls back into s. */
static void sc_sub_cleanup(struct sc_sub *s)
{
    if (s->ctx)
        lws_context_destroy(s->ctx);
    sc_signal_ctx = NULL;
    sc_ws_url_free(&s->origin);
    sc_ws_url_free(&s->cur);
    sc_ws_url_free(&s->next);
    free(s->shard);
    free(s->rx);
    free(s->tx);
}

int sc_sub_run(const struct sc_sub_opts *o)
{
    struct sc_sub s;
    int rc;

    memset(&s, 0, sizeof(s));
    s.o = o;
    sc_log_setup(o->verbose, o->quiet);
    rc = sc_sub_prepare(&s, o);
    if (!rc && sc_sub_context(&s)) {
        sc_err("cannot create the libwebsockets context");
        rc = SC_EXIT_FAILURE;
    }
    if (rc) {
        sc_sub_cleanup(&s);
        return rc;
    }
    sc_sub_signals(s.ctx);
    lws_sul_schedule(s.ctx, 0, &s.sul_connect, sc_connect_cb, 0);
    while (s.st != SC_ST_DONE && !sc_signal)
        if (lws_service(s.ctx, 0) < 0)
            sc_sub_finish(&s, SC_EXIT_FAILURE);
    if (s.st != SC_ST_DONE)
        sc_sub_finish(&s, SC_EXIT_SIGNAL + sc_signal);
    sc_sub_cleanup(&s);
    return s.exit_code;
}
