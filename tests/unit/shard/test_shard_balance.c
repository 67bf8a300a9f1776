/* 100,000 keys over 10 equal shards: the fullest holds at most 1.10x the mean. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <time.h>

#include "shard_test.h"

#define NSHARDS 10

static void report(const char *what, const int *count)
{
    double mean = (double)NKEYS / NSHARDS, var = 0;
    int i, lo = count[0], hi = count[0];

    for (i = 0; i < NSHARDS; i++) {
        lo = count[i] < lo ? count[i] : lo;
        hi = count[i] > hi ? count[i] : hi;
        var += (count[i] - mean) * (count[i] - mean);
    }
    print_message("balance (%s): %d keys / %d shards: max %d = %.4fx mean, "
                  "min %d = %.4fx mean, stddev %.1f (binomial %.1f)\n",
                  what, NKEYS, NSHARDS, hi, hi / mean, lo, lo / mean, sqrt(var / NSHARDS),
                  sqrt(NKEYS * 0.1 * 0.9));
    assert_true(hi <= 1.10 * mean);
}

static void test_channel_names(void **state)
{
    sc_shardmap *map = make_map(NSHARDS, NULL);
    int count[NSHARDS] = {0}, i;
    clock_t t0 = clock();

    (void)state;
    for (i = 0; i < NKEYS; i++)
        count[owner_of(map, i)]++;
    print_message("lookup: %.0f ns per key over %d shards (this build)\n",
                  (double)(clock() - t0) / CLOCKS_PER_SEC * 1e9 / NKEYS, NSHARDS);
    report("\"chan:N\" keys", count);
    sc_shardmap_free(map);
}

/* Binary keys that differ in one low byte stress the hash's avalanche. */
static void test_counter_bytes(void **state)
{
    sc_shardmap *map = make_map(NSHARDS, NULL);
    const struct sc_shard *o = NULL;
    int count[NSHARDS] = {0}, i;

    (void)state;
    for (i = 0; i < NKEYS; i++) {
        uint64_t k = (uint64_t)i;
        assert_int_equal(sc_shardmap_owner(map, &k, sizeof(k), &o), 0);
        count[atoi(o->id + 1)]++;
    }
    report("8-byte counters", count);
    sc_shardmap_free(map);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channel_names),
        cmocka_unit_test(test_counter_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
