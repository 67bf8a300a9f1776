/* sc_conn: subscriber connections on one epoll set.
 *
 * Sockets are edge-triggered and registered once for IN|OUT, so a
 * connection costs no epoll_ctl after it is added: the kernel signals the
 * connect completion, new data and send space as edges. All connections
 * read into one large shared buffer; a connection keeps bytes only for what
 * a read left unfinished (HTTP response, RESP tail) and for sends the
 * kernel did not take. */
#include "sc_conn.h"
#include "sc_conn_int.h"
#include "sc_handshake.h"
#include "sc_proc.h"
#include "sc_resp.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define RBUF_SIZE (256 * 1024)
#define SWEEP_NS (100 * 1000000ull)

static uint32_t next_rand(struct sc_conns *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return (uint32_t)c->rng;
}

/* Contract: prepares c for connections lo..hi-1 (global indexes) without
 * opening any; rate_share is this process's connections per second. Returns
 * 0 or -ENOMEM with nothing held. */
int sc_conns_init(struct sc_conns *c, const struct sc_opts *o, struct sc_report *rep, int epfd,
                  uint32_t lo, uint32_t hi, double rate_share)
{
    uint32_t i, j;

    memset(c, 0, sizeof(*c));
    c->o = o;
    c->rep = rep;
    c->epfd = epfd;
    c->lo = lo;
    c->n = hi - lo;
    c->rate = rate_share;
    c->rng = ((uint64_t)o->tag << 32) ^ lo ^ 0x2545F4914F6CDD1Dull;
    c->v = calloc(c->n ? c->n : 1, sizeof(*c->v));
    if (!c->v)
        goto fail;
    c->subs = calloc((size_t)(c->n ? c->n : 1) * o->per_conn, sizeof(*c->subs));
    if (!c->subs)
        goto fail_subs;
    c->rbuf_cap = RBUF_SIZE;
    if (!(c->rbuf = malloc(c->rbuf_cap)))
        goto fail_rbuf;
    if (!(c->tmp = malloc(SC_TMP_SIZE)))
        goto fail_tmp;
    for (i = 0; i < c->n; i++) {
        c->v[i].fd = -1;
        for (j = 0; j < o->per_conn; j++)
            c->subs[(size_t)i * o->per_conn + j].chan =
                sc_chan_of(lo + i, j, o->conns, o->subs_per_chan);
    }
    return 0;

fail_tmp:
    free(c->rbuf);
fail_rbuf:
    free(c->subs);
fail_subs:
    free(c->v);
fail:
    memset(c, 0, sizeof(*c));
    return -ENOMEM;
}

/* Contract: closes k's socket and frees its buffers; counters untouched. */
static void conn_release(struct sc_conns *c, struct sc_conn *k)
{
    if (k->fd >= 0) {
        close(k->fd); /* also removes it from the epoll set */
        k->fd = -1;
        c->open_fds--;
    }
    free(k->carry);
    free(k->out);
    k->carry = k->out = NULL;
    k->carry_len = k->carry_cap = k->out_len = 0;
    sc_ws_parser_free(&k->ws);
    k->state = SC_ST_DONE;
}

/* Contract: k ends before it was subscribed; counts it as failed under the
 * reason err names (negative errno). */
static void conn_fail(struct sc_conns *c, struct sc_conn *k, int err)
{
    struct sc_report *r = c->rep;
    uint32_t g = c->lo + (uint32_t)(k - c->v);

    /* The first failure's cause, once: a report of 2,000 failures says
     * how many, this says why. */
    if (!c->told_failure++) {
        char why[80];

        if (err == -EACCES)
            snprintf(why, sizeof(why), "HTTP status %d instead of 101", r->last_http_status);
        else if (err == -EREMOTEIO)
            snprintf(why, sizeof(why), "the server refused the subscription");
        else
            snprintf(why, sizeof(why), "%s", strerror(-err));
        fprintf(stderr, "shardcast-bench: connection %u to %s failed: %s\n", g,
                c->o->targets[g % c->o->ntargets].host, why);
    }
    switch (-err) {
    case ECONNREFUSED: r->fail_refused++; break;
    case ETIMEDOUT: r->fail_timeout++; break;
    case EACCES: r->fail_http++; break;
    case ECONNRESET:
    case EPIPE: r->fail_reset++; break;
    case EPROTO:
    case EBADMSG:
    case EMSGSIZE: r->fail_proto++; break;
    case EREMOTEIO: r->fail_sub++; break;
    default: r->fail_other++; break;
    }
    r->failed++;
    c->pending--;
    conn_release(c, k);
}

/* Contract: k ends; before subscription that is a failure (err), after it
 * the server closed it (code: close frame's code, or 1006 without one). */
