/* Log-linear latency histogram (HdrHistogram-like): fixed memory, no
 * per-sample storage, ~1.6% worst-case relative error, mergeable across
 * processes by adding bucket counts. */
#ifndef SC_BENCH_HIST_H
#define SC_BENCH_HIST_H

#include <stdint.h>

#define SC_HIST_SUB_BITS 6
#define SC_HIST_SUB (1u << SC_HIST_SUB_BITS)
/* Values are clamped below 2^44 ns (~4.9 h): longer than any run. */
#define SC_HIST_MAX_BITS 44
#define SC_HIST_BUCKETS ((SC_HIST_MAX_BITS - SC_HIST_SUB_BITS - 1) * SC_HIST_SUB + 2 * SC_HIST_SUB)

struct sc_hist {
    uint64_t count;
    uint64_t min;
    uint64_t max;
    double sum;
    uint64_t buckets[SC_HIST_BUCKETS];
};

void sc_hist_init(struct sc_hist *h);
void sc_hist_record(struct sc_hist *h, uint64_t value);
void sc_hist_merge(struct sc_hist *dst, const struct sc_hist *src);
uint64_t sc_hist_percentile(const struct sc_hist *h, double pct);
double sc_hist_mean(const struct sc_hist *h);

/* Exposed for tests: bucket index of a value and the range a bucket covers. */
unsigned sc_hist_index(uint64_t value);
uint64_t sc_hist_bucket_high(unsigned index);

#endif
