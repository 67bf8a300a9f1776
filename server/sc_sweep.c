/* sc_sweep: keep-alive for every connection in O(1) per connection.
 *
 * lws's own validity timers sit in one sorted list (an insert walks it), so
 * at 100k connections re-arming them on every pong costs more than the
 * traffic. Instead each connection sits on one of two FIFO lists ordered by
 * time: "active" by its last traffic, "pinged" by when we pinged it. Both
 * lists have one threshold each, so a sweep only looks at the heads that
 * are due and stops at the first that is not. A connection that is
 * closing is on neither list. */
#include "sc_conn.h"

/* Which list c is on: an index, not a pointer, to keep sc_conn small. */
static struct sc_conn_list *conn_list(struct sc_conn *c)
{
    return c->list == SC_LIST_ACTIVE ? &c->srv->active
           : c->list == SC_LIST_PINGED ? &c->srv->pinged : NULL;
}

static void list_remove(struct sc_conn *c)
{
    struct sc_conn_list *l = conn_list(c);

    if (!l)
        return;
    if (c->lprev)
        c->lprev->lnext = c->lnext;
    else
        l->head = c->lnext;
    if (c->lnext)
        c->lnext->lprev = c->lprev;
    else
        l->tail = c->lprev;
    l->count--;
    c->list = SC_LIST_NONE;
    c->lprev = c->lnext = NULL;
}

static void list_append(struct sc_conn_list *l, struct sc_conn *c)
{
    c->list = l == &c->srv->active ? SC_LIST_ACTIVE : SC_LIST_PINGED;
    c->lnext = NULL;
    c->lprev = l->tail;
    if (l->tail)
        l->tail->lnext = c;
    else
        l->head = c;
    l->tail = c;
    l->count++;
}

void sc_sweep_touch(struct sc_conn *c, uint64_t now_ms)
{
    /* A closing connection left the lists for good (sc_conn_close): its
     * own timeout ends it, and a stop must never meet it again there. So
     * frames and pongs it still sends change nothing. */
    if (c->close_code)
        return;
    /* Traffic within the same millisecond changes nothing: skip the list
     * surgery on busy connections. */
    if (c->list == SC_LIST_ACTIVE && c->stamp_ms == (uint32_t)now_ms)
        return;
    list_remove(c);
    c->stamp_ms = (uint32_t)now_ms;
    list_append(&c->srv->active, c);
}

void sc_sweep_remove(struct sc_conn *c)
{
    list_remove(c);
}

void sc_sweep_run(struct sc_server *srv, uint64_t now_ms)
{
    sc_conn_auth_sweep(srv);
    uint64_t ping_ms = (uint64_t)srv->cfg->ping_interval * 1000;
    uint64_t pong_ms = (uint64_t)srv->cfg->pong_timeout * 1000;
    struct sc_conn *c;

    /* uint32 milliseconds wrap every 49 days; the differences stay right. */
    while ((c = srv->pinged.head) && (uint32_t)((uint32_t)now_ms - c->stamp_ms) >= pong_ms) {
        list_remove(c);
        srv->metrics.errors[SC_ERR_PING_TIMEOUT]++;
        sc_conn_close(c, 4101);
    }
    while ((c = srv->active.head) && (uint32_t)((uint32_t)now_ms - c->stamp_ms) >= ping_ms) {
        list_remove(c);
        c->stamp_ms = (uint32_t)now_ms;
        list_append(&srv->pinged, c);
        if (!c->close_code) {
            c->want_ping = 1;
            lws_callback_on_writable(c->wsi);
        }
    }
}
