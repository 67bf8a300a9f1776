/* sc_report: everything one run measured, mergeable across processes, and
 * its text and JSON forms. */
#ifndef SC_BENCH_REPORT_H
#define SC_BENCH_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "sc_hist.h"
#include "sc_proc.h"

struct sc_opts;

/* Close codes worth telling apart; the last slot counts all others. */
#define SC_CLOSE_CODES                                                   \
    {                                                                    \
        1000, 1001, 1002, 1003, 1005, 1006, 1007, 1009, 1011, 4100, 4101 \
    }
#define SC_NCLOSE 12

struct sc_report {
    /* connections (summed over processes) */
    uint64_t attempted, opened, ready, failed, closed;
    uint64_t fail_refused, fail_timeout, fail_http, fail_reset, fail_proto, fail_sub, fail_other;
    uint64_t http_503;
    int32_t last_http_status;
    int32_t limit_errno; /* EMFILE/ENFILE/EADDRNOTAVAIL that stopped us */
    uint64_t limit_at;   /* connections open in that process then */
    uint64_t close_codes[SC_NCLOSE];
    uint64_t connect_start, connect_end; /* CLOCK_MONOTONIC ns */
    /* frames */
    uint64_t subs, acks, err_frames, missed, other_frames, pings;
    uint64_t foreign, unexpected;
    /* deliveries */
    uint64_t expected, received, lost, dup;
    uint64_t first_recv, last_recv;
    /* publisher */
    uint64_t published, pub_replies, pub_errors, pub_receivers;
    uint64_t pub_start, pub_end;
    /* processes */
    double bench_cpu;
    int procs;
    int have_server, have_redis;
    struct sc_proc_sample srv_before, srv_connected, srv_pub_start, srv_end;
    double srv_cpu_connect, srv_cpu_idle, srv_cpu_pub;
    double redis_cpu_pub;
    double hold_secs;
    struct sc_hist lat; /* publish-to-receive, ns */
};

void sc_report_init(struct sc_report *r);
void sc_report_merge(struct sc_report *dst, const struct sc_report *src);
void sc_report_close_code(struct sc_report *r, unsigned code);
void sc_report_text(const struct sc_report *r, const struct sc_opts *o, FILE *f);
void sc_report_json(const struct sc_report *r, const struct sc_opts *o, FILE *f);

#endif
