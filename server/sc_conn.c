/* sc_conn: the WebSocket protocol callback and per-connection logic. */
#include "sc_conn.h"

#include <errno.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_access.h"
#include "sc_acl.h"
#include "sc_json.h"
#include "sc_log.h"
#include "sc_rxgate.h"

/* Seconds a closing connection may take to flush our close frame and
 * answer it before lws drops the socket. */
#define CLOSE_GRACE_S 5

/* One writev carries at most this many frames, this many bytes: enough to
 * amortise the syscall over a backlog, bounded so one slow reader cannot
 * hold the loop. */
#define WRITEV_FRAMES 64
#define WRITEV_BYTES (256 * 1024)
#define WRITEV_ROUNDS 4

/* The names of one subscribe or unsubscribe, from a parsed request or
 * from the ?channels= list: both go through the same path. */
struct names {
    const struct sc_request *req; /* its channels, or else: */
    const struct sc_name *list;
    size_t count;
};

static int conn_schedule_flush(struct sc_conn *c);
static void conn_unschedule_flush(struct sc_conn *c);
static void conn_touch(struct sc_conn *c);

static const char *close_text(uint16_t code)
{
    switch (code) {
    case 1001: return "going away";
    case 1002: return "protocol error";
    case 1003: return "binary frames are not accepted";
    case 1007: return "invalid UTF-8";
    case 1009: return "message too big";
    case 4100: return "slow consumer";
    case 4101: return "ping timeout";
    case 4200: return "redirect";
    case 4201: return "moved";
    case 4001: return "unauthorized";
    case 4102: return "token expired";
    case 1008: return "policy violation";
    default: return "internal error";
    }
}

/* Close from inside a receive callback: set the close frame, then the
 * caller returns -1 and lws sends it. */
static int close_now(struct lws *wsi, uint16_t code)
{
    const char *t = close_text(code);

    lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)t, strlen(t));
    return -1;
}

void sc_conn_close(struct sc_conn *c, uint16_t code)
{
    if (c->close_code)
        return;
    c->close_code = code;
    c->want_ping = 0;
    if (!c->close_after_queue)
        sc_queue_clear(&c->q);
    conn_unschedule_flush(c);
    sc_keepalive_remove(&c->hub->ka, &c->ka);
    if (c->hub->ops->forget)
        c->hub->ops->forget(c->hub, c);
    lws_callback_on_writable(c->wsi);
    /* A peer that reads nothing never lets us write the close frame; do not
     * keep its socket for longer than this. */
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, CLOSE_GRACE_S);
}

/* After a protocol failure, once our close frame is out: end our side of
 * the connection (RFC 6455 7.1.7) rather than wait for a close frame the
 * read hook drops anyway. With TLS, close_notify goes first, so the end is
 * not taken for a truncation. The socket stays open, its input read and
 * dropped, until the client closes or the close grace passes, so no RST
 * overtakes the frame. Only from WRITEABLE, and not while lws still holds
 * part of the frame (it calls WRITEABLE again once that is out). */
static void conn_half_close(struct sc_conn *c)
{
    if (lws_partial_buffered(c->wsi)) {
        lws_callback_on_writable(c->wsi);
        return;
    }
    c->half_closed = 1;
    if (c->tls && SSL_shutdown(lws_get_ssl(c->wsi)) < 0)
        return; /* close_notify not out yet: a FIN now would cut it */
    shutdown(lws_get_socket_fd(c->wsi), SHUT_WR);
}

void sc_conn_fail(struct sc_conn *c, uint16_t code)
{
    c->failed = 1;
    if (c->close_code)
        lws_callback_on_writable(c->wsi); /* closing already: half-close */
    else
        sc_conn_close(c, code);
}

void sc_conn_close_after(struct sc_conn *c, uint16_t code)
{
    if (c->close_code)
        return;
    c->close_after_queue = 1;
    sc_conn_close(c, code);
}

