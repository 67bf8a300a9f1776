/* sc_conn_rx: what a subscriber connection receives: the upgrade
 * response, WebSocket frames or RESP pushes, turned into counted
 * deliveries (sequence, latency) and the replies they call for.
 *
 * The hot path is on_delivery: one stamp decode at fixed offsets, a short
 * scan of the connection's subscriptions, one histogram increment. */
#include "sc_conn.h"
#include "sc_conn_int.h"
#include "sc_handshake.h"
#include "sc_proc.h"
#include "sc_resp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* Contract: counts one decoded delivery for k: foreign run, channel k is not
 * subscribed to, duplicate, or new (latency recorded against c->now). */
static void on_delivery(struct sc_conns *c, struct sc_conn *k, const char *data, size_t len)
{
    struct sc_report *r = c->rep;
    uint32_t per = c->o->per_conn, j;
    struct sc_sub *s = c->subs + (size_t)(k - c->v) * per;
    struct sc_stamp st;

    if (sc_payload_read(data, len, &st) < 0) {
        r->other_frames++;
        return;
    }
    if (st.tag != c->o->tag) {
        r->foreign++;
        return;
    }
    for (j = 0; j < per && s[j].chan != st.chan; j++)
        ;
    if (j == per) {
        r->unexpected++;
        return;
    }
    if (!sc_sub_seen(&s[j], st.seq))
        return;
    c->recv_total++;
    sc_hist_record(&r->lat, c->now > st.ts ? c->now - st.ts : 0);
    if (!r->first_recv)
        r->first_recv = c->now;
    r->last_recv = c->now;
}

/* Contract: handles one text message from the server. A reply while
 * subscribing completes (ok) or fails (error) the subscription. */
static int on_text(struct sc_conns *c, struct sc_conn *k, const uint8_t *d, size_t len)
{
    const char *data = NULL;
    size_t dlen = 0;

    switch (sc_frame_classify((const char *)d, len, &data, &dlen)) {
    case SC_FRAME_MESSAGE: on_delivery(c, k, data, dlen); return 0;
    case SC_FRAME_OK:
        c->rep->acks++;
        if (k->state == SC_ST_SUBSCRIBING)
            sc_conn_ready(c, k);
        return 0;
    case SC_FRAME_ERROR:
        c->rep->err_frames++;
        if (k->state == SC_ST_SUBSCRIBING) {
            sc_conn_end(c, k, -EREMOTEIO, 0);
            return 1;
        }
        return 0;
    case SC_FRAME_MISSED: c->rep->missed++; return 0;
    default: c->rep->other_frames++; return 0;
    }
}

/* Contract: sc_ws_msg_fn for c->cur. Answers pings, echoes a close and ends
 * the connection (returns 1 so the parser stops on a freed connection). */
static int on_ws(void *ctx, int op, const uint8_t *data, size_t len)
{
    struct sc_conns *c = ctx;
    struct sc_conn *k = c->cur;
    unsigned code = 1005;

    switch (op) {
    case SC_WS_TEXT: return on_text(c, k, data, len);
    case SC_WS_PING:
        c->rep->pings++;
        if (sc_conn_send_frame(c, k, SC_WS_PONG, data, len) < 0) {
            sc_conn_end(c, k, -ECONNRESET, SC_CLOSE_ABNORMAL);
            return 1;
        }
        return 0;
    case SC_WS_CLOSE:
        if (len >= 2)
            code = (unsigned)data[0] << 8 | data[1];
        sc_conn_send_frame(c, k, SC_WS_CLOSE, data, len >= 2 ? 2 : 0);
        sc_conn_end(c, k, -ECONNRESET, code);
        return 1;
    case SC_WS_PONG: return 0;
    default: c->rep->other_frames++; return 0;
    }
}

/* Contract: feeds WebSocket bytes to k's parser; 1 when k ended. */
static int feed_ws(struct sc_conns *c, struct sc_conn *k, const uint8_t *d, size_t n)
{
    int rc;

    c->cur = k;
    rc = sc_ws_parse(&k->ws, d, n, on_ws, c);
    if (rc < 0) {
        unsigned code = rc == -EMSGSIZE ? 1009 : 1002;

        sc_conn_send_close(c, k, code);
        sc_conn_end(c, k, rc, code);
    }
    return rc != 0;
}

/* Contract: gathers the HTTP response; on a valid 101 the connection is
 * upgraded (and sends its subscribe frame, if any) and the bytes after the
 * header go to the frame parser. 1 when k ended. */