void sc_conn_end(struct sc_conns *c, struct sc_conn *k, int err, unsigned code)
{
    if (k->state == SC_ST_DONE)
        return;
    if (!k->ready) {
        conn_fail(c, k, err);
        return;
    }
    c->rep->closed++;
    sc_report_close_code(c->rep, code);
    conn_release(c, k);
}

/* Contract: k is subscribed: from now on it is expected to receive every
 * message of its channels. */
void sc_conn_ready(struct sc_conns *c, struct sc_conn *k)
{
    k->state = SC_ST_OPEN;
    k->ready = 1;
    c->pending--;
    c->rep->ready++;
    c->rep->subs += c->o->per_conn;
    c->rep->connect_end = c->now;
}

/* Contract: sends len bytes on k, keeping what the kernel does not take for
 * the next EPOLLOUT edge. Returns 0, or -errno when the connection broke
 * (the caller ends it). */
static int conn_send(struct sc_conn *k, const void *data, size_t len)
{
    ssize_t n = 0;
    uint8_t *nb;

    if (k->out_len == 0) {
        n = send(k->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return -errno;
        if (n < 0)
            n = 0;
        if ((size_t)n == len)
            return 0;
    }
    nb = realloc(k->out, k->out_len + len - (size_t)n);
    if (!nb)
        return -ENOMEM;
    memcpy(nb + k->out_len, (const uint8_t *)data + n, len - (size_t)n);
    k->out = nb;
    k->out_len += (uint32_t)(len - (size_t)n);
    return 0;
}

/* Contract: pushes k's queued bytes; 0 or -errno as conn_send. */
static int conn_flush(struct sc_conn *k)
{
    ssize_t n;

    while (k->out_len) {
        n = send(k->fd, k->out, k->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0)
            return errno == EAGAIN ? 0 : errno == EINTR ? 0 : -errno;
        memmove(k->out, k->out + n, k->out_len - (size_t)n);
        k->out_len -= (uint32_t)n;
    }
    free(k->out);
    k->out = NULL;
    return 0;
}

/* Contract: sends one masked client frame; 0 or -errno. */
int sc_conn_send_frame(struct sc_conns *c, struct sc_conn *k, int op, const void *data, size_t len)
{
    uint8_t stack[512], *buf = stack;
    size_t cap = len + SC_WS_MAX_HEADER, n;
    int rc;

    if (cap > sizeof(stack) && !(buf = malloc(cap)))
        return -ENOMEM;
    n = sc_ws_encode(buf, cap, op, data, len, next_rand(c));
    rc = conn_send(k, buf, n);
    if (buf != stack)
        free(buf);
    return rc;
}

/* Contract: best-effort close frame carrying code; a failure is ignored as
 * the connection is being ended anyway. */
void sc_conn_send_close(struct sc_conns *c, struct sc_conn *k, unsigned code)
{
    uint8_t b[2] = {(uint8_t)(code >> 8), (uint8_t)code};

    (void)sc_conn_send_frame(c, k, SC_WS_CLOSE, b, sizeof(b));
}

/* Contract: appends n bytes to k's carry buffer, refusing to grow past
 * limit (-EMSGSIZE); -ENOMEM if it cannot grow. */
int sc_conn_carry(struct sc_conn *k, const uint8_t *data, size_t n, size_t limit)
{
    size_t cap = k->carry_cap ? k->carry_cap : 512;
    uint8_t *nb;

    if (k->carry_len + n > limit)
        return -EMSGSIZE;
    while (cap < k->carry_len + n)
        cap *= 2;
    if (cap != k->carry_cap) {
        if (!(nb = realloc(k->carry, cap)))
            return -ENOMEM;
        k->carry = nb;
        k->carry_cap = (uint32_t)cap;
    }
    memcpy(k->carry + k->carry_len, data, n);
    k->carry_len += (uint32_t)n;
    return 0;
}

/* Contract: sends SUBSCRIBE for all of k's channels, 64 per command to
 * keep each command small. 0 or -errno. */
static int send_subscribe_resp(struct sc_conns *c, struct sc_conn *k)
{
    uint32_t per = c->o->per_conn, j, m;
    const struct sc_sub *s = c->subs + (size_t)(k - c->v) * per;
    const char *argv[1 + 64];
    size_t lens[1 + 64], n, off;
    char *names = (char *)c->tmp + SC_TMP_SIZE / 2;
    int rc;

    argv[0] = "SUBSCRIBE";
    lens[0] = 9;
    for (j = 0; j < per; j += m) {
        for (m = 0, off = 0; m < 64 && j + m < per; m++) {
            lens[1 + m] =
                sc_opts_channel_name(c->o, s[j + m].chan, names + off, SC_TMP_SIZE / 2 - off);
            argv[1 + m] = names + off;
            off += lens[1 + m] + 1;
        }
        n = sc_resp_cmd((char *)c->tmp, SC_TMP_SIZE / 2, (int)m + 1, argv, lens);
        if (!n)
            return -ENOSPC;
        if ((rc = conn_send(k, c->tmp, n)) < 0)
            return rc;
    }
    return 0;
}

/* Contract: TCP connect finished (or failed): sends the upgrade request, or
 * for RESP the SUBSCRIBE of all k's channels. 0, or -errno (caller ends k). */
static int conn_connected(struct sc_conns *c, struct sc_conn *k)
{
    uint32_t g = c->lo + (uint32_t)(k - c->v);
    const struct sc_target *t = &c->o->targets[g % c->o->ntargets];
    char key[SC_HS_KEY_LEN + 1], *path = (char *)c->tmp + SC_TMP_SIZE / 2;
    int err = 0, rc;
    socklen_t el = sizeof(err);

    if (getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
        return -errno;
    if (err)
        return -err;
    if (c->o->resp) {
        k->state = SC_ST_SUBSCRIBING;
        return send_subscribe_resp(c, k);
    }
    rc = sc_opts_expand(c->o, c->o->path, g, path, SC_TMP_SIZE / 2);
    if (rc < 0)
        return rc;
    sc_hs_key(((uint64_t)c->o->tag << 32) | g, key);
    rc = sc_hs_request((char *)c->tmp, SC_TMP_SIZE / 2, t->host, path, key);
    if (rc < 0)
        return rc;
    k->state = SC_ST_UPGRADING;
    return conn_send(k, c->tmp, (size_t)rc);
}

/* Contract: a machine limit (fds or ports) stops further attempts; says so
 * on stderr once, with the count reached, and records it in the report. */
static void hit_limit(struct sc_conns *c, int err)
{
    const char *what = err == EADDRNOTAVAIL || err == EADDRINUSE
                           ? "no free local port/address (EADDRNOTAVAIL): add source addresses "
                             "with --src, e.g. --src 127.0.0.2-127.0.0.9"
                           : "open files limit reached (EMFILE/ENFILE): use --fork N to spread "
                             "connections over processes";

    c->stopped = 1;
    if (!c->rep->limit_errno) {
        c->rep->limit_errno = err;
        c->rep->limit_at = c->open_fds;
    }
    fprintf(stderr,
            "shardcast-bench[%d]: stopped opening connections at %u "
            "open: %s\n",
            (int)getpid(), c->open_fds, what);
}

/* Contract: starts the non-blocking connect of v[i]; a failure is counted
 * (or, for a machine limit, stops further attempts) and not returned. */
static void conn_open(struct sc_conns *c, uint32_t i)
{
    const struct sc_opts *o = c->o;
    uint32_t g = c->lo + i, one = 1;
    struct sc_conn *k = &c->v[i];
    struct sockaddr_in src = {.sin_family = AF_INET};
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u64 = i};
    int fd, err;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        err = errno;
        if (err == EMFILE || err == ENFILE) {
            hit_limit(c, err);
            return;
        }
        c->rep->attempted++;
        c->pending++;
        conn_fail(c, k, -err);
        return;
    }
    k->fd = fd;
    c->open_fds++;
    c->rep->attempted++;
    c->pending++;
    k->state = SC_ST_CONNECTING;
    k->deadline = c->now + (uint64_t)(o->connect_timeout * 1e9);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (o->rcvbuf)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &o->rcvbuf, sizeof(o->rcvbuf));
    if (o->src_first) {
        /* Defer the port choice to connect(), so a port is unique per
         * 4-tuple rather than per source address. */
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        src.sin_addr.s_addr = htonl(o->src_first + g % (o->src_last - o->src_first + 1));
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0)
            goto fail;
    }
    if (connect(fd, (const struct sockaddr *)&o->targets[g % o->ntargets].addr,
                sizeof(struct sockaddr_in)) < 0 &&
        errno != EINPROGRESS)
        goto fail;
    if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
        goto fail;
    return;

