/* sc_delivery: what a bench message looks like on the wire and how each
 * subscription accounts for what it received.
 *
 * Payload (ASCII, so every server passes it through JSON unescaped):
 *   "sc" TAG(8 hex) SEQ(8 hex) CHAN(8 hex) TS(16 hex) then 'x' padding
 * TAG identifies the run (messages of another run are "foreign"), SEQ counts
 * from 1 per channel, TS is the publisher's CLOCK_MONOTONIC in ns. */
#ifndef SC_BENCH_DELIVERY_H
#define SC_BENCH_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#define SC_PAYLOAD_MIN 42

struct sc_stamp {
    uint32_t tag;
    uint32_t seq;
    uint32_t chan;
    uint64_t ts;
};

/* One subscription of one connection. */
struct sc_sub {
    uint32_t chan;
    uint32_t last; /* highest sequence seen */
    uint32_t recv; /* distinct sequences seen (each raised `last`) */
    uint32_t dup;  /* at or below `last`: repeats, or arrivals out of order */
};

enum sc_frame_kind {
    SC_FRAME_MESSAGE,
    SC_FRAME_OK,
    SC_FRAME_ERROR,
    SC_FRAME_MISSED,
    SC_FRAME_OTHER,
};

void sc_payload_write(char *out, size_t size, const struct sc_stamp *st);
int sc_payload_read(const char *p, size_t len, struct sc_stamp *st);
enum sc_frame_kind sc_frame_classify(const char *f, size_t len, const char **data, size_t *dlen);

uint32_t sc_chan_of(uint32_t conn, uint32_t j, uint32_t nconns, uint32_t subs_per_chan);
uint64_t sc_published_on(uint64_t total, uint32_t nchan, uint32_t chan);

/* Contract: counts seq for s; 1 when it is new (raises the high mark), 0 for
 * a duplicate or an arrival behind one already seen. Losses are counted at
 * the end as expected - recv, which also catches a missing tail. */
static inline int sc_sub_seen(struct sc_sub *s, uint32_t seq)
{
    if (seq > s->last) {
        s->last = seq;
        s->recv++;
        return 1;
    }
    s->dup++;
    return 0;
}

#endif
