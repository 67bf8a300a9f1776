/* Tests for the log-linear histogram: bucket bounds, percentiles against
 * exact values, merging, and the edges (empty, huge values). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sc_hist.h"

static void test_bucket_bounds(void **state)
{
    uint64_t v, hi;
    unsigned idx, prev = 0;

    (void)state;
    for (v = 0; v < (UINT64_C(1) << 40); v = v < 1000 ? v + 1 : v + v / 37) {
        idx = sc_hist_index(v);
        assert_true(idx < SC_HIST_BUCKETS);
        assert_true(idx >= prev);
        prev = idx;
        hi = sc_hist_bucket_high(idx);
        assert_true(hi >= v);
        /* Relative width bound: 1/64 of the value. */
        assert_true((double)(hi - v) <= (double)v / 64.0 + 1.0);
        if (idx > 0)
            assert_true(sc_hist_bucket_high(idx - 1) < v);
    }
    assert_int_equal(sc_hist_index(UINT64_MAX), SC_HIST_BUCKETS - 1);
}

static void test_percentiles_uniform(void **state)
{
    struct sc_hist *h = malloc(sizeof(*h));
    uint64_t v, p;
    static const double pcts[] = {50, 90, 99, 99.9};
    size_t i;

    (void)state;
    sc_hist_init(h);
    for (v = 1; v <= 1000000; v++)
        sc_hist_record(h, v * 1000);
    assert_int_equal(h->count, 1000000);
    assert_int_equal(h->min, 1000);
    assert_int_equal(h->max, 1000000000);
    for (i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
        double exact = pcts[i] / 100.0 * 1e9;

        p = sc_hist_percentile(h, pcts[i]);
        assert_true((double)p >= exact * 0.999);
        assert_true((double)p <= exact * 1.02);
    }
    assert_int_equal(sc_hist_percentile(h, 100), 1000000000);
    assert_true(sc_hist_mean(h) > 500.0e6 && sc_hist_mean(h) < 500.001e6);
    free(h);
}

static void test_single_and_empty(void **state)
{
    struct sc_hist *h = malloc(sizeof(*h));

    (void)state;
    sc_hist_init(h);
    assert_int_equal(sc_hist_percentile(h, 50), 0);
    assert_true(sc_hist_mean(h) == 0.0);
    sc_hist_record(h, 123456);
    /* One sample: every percentile is that sample, not its bucket edge. */
    assert_int_equal(sc_hist_percentile(h, 50), 123456);
    assert_int_equal(sc_hist_percentile(h, 99.9), 123456);
    sc_hist_record(h, UINT64_C(1) << 50);
    assert_int_equal(h->max, UINT64_C(1) << 50);
    assert_int_equal(sc_hist_percentile(h, 100), UINT64_C(1) << 50);
    free(h);
}

static void test_merge(void **state)
{
    struct sc_hist *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
    struct sc_hist *all = malloc(sizeof(*all));
    uint64_t v;

    (void)state;
    sc_hist_init(a);
    sc_hist_init(b);
    sc_hist_init(all);
    for (v = 1; v < 100000; v += 3) {
        sc_hist_record(v % 2 ? a : b, v * 17);
        sc_hist_record(all, v * 17);
    }
    sc_hist_merge(a, b);
    assert_int_equal(a->count, all->count);
    assert_int_equal(a->min, all->min);
    assert_int_equal(a->max, all->max);
    assert_memory_equal(a->buckets, all->buckets, sizeof(a->buckets));
    assert_int_equal(sc_hist_percentile(a, 99), sc_hist_percentile(all, 99));
    free(a);
    free(b);
    free(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bucket_bounds),
        cmocka_unit_test(test_percentiles_uniform),
        cmocka_unit_test(test_single_and_empty),
        cmocka_unit_test(test_merge),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
