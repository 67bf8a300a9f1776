/* Adding a shard moves ~1/11 of the keys, all onto it; removing one moves
 * only its own keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "shard_test.h"

static int before[NKEYS];

static void test_add_eleventh(void **state)
{
    sc_shardmap *map = make_map(10, NULL);
    int i, moved = 0, moved_elsewhere = 0;
    double frac;

    (void)state;
    for (i = 0; i < NKEYS; i++)
        before[i] = owner_of(map, i);
    assert_int_equal(sc_shardmap_add(map, "s10", "ws://127.0.0.1:8090/ws", 1), 0);
    for (i = 0; i < NKEYS; i++) {
        int now = owner_of(map, i);
        if (now != before[i]) {
            moved++;
            moved_elsewhere += now != 10;
        }
    }
    frac = (double)moved / NKEYS;
    print_message("movement (add 11th): %d of %d keys moved = %.4f "
                  "(ideal 1/11 = %.4f, bounds %.4f..%.4f), %d not onto the new shard\n",
                  moved, NKEYS, frac, 1.0 / 11, 0.8 / 11, 1.2 / 11, moved_elsewhere);
    assert_true(frac >= 0.8 / 11 && frac <= 1.2 / 11);
    assert_int_equal(moved_elsewhere, 0);
    sc_shardmap_free(map);
}

static void test_remove_one(void **state)
{
    sc_shardmap *map = make_map(10, NULL);
    int i, victims = 0, moved_other = 0, gained[10] = {0};
    int lo = NKEYS, hi = 0;

    (void)state;
    for (i = 0; i < NKEYS; i++)
        before[i] = owner_of(map, i);
    assert_int_equal(sc_shardmap_remove(map, "s3"), 0);
    for (i = 0; i < NKEYS; i++) {
        int now = owner_of(map, i);
        assert_int_not_equal(now, 3);
        if (before[i] == 3) {
            victims++;
            gained[now]++;
        } else if (now != before[i]) {
            moved_other++;
        }
    }
    for (i = 0; i < 10; i++) {
        if (i == 3)
            continue;
        lo = gained[i] < lo ? gained[i] : lo;
        hi = gained[i] > hi ? gained[i] : hi;
    }
    print_message("movement (remove s3): %d keys moved (all of s3's), %d others moved; "
                  "each survivor took %d..%d of them\n",
                  victims, moved_other, lo, hi);
    assert_int_equal(moved_other, 0);
    assert_true(victims > 0);
    sc_shardmap_free(map);
}

/* Add then remove the same shard: placement returns exactly to where it was. */
static void test_add_remove_round_trip(void **state)
{
    sc_shardmap *map = make_map(10, NULL);
    int i;

    (void)state;
    for (i = 0; i < NKEYS; i += 7)
        before[i] = owner_of(map, i);
    assert_int_equal(sc_shardmap_add(map, "s10", "ws://x/ws", 3), 0);
    assert_int_equal(sc_shardmap_remove(map, "s10"), 0);
    for (i = 0; i < NKEYS; i += 7)
        assert_int_equal(owner_of(map, i), before[i]);
    sc_shardmap_free(map);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_eleventh),
        cmocka_unit_test(test_remove_one),
        cmocka_unit_test(test_add_remove_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
