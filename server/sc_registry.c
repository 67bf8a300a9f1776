/* sc_registry: channel entries, subscriber lists and Redis-side state. */
#include "sc_registry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "sc_proto.h"

#define INITIAL_BUCKETS 64

/* Seeded so a client cannot pick channel names that all land in one chain
 * of this node's table (the seed differs per process). */
static uint64_t name_hash(uint64_t seed, const char *p, size_t len)
{
    uint64_t h = seed ^ (len * 0x9E3779B97F4A7C15ULL);

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001B3ULL;
        h ^= h >> 29;
    }
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    return h;
}

int sc_registry_init(struct sc_registry *reg)
{
    memset(reg, 0, sizeof(*reg));
    if (getrandom(&reg->seed, sizeof(reg->seed), GRND_NONBLOCK) != sizeof(reg->seed))
        reg->seed = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL;
    reg->buckets = calloc(INITIAL_BUCKETS, sizeof(*reg->buckets));
    if (!reg->buckets)
        return -ENOMEM;
    reg->nbuckets = INITIAL_BUCKETS;
    return 0;
}

void sc_registry_destroy(struct sc_registry *reg)
{
    for (size_t i = 0; i < reg->nbuckets; i++) {
        struct sc_channel *ch = reg->buckets[i], *next;
        for (; ch; ch = next) {
            next = ch->hnext;
            free(ch);
        }
    }
    free(reg->buckets);
    memset(reg, 0, sizeof(*reg));
}

struct sc_channel *sc_registry_find(struct sc_registry *reg, const char *name, size_t len)
{
    uint64_t h = name_hash(reg->seed, name, len);
    struct sc_channel *ch = reg->buckets[h & (reg->nbuckets - 1)];

    for (; ch; ch = ch->hnext)
        if (ch->hash == h && ch->len == len && memcmp(ch->name, name, len) == 0)
            return ch;
    return NULL;
}

/* Double the table once entries outnumber buckets. A failed grow is not an
 * error: chains just get longer. */
static void registry_grow(struct sc_registry *reg)
{
    size_t n = reg->nbuckets * 2;
    struct sc_channel **nb = calloc(n, sizeof(*nb));

    if (!nb)
        return;
    for (size_t i = 0; i < reg->nbuckets; i++) {
        struct sc_channel *ch = reg->buckets[i], *next;
        for (; ch; ch = next) {
            next = ch->hnext;
            ch->hnext = nb[ch->hash & (n - 1)];
            nb[ch->hash & (n - 1)] = ch;
        }
    }
    free(reg->buckets);
    reg->buckets = nb;
    reg->nbuckets = n;
}

static struct sc_channel *channel_new(struct sc_registry *reg, const char *name, size_t len)
{
    struct sc_channel *ch = calloc(1, sizeof(*ch) + len + 1);
    size_t b;

    if (!ch)
        return NULL;
    memcpy(ch->name, name, len);
    ch->len = (uint32_t)len;
    ch->hash = name_hash(reg->seed, name, len);
    ch->pattern = sc_channel_is_pattern(name, len) ? 1 : 0;
    if (reg->nchannels >= reg->nbuckets)
        registry_grow(reg);
    b = ch->hash & (reg->nbuckets - 1);
    ch->hnext = reg->buckets[b];
    reg->buckets[b] = ch;
    reg->nchannels++;
    reg->npatterns += ch->pattern;
    return ch;
}

static void channel_free(struct sc_registry *reg, struct sc_channel *ch)
{
    struct sc_channel **pp = &reg->buckets[ch->hash & (reg->nbuckets - 1)];

    while (*pp != ch)
        pp = &(*pp)->hnext;
    *pp = ch->hnext;
    reg->nchannels--;
    reg->npatterns -= ch->pattern;
    free(ch);
}

static void dirty_add(struct sc_registry *reg, struct sc_channel *ch)
{
    if (ch->dirty)
        return;
    ch->dirty = 1;
    sc_list_append(&reg->dirty, &ch->dlink);
    if (reg->on_dirty)
        reg->on_dirty(reg->dirty_data);
}

static void dirty_remove(struct sc_registry *reg, struct sc_channel *ch)
{
    if (!ch->dirty)
        return;
    sc_list_unlink(&reg->dirty, &ch->dlink);
    ch->dirty = 0;
}

/* Bring an entry's bookkeeping in line after any change: queue a command if
 * Redis must change, or free the entry if nobody wants it and Redis no
 * longer has it. A command in flight defers all of this to its reply. */
static void channel_settle(struct sc_registry *reg, struct sc_channel *ch)
{
    int want = ch->subs.count > 0;

    if (ch->inflight)
        return;
    if (want != ch->have) {
        dirty_add(reg, ch);
        return;
    }
    dirty_remove(reg, ch);
    if (!want)
        channel_free(reg, ch);
}

struct sc_sub *sc_registry_subscribe(struct sc_registry *reg, struct sc_conn *conn,
                                     const char *name, size_t len)
{
    struct sc_channel *ch = sc_registry_find(reg, name, len);
    struct sc_sub *sub = malloc(sizeof(*sub));

    if (!sub)
        return NULL;
    if (!ch && !(ch = channel_new(reg, name, len))) {
        free(sub);
        return NULL;
    }
    sub->ch = ch;
    sub->conn = conn;
    sc_list_prepend(&ch->subs, &sub->link);
    reg->nsubs++;
    channel_settle(reg, ch);
    return sub;
}

void sc_registry_unsubscribe(struct sc_registry *reg, struct sc_sub *sub)
{
    struct sc_channel *ch = sub->ch;

    sc_list_unlink(&ch->subs, &sub->link);
    reg->nsubs--;
    free(sub);
    channel_settle(reg, ch);
}

struct sc_channel *sc_registry_take_dirty(struct sc_registry *reg, enum sc_upstream_op *op)
{
    struct sc_channel *ch;

    if (!reg->dirty.head)
        return NULL;
    ch = sc_container_of(reg->dirty.head, struct sc_channel, dlink);
    dirty_remove(reg, ch);
    ch->inflight = 1;
    reg->ninflight++;
    *op = ch->subs.count > 0 ? SC_UP_SUBSCRIBE : SC_UP_UNSUBSCRIBE;
    return ch;
}

void sc_registry_confirm(struct sc_registry *reg, const char *name, size_t len, int subscribed)
{
    struct sc_channel *ch = sc_registry_find(reg, name, len);

    if (!ch)
        return;
    if (ch->inflight) {
        ch->inflight = 0;
        reg->ninflight--;
    }
    ch->have = subscribed ? 1 : 0;
    channel_settle(reg, ch);
}

void sc_registry_upstream_lost(struct sc_registry *reg)
{
    sc_list_init(&reg->dirty);
    reg->ninflight = 0;
    for (size_t i = 0; i < reg->nbuckets; i++) {
        struct sc_channel *ch = reg->buckets[i], *next;
        for (; ch; ch = next) {
            next = ch->hnext;
            ch->have = 0;
            ch->inflight = 0;
            ch->dirty = 0;
            channel_settle(reg, ch);
        }
    }
}
