/* sc_queue: the byte bound, FIFO order through ring growth and
 * wrap-around, gather, the shared total of queued bytes, and that every
 * reference taken is given back (checked through the frames' reference
 * counts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sc_msg.h"
#include "sc_queue.h"

#define NO_LIMIT SIZE_MAX

static uint64_t rng_state = 0x13198A2E03707344ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

/* A frame whose body is blen bytes of tag, so frames are told apart by
 * content as well as by address. */
static struct sc_msg *frame(size_t blen, char tag)
{
    char *body = malloc(blen + 1);
    struct sc_msg *m;

    assert_non_null(body);
    memset(body, tag, blen);
    m = sc_msg_text(body, blen);
    free(body);
    assert_non_null(m);
    return m;
}

static void assert_empty(const struct sc_queue *q)
{
    assert_int_equal(q->count, 0);
    assert_int_equal(q->bytes, 0);
    assert_null(sc_queue_peek(q));
}

static void test_zeroed_queue_is_empty(void **state)
{
    struct sc_queue q = {0};
    unsigned char dst[16];

    (void)state;
    assert_empty(&q);
    assert_int_equal(sc_queue_gather(&q, dst, sizeof(dst)), 0);
    sc_queue_pop(&q); /* a no-op, not a crash */
    assert_empty(&q);
    sc_queue_clear(&q);
    assert_empty(&q);
}

/* The queue holds references, not copies. */
static void test_push_takes_a_reference_and_pop_drops_it(void **state)
{
    struct sc_queue q = {0};
    struct sc_msg *m = frame(10, 'a');

    (void)state;
    assert_int_equal(sc_queue_push(&q, m, NO_LIMIT), 0);
    assert_int_equal(m->refs, 2);
    assert_ptr_equal(sc_queue_peek(&q), m);
    assert_int_equal(m->refs, 2); /* peek lends, it does not take */
    sc_queue_pop(&q);
    assert_int_equal(m->refs, 1);
    assert_empty(&q);
    sc_queue_clear(&q);
    sc_msg_unref(m);
}

static void test_bytes_is_sum_of_queued_frame_lengths(void **state)
{
    struct sc_queue q = {0};
    struct sc_msg *a = frame(10, 'a'), *b = frame(200, 'b'), *c = frame(70000, 'c');

    (void)state;
    assert_int_equal(sc_queue_push(&q, a, NO_LIMIT), 0);
    assert_int_equal(sc_queue_push(&q, b, NO_LIMIT), 0);
    assert_int_equal(sc_queue_push(&q, c, NO_LIMIT), 0);
    /* Header lengths 2, 4 and 10: bytes counts whole frames. */
    assert_int_equal(q.bytes, 12 + 204 + 70010);
    assert_int_equal(q.count, 3);
    sc_queue_pop(&q);
    assert_int_equal(q.bytes, 204 + 70010);
    sc_queue_pop(&q);
    sc_queue_pop(&q);
    assert_empty(&q);
    sc_queue_clear(&q);
    sc_msg_unref(a);
    sc_msg_unref(b);
    sc_msg_unref(c);
}

/* Filling to exactly max_bytes is allowed; one byte more is not. */
static void test_push_fills_to_exactly_max_bytes(void **state)
{
    struct sc_queue q = {0};
    struct sc_msg *m = frame(98, 'm'), *one = frame(0, '1'); /* 100 and 2 bytes */

    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(sc_queue_push(&q, m, 302), 0);
    assert_int_equal(sc_queue_push(&q, one, 302), 0);
    assert_int_equal(q.bytes, 302);
    assert_int_equal(sc_queue_push(&q, one, 302), -ENOBUFS);
    sc_queue_clear(&q);
    sc_msg_unref(m);
    sc_msg_unref(one);
}