int sc_conn_send(struct sc_conn *c, struct sc_msg *m)
{
    int was_empty = c->q.count == 0, rc;

    if (c->close_code)
        return -1;
    rc = sc_queue_push(&c->q, m, (size_t)c->hub->cfg->max_queue_bytes);
    if (rc == -ENOBUFS) {
        c->hub->metrics.slow_consumer_disconnects++;
        sc_conn_close(c, 4100);
        return -1;
    }
    if (rc < 0) {
        c->hub->metrics.errors[SC_ERR_ALLOC]++;
        sc_conn_close(c, 1011);
        return -1;
    }
    if (was_empty && conn_schedule_flush(c) < 0) {
        c->hub->metrics.errors[SC_ERR_ALLOC]++;
        sc_conn_close(c, 1011);
        return -1;
    }
    return 0;
}

/* TLS connections, or a head frame lws must take over: one lws_write of as
 * many whole frames as fit the scratch buffer (or the head frame alone
 * when it is bigger). lws copies any unsent tail and holds WRITEABLE back
 * until it drains. Returns 0, or -1 to drop the connection. */
static int conn_flush_lws(struct sc_conn *c)
{
    struct sc_hub *hub = c->hub;
    struct sc_msg *m = sc_queue_peek(&c->q);
    size_t len;
    int n;

    if (!m)
        return 0;
    if (c->q.count == 1 || m->len > hub->scratch_cap) {
        len = m->len;
        n = lws_write(c->wsi, (unsigned char *)sc_msg_frame(m), len, LWS_WRITE_RAW);
        sc_queue_pop(&c->q);
    } else {
        len = sc_queue_gather(&c->q, hub->scratch + LWS_PRE, hub->scratch_cap);
        n = lws_write(c->wsi, hub->scratch + LWS_PRE, len, LWS_WRITE_RAW);
    }
    if (n < 0)
        return -1;
    hub->metrics.bytes_out += len;
    return 0;
}

/* The fast path: one writev() straight from the shared frames, no copy and
 * no poll toggling. Frames fully written are popped; a frame written in
 * part has its tail handed to lws, which then owns ordering (its own pong
 * and close frames can never land inside ours) and withholds WRITEABLE
 * until the tail is out. Returns WV_EMPTY, WV_MORE (a full batch went out,
 * more is queued), WV_BLOCKED (socket full) or -1 on error. */
enum { WV_BLOCKED = 0, WV_EMPTY = 1, WV_MORE = 2 };

static int conn_writev(struct sc_conn *c)
{
    struct iovec iov[WRITEV_FRAMES];
    const struct sc_queue *q = &c->q;
    size_t n = 0, bytes = 0;
    ssize_t w;

    for (uint32_t i = 0; i < q->count && n < WRITEV_FRAMES && bytes < WRITEV_BYTES; i++) {
        const struct sc_msg *m = q->ring[(q->head + i) & (q->cap - 1)];
        iov[n].iov_base = (void *)sc_msg_frame(m);
        iov[n++].iov_len = m->len;
        bytes += m->len;
    }
    if (!n)
        return WV_EMPTY;
    do
        w = writev(lws_get_socket_fd(c->wsi), iov, (int)n);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? WV_BLOCKED : -1;
    c->hub->metrics.bytes_out += (uint64_t)w;
    for (size_t left = (size_t)w; left > 0;) {
        struct sc_msg *m = sc_queue_peek(&c->q);
        if (left >= m->len) {
            left -= m->len;
            sc_queue_pop(&c->q);
            continue;
        }
        if (lws_write(c->wsi, (unsigned char *)sc_msg_frame(m) + left, m->len - left,
                      LWS_WRITE_RAW) < 0)
            return -1;
        sc_queue_pop(&c->q);
        return WV_BLOCKED;
    }
    if ((size_t)w < bytes)
        return WV_BLOCKED;
    return c->q.count ? WV_MORE : WV_EMPTY;
}

/* Send what is queued: directly while the socket takes it, then through a
 * WRITEABLE once it does not (or always, for TLS, which only lws can
 * write). Returns 0, or -1 to drop the connection. */
