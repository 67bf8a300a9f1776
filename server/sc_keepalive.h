/* sc_keepalive: ping every idle connection and drop the ones that stop
 * answering, in O(1) per connection.
 *
 * lws's own validity timers sit in one sorted list (an insert walks it), so
 * at 100k connections re-arming them on every pong costs more than the
 * traffic. Instead each connection embeds an entry that sits on one of two
 * FIFO lists ordered by time: "active" by its last traffic, "pinged" by
 * when it was pinged. Both lists have one threshold each, so a run only
 * looks at the heads that are due and stops at the first that is not.
 *
 * The module knows nothing of connections: it reports through two
 * callbacks, and the two lists are also the owner's set of live
 * connections (an entry on neither is closing or closed). */
#ifndef SC_KEEPALIVE_H
#define SC_KEEPALIVE_H

#include <stdint.h>

#include "sc_list.h"

enum { SC_KA_NONE = 0, SC_KA_ACTIVE, SC_KA_PINGED };

struct sc_ka_entry {
    struct sc_link link;
    uint32_t stamp_ms; /* last traffic, or when pinged (wraps every 49 days) */
    uint8_t list;      /* SC_KA_*: which list, an index to keep entries small */
};

struct sc_keepalive {
    struct sc_list active, pinged;
    uint32_t ping_ms; /* idle this long: ping */
    uint32_t pong_ms; /* pinged this long without traffic: dead */
    /* A ping is due: the owner sends one. The entry is on "pinged". */
    void (*ping)(struct sc_ka_entry *e, void *data);
    /* No traffic since the ping: the entry is already off both lists. */
    void (*dead)(struct sc_ka_entry *e, void *data);
    void *data;
};

/* Set up empty lists with the thresholds and callbacks. */
void sc_keepalive_init(struct sc_keepalive *ka, uint32_t ping_ms, uint32_t pong_ms,
                       void (*ping)(struct sc_ka_entry *, void *),
                       void (*dead)(struct sc_ka_entry *, void *), void *data);

/* Traffic from e at now_ms: e goes (back) to the tail of "active". */
void sc_keepalive_touch(struct sc_keepalive *ka, struct sc_ka_entry *e, uint64_t now_ms);

/* Take e off whichever list it is on (none is fine). */
void sc_keepalive_remove(struct sc_keepalive *ka, struct sc_ka_entry *e);

/* Ping the entries idle for ping_ms and report the ones pinged pong_ms ago
 * as dead. The callbacks may remove entries, but not free others. */
void sc_keepalive_run(struct sc_keepalive *ka, uint64_t now_ms);

/* Entries on either list. */
static inline size_t sc_keepalive_count(const struct sc_keepalive *ka)
{
    return ka->active.count + ka->pinged.count;
}

#endif