/* A refused push takes no reference and changes nothing. */
static void test_push_past_max_bytes_fails_and_leaves_queue_unchanged(void **state)
{
    struct sc_queue q = {0};
    struct sc_msg *a = frame(98, 'a'), *b = frame(98, 'b');

    (void)state;
    assert_int_equal(sc_queue_push(&q, a, 150), 0);
    assert_int_equal(sc_queue_push(&q, b, 150), -ENOBUFS);
    assert_int_equal(b->refs, 1);
    assert_int_equal(q.count, 1);
    assert_int_equal(q.bytes, 100);
    assert_ptr_equal(sc_queue_peek(&q), a);
    sc_queue_clear(&q);
    sc_msg_unref(a);
    sc_msg_unref(b);
}

/* An empty queue takes one frame however large, so a message bigger than
 * the bound still reaches a reader that keeps up; the next push fails. */
static void test_empty_queue_takes_one_oversized_frame(void **state)
{
    struct sc_queue q = {0};
    struct sc_msg *big = frame(5000, 'B'), *tiny = frame(0, 't');

    (void)state;
    assert_int_equal(sc_queue_push(&q, big, 1024), 0);
    assert_int_equal(q.bytes, 5004);
    assert_int_equal(sc_queue_push(&q, tiny, 1024), -ENOBUFS);
    assert_int_equal(sc_queue_push(&q, big, 1024), -ENOBUFS);
    sc_queue_pop(&q);
    /* Empty again: takes it again. */
    assert_int_equal(sc_queue_push(&q, big, 1024), 0);
    sc_queue_clear(&q);
    assert_int_equal(big->refs, 1);
    sc_msg_unref(big);
    sc_msg_unref(tiny);
}

/* Many pushes (several ring doublings) come out in push order. */
static void test_fifo_order_across_ring_growth(void **state)
{
    enum { N = 1000 };
    struct sc_queue q = {0};
    struct sc_msg *m[N];

    (void)state;
    for (int i = 0; i < N; i++) {
        m[i] = frame((size_t)i % 50, (char)('A' + i % 26));
        assert_int_equal(sc_queue_push(&q, m[i], NO_LIMIT), 0);
    }
    assert_int_equal(q.count, N);
    for (int i = 0; i < N; i++) {
        assert_ptr_equal(sc_queue_peek(&q), m[i]);
        sc_queue_pop(&q);
    }
    assert_empty(&q);
    sc_queue_clear(&q);
    for (int i = 0; i < N; i++) {
        assert_int_equal(m[i]->refs, 1);
        sc_msg_unref(m[i]);
    }
}

/* Random pushes and pops against an array model: the ring's head wraps
 * around many times and it grows while wrapped (the unwrap copy). */
static void test_fifo_order_across_wrap_around_matches_model(void **state)
{
    enum { NMSG = 64, STEPS = 20000, MODEL = STEPS + 1 };
    struct sc_queue q = {0};
    struct sc_msg *pool[NMSG];
    struct sc_msg **model = malloc(sizeof(*model) * MODEL);
    size_t head = 0, tail = 0, bytes = 0;

    (void)state;
    assert_non_null(model);
    for (int i = 0; i < NMSG; i++)
        pool[i] = frame((size_t)i * 3, (char)('a' + i % 26));
    for (int s = 0; s < STEPS; s++) {
        /* Phases favour pushes then pops, so the depth swings widely. */
        int push_bias = (s / 500) % 2 ? 3 : 7;
        if (head == tail || (int)(rng() % 10) < push_bias) {
            struct sc_msg *m = pool[rng() % NMSG];
            assert_int_equal(sc_queue_push(&q, m, NO_LIMIT), 0);
            model[tail++] = m;
            bytes += m->len;
        } else {
            assert_ptr_equal(sc_queue_peek(&q), model[head]);
            bytes -= model[head++]->len;
            sc_queue_pop(&q);
        }
        assert_int_equal(q.count, tail - head);
        assert_int_equal(q.bytes, bytes);
        if (head != tail)
            assert_ptr_equal(sc_queue_peek(&q), model[head]);
    }
    while (head != tail) {
        assert_ptr_equal(sc_queue_peek(&q), model[head++]);
        sc_queue_pop(&q);
    }
    assert_empty(&q);
    sc_queue_clear(&q);
    for (int i = 0; i < NMSG; i++) {
        assert_int_equal(pool[i]->refs, 1);
        sc_msg_unref(pool[i]);
    }
    free(model);
}

