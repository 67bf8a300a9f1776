/* sc_queue: a connection's bounded send queue of shared frames.
 *
 * The queue holds references, never copies. Its bound is in bytes of
 * frames queued; a push that would cross it fails so the caller can cut the
 * slow consumer off instead of letting memory grow. An empty queue always
 * takes one frame, however large, so a message bigger than the bound is
 * still delivered to a reader that keeps up. */
#ifndef SC_QUEUE_H
#define SC_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "sc_msg.h"

struct sc_queue {
    struct sc_msg **ring; /* NULL while the queue has never grown */
    uint32_t head;
    uint32_t count;
    uint32_t cap; /* power of two, or 0 */
    size_t bytes; /* sum of queued frame lengths */
    /* Optional: a total shared by many queues (the node's queued bytes),
     * kept equal to the sum of their bytes by every call below, so that
     * nobody has to walk the queues to know it. NULL: none. Set it on an
     * empty queue; sc_queue_clear() keeps it. */
    uint64_t *total;
};

/* Append a reference to m (the queue takes its own). Returns 0, -ENOBUFS if
 * the queue is not empty and m would take it past max_bytes, or -ENOMEM. */
int sc_queue_push(struct sc_queue *q, struct sc_msg *m, size_t max_bytes);

/* The oldest frame, or NULL when empty. The queue keeps its reference. */
struct sc_msg *sc_queue_peek(const struct sc_queue *q);

/* Drop the oldest frame (and the queue's reference to it). */
void sc_queue_pop(struct sc_queue *q);

/* Copy as many whole frames as fit into dst[0..cap), oldest first, and pop
 * them. Returns the bytes copied (0 if the oldest frame alone is larger
 * than cap: send that one with sc_queue_peek() instead). */
size_t sc_queue_gather(struct sc_queue *q, unsigned char *dst, size_t cap);

/* Drop every frame and free the ring. The queue is empty and reusable,
 * still counted in the same total. */
void sc_queue_clear(struct sc_queue *q);

#endif
