/* sc_conn: the bench's subscriber connections (WebSocket or RESP) on one
 * epoll set: opening at a bounded rate, upgrade, subscription, frame
 * parsing and per-subscription accounting. */
#ifndef SC_BENCH_CONN_H
#define SC_BENCH_CONN_H

#include <stdint.h>

#include "sc_delivery.h"
#include "sc_opts.h"
#include "sc_report.h"
#include "sc_ws_frame.h"

/* Scratch space for one request: a channel list is at most
 * 256 x (64-byte prefix + 10 digits + 3) bytes, well under half of it. */
#define SC_TMP_SIZE (64 * 1024)

/* epoll data values at or above this are not connections. */
#define SC_EV_CONN_LIMIT (UINT64_C(1) << 32)

struct sc_conn {
    int fd;
    uint8_t state;
    uint8_t ready;      /* reached subscribed state once: counts in expected */
    uint16_t confirmed; /* RESP subscribe confirmations */
    uint32_t carry_len; /* unparsed bytes (HTTP response, partial RESP) */
    uint32_t carry_cap;
    uint32_t out_len; /* bytes the kernel did not take yet */
    uint8_t *carry;
    uint8_t *out;
    uint64_t deadline; /* ns: must be subscribed by then */
    struct sc_ws_parser ws;
};

struct sc_conns {
    const struct sc_opts *o;
    struct sc_report *rep;
    int epfd;
    uint32_t lo; /* global index of v[0] */
    uint32_t n;
    uint32_t next;    /* v[next] is the next to open */
    uint32_t pending; /* attempted, neither subscribed nor failed */
    uint32_t open_fds;
    int stopped;      /* a machine limit stopped further attempts */
    int told_failure; /* failures so far (the first is described) */
    double rate;      /* this process's share of --connect-rate */
    uint64_t start;
    uint64_t now;
    uint64_t last_sweep;
    uint64_t recv_total; /* distinct deliveries so far */
    uint64_t rng;
    struct sc_conn *v;
    struct sc_sub *subs; /* v[i]'s subscriptions: subs[i * per_conn ...] */
    struct sc_conn *cur; /* connection whose bytes are being parsed */
    uint8_t *rbuf;
    size_t rbuf_cap;
    uint8_t *tmp; /* SC_TMP_SIZE scratch for requests being built */
};

int sc_conns_init(struct sc_conns *c, const struct sc_opts *o, struct sc_report *rep, int epfd,
                  uint32_t lo, uint32_t hi, double rate_share);
void sc_conns_tick(struct sc_conns *c, uint64_t now);
void sc_conns_event(struct sc_conns *c, uint32_t idx, uint32_t events);
int sc_conns_settled(const struct sc_conns *c);
void sc_conns_account(struct sc_conns *c, uint64_t published);
uint64_t sc_conns_expected(const struct sc_conns *c, uint64_t published);
void sc_conns_close_all(struct sc_conns *c);
void sc_conns_free(struct sc_conns *c);

#endif
