/* sc_run: one process's event loop and the phases of a run (connect,
 * wait for subscriptions, idle hold, publish, drain), used as they are by
 * a single-process run and split between parent and children by sc_fork. */
#ifndef SC_BENCH_RUN_H
#define SC_BENCH_RUN_H

#include <signal.h>
#include <stdint.h>

#include "sc_conn.h"
#include "sc_opts.h"
#include "sc_pub.h"
#include "sc_report.h"

/* epoll data values from here on are control sockets (SC_EV_CTL + child). */
#define SC_EV_CTL (UINT64_C(1) << 34)

/* Counters a progress line shows; children send theirs to the parent. */
struct sc_live {
    uint64_t attempted, ready, failed, closed, recv;
};

struct sc_run;
typedef void (*sc_ctl_fn)(struct sc_run *r, uint32_t idx, uint32_t events);
typedef void (*sc_live_fn)(struct sc_run *r, struct sc_live *live);

struct sc_run {
    const struct sc_opts *o;
    struct sc_report rep;
    int epfd;
    int have_conns;
    int have_pub;
    int publishing;
    struct sc_conns conns;
    struct sc_pub pub;
    uint64_t t0;
    uint64_t last_progress;
    uint64_t prev_recv, prev_pub; /* at the last progress line */
    sc_ctl_fn on_ctl;             /* control socket events (fork mode) */
    sc_live_fn live;              /* progress counters when not local (fork parent) */
    void *ctx;                    /* owner's state for on_ctl / live */
};

extern volatile sig_atomic_t sc_stop;

int sc_run_init(struct sc_run *r, const struct sc_opts *o);
int sc_run_add_conns(struct sc_run *r, uint32_t lo, uint32_t hi, double rate);
void sc_run_step(struct sc_run *r, int timeout_ms);
void sc_run_live(struct sc_run *r, struct sc_live *live);
int sc_run_connect(struct sc_run *r);
int sc_run_publish_side(struct sc_run *r);
void sc_run_sample_end(struct sc_run *r);
void sc_run_drain(struct sc_run *r, uint64_t published, uint64_t since);
void sc_run_free(struct sc_run *r);
int sc_run_single(const struct sc_opts *o, struct sc_report *out);

#endif