static int conn_flush(struct sc_conn *c, int in_writeable)
{
    int rc = WV_BLOCKED;

    if (c->tls) {
        if (!in_writeable) {
            lws_callback_on_writable(c->wsi);
            return 0;
        }
        if (conn_flush_lws(c) < 0)
            return -1;
    } else if (!lws_partial_buffered(c->wsi)) {
        for (int round = 0; round < WRITEV_ROUNDS && (rc = conn_writev(c)) == WV_MORE; round++)
            ;
        if (rc < 0)
            return -1;
    }
    if (c->q.count || c->close_code || c->want_ping) {
        c->awaiting_writable = 1;
        lws_callback_on_writable(c->wsi);
    }
    return 0;
}

/* Runs once per loop iteration, after the I/O of that iteration: every
 * connection that got frames since is flushed once, however many frames
 * it got. */
void sc_conn_flush_pending(struct sc_hub *hub)
{
    for (size_t i = 0; i < hub->nflush; i++) {
        struct sc_conn *c = hub->flush[i];
        if (!c)
            continue;
        c->flush_idx = 0;
        if (!c->close_code && !c->awaiting_writable && conn_flush(c, 0) < 0)
            sc_conn_close(c, 1011); /* a write error: lws finds out on its own */
    }
    hub->nflush = 0;
}

/* Put c on the node's flush list (once per iteration). */
static int conn_schedule_flush(struct sc_conn *c)
{
    struct sc_hub *hub = c->hub;

    if (c->flush_idx || c->awaiting_writable)
        return 0;
    if (hub->nflush == hub->capflush) {
        size_t cap = hub->capflush ? hub->capflush * 2 : 1024;
        struct sc_conn **f = realloc(hub->flush, sizeof(*f) * cap);
        if (!f)
            return -ENOMEM;
        hub->flush = f;
        hub->capflush = cap;
    }
    hub->flush[hub->nflush++] = c;
    c->flush_idx = (uint32_t)hub->nflush;
    hub->ops->flush_soon(hub);
    return 0;
}

/* Take c off the flush list (it is closing or closed). */
static void conn_unschedule_flush(struct sc_conn *c)
{
    if (c->flush_idx && c->flush_idx <= c->hub->nflush && c->hub->flush[c->flush_idx - 1] == c)
        c->hub->flush[c->flush_idx - 1] = NULL;
    c->flush_idx = 0;
}

/* Send our close frame, then wait for the client's. Returning -1 from
 * WRITEABLE instead would make lws drop the socket without a close frame,
 * and the client would only ever see 1006. */
static int conn_send_close(struct sc_conn *c)
{
    unsigned char buf[LWS_PRE + 127], *f = buf + LWS_PRE;
    const char *t = close_text(c->close_code);
    size_t tl = strlen(t); /* < 124: fits a control frame */

    /* Built whole and sent raw, like every frame of ours: this lws has no
     * public way to send a close frame from WRITEABLE. */
    f[0] = 0x88;
    f[1] = (unsigned char)(2 + tl);
    f[2] = (unsigned char)(c->close_code >> 8);
    f[3] = (unsigned char)c->close_code;
    memcpy(f + 4, t, tl);
    if (lws_write(c->wsi, f, 4 + tl, LWS_WRITE_RAW) < 0)
        return -1;
    c->close_sent = 1;
    return 0;
}

static int conn_writeable(struct sc_conn *c)
{
    /* A ping with a payload: this lws drops the pong to an empty ping
     * before LWS_CALLBACK_RECEIVE_PONG, so the node would never see it. */
    unsigned char ping[LWS_PRE + 2] = {[LWS_PRE] = 's', [LWS_PRE + 1] = 'c'};

    c->awaiting_writable = 0;
    if (c->close_code && c->close_after_queue && c->q.count)
        return conn_flush(c, 1);
    if (c->close_code) {
        if (!c->close_sent && conn_send_close(c) < 0)
            return -1;
        if (c->failed && !c->half_closed)
            conn_half_close(c);
        return 0;
    }
    if (c->want_ping) {
        c->want_ping = 0;
        if (lws_write(c->wsi, ping + LWS_PRE, 2, LWS_WRITE_PING) < 0)
            return -1;
        return c->q.count ? conn_flush(c, 1) : 0;
    }
    return conn_flush(c, 1);
}

