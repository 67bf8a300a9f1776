/* A shard of weight 2 gets about twice the keys of a weight-1 shard. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "shard_test.h"

static void count_owners(const sc_shardmap *map, int *count)
{
    int i;

    for (i = 0; i < NKEYS; i++)
        count[owner_of(map, i)]++;
}

static void test_one_double_among_ten(void **state)
{
    static const uint32_t w[10] = {2, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    sc_shardmap *map = make_map(10, w);
    int count[10] = {0}, i;
    double mean1 = 0, ratio;

    (void)state;
    count_owners(map, count);
    for (i = 1; i < 10; i++)
        mean1 += count[i] / 9.0;
    ratio = count[0] / mean1;
    print_message("weights (2 vs nine 1s): weight-2 shard %d keys, weight-1 mean %.1f, "
                  "ratio %.4f (want 2 +- 10%%)\n",
                  count[0], mean1, ratio);
    assert_true(ratio >= 1.8 && ratio <= 2.2);
    sc_shardmap_free(map);
}

static void test_one_to_four(void **state)
{
    static const uint32_t w[4] = {1, 2, 3, 4};
    sc_shardmap *map = make_map(4, w);
    int count[4] = {0}, i;

    (void)state;
    count_owners(map, count);
    for (i = 0; i < 4; i++) {
        double expect = (double)NKEYS * w[i] / 10;
        print_message("weights (1:2:3:4): s%d weight %u holds %d keys, "
                      "%.4fx its share\n",
                      i, w[i], count[i], count[i] / expect);
        assert_true(count[i] >= 0.9 * expect && count[i] <= 1.1 * expect);
    }
    sc_shardmap_free(map);
}

/* Raising one shard's weight may only pull keys onto that shard. */
static void test_reweight_moves_only_onto_it(void **state)
{
    static const uint32_t w[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    sc_shardmap *map = make_map(10, w);
    static int before[NKEYS];
    int i, moved = 0, wrong = 0;

    (void)state;
    for (i = 0; i < NKEYS; i++)
        before[i] = owner_of(map, i);
    assert_int_equal(sc_shardmap_remove(map, "s5"), 0);
    assert_int_equal(sc_shardmap_add(map, "s5", "ws://x/ws", 2), 0);
    for (i = 0; i < NKEYS; i++) {
        int now = owner_of(map, i);
        if (now != before[i]) {
            moved++;
            wrong += now != 5;
        }
    }
    print_message("weights (s5 1 -> 2): %d keys moved = %.4f (ideal 2/11 - 1/10 = %.4f), "
                  "%d onto other shards\n",
                  moved, (double)moved / NKEYS, 2.0 / 11 - 1.0 / 10, wrong);
    assert_int_equal(wrong, 0);
    sc_shardmap_free(map);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_double_among_ten),
        cmocka_unit_test(test_one_to_four),
        cmocka_unit_test(test_reweight_moves_only_onto_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
