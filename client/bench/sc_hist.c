/* Log-linear histogram. A value below 2*SUB has its own bucket; above that,
 * the top SUB_BITS+1 significant bits select the bucket, so every bucket is at
 * most 1/SUB of its value wide. Index = shift * SUB + (value >> shift), which
 * keeps the two ranges contiguous without a branch on the lookup side. */
#include "sc_hist.h"

#include <string.h>

/* Contract: leaves h empty (count 0, min UINT64_MAX so any record lowers it). */
void sc_hist_init(struct sc_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

/* Contract: returns the bucket index of value, clamping values that do not
 * fit in SC_HIST_MAX_BITS to the last bucket. */
unsigned sc_hist_index(uint64_t value)
{
    unsigned msb, shift;

    if (value >= (UINT64_C(1) << SC_HIST_MAX_BITS))
        value = (UINT64_C(1) << SC_HIST_MAX_BITS) - 1;
    if (value < 2 * SC_HIST_SUB)
        return (unsigned)value;
    msb = 63u - (unsigned)__builtin_clzll(value);
    shift = msb - SC_HIST_SUB_BITS;
    return shift * SC_HIST_SUB + (unsigned)(value >> shift);
}

/* Contract: returns the largest value that maps to bucket index (the value
 * percentiles report, as HdrHistogram's "highest equivalent value"). */
uint64_t sc_hist_bucket_high(unsigned index)
{
    unsigned shift;
    uint64_t top;

    if (index < 2 * SC_HIST_SUB)
        return index;
    shift = index / SC_HIST_SUB - 1;
    top = index - shift * SC_HIST_SUB;
    return ((top + 1) << shift) - 1;
}

/* Contract: counts one sample; values beyond the range land in the last
 * bucket but min/max keep the exact value. */
void sc_hist_record(struct sc_hist *h, uint64_t value)
{
    h->buckets[sc_hist_index(value)]++;
    h->count++;
    h->sum += (double)value;
    if (value < h->min)
        h->min = value;
    if (value > h->max)
        h->max = value;
}

/* Contract: adds every sample of src to dst, as if recorded there. */
void sc_hist_merge(struct sc_hist *dst, const struct sc_hist *src)
{
    unsigned i;

    for (i = 0; i < SC_HIST_BUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

/* Contract: returns the value at percentile pct (0..100) as the upper edge of
 * its bucket, capped at the exact maximum; 0 for an empty histogram. pct 100
 * returns the exact maximum. */
uint64_t sc_hist_percentile(const struct sc_hist *h, double pct)
{
    uint64_t want, seen = 0, v;
    unsigned i;

    if (h->count == 0)
        return 0;
    if (pct >= 100.0)
        return h->max;
    want = (uint64_t)((pct / 100.0) * (double)h->count + 0.999999);
    if (want == 0)
        want = 1;
    for (i = 0; i < SC_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= want) {
            v = sc_hist_bucket_high(i);
            if (v > h->max)
                v = h->max;
            /* The first bucket holding samples may start below min. */
            return v < h->min ? h->min : v;
        }
    }
    return h->max;
}

/* Contract: arithmetic mean of the exact recorded values, 0 when empty. */
double sc_hist_mean(const struct sc_hist *h)
{
    return h->count ? h->sum / (double)h->count : 0.0;
}