static const char *name_at(const struct names *n, size_t i, size_t *len)
{
    if (n->req)
        return sc_request_channel(n->req, i, len);
    *len = n->list[i].len;
    return n->list[i].p;
}

/* Set (on) or clear each held channel's mark to 1 + the index of c's
 * subscription to it, so "does c hold this name" is one registry lookup:
 * O(subscriptions + names) per request instead of their product. */
static void conn_mark(struct sc_conn *c, int on)
{
    for (uint32_t i = 0; i < c->nsubs; i++)
        c->subs[i]->ch->mark = on ? i + 1 : 0;
}

/* 1 + the index of c's subscription to name, or 0; only while marked. */
static uint32_t conn_held(struct sc_conn *c, const char *p, size_t len)
{
    const struct sc_channel *ch = sc_registry_find(&c->hub->reg, p, len);

    return ch ? ch->mark : 0;
}

/* Room for extra more subscriptions, never past max-channels (grown by
 * doubling, so many small requests do not copy the array each time).
 * Returns 0 or -ENOMEM. */
static int conn_reserve(struct sc_conn *c, size_t extra)
{
    size_t max = c->hub->limits.max_channels;
    size_t want = (size_t)c->nsubs + extra, cap = (size_t)c->capsubs * 2;
    struct sc_sub **s;

    if (want > max)
        want = max;
    if (want <= c->capsubs)
        return 0;
    if (cap < want)
        cap = want;
    if (cap > max)
        cap = max;
    if (!(s = realloc(c->subs, sizeof(*s) * cap)))
        return -ENOMEM;
    c->subs = s;
    c->capsubs = (uint32_t)cap;
    return 0;
}

/* Every name checked first (permissions, reserved names); then each one
 * not held yet is subscribed, a name given twice once, and past
 * max-channels everything this call added is taken back before anything
 * reaches Redis (the Pub/Sub client sends the registry's changes only
 * before the loop next waits).
 * Returns SC_PERR_NONE, SC_PERR_FORBIDDEN or SC_PERR_TOO_MANY_CHANNELS with
 * msg filled, or -ENOMEM; nothing changed unless SC_PERR_NONE. */
static int conn_subscribe(struct sc_conn *c, const struct names *n, char *msg, size_t msglen)
{
    struct sc_hub *hub = c->hub;
    const struct sc_jwt_claims *cl = sc_conn_auth_claims(c);
    uint64_t budget = SC_GLOB_MAX_WORK;
    uint32_t before = c->nsubs;
    int rc = SC_PERR_NONE;
    size_t len;
    const char *p;

    for (size_t i = 0; i < n->count && rc == SC_PERR_NONE; i++) {
        p = name_at(n, i, &len);
        rc = sc_access_may_subscribe(hub, cl, p, len, &budget, msg, msglen);
    }
    if (rc != SC_PERR_NONE)
        return rc;
    if (conn_reserve(c, n->count) < 0)
        return -ENOMEM;
    conn_mark(c, 1);
    for (size_t i = 0; i < n->count; i++) {
        struct sc_sub *sub;
        p = name_at(n, i, &len);
        if (conn_held(c, p, len))
            continue;
        if (c->nsubs >= hub->limits.max_channels) {
            rc = SC_PERR_TOO_MANY_CHANNELS;
            snprintf(msg, msglen, "at most %zu channels per connection", hub->limits.max_channels);
            break;
        }
        if (!(sub = sc_registry_subscribe(&hub->reg, c, p, len))) {
            rc = -ENOMEM;
            break;
        }
        c->subs[c->nsubs++] = sub;
        sub->ch->mark = c->nsubs;
    }
    /* Marks off before any unsubscribe: it may free the entry. */
    conn_mark(c, 0);
    while (rc != SC_PERR_NONE && c->nsubs > before)
        sc_registry_unsubscribe(&hub->reg, c->subs[--c->nsubs]);
    return rc;
}