/* A queue that grew big and drained is still usable. */
static void test_queue_reusable_after_draining_large_ring(void **state)
{
    struct sc_queue q = {0};
    struct sc_msg *m = frame(1, 'x');

    (void)state;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 100; i++)
            assert_int_equal(sc_queue_push(&q, m, NO_LIMIT), 0);
        for (int i = 0; i < 100; i++)
            sc_queue_pop(&q);
        assert_empty(&q);
        assert_int_equal(m->refs, 1);
        assert_int_equal(sc_queue_push(&q, m, NO_LIMIT), 0);
        assert_ptr_equal(sc_queue_peek(&q), m);
        sc_queue_pop(&q);
    }
    sc_queue_clear(&q);
    sc_msg_unref(m);
}

/* gather copies whole frames oldest first, stops before the first that
 * does not fit, and pops (unrefs) exactly what it copied. */
static void test_gather_copies_whole_frames_and_pops_them(void **state)
{
    struct sc_queue q = {0};
    struct sc_msg *a = frame(10, 'a'), *b = frame(20, 'b'), *c = frame(30, 'c');
    size_t cap = a->len + b->len + c->len - 1;
    unsigned char *dst = malloc(cap); /* exact size: ASan checks bounds */

    (void)state;
    assert_non_null(dst);
    assert_int_equal(sc_queue_push(&q, a, NO_LIMIT), 0);
    assert_int_equal(sc_queue_push(&q, b, NO_LIMIT), 0);
    assert_int_equal(sc_queue_push(&q, c, NO_LIMIT), 0);
    assert_int_equal(sc_queue_gather(&q, dst, cap), a->len + b->len);
    assert_memory_equal(dst, sc_msg_frame(a), a->len);
    assert_memory_equal(dst + a->len, sc_msg_frame(b), b->len);
    assert_int_equal(a->refs, 1);
    assert_int_equal(b->refs, 1);
    assert_int_equal(c->refs, 2);
    assert_int_equal(q.count, 1);
    assert_int_equal(q.bytes, c->len);
    assert_ptr_equal(sc_queue_peek(&q), c);
    sc_queue_clear(&q);
    free(dst);
    sc_msg_unref(a);
    sc_msg_unref(b);
    sc_msg_unref(c);
}

/* A buffer exactly the size of everything queued takes everything. */
static void test_gather_exact_fit_takes_all(void **state)
{
    struct sc_queue q = {0};
    struct sc_msg *a = frame(10, 'a'), *b = frame(200, 'b');
    size_t cap = a->len + b->len;
    unsigned char *dst = malloc(cap);

    (void)state;
    assert_non_null(dst);
    assert_int_equal(sc_queue_push(&q, a, NO_LIMIT), 0);
    assert_int_equal(sc_queue_push(&q, b, NO_LIMIT), 0);
    assert_int_equal(sc_queue_gather(&q, dst, cap), cap);
    assert_memory_equal(dst, sc_msg_frame(a), a->len);
    assert_memory_equal(dst + a->len, sc_msg_frame(b), b->len);
    assert_empty(&q);
    sc_queue_clear(&q);
    free(dst);
    sc_msg_unref(a);
    sc_msg_unref(b);
}

/* If the oldest frame alone is larger than the buffer, gather returns 0,
 * writes nothing and pops nothing (the caller sends that frame itself). */
