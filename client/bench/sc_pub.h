/* sc_pub: the publisher: one pipelined, non-blocking RESP connection to
 * Redis sending stamped PUBLISH commands at a fixed rate, plus the PUBSUB
 * NUMSUB check that the server has subscribed before publishing starts. */
#ifndef SC_BENCH_PUB_H
#define SC_BENCH_PUB_H

#include <stddef.h>
#include <stdint.h>

#include "sc_opts.h"
#include "sc_report.h"

/* epoll data value of the publisher's socket. */
#define SC_EV_PUB (UINT64_C(1) << 33)

struct sc_pub {
    const struct sc_opts *o;
    struct sc_report *rep;
    int fd;
    int gen_done; /* no more messages will be generated */
    int failed;
    uint32_t numsub_next; /* channels below this already had enough subscribers */
    uint64_t sent;        /* PUBLISH commands generated */
    uint64_t replied;
    uint64_t target; /* messages to publish (may shrink at a time limit) */
    uint64_t start;
    uint64_t deadline; /* ns, 0 = none */
    char *out;
    size_t out_len, out_off, out_cap;
    char *in;
    size_t in_len, in_cap;
    char *payload; /* o->size bytes, padding written once */
};

int sc_pub_init(struct sc_pub *p, const struct sc_opts *o, struct sc_report *rep);
int sc_pub_numsub_ok(struct sc_pub *p, uint32_t need);
int sc_pub_start(struct sc_pub *p, int epfd, uint64_t now);
int sc_pub_tick(struct sc_pub *p);
int sc_pub_event(struct sc_pub *p, uint32_t events);
int sc_pub_finished(const struct sc_pub *p);
void sc_pub_free(struct sc_pub *p);

#endif