/* Names c does not hold are skipped. O(subscriptions + names). */
static void conn_unsubscribe(struct sc_conn *c, const struct names *n)
{
    conn_mark(c, 1);
    for (size_t i = 0; i < n->count; i++) {
        size_t len;
        const char *p = name_at(n, i, &len);
        uint32_t k = conn_held(c, p, len);
        struct sc_sub *sub;
        if (!k--)
            continue;
        sub = c->subs[k];
        sub->ch->mark = 0; /* before the unsubscribe may free it */
        c->subs[k] = c->subs[--c->nsubs];
        if (k < c->nsubs)
            c->subs[k]->ch->mark = k + 1;
        sc_registry_unsubscribe(&c->hub->reg, sub);
    }
    conn_mark(c, 0);
}

static const enum sc_err_kind perr_kind[] = {
    [SC_PERR_BAD_JSON] = SC_ERR_BAD_JSON,
    [SC_PERR_BAD_REQUEST] = SC_ERR_BAD_REQUEST,
    [SC_PERR_UNKNOWN_OP] = SC_ERR_UNKNOWN_OP,
    [SC_PERR_BAD_CHANNEL] = SC_ERR_BAD_CHANNEL,
    [SC_PERR_TOO_MANY_CHANNELS] = SC_ERR_TOO_MANY_CHANNELS,
    [SC_PERR_UNAUTHORIZED] = SC_ERR_UNAUTHORIZED,
    [SC_PERR_FORBIDDEN] = SC_ERR_FORBIDDEN,
    [SC_PERR_RATE_LIMITED] = SC_ERR_RATE_LIMITED,
};

/* Carry out a parsed subscribe or unsubscribe. Returns an error code for
 * the reply (msg filled), SC_PERR_NONE, or -ENOMEM. */
static int conn_apply(struct sc_conn *c, const struct sc_request *req, char *msg, size_t msglen)
{
    struct names n = {.req = req, .count = req->nchannels};

    if (req->op == SC_OP_UNSUBSCRIBE) {
        conn_unsubscribe(c, &n);
        return SC_PERR_NONE;
    }
    return conn_subscribe(c, &n, msg, msglen);
}

/* A token bucket per connection: max-requests-per-second, with a burst of
 * as many. A request over it is answered rate_limited and not carried out,
 * so a flood costs the node one parse and one small reply per message (and
 * a client that does not read those is cut off as a slow consumer). */
static int conn_rate_ok(struct sc_conn *c)
{
    uint64_t rate = (uint64_t)c->hub->cfg->max_requests_per_second;
    uint64_t cap = rate * 1000, tokens;
    uint32_t now = (uint32_t)uv_now(c->hub->loop);

    tokens = (uint64_t)c->rl_tokens + (uint64_t)(uint32_t)(now - c->rl_ms) * rate;
    c->rl_ms = now;
    if (tokens > cap)
        tokens = cap;
    if (tokens < 1000) {
        c->rl_tokens = (uint32_t)tokens;
        return 0;
    }
    c->rl_tokens = (uint32_t)(tokens - 1000);
    return 1;
}

/* One complete text message from the client: exactly one reply, queued
 * behind any deliveries already waiting so the client sees them in order. */
static int conn_request(struct sc_conn *c, const char *text, size_t len)
{
    struct sc_hub *hub = c->hub;
    struct sc_request req;
    struct sc_msg *reply;
    uint16_t close_code = 0;
    char msg[256];
    int rc;

    hub->metrics.requests++;
    rc = (int)sc_request_parse(text, len, &hub->limits, &req, msg, sizeof(msg));
    if (rc == SC_PERR_NONE && !conn_rate_ok(c)) {
        rc = SC_PERR_RATE_LIMITED;
        snprintf(msg, sizeof(msg), "more than %ld requests per second",
                 hub->cfg->max_requests_per_second);
    } else if (rc == SC_PERR_NONE && (rc = sc_conn_auth_gate(c, req.op)) != SC_PERR_NONE)
        snprintf(msg, sizeof(msg), "%s",
                 req.op == SC_OP_AUTH ? "this node does not use tokens (--auth off)"
                                      : "authenticate first: {\"op\":\"auth\",\"token\":...}");
    else if (rc == SC_PERR_NONE && req.op == SC_OP_AUTH)
        rc = sc_conn_auth_request(c, &req, msg, sizeof(msg), &close_code);
    else if (rc == SC_PERR_NONE && req.op != SC_OP_PING)
        rc = conn_apply(c, &req, msg, sizeof(msg));
    if (rc < 0) {
        sc_request_free(&req);
        hub->metrics.errors[SC_ERR_ALLOC]++;
        return close_now(c->wsi, 1011);
    }
    if (rc != SC_PERR_NONE)
        hub->metrics.errors[perr_kind[rc]]++;
    reply = rc ? sc_reply_error(req.id, (enum sc_perr)rc, msg) : sc_reply_ok(req.id);
    sc_request_free(&req);
    if (!reply) {
        hub->metrics.errors[SC_ERR_ALLOC]++;
        return close_now(c->wsi, 1011);
    }
    sc_conn_send(c, reply);
    sc_msg_unref(reply);
    /* After the reply is queued, so that it reaches the client first. */
    if (close_code)
        sc_conn_close_after(c, close_code);
    return 0;
}