static void test_gather_returns_zero_when_first_frame_exceeds_cap(void **state)
{
    struct sc_queue q = {0};
    struct sc_msg *big = frame(100, 'B'), *small = frame(1, 's');
    unsigned char dst[64];

    (void)state;
    memset(dst, 0x5A, sizeof(dst));
    assert_int_equal(sc_queue_push(&q, big, NO_LIMIT), 0);
    assert_int_equal(sc_queue_push(&q, small, NO_LIMIT), 0);
    assert_int_equal(sc_queue_gather(&q, dst, sizeof(dst)), 0);
    for (size_t i = 0; i < sizeof(dst); i++)
        assert_int_equal(dst[i], 0x5A);
    assert_int_equal(q.count, 2);
    assert_ptr_equal(sc_queue_peek(&q), big);
    assert_int_equal(big->refs, 2);
    sc_queue_clear(&q);
    sc_msg_unref(big);
    sc_msg_unref(small);
}

/* Gather after the head has wrapped still yields oldest-first order. */
static void test_gather_in_order_after_wrap_around(void **state)
{
    struct sc_queue q = {0};
    struct sc_msg *m[6];
    unsigned char dst[256], want[256];
    size_t wlen = 0;

    (void)state;
    for (int i = 0; i < 6; i++)
        m[i] = frame(5, (char)('0' + i));
    /* Ring of 4: push 0..3, pop 0..2, push 4,5 -> live frames 3,4,5 sit
     * at slots 3,0,1. */
    for (int i = 0; i < 4; i++)
        assert_int_equal(sc_queue_push(&q, m[i], NO_LIMIT), 0);
    for (int i = 0; i < 3; i++)
        sc_queue_pop(&q);
    for (int i = 4; i < 6; i++)
        assert_int_equal(sc_queue_push(&q, m[i], NO_LIMIT), 0);
    for (int i = 3; i < 6; i++) {
        memcpy(want + wlen, sc_msg_frame(m[i]), m[i]->len);
        wlen += m[i]->len;
    }
    assert_int_equal(sc_queue_gather(&q, dst, sizeof(dst)), wlen);
    assert_memory_equal(dst, want, wlen);
    assert_empty(&q);
    sc_queue_clear(&q);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(m[i]->refs, 1);
        sc_msg_unref(m[i]);
    }
}

/* clear gives back every reference it holds and leaves a usable, empty
 * queue. */
static void test_clear_releases_every_reference(void **state)
{
    struct sc_queue q = {0};
    struct sc_msg *a = frame(3, 'a'), *b = frame(4, 'b');

    (void)state;
    for (int i = 0; i < 50; i++) {
        assert_int_equal(sc_queue_push(&q, a, NO_LIMIT), 0);
        assert_int_equal(sc_queue_push(&q, b, NO_LIMIT), 0);
    }
    assert_int_equal(a->refs, 51);
    assert_int_equal(b->refs, 51);
    sc_queue_clear(&q);
    assert_int_equal(a->refs, 1);
    assert_int_equal(b->refs, 1);
    assert_empty(&q);
    assert_null(q.ring);
    assert_int_equal(sc_queue_push(&q, a, NO_LIMIT), 0);
    assert_ptr_equal(sc_queue_peek(&q), a);
    sc_queue_clear(&q);
    sc_msg_unref(a);
    sc_msg_unref(b);
}

/* The queue's reference keeps a frame alive after its creator lets go
 * (ASan reports a use after free otherwise). */
static void test_queue_reference_outlives_creator(void **state)
{
    struct sc_queue q = {0};
    struct sc_msg *m = frame(8, 'k');
    unsigned char dst[32];

    (void)state;
    assert_int_equal(sc_queue_push(&q, m, NO_LIMIT), 0);
    sc_msg_unref(m);
    assert_int_equal(sc_queue_peek(&q)->refs, 1);
    assert_int_equal(sc_queue_gather(&q, dst, sizeof(dst)), 10);
    assert_memory_equal(dst, "\x81\x08kkkkkkkk", 10);
    assert_empty(&q);
    sc_queue_clear(&q);
}

