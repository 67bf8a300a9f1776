/* The portable -ln(u) the score uses is accurate: compared with libm's log()
 * over random and boundary inputs. (Its bit-exactness against JavaScript is
 * what shard_vectors and web_shardhash check.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* The function under test is static: compile the library into this test. */
#include "sc_shard.c"

#define NRANDOM 2000000

/* h whose u is n / 2^53 (n odd, below 2^53). */
static uint64_t h_for(uint64_t n)
{
    return (n >> 1) << 12;
}

static double ulps(uint64_t n)
{
    double ref = -log(ldexp((double)n, -53));
    double got = neg_ln_u(h_for(n));

    return fabs(got - ref) / (nextafter(ref, INFINITY) - ref);
}

static void test_accuracy(void **state)
{
    uint64_t x = 12345, worst_n = 0;
    double worst = 0;
    int i;

    (void)state;
    for (i = 0; i < NRANDOM; i++) {
        uint64_t n = ((mix64(x++) >> 11) | 1);
        double d = ulps(n);
        if (d > worst) {
            worst = d;
            worst_n = n;
        }
    }
    print_message("ln: max error %.2f ulp over %d random u (worst u = %llu/2^53)\n", worst, NRANDOM,
                  (unsigned long long)worst_n);
    assert_true(worst <= 4.0);
}

/* Around the frexp and sqrt(1/2) switch-overs, where the reduction changes
 * branch, accuracy holds and larger u still never scores higher; also both
 * ends of (0, 1). */
static void test_boundaries(void **state)
{
    const uint64_t top = 1ull << 53;
    double worst = 0;
    int e, j, bad = 0;

    (void)state;
    for (e = 1; e <= 53; e++) {
        uint64_t centre[2] = {1ull << e, (uint64_t)ldexp(SQRT1_2, e)};
        for (j = 0; j < 2; j++) {
            uint64_t n = centre[j] > 41 ? (centre[j] - 41) | 1 : 1;
            double prev = neg_ln_u(h_for(n));
            for (; n <= centre[j] + 41 && n < top; n += 2) {
                double cur = neg_ln_u(h_for(n)), d = ulps(n);
                worst = d > worst ? d : worst;
                bad += cur > prev;
                prev = cur;
            }
        }
    }
    print_message("ln: max error %.2f ulp, %d increases at the boundaries; "
                  "-ln(2^-53) = %.17g, -ln(1 - 2^-53) = %.17g\n",
                  worst, bad, neg_ln_u(h_for(1)), neg_ln_u(h_for(top - 1)));
    assert_true(worst <= 4.0);
    assert_int_equal(bad, 0);
    assert_true(neg_ln_u(h_for(top - 1)) > 0);
    assert_true(neg_ln_u(h_for(1)) == 53 * LN2);
}

/* Larger u must never score higher: a reversal would let a key's owner
 * depend on rounding rather than on the hash. */
static void test_monotonic(void **state)
{
    uint64_t x = 999;
    int i, k, bad = 0;

    (void)state;
    for (i = 0; i < 20000; i++) {
        uint64_t n = ((mix64(x++) >> 11) | 1) & ((1ull << 53) - 1);
        double prev = neg_ln_u(h_for(n));
        for (k = 1; k <= 50 && n + 2ull * k < (1ull << 53); k++) {
            double cur = neg_ln_u(h_for(n + 2ull * k));
            bad += cur > prev;
            prev = cur;
        }
    }
    print_message("ln: %d increases over 1,000,000 consecutive-u steps\n", bad);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accuracy),
        cmocka_unit_test(test_boundaries),
        cmocka_unit_test(test_monotonic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