fail:
    err = errno;
    if (err == EADDRNOTAVAIL || err == EADDRINUSE) {
        /* Not this connection's fault: take it back and stop. */
        c->rep->attempted--;
        c->pending--;
        conn_release(c, k);
        k->state = SC_ST_IDLE;
        c->next--;
        hit_limit(c, err);
        return;
    }
    conn_fail(c, k, -err);
}

/* Contract: dispatches epoll events for v[idx]. */
void sc_conns_event(struct sc_conns *c, uint32_t idx, uint32_t events)
{
    struct sc_conn *k = &c->v[idx];
    int rc;

    if (k->state == SC_ST_DONE || k->state == SC_ST_IDLE)
        return;
    c->now = sc_now();
    if (k->state == SC_ST_CONNECTING) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        if ((rc = conn_connected(c, k)) < 0) {
            sc_conn_end(c, k, rc, SC_CLOSE_ABNORMAL);
            return;
        }
    } else if ((events & EPOLLOUT) && k->out_len) {
        if ((rc = conn_flush(k)) < 0) {
            sc_conn_end(c, k, rc, SC_CLOSE_ABNORMAL);
            return;
        }
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP))
        sc_conn_read(c, k);
}

/* Contract: fails connections still not subscribed past their deadline. */
static void sweep_timeouts(struct sc_conns *c)
{
    uint32_t i;
    uint8_t st;

    for (i = 0; i < c->next && c->pending; i++) {
        st = c->v[i].state;
        if (st >= SC_ST_CONNECTING && st <= SC_ST_SUBSCRIBING && c->v[i].deadline <= c->now)
            sc_conn_end(c, &c->v[i], -ETIMEDOUT, SC_CLOSE_ABNORMAL);
    }
}

