/* sc_queue: bounded ring of frame references. */
#include "sc_queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Rings this small stay allocated when they empty: a subscriber that gets
 * a message now and then should not malloc and free on every one. */
#define QUEUE_KEEP_CAP 8

static int queue_grow(struct sc_queue *q)
{
    uint32_t ncap = q->cap ? q->cap * 2 : 4;
    struct sc_msg **nring;

    if (ncap < q->cap)
        return -ENOMEM;
    nring = malloc(sizeof(*nring) * ncap);
    if (!nring)
        return -ENOMEM;
    /* Unwrap into the new ring so head is 0 again. */
    for (uint32_t i = 0; i < q->count; i++)
        nring[i] = q->ring[(q->head + i) & (q->cap - 1)];
    free(q->ring);
    q->ring = nring;
    q->head = 0;
    q->cap = ncap;
    return 0;
}

int sc_queue_push(struct sc_queue *q, struct sc_msg *m, size_t max_bytes)
{
    if (q->count && q->bytes + m->len > max_bytes)
        return -ENOBUFS;
    if (q->count == q->cap && queue_grow(q) < 0)
        return -ENOMEM;
    q->ring[(q->head + q->count) & (q->cap - 1)] = sc_msg_ref(m);
    q->count++;
    q->bytes += m->len;
    if (q->total)
        *q->total += m->len;
    return 0;
}

struct sc_msg *sc_queue_peek(const struct sc_queue *q)
{
    return q->count ? q->ring[q->head] : NULL;
}

void sc_queue_pop(struct sc_queue *q)
{
    struct sc_msg *m;

    if (!q->count)
        return;
    m = q->ring[q->head];
    q->head = (q->head + 1) & (q->cap - 1);
    q->count--;
    q->bytes -= m->len;
    if (q->total)
        *q->total -= m->len;
    sc_msg_unref(m);
    if (q->count == 0 && q->cap > QUEUE_KEEP_CAP) {
        free(q->ring);
        q->ring = NULL;
        q->cap = 0;
        q->head = 0;
    }
}

size_t sc_queue_gather(struct sc_queue *q, unsigned char *dst, size_t cap)
{
    size_t used = 0;
    struct sc_msg *m;

    while ((m = sc_queue_peek(q)) && used + m->len <= cap) {
        memcpy(dst + used, sc_msg_frame(m), m->len);
        used += m->len;
        sc_queue_pop(q);
    }
    return used;
}

void sc_queue_clear(struct sc_queue *q)
{
    uint64_t *total = q->total;

    while (q->count)
        sc_queue_pop(q);
    free(q->ring);
    memset(q, 0, sizeof(*q));
    q->total = total;
}
