/* sc_keepalive: two time-ordered lists of connections (see the header). */
#include "sc_keepalive.h"

/* The list e is on, or NULL. */
static struct sc_list *entry_list(struct sc_keepalive *ka, const struct sc_ka_entry *e)
{
    return e->list == SC_KA_ACTIVE ? &ka->active : e->list == SC_KA_PINGED ? &ka->pinged : NULL;
}

void sc_keepalive_init(struct sc_keepalive *ka, uint32_t ping_ms, uint32_t pong_ms,
                       void (*ping)(struct sc_ka_entry *, void *),
                       void (*dead)(struct sc_ka_entry *, void *), void *data)
{
    sc_list_init(&ka->active);
    sc_list_init(&ka->pinged);
    ka->ping_ms = ping_ms;
    ka->pong_ms = pong_ms;
    ka->ping = ping;
    ka->dead = dead;
    ka->data = data;
}

void sc_keepalive_remove(struct sc_keepalive *ka, struct sc_ka_entry *e)
{
    struct sc_list *l = entry_list(ka, e);

    if (l)
        sc_list_unlink(l, &e->link);
    e->list = SC_KA_NONE;
}

static void entry_append(struct sc_keepalive *ka, struct sc_ka_entry *e, int which, uint64_t now_ms)
{
    e->stamp_ms = (uint32_t)now_ms;
    e->list = (uint8_t)which;
    sc_list_append(which == SC_KA_ACTIVE ? &ka->active : &ka->pinged, &e->link);
}

void sc_keepalive_touch(struct sc_keepalive *ka, struct sc_ka_entry *e, uint64_t now_ms)
{
    /* Traffic within the same millisecond changes nothing: skip the list
     * surgery on busy connections. */
    if (e->list == SC_KA_ACTIVE && e->stamp_ms == (uint32_t)now_ms)
        return;
    sc_keepalive_remove(ka, e);
    entry_append(ka, e, SC_KA_ACTIVE, now_ms);
}

/* The head of l if it has waited at least ms, else NULL. uint32 stamps
 * wrap every 49 days; the differences stay right. */
static struct sc_ka_entry *due(struct sc_list *l, uint32_t ms, uint64_t now_ms)
{
    struct sc_ka_entry *e;

    if (!l->head)
        return NULL;
    e = sc_container_of(l->head, struct sc_ka_entry, link);
    return (uint32_t)((uint32_t)now_ms - e->stamp_ms) >= ms ? e : NULL;
}

void sc_keepalive_run(struct sc_keepalive *ka, uint64_t now_ms)
{
    struct sc_ka_entry *e;

    while ((e = due(&ka->pinged, ka->pong_ms, now_ms))) {
        sc_keepalive_remove(ka, e);
        ka->dead(e, ka->data);
    }
    while ((e = due(&ka->active, ka->ping_ms, now_ms))) {
        sc_keepalive_remove(ka, e);
        entry_append(ka, e, SC_KA_PINGED, now_ms);
        ka->ping(e, ka->data);
    }
}