/* Contract: opens the connections due by now under --connect-rate and
 * --max-pending, and fails those past their deadline (every 100 ms). */
void sc_conns_tick(struct sc_conns *c, uint64_t now)
{
    uint64_t due = c->n;

    c->now = now;
    if (!c->start) {
        c->start = now;
        if (!c->rep->connect_start)
            c->rep->connect_start = now;
    }
    if (c->rate > 0)
        due = (uint64_t)((double)(now - c->start) * c->rate / 1e9) + 1;
    while (c->next < c->n && c->next < due && !c->stopped && c->pending < c->o->max_pending) {
        c->next++;
        conn_open(c, c->next - 1);
    }
    if (c->pending && now - c->last_sweep >= SWEEP_NS) {
        c->last_sweep = now;
        sweep_timeouts(c);
    }
}

/* Contract: true once every connection has been tried (or a limit stopped
 * the attempts) and none is still on its way to being subscribed. */
int sc_conns_settled(const struct sc_conns *c)
{
    return (c->next == c->n || c->stopped) && c->pending == 0;
}

/* Contract: deliveries the subscribed connections should get when
 * `published` messages went out over the channels (round-robin or
 * --random). */
uint64_t sc_conns_expected(const struct sc_conns *c, uint64_t published)
{
    uint32_t per = c->o->per_conn, i, j;
    uint64_t sum = 0;

    for (i = 0; i < c->n; i++) {
        if (!c->v[i].ready)
            continue;
        for (j = 0; j < per; j++)
            sum += sc_opts_published_on(c->o, published, c->subs[(size_t)i * per + j].chan);
    }
    return sum;
}

/* Contract: fills expected/received/lost/dup of the report from every
 * subscription of a connection that was ever subscribed; a connection the
 * server closed keeps its expectations, so what it missed counts as lost. */
void sc_conns_account(struct sc_conns *c, uint64_t published)
{
    uint32_t per = c->o->per_conn, i, j;
    struct sc_report *r = c->rep;
    const struct sc_sub *s;
    uint64_t exp;

    r->expected = r->received = r->lost = r->dup = 0;
    for (i = 0; i < c->n; i++) {
        if (!c->v[i].ready)
            continue;
        for (j = 0; j < per; j++) {
            s = &c->subs[(size_t)i * per + j];
            exp = sc_opts_published_on(c->o, published, s->chan);
            r->expected += exp;
            r->received += s->recv;
            r->lost += exp > s->recv ? exp - s->recv : 0;
            r->dup += s->dup;
        }
    }
}

/* Contract: closes every connection, WebSocket ones with a 1000 close frame
 * first (best effort, not waited for). */
void sc_conns_close_all(struct sc_conns *c)
{
    uint32_t i;

    for (i = 0; i < c->n; i++) {
        if (c->v[i].fd < 0)
            continue;
        if (!c->o->resp && c->v[i].state == SC_ST_OPEN)
            sc_conn_send_close(c, &c->v[i], 1000);
        conn_release(c, &c->v[i]);
    }
}

/* Contract: closes what is open and frees everything sc_conns_init took. */
void sc_conns_free(struct sc_conns *c)
{
    if (!c->v)
        return;
    sc_conns_close_all(c);
    free(c->v);
    free(c->subs);
    free(c->rbuf);
    free(c->tmp);
    memset(c, 0, sizeof(*c));
}