/* Append a fragment to c->rx, growing it by doubling up to max, so a
 * client that stalls mid-message holds only what it actually sent.
 * Returns 0, or -ENOMEM (c->rx unchanged). An empty fragment touches
 * nothing: c->rx may still be NULL then, and NULL + 0 is undefined. */
static int conn_rx_append(struct sc_conn *c, const char *in, size_t len, size_t max)
{
    size_t total = (size_t)c->rxlen + len;

    if (!len)
        return 0;
    if (total > c->rxcap) {
        size_t cap = c->rxcap ? (size_t)c->rxcap * 2 : 1024;
        char *p;
        while (cap < total)
            cap *= 2;
        if (cap > max)
            cap = max;
        if (!(p = realloc(c->rx, cap)))
            return -ENOMEM;
        c->rx = p;
        c->rxcap = (uint32_t)cap;
    }
    memcpy(c->rx + c->rxlen, in, len);
    c->rxlen = (uint32_t)total;
    return 0;
}

/* Reassemble fragments (lws also splits one frame into rx-buffer-sized
 * pieces) into c->rx, bounded by max-message-size; past it, 1009 (the read
 * hook refuses such a message at its frame header already). */
static int conn_receive(struct sc_conn *c, const char *in, size_t len)
{
    struct lws *wsi = c->wsi;
    size_t max = (size_t)c->hub->cfg->max_message_size;
    size_t total, pending = lws_remaining_packet_payload(wsi);
    int first = lws_is_first_fragment(wsi), final = lws_is_final_fragment(wsi);

    conn_touch(c);
    if (c->close_code)
        return 0;
    if (lws_frame_is_binary(wsi)) {
        c->hub->metrics.errors[SC_ERR_BINARY_FRAME]++;
        return close_now(wsi, 1003);
    }
    if (first)
        c->rxlen = 0;
    total = (size_t)c->rxlen + len;
    if (total + (final ? 0 : pending) > max) {
        c->hub->metrics.errors[SC_ERR_MESSAGE_TOO_BIG]++;
        return close_now(wsi, 1009);
    }
    if (first && final)
        return conn_request(c, in, len);
    if (conn_rx_append(c, in, len, max) < 0) {
        c->hub->metrics.errors[SC_ERR_ALLOC]++;
        return close_now(wsi, 1011);
    }
    if (!final)
        return 0;
    /* Every fragment may have been empty: then there is no buffer. */
    int rc = conn_request(c, c->rx ? c->rx : "", c->rxlen);
    free(c->rx);
    c->rx = NULL;
    c->rxlen = c->rxcap = 0;
    return rc;
}

/* Traffic from c. A closing connection left the keep-alive lists for good
 * (sc_conn_close): its own timeout ends it, and a stop must never meet it
 * there again, so frames and pongs it still sends change nothing. */
static void conn_touch(struct sc_conn *c)
{
    if (!c->close_code)
        sc_keepalive_touch(&c->hub->ka, &c->ka, uv_now(c->hub->loop));
}

void sc_conn_ping_due(struct sc_ka_entry *e, void *hub)
{
    struct sc_conn *c = sc_container_of(e, struct sc_conn, ka);

    (void)hub;
    c->want_ping = 1;
    lws_callback_on_writable(c->wsi);
}

