/* sc_registry: the node's channels, who subscribes to each, and what Redis
 * must be told.
 *
 * One entry per channel or pattern name, holding the list of its local
 * subscriptions. The registry also keeps, per entry, the state of the
 * node's own subscription in Redis: an entry is "dirty" while what Redis
 * has differs from what the local subscribers want and no command for it
 * is in flight. The Redis module drains the dirty list in batches and
 * reports each confirmation back. Keeping at most one command in flight per
 * name is what makes a quick unsubscribe-resubscribe safe: hiredis drops
 * its callback on the unsubscribe reply, so overlapping commands for one
 * name would lose messages.
 *
 * An entry is freed when its last subscriber has left and Redis has
 * confirmed the unsubscribe. */
#ifndef SC_REGISTRY_H
#define SC_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "sc_list.h"

struct sc_conn;
struct sc_channel;

/* One connection's subscription to one channel: the link both sides hold. */
struct sc_sub {
    struct sc_channel *ch;
    struct sc_conn *conn;
    struct sc_link link; /* in the channel's list */
};

struct sc_channel {
    struct sc_channel *hnext; /* hash chain */
    struct sc_link dlink;     /* on the dirty list */
    struct sc_list subs;      /* of struct sc_sub; count: subscribers */
    /* Scratch for one caller within one call, 0 between calls and never
     * read by the registry: sc_conn keeps 1 + the index of a connection's
     * own subscription here while it changes that connection's set, so
     * each name of a request is looked up in O(1). */
    uint32_t mark;
    uint64_t hash;
    unsigned pattern : 1;
    unsigned have : 1;     /* Redis has confirmed our subscription */
    unsigned inflight : 1; /* a command for this name awaits its reply */
    unsigned dirty : 1;
    uint32_t len;
    char name[]; /* NUL-terminated, len bytes */
};

struct sc_registry {
    struct sc_channel **buckets;
    size_t nbuckets;  /* power of two */
    size_t nchannels; /* entries */
    size_t npatterns; /* entries that are patterns */
    size_t nsubs;     /* subscriptions over all entries */
    size_t ninflight;
    struct sc_list dirty; /* entries whose Redis state must change */
    uint64_t seed;
    /* Called when the dirty list gains an entry, so the Pub/Sub client
     * can send the commands this iteration; NULL for none. */
    void (*on_dirty)(void *data);
    void *dirty_data;
};

/* The first subscription to ch, and the one after s; NULL at the end. */
static inline struct sc_sub *sc_sub_first(const struct sc_channel *ch)
{
    return ch->subs.head ? sc_container_of(ch->subs.head, struct sc_sub, link) : NULL;
}

static inline struct sc_sub *sc_sub_next(const struct sc_sub *s)
{
    return s->link.next ? sc_container_of(s->link.next, struct sc_sub, link) : NULL;
}

/* Returns 0 or -ENOMEM. */
int sc_registry_init(struct sc_registry *reg);
/* Frees every entry. Subscriptions must already be gone. */
void sc_registry_destroy(struct sc_registry *reg);

/* Exact lookup; NULL if absent. */
struct sc_channel *sc_registry_find(struct sc_registry *reg, const char *name, size_t len);

/* Subscribe conn to name, creating the entry on first use. The caller owns
 * the returned link and must give it back with sc_registry_unsubscribe().
 * NULL on allocation failure. */
struct sc_sub *sc_registry_subscribe(struct sc_registry *reg, struct sc_conn *conn,
                                     const char *name, size_t len);

/* Remove and free the link. Its entry may be freed (now or once Redis
 * confirms), so do not use sub->ch afterwards. */
void sc_registry_unsubscribe(struct sc_registry *reg, struct sc_sub *sub);

enum sc_upstream_op { SC_UP_SUBSCRIBE, SC_UP_UNSUBSCRIBE };

/* Take the oldest dirty entry, mark its command in flight and say which
 * command Redis needs. NULL when nothing is dirty. The entry stays valid
 * until its confirmation is reported. */
struct sc_channel *sc_registry_take_dirty(struct sc_registry *reg, enum sc_upstream_op *op);

/* Redis confirmed (subscribed=1) or ended (0) our subscription of name.
 * Unknown names are ignored. May free the entry. */
void sc_registry_confirm(struct sc_registry *reg, const char *name, size_t len, int subscribed);

/* The Redis connection is gone: nothing is subscribed and nothing is in
 * flight. Entries with subscribers become dirty; the rest are freed. */
void sc_registry_upstream_lost(struct sc_registry *reg);

/* 1 when Redis holds exactly what the subscribers want. */
static inline int sc_registry_synced(const struct sc_registry *reg)
{
    return reg->ninflight == 0 && reg->dirty.count == 0;
}

#endif