/* The shared total: queues that point at one counter keep it equal to the
 * sum of their bytes through pushes, refused pushes, pops, gathers and
 * clears, in random order (the node reads it instead of walking every
 * connection's queue). */
static void test_shared_total_is_sum_of_queues(void **state)
{
    enum { NQ = 3, NMSG = 16, STEPS = 20000 };
    struct sc_queue q[NQ];
    struct sc_msg *pool[NMSG];
    uint64_t total = 0;
    unsigned char dst[512];

    (void)state;
    memset(q, 0, sizeof(q));
    for (int k = 0; k < NQ; k++)
        q[k].total = &total;
    for (int i = 0; i < NMSG; i++)
        pool[i] = frame((size_t)i * 17, (char)('a' + i));
    for (int s = 0; s < STEPS; s++) {
        struct sc_queue *x = &q[rng() % NQ];
        unsigned op = (unsigned)(rng() % 100);
        if (op < 55)
            (void)sc_queue_push(x, pool[rng() % NMSG], 2000); /* may be -ENOBUFS */
        else if (op < 90)
            sc_queue_pop(x);
        else if (op < 98)
            (void)sc_queue_gather(x, dst, sizeof(dst));
        else
            sc_queue_clear(x);
        assert_int_equal(total, q[0].bytes + q[1].bytes + q[2].bytes);
    }
    for (int k = 0; k < NQ; k++) {
        sc_queue_clear(&q[k]);
        assert_ptr_equal(q[k].total, &total); /* clear keeps the link */
    }
    assert_int_equal(total, 0);
    for (int i = 0; i < NMSG; i++) {
        assert_int_equal(pool[i]->refs, 1);
        sc_msg_unref(pool[i]);
    }
}

/* A push refused for the bound leaves the total as it was; a queue without
 * a total leaves other totals alone. */
static void test_shared_total_unchanged_by_refused_push(void **state)
{
    struct sc_queue q = {0}, alone = {0};
    struct sc_msg *m = frame(98, 'm'); /* 100 bytes */
    uint64_t total = 0;

    (void)state;
    q.total = &total;
    assert_int_equal(sc_queue_push(&q, m, 150), 0);
    assert_int_equal(sc_queue_push(&q, m, 150), -ENOBUFS);
    assert_int_equal(total, 100);
    assert_int_equal(sc_queue_push(&alone, m, NO_LIMIT), 0);
    assert_int_equal(total, 100);
    sc_queue_pop(&q);
    assert_int_equal(total, 0);
    sc_queue_clear(&q);
    sc_queue_clear(&alone);
    assert_null(alone.total);
    sc_msg_unref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zeroed_queue_is_empty),
        cmocka_unit_test(test_push_takes_a_reference_and_pop_drops_it),
        cmocka_unit_test(test_bytes_is_sum_of_queued_frame_lengths),
        cmocka_unit_test(test_push_fills_to_exactly_max_bytes),
        cmocka_unit_test(test_push_past_max_bytes_fails_and_leaves_queue_unchanged),
        cmocka_unit_test(test_empty_queue_takes_one_oversized_frame),
        cmocka_unit_test(test_fifo_order_across_ring_growth),
        cmocka_unit_test(test_fifo_order_across_wrap_around_matches_model),
        cmocka_unit_test(test_queue_reusable_after_draining_large_ring),
        cmocka_unit_test(test_gather_copies_whole_frames_and_pops_them),
        cmocka_unit_test(test_gather_exact_fit_takes_all),
        cmocka_unit_test(test_gather_returns_zero_when_first_frame_exceeds_cap),
        cmocka_unit_test(test_gather_in_order_after_wrap_around),
        cmocka_unit_test(test_clear_releases_every_reference),
        cmocka_unit_test(test_queue_reference_outlives_creator),
        cmocka_unit_test(test_shared_total_is_sum_of_queues),
        cmocka_unit_test(test_shared_total_unchanged_by_refused_push),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