void sc_conn_ping_timeout(struct sc_ka_entry *e, void *hub)
{
    struct sc_conn *c = sc_container_of(e, struct sc_conn, ka);

    ((struct sc_hub *)hub)->metrics.errors[SC_ERR_PING_TIMEOUT]++;
    sc_conn_close(c, 4101);
}

size_t sc_conn_broadcast(struct sc_hub *hub, struct sc_msg *m)
{
    struct sc_list *lists[] = {&hub->ka.active, &hub->ka.pinged};
    size_t n = 0;

    /* A full queue closes its connection (4100), which unlinks it: step
     * first. */
    for (size_t i = 0; i < 2; i++)
        for (struct sc_link *l = lists[i]->head, *next; l; l = next) {
            next = l->next;
            n += sc_conn_send(sc_conn_of(l), m) == 0;
        }
    return n;
}

struct sc_msg *sc_conn_status_frame(struct sc_hub *hub, int up)
{
    static const char down_json[] = "{\"op\":\"status\",\"redis\":\"down\"}";
    static const char up_json[] = "{\"op\":\"status\",\"redis\":\"up\"}";
    struct sc_msg *m = up ? sc_msg_text(up_json, sizeof(up_json) - 1)
                          : sc_msg_text(down_json, sizeof(down_json) - 1);

    if (!m) {
        hub->metrics.errors[SC_ERR_ALLOC]++;
        SC_LOG(SC_LOG_ERROR, "out of memory encoding a status event");
    }
    return m;
}

static void conn_send_status(struct sc_conn *c, int up)
{
    struct sc_msg *m = sc_conn_status_frame(c->hub, up);

    if (m) {
        sc_conn_send(c, m);
        sc_msg_unref(m);
    }
}

/* ?channels= was checked at the upgrade (sc_http.c), by the same rules and
 * with the same claims: subscribe now. A refusal here would be a bug (the
 * connection is closed with 1008). Returns 0 or -ENOMEM. */
static int conn_subscribe_url(struct sc_conn *c)
{
    char buf[SC_URL_ARG_MAX], msg[256];
    struct names n = {0};
    struct sc_name *list;
    int rc;

    rc = sc_access_url_channels(c->wsi, &c->hub->limits, buf, sizeof(buf), &list, &n.count, msg,
                                sizeof(msg));
    n.list = list;
    if (rc == SC_PERR_NONE && n.count)
        rc = conn_subscribe(c, &n, msg, sizeof(msg));
    free(list);
    if (rc > 0) {
        SC_LOG(SC_LOG_ERROR, "?channels= admitted at the upgrade, refused at connect: %s", msg);
        sc_conn_close(c, 1008);
        return 0;
    }
    return rc;
}

/* In a cluster, every client has a shard key (?key=, checked at the
 * upgrade, or one the node picks): greet it, or send it to its owner. */
static int conn_route(struct sc_conn *c)
{
    /* Room for any parameter: lws_get_urlarg_by_name() gives up at the
     * first one longer than buf, such as a long ?token= before ?key=. */
    char buf[4096];
    const char *k;

    if (!c->hub->ops->admit)
        return 0;
    /* The token's subject is the shard key: a user lands on one shard
     * whatever the client sends. */
    k = sc_conn_auth_subject(c);
    if (!k || c->hub->cfg->key_from_token == 0)
        k = lws_get_urlarg_by_name(c->wsi, "key=", buf, sizeof(buf));
    return c->hub->ops->admit(c->hub, c, k, k ? strlen(k) : 0);
}