static int feed_upgrade(struct sc_conns *c, struct sc_conn *k, const uint8_t *d, size_t n)
{
    char key[SC_HS_KEY_LEN + 1], accept[SC_HS_ACCEPT_LEN + 1];
    char *msg = (char *)c->tmp;
    uint32_t g = c->lo + (uint32_t)(k - c->v);
    int rc, status = 0, len;
    size_t hlen, rest;

    if ((rc = sc_conn_carry(k, d, n, SC_HS_MAX_RESPONSE + 1)) < 0)
        goto fail;
    sc_hs_key(((uint64_t)c->o->tag << 32) | g, key);
    sc_hs_accept(key, accept);
    rc = sc_hs_response((const char *)k->carry, k->carry_len, accept, &status);
    if (rc == 0)
        return 0;
    if (rc < 0) {
        c->rep->last_http_status = status;
        c->rep->http_503 += status == 503;
        goto fail;
    }
    c->rep->opened++;
    hlen = (size_t)rc;
    rest = k->carry_len - hlen;
    sc_ws_parser_init(&k->ws, c->o->max_msg);
    k->state = SC_ST_SUBSCRIBING;
    if (!c->o->sub_msg) {
        sc_conn_ready(c, k);
    } else {
        len = sc_opts_expand(c->o, c->o->sub_msg, g, msg, SC_TMP_SIZE);
        if ((rc = len < 0 ? len : sc_conn_send_frame(c, k, SC_WS_TEXT, msg, (size_t)len)) < 0)
            goto fail;
    }
    if (rest == 0) {
        k->carry_len = 0;
        return 0;
    }
    /* Frames that came with the response: parse them from a copy, as the
     * carry buffer is not needed any more and parsing may end k. */
    memcpy(c->rbuf, k->carry + hlen, rest);
    k->carry_len = 0;
    return feed_ws(c, k, c->rbuf, rest);

fail:
    sc_conn_end(c, k, rc, SC_CLOSE_ABNORMAL);
    return 1;
}

/* Contract: handles one RESP value on a subscriber connection: subscribe
 * confirmations (all of them make k subscribed) and message pushes.
 * Returns 0, or -EPROTO for an error reply or anything unexpected. */
static int on_resp(struct sc_conns *c, struct sc_conn *k, const struct sc_resp_val *top,
                   const struct sc_resp_val *el)
{
    if (top->type == '-' && !c->told_failure)
        fprintf(stderr, "shardcast-bench: redis replied: %.*s\n",
                (int)(top->len > 200 ? 200 : top->len), top->str);
    if (top->type != '*' || top->num < 3 || el[0].type != '$')
        return -EPROTO;
    if (el[0].len == 7 && memcmp(el[0].str, "message", 7) == 0) {
        if (el[2].type != '$' || !el[2].str)
            return -EPROTO;
        on_delivery(c, k, el[2].str, el[2].len);
        return 0;
    }
    if (el[0].len == 9 && memcmp(el[0].str, "subscribe", 9) == 0) {
        if (++k->confirmed == c->o->per_conn && k->state == SC_ST_SUBSCRIBING)
            sc_conn_ready(c, k);
        return 0;
    }
    return -EPROTO;
}

/* Contract: parses RESP bytes for k, keeping an unfinished tail in k's
 * carry buffer. Parses straight from d when nothing is carried, the usual
 * case, to avoid a copy. 1 when k ended. */
static int feed_resp(struct sc_conns *c, struct sc_conn *k, const uint8_t *d, size_t n)
{
    struct sc_resp_val top, el[3];
    const char *buf = (const char *)d;
    size_t len = n, off = 0;
    ssize_t r;
    int rc = 0;

    if (k->carry_len) {
        if ((rc = sc_conn_carry(k, d, n, c->o->max_msg + 4096)) < 0)
            goto fail;
        buf = (const char *)k->carry;
        len = k->carry_len;
    }
    while (off < len) {
        r = sc_resp_parse(buf + off, len - off, &top, el, 3);
        if (r == 0)
            break;
        if (r < 0 || (rc = on_resp(c, k, &top, el)) < 0) {
            rc = r < 0 ? (int)r : rc;
            goto fail;
        }
        off += (size_t)r;
    }
    if (buf == (const char *)k->carry) {
        memmove(k->carry, k->carry + off, len - off);
        k->carry_len = (uint32_t)(len - off);
    } else if (off < len && (rc = sc_conn_carry(k, d + off, len - off, c->o->max_msg + 4096)) < 0) {
        goto fail;
    }
    return 0;

fail:
    sc_conn_end(c, k, rc, SC_CLOSE_ABNORMAL);
    return 1;
}

/* Contract: reads k until the socket is drained (a short read means it is,
 * with edge triggering a later arrival raises a new edge) or k ends. */
void sc_conn_read(struct sc_conns *c, struct sc_conn *k)
{
    ssize_t n;
    int ended;

    for (;;) {
        n = recv(k->fd, c->rbuf, c->rbuf_cap, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            sc_conn_end(c, k, n == 0 ? -ECONNRESET : -errno, SC_CLOSE_ABNORMAL);
            return;
        }
        c->now = sc_now();
        if (c->o->resp)
            ended = feed_resp(c, k, c->rbuf, (size_t)n);
        else if (k->state == SC_ST_UPGRADING)
            ended = feed_upgrade(c, k, c->rbuf, (size_t)n);
        else
            ended = feed_ws(c, k, c->rbuf, (size_t)n);
        if (ended || (size_t)n < c->rbuf_cap)
            return;
    }
}