static int conn_established(struct sc_conn *c, struct lws *wsi)
{
    struct sc_hub *hub = sc_hub_of(wsi);
    uint16_t code;

    memset(c, 0, sizeof(*c));
    c->wsi = wsi;
    c->hub = hub;
    c->established = 1;
    c->q.total = &hub->queued_bytes;
    c->tls = lws_is_ssl(wsi) ? 1 : 0;
    c->rl_tokens = (uint32_t)(hub->cfg->max_requests_per_second * 1000);
    c->rl_ms = (uint32_t)uv_now(hub->loop);
    hub->nconns++;
    hub->metrics.connections_total++;
    conn_touch(c);
    /* Its first frames may have come with the request, and one was bad. */
    if ((code = sc_rxgate_bind(lws_get_socket_fd(wsi), c))) {
        sc_conn_fail(c, code);
        return 0;
    }
    if (hub->stopping) {
        sc_conn_close(c, 1001);
        return 0;
    }
    /* Identity, then routing, then subscriptions, each only while the
     * connection stays: a client closed by the auth check or redirected
     * to another shard never reaches the registry or Redis. */
    if (sc_conn_auth_start(c) != 0 || (!c->close_code && conn_route(c) != 0) ||
        (!c->close_code && conn_subscribe_url(c) != 0)) {
        hub->metrics.errors[SC_ERR_ALLOC]++;
        sc_conn_close(c, 1011);
    }
    /* Nothing else tells a client that connects while Redis is down. */
    if (hub->redis_down && !c->close_code)
        conn_send_status(c, 0);
    return 0;
}

static void conn_closed(struct sc_conn *c)
{
    struct sc_hub *hub = c->hub;

    if (!c->established)
        return;
    sc_rxgate_unbind(lws_get_socket_fd(c->wsi), c);
    while (c->nsubs)
        sc_registry_unsubscribe(&hub->reg, c->subs[--c->nsubs]);
    if (hub->ops->forget)
        hub->ops->forget(hub, c);
    conn_unschedule_flush(c);
    sc_conn_auth_end(c);
    free(c->key);
    free(c->subs);
    free(c->rx);
    sc_queue_clear(&c->q);
    sc_keepalive_remove(&hub->ka, &c->ka);
    c->established = 0;
    hub->nconns--;
}

void sc_conn_send_missed(struct sc_conn *c)
{
    struct sc_buf b;
    struct sc_msg *m;

    if (!c->nsubs || c->close_code)
        return;
    sc_msg_begin(&b);
    sc_buf_append_str(&b, "{\"op\":\"missed\",\"channels\":[");
    for (uint32_t i = 0; i < c->nsubs; i++) {
        if (i)
            sc_buf_append(&b, ",", 1);
        sc_json_append_string(&b, c->subs[i]->ch->name, c->subs[i]->ch->len);
    }
    sc_buf_append_str(&b, "],\"reason\":\"redis_reconnect\"}");
    if (!(m = sc_msg_finish(&b))) {
        c->hub->metrics.errors[SC_ERR_ALLOC]++;
        sc_conn_close(c, 1011);
        return;
    }
    if (sc_conn_send(c, m) == 0)
        c->hub->metrics.missed_events++;
    sc_msg_unref(m);
}

/* The client's close frame (the read hook let only valid ones through).
 * After our own close frame this is the answer: hang up. Else lws echoes
 * the payload; it has turned 1012-1014 (registered after RFC 6455, valid)
 * into 1002 by then, so the client's own code is put back. */
static int conn_peer_close(struct sc_conn *c, unsigned char *p, size_t len)
{
    uint16_t code;

    if (c->close_sent)
        return 1;
    if (len >= 2 && (code = sc_rxgate_close_code(lws_get_socket_fd(c->wsi)))) {
        p[0] = (unsigned char)(code >> 8);
        p[1] = (unsigned char)code;
    }
    return 0;
}

int sc_conn_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    struct sc_conn *c = user;

    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED: return conn_established(c, wsi);
    case LWS_CALLBACK_RECEIVE: return conn_receive(c, in, len);
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: return conn_peer_close(c, in, len);
    case LWS_CALLBACK_RECEIVE_PONG: conn_touch(c); return 0;
    case LWS_CALLBACK_SERVER_WRITEABLE: return conn_writeable(c);
    case LWS_CALLBACK_CLOSED: conn_closed(c); return 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: {
        /* The upgrade is offered to the protocol it would bind to. A
         * refusal is an HTTP answer: a new request may follow. */
        int rc = sc_hub_of(wsi)->ops->confirm_upgrade(wsi, in);
        if (rc)
            sc_rxgate_http(lws_get_socket_fd(wsi));
        return rc;
    }
    default: return 0;
    }
}
