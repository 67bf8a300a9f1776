/* sc_registry: subscriber lists, the table, and the Redis-side state
 * machine (dirty -> in flight -> confirmed, at most one command per name
 * in flight). Connections are opaque to the registry, so fake pointers
 * stand in for them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sc_registry.h"

#define CONN(n) ((struct sc_conn *)(uintptr_t)(n))

static uint64_t rng_state = 0xA4093822299F31D0ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static int setup(void **state)
{
    struct sc_registry *reg = malloc(sizeof(*reg));

    if (!reg || sc_registry_init(reg) < 0)
        return -1;
    *state = reg;
    return 0;
}

static int teardown(void **state)
{
    sc_registry_destroy(*state);
    free(*state);
    return 0;
}

static struct sc_sub *sub(struct sc_registry *reg, uintptr_t conn, const char *name)
{
    struct sc_sub *s = sc_registry_subscribe(reg, CONN(conn), name, strlen(name));

    assert_non_null(s);
    return s;
}

static struct sc_channel *find(struct sc_registry *reg, const char *name)
{
    return sc_registry_find(reg, name, strlen(name));
}

/* Take the next dirty entry, which must be name with command op. */
static struct sc_channel *take_expect(struct sc_registry *reg, const char *name,
                                      enum sc_upstream_op op)
{
    enum sc_upstream_op got = (enum sc_upstream_op) - 1;
    struct sc_channel *ch = sc_registry_take_dirty(reg, &got);

    if (!ch)
        fail_msg("nothing dirty, want %s", name);
    assert_int_equal(ch->len, strlen(name));
    assert_memory_equal(ch->name, name, ch->len);
    assert_int_equal(got, op);
    assert_int_equal(ch->inflight, 1);
    assert_int_equal(ch->dirty, 0);
    return ch;
}

static void assert_nothing_dirty(struct sc_registry *reg)
{
    enum sc_upstream_op op;

    assert_null(sc_registry_take_dirty(reg, &op));
}

static void confirm(struct sc_registry *reg, const char *name, int subscribed)
{
    sc_registry_confirm(reg, name, strlen(name), subscribed);
}

/* Subscribe conn to name and run the SUBSCRIBE to confirmation. */
static struct sc_sub *sub_synced(struct sc_registry *reg, uintptr_t conn, const char *name)
{
    struct sc_sub *s = sub(reg, conn, name);

    take_expect(reg, name, SC_UP_SUBSCRIBE);
    confirm(reg, name, 1);
    assert_true(sc_registry_synced(reg));
    return s;
}

/* ---- basics ------------------------------------------------------------ */

static void test_new_registry_is_empty_and_synced(void **state)
{
    struct sc_registry *reg = *state;

    assert_int_equal(reg->nchannels, 0);
    assert_int_equal(reg->npatterns, 0);
    assert_int_equal(reg->nsubs, 0);
    assert_int_equal(reg->ninflight, 0);
    assert_true(sc_registry_synced(reg));
    assert_null(find(reg, "news"));
    assert_nothing_dirty(reg);
}

/* The returned link names both sides; the entry lists every subscriber
 * once. */
static void test_subscribe_links_conn_and_entry(void **state)
{
    struct sc_registry *reg = *state;
    struct sc_sub *a = sub(reg, 1, "news"), *b = sub(reg, 2, "news"), *c = sub(reg, 3, "news");
    struct sc_channel *ch = find(reg, "news");
    int seen[4] = {0};

    assert_non_null(ch);
    assert_ptr_equal(a->ch, ch);
    assert_ptr_equal(b->ch, ch);
    assert_ptr_equal(c->ch, ch);
    assert_ptr_equal(a->conn, CONN(1));
    assert_ptr_equal(c->conn, CONN(3));
    assert_int_equal(ch->subs.count, 3);
    for (struct sc_sub *s = sc_sub_first(ch); s; s = sc_sub_next(s)) {
        assert_ptr_equal(s->ch, ch);
        seen[(uintptr_t)s->conn]++;
    }
    assert_int_equal(seen[1], 1);
    assert_int_equal(seen[2], 1);
    assert_int_equal(seen[3], 1);
    sc_registry_unsubscribe(reg, b);
    for (struct sc_sub *s = sc_sub_first(ch); s; s = sc_sub_next(s))
        assert_ptr_not_equal(s->conn, CONN(2));
    assert_int_equal(ch->subs.count, 2);
    sc_registry_unsubscribe(reg, a);
    sc_registry_unsubscribe(reg, c);
}

/* Names are byte strings of a length: "a", "a\0" and "ab" are three
 * entries, each stored NUL-terminated. */
static void test_names_compare_by_length_and_bytes(void **state)
{
    struct sc_registry *reg = *state;
    struct sc_sub *s1 = sc_registry_subscribe(reg, CONN(1), "a", 1);
    struct sc_sub *s2 = sc_registry_subscribe(reg, CONN(1), "a\0", 2);
    struct sc_sub *s3 = sc_registry_subscribe(reg, CONN(1), "ab", 2);

    assert_non_null(s1);
    assert_non_null(s2);
    assert_non_null(s3);
    assert_int_equal(reg->nchannels, 3);
    assert_ptr_equal(sc_registry_find(reg, "a", 1), s1->ch);
    assert_ptr_equal(sc_registry_find(reg, "a\0", 2), s2->ch);
    assert_ptr_equal(sc_registry_find(reg, "abc", 2), s3->ch);
    assert_null(sc_registry_find(reg, "A", 1));
    assert_null(sc_registry_find(reg, "", 0));
    assert_int_equal(s3->ch->name[2], 0);
    sc_registry_unsubscribe(reg, s1);
    sc_registry_unsubscribe(reg, s2);
    sc_registry_unsubscribe(reg, s3);
}

static void test_pattern_entries_are_counted(void **state)
{
    struct sc_registry *reg = *state;
    struct sc_sub *p = sub(reg, 1, "chat.*"), *q = sub(reg, 2, "chat.*");
    struct sc_sub *n = sub(reg, 1, "news"), *r = sub(reg, 1, "n?ws");

    assert_int_equal(reg->nchannels, 3);
    assert_int_equal(reg->npatterns, 2);
    assert_int_equal(p->ch->pattern, 1);
    assert_int_equal(n->ch->pattern, 0);
    sc_registry_unsubscribe(reg, p);
    sc_registry_unsubscribe(reg, q); /* never taken: freed at once */
    assert_int_equal(reg->npatterns, 1);
    sc_registry_unsubscribe(reg, r);
    assert_int_equal(reg->npatterns, 0);
    sc_registry_unsubscribe(reg, n);
    assert_int_equal(reg->nchannels, 0);
}

/* ---- the Redis-side state machine --------------------------------------- */

static void test_first_subscriber_makes_entry_dirty(void **state)
{
    struct sc_registry *reg = *state;
    struct sc_sub *s = sub(reg, 1, "news");
    struct sc_channel *ch = find(reg, "news");

    assert_non_null(ch);
    assert_int_equal(ch->dirty, 1);
    assert_int_equal(ch->have, 0);
    assert_int_equal(ch->inflight, 0);
    assert_int_equal(reg->nchannels, 1);
    assert_int_equal(reg->nsubs, 1);
    assert_false(sc_registry_synced(reg));
    sc_registry_unsubscribe(reg, s);
}

static void test_take_dirty_marks_subscribe_in_flight(void **state)
{
    struct sc_registry *reg = *state;
    struct sc_sub *s = sub(reg, 1, "news");

    assert_ptr_equal(take_expect(reg, "news", SC_UP_SUBSCRIBE), find(reg, "news"));
    assert_int_equal(reg->ninflight, 1);
    assert_nothing_dirty(reg); /* taken once only */
    assert_false(sc_registry_synced(reg));
    confirm(reg, "news", 1);
    sc_registry_unsubscribe(reg, s);
}

static void test_confirm_subscribed_settles_entry(void **state)
{
    struct sc_registry *reg = *state;
    struct sc_sub *s = sub(reg, 1, "news");
    struct sc_channel *ch = find(reg, "news");

    take_expect(reg, "news", SC_UP_SUBSCRIBE);
    confirm(reg, "news", 1);
    assert_int_equal(ch->have, 1);
    assert_int_equal(ch->inflight, 0);
    assert_int_equal(ch->dirty, 0);
    assert_int_equal(reg->ninflight, 0);
    assert_true(sc_registry_synced(reg));
    sc_registry_unsubscribe(reg, s);
}

/* Redis already has the channel: more subscribers need no command. */
static void test_more_subscribers_issue_no_command(void **state)
{
    struct sc_registry *reg = *state;
    struct sc_sub *a = sub_synced(reg, 1, "news"), *b = sub(reg, 2, "news");

    assert_nothing_dirty(reg);
    assert_true(sc_registry_synced(reg));
    assert_int_equal(find(reg, "news")->subs.count, 2);
    assert_int_equal(reg->nchannels, 1);
    /* Nor does a subscriber leaving while others stay. */
    sc_registry_unsubscribe(reg, a);
    assert_nothing_dirty(reg);
    assert_int_equal(find(reg, "news")->subs.count, 1);
    sc_registry_unsubscribe(reg, b);
}

static void test_last_unsubscribe_makes_entry_dirty_for_unsubscribe(void **state)
{
    struct sc_registry *reg = *state;
    struct sc_sub *s = sub_synced(reg, 1, "news");

    sc_registry_unsubscribe(reg, s);
    assert_non_null(find(reg, "news")); /* Redis still has it */
    assert_int_equal(find(reg, "news")->dirty, 1);
    assert_int_equal(reg->nsubs, 0);
    assert_false(sc_registry_synced(reg));
    take_expect(reg, "news", SC_UP_UNSUBSCRIBE);
    assert_int_equal(reg->ninflight, 1);
    confirm(reg, "news", 0);
}

/* The confirmed unsubscribe frees the entry (ASan checks the free). */
static void test_confirm_unsubscribed_frees_entry(void **state)
{
    struct sc_registry *reg = *state;
    struct sc_sub *s = sub_synced(reg, 1, "news");

    sc_registry_unsubscribe(reg, s);
    take_expect(reg, "news", SC_UP_UNSUBSCRIBE);
    confirm(reg, "news", 0);
    assert_null(find(reg, "news"));
    assert_int_equal(reg->nchannels, 0);
    assert_int_equal(reg->ninflight, 0);
    assert_true(sc_registry_synced(reg));
}

/* Gone before Redis was ever told: no command at all, entry freed. */
static void test_unsubscribe_before_command_taken_frees_entry(void **state)
{
    struct sc_registry *reg = *state;
    struct sc_sub *s = sub(reg, 1, "news");

    sc_registry_unsubscribe(reg, s);
    assert_null(find(reg, "news"));
    assert_int_equal(reg->nchannels, 0);
    assert_nothing_dirty(reg);
    assert_true(sc_registry_synced(reg));
}

/* Leave and come back while the SUBSCRIBE is in flight: no second
 * command, and the confirmation leaves the entry subscribed. */
static void test_resubscribe_during_subscribe_in_flight_needs_no_command(void **state)
{
    struct sc_registry *reg = *state;
    struct sc_sub *s = sub(reg, 1, "news");

    take_expect(reg, "news", SC_UP_SUBSCRIBE);
    sc_registry_unsubscribe(reg, s);
    assert_non_null(find(reg, "news")); /* must outlive its command */
    s = sub(reg, 1, "news");
    assert_nothing_dirty(reg);
    confirm(reg, "news", 1);
    assert_nothing_dirty(reg);
    assert_true(sc_registry_synced(reg));
    assert_int_equal(find(reg, "news")->have, 1);
    sc_registry_unsubscribe(reg, s);
}

/* Leave while the SUBSCRIBE is in flight: the UNSUBSCRIBE waits for the
 * confirmation, then goes out, then the entry is freed. */
static void test_unsubscribe_during_subscribe_in_flight_waits_for_reply(void **state)
{
    struct sc_registry *reg = *state;
    struct sc_sub *s = sub(reg, 1, "news");

    take_expect(reg, "news", SC_UP_SUBSCRIBE);
    sc_registry_unsubscribe(reg, s);
    assert_nothing_dirty(reg);
    assert_non_null(find(reg, "news"));
    confirm(reg, "news", 1);
    take_expect(reg, "news", SC_UP_UNSUBSCRIBE);
    confirm(reg, "news", 0);
    assert_null(find(reg, "news"));
    assert_true(sc_registry_synced(reg));
}

/* Unsubscribe then resubscribe while the UNSUBSCRIBE is in flight: nothing
 * more goes out until its reply, then exactly one SUBSCRIBE. */
static void test_resubscribe_during_unsubscribe_in_flight_resubscribes_after_reply(void **state)
{
    struct sc_registry *reg = *state;
    struct sc_sub *s = sub_synced(reg, 1, "news");

    sc_registry_unsubscribe(reg, s);
    take_expect(reg, "news", SC_UP_UNSUBSCRIBE);
    s = sub(reg, 2, "news");
    assert_nothing_dirty(reg);
    assert_int_equal(reg->ninflight, 1);
    confirm(reg, "news", 0);
    assert_non_null(find(reg, "news")); /* a subscriber wants it */
    take_expect(reg, "news", SC_UP_SUBSCRIBE);
    assert_nothing_dirty(reg);
    confirm(reg, "news", 1);
    assert_true(sc_registry_synced(reg));
    assert_int_equal(find(reg, "news")->have, 1);
    assert_int_equal(reg->nchannels, 1);
    sc_registry_unsubscribe(reg, s);
}

/* Many quick flips while one command is in flight still produce nothing
 * until the reply. */
static void test_flapping_subscription_keeps_one_command_in_flight(void **state)
{
    struct sc_registry *reg = *state;
    struct sc_sub *s = sub_synced(reg, 1, "news");

    sc_registry_unsubscribe(reg, s);
    take_expect(reg, "news", SC_UP_UNSUBSCRIBE);
    for (int i = 0; i < 100; i++) {
        s = sub(reg, 1, "news");
        assert_nothing_dirty(reg);
        sc_registry_unsubscribe(reg, s);
        assert_nothing_dirty(reg);
    }
    assert_int_equal(reg->ninflight, 1);
    confirm(reg, "news", 0);
    assert_null(find(reg, "news"));
    assert_true(sc_registry_synced(reg));
}

static void test_dirty_entries_are_taken_oldest_first(void **state)
{
    struct sc_registry *reg = *state;
    struct sc_sub *a = sub(reg, 1, "a"), *b = sub(reg, 1, "b"), *c = sub(reg, 1, "c");

    take_expect(reg, "a", SC_UP_SUBSCRIBE);
    take_expect(reg, "b", SC_UP_SUBSCRIBE);
    take_expect(reg, "c", SC_UP_SUBSCRIBE);
    assert_nothing_dirty(reg);
    assert_int_equal(reg->ninflight, 3);
    confirm(reg, "b", 1);
    confirm(reg, "a", 1);
    confirm(reg, "c", 1);
    assert_true(sc_registry_synced(reg));
    sc_registry_unsubscribe(reg, a);
    sc_registry_unsubscribe(reg, b);
    sc_registry_unsubscribe(reg, c);
}

/* A confirmation for a name the registry does not hold changes nothing. */
static void test_confirm_of_unknown_name_is_ignored(void **state)
{
    struct sc_registry *reg = *state;
    struct sc_sub *s = sub_synced(reg, 1, "news");

    confirm(reg, "other", 1);
    confirm(reg, "other", 0);
    confirm(reg, "new", 0);
    assert_int_equal(reg->nchannels, 1);
    assert_null(find(reg, "other"));
    assert_true(sc_registry_synced(reg));
    assert_int_equal(find(reg, "news")->have, 1);
    sc_registry_unsubscribe(reg, s);
}

/* Lost Redis: entries with subscribers are queued again whatever their
 * state (confirmed, in flight, dirty), the others are freed, nothing is in
 * flight any more. */
static void test_upstream_lost_requeues_wanted_and_frees_the_rest(void **state)
{
    struct sc_registry *reg = *state;
    struct sc_sub *have = sub_synced(reg, 1, "have");
    struct sc_sub *unsfly = sub_synced(reg, 1, "unsub-in-flight");
    struct sc_sub *undirty = sub_synced(reg, 1, "unsub-dirty");
    struct sc_sub *subfly = sub(reg, 1, "sub-in-flight"), *dirty;
    int seen = 0;
    enum sc_upstream_op op;
    struct sc_channel *ch;

    take_expect(reg, "sub-in-flight", SC_UP_SUBSCRIBE);
    sc_registry_unsubscribe(reg, unsfly);
    take_expect(reg, "unsub-in-flight", SC_UP_UNSUBSCRIBE);
    sc_registry_unsubscribe(reg, undirty);
    dirty = sub(reg, 1, "sub-dirty");
    assert_int_equal(reg->nchannels, 5);
    assert_int_equal(reg->ninflight, 2);

    sc_registry_upstream_lost(reg);
    assert_int_equal(reg->ninflight, 0);
    assert_int_equal(reg->nchannels, 3);
    assert_null(find(reg, "unsub-in-flight"));
    assert_null(find(reg, "unsub-dirty"));
    assert_false(sc_registry_synced(reg));
    while ((ch = sc_registry_take_dirty(reg, &op))) {
        assert_int_equal(op, SC_UP_SUBSCRIBE);
        assert_int_equal(ch->have, 0);
        assert_true(ch->subs.count > 0);
        seen++;
    }
    assert_int_equal(seen, 3);
    confirm(reg, "have", 1);
    confirm(reg, "sub-in-flight", 1);
    confirm(reg, "sub-dirty", 1);
    assert_true(sc_registry_synced(reg));
    sc_registry_unsubscribe(reg, have);
    sc_registry_unsubscribe(reg, subfly);
    sc_registry_unsubscribe(reg, dirty);
}

/* A SUBSCRIBE in flight when the connection died is sent again on the new
 * one, and its reply settles the counters. */
static void test_command_in_flight_at_loss_is_sent_again(void **state)
{
    struct sc_registry *reg = *state;
    struct sc_sub *s = sub(reg, 1, "news");

    take_expect(reg, "news", SC_UP_SUBSCRIBE);
    sc_registry_upstream_lost(reg);
    take_expect(reg, "news", SC_UP_SUBSCRIBE);
    assert_int_equal(reg->ninflight, 1);
    confirm(reg, "news", 1);
    assert_int_equal(reg->ninflight, 0);
    assert_true(sc_registry_synced(reg));
    sc_registry_unsubscribe(reg, s);
}

/* ---- scale ------------------------------------------------------------- */

/* 100,000 connections on one channel: one entry, one SUBSCRIBE, and one
 * UNSUBSCRIBE only when the last of them leaves (in random order, so list
 * removal is tried at head, middle and tail). */
static void test_many_subscribers_share_one_entry_and_one_command(void **state)
{
    enum { N = 100000 };
    struct sc_registry *reg = *state;
    struct sc_sub **subs = malloc(sizeof(*subs) * N);

    assert_non_null(subs);
    for (uintptr_t i = 0; i < N; i++) {
        subs[i] = sub(reg, i + 1, "hot");
        if (i == 0)
            take_expect(reg, "hot", SC_UP_SUBSCRIBE);
    }
    assert_nothing_dirty(reg);
    assert_int_equal(reg->nchannels, 1);
    assert_int_equal(reg->nsubs, N);
    assert_int_equal(find(reg, "hot")->subs.count, N);
    confirm(reg, "hot", 1);
    for (size_t i = N - 1; i > 0; i--) { /* shuffle */
        size_t j = rng() % (i + 1);
        struct sc_sub *t = subs[i];
        subs[i] = subs[j];
        subs[j] = t;
    }
    for (size_t i = 0; i + 1 < N; i++)
        sc_registry_unsubscribe(reg, subs[i]);
    assert_nothing_dirty(reg);
    assert_int_equal(find(reg, "hot")->subs.count, 1);
    assert_ptr_equal(sc_sub_first(find(reg, "hot")), subs[N - 1]);
    sc_registry_unsubscribe(reg, subs[N - 1]);
    take_expect(reg, "hot", SC_UP_UNSUBSCRIBE);
    assert_nothing_dirty(reg);
    confirm(reg, "hot", 0);
    assert_int_equal(reg->nchannels, 0);
    assert_int_equal(reg->nsubs, 0);
    free(subs);
}

/* 50,000 channels: the table grows, every name is found, none is found
 * twice, and each gets exactly one SUBSCRIBE. */
static void test_many_channels_grow_table_and_all_are_found(void **state)
{
    enum { N = 50000 };
    struct sc_registry *reg = *state;
    struct sc_sub **subs = malloc(sizeof(*subs) * N);
    unsigned char *taken = calloc(N, 1);
    size_t initial = reg->nbuckets, ntaken = 0;
    char name[32];
    enum sc_upstream_op op;
    struct sc_channel *ch;

    assert_non_null(subs);
    assert_non_null(taken);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "%s%d", i % 10 ? "ch:" : "p*", i);
        subs[i] = sub(reg, 1, name);
    }
    assert_int_equal(reg->nchannels, N);
    assert_int_equal(reg->npatterns, N / 10);
    assert_int_equal(reg->nsubs, N);
    assert_true(reg->nbuckets > initial);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "%s%d", i % 10 ? "ch:" : "p*", i);
        ch = find(reg, name);
        if (ch != subs[i]->ch)
            fail_msg("%s not found", name);
        snprintf(name, sizeof(name), "ch:%d", N + i);
        assert_null(find(reg, name));
    }
    while ((ch = sc_registry_take_dirty(reg, &op))) {
        int i = atoi(ch->name + (ch->name[0] == 'c' ? 3 : 2));
        assert_int_equal(op, SC_UP_SUBSCRIBE);
        assert_ptr_equal(ch, subs[i]->ch);
        assert_int_equal(taken[i], 0);
        taken[i] = 1;
        ntaken++;
    }
    assert_int_equal(ntaken, N);
    assert_int_equal(reg->ninflight, N);
    /* Unsubscribe every other one before the replies arrive. */
    for (int i = 0; i < N; i += 2)
        sc_registry_unsubscribe(reg, subs[i]);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "%s%d", i % 10 ? "ch:" : "p*", i);
        confirm(reg, name, 1);
    }
    assert_int_equal(reg->ninflight, 0);
    while ((ch = sc_registry_take_dirty(reg, &op))) {
        assert_int_equal(op, SC_UP_UNSUBSCRIBE);
        sc_registry_confirm(reg, ch->name, ch->len, 0);
    }
    assert_int_equal(reg->nchannels, N / 2);
    assert_true(sc_registry_synced(reg));
    for (int i = 1; i < N; i += 2)
        sc_registry_unsubscribe(reg, subs[i]);
    free(subs);
    free(taken);
}

/* ---- model check ------------------------------------------------------- */

/* Random subscribes, unsubscribes, commands, Redis replies (in order) and
 * connection losses against a model of what the subscribers want and what
 * Redis has. Checks the counters after every step, that no name ever has
 * two commands in flight, and that once synced Redis holds exactly the
 * names with subscribers. */
static void test_random_operations_match_model(void **state)
{
    enum { NAMES = 12, MAXSUBS = 256, STEPS = 30000, MAXPEND = 64 };
    static const char *const names[NAMES] = {"a",  "b",  "c",   "d", "e", "f",
                                             "p*", "q?", "[r]", "s", "t", "u"};
    struct sc_registry *reg = *state;
    struct sc_sub *subs[MAXSUBS];
    int sub_name[MAXSUBS], nsubs = 0;
    int want[NAMES] = {0}, redis_has[NAMES] = {0}, inflight[NAMES] = {0};
    struct {
        int name;
        enum sc_upstream_op op;
    } pend[MAXPEND];
    int npend = 0;

    for (int step = 0; step < STEPS; step++) {
        int r = (int)(rng() % 100);
        if (r < 35 && nsubs < MAXSUBS) {
            int n = (int)(rng() % NAMES);
            subs[nsubs] = sub(reg, (uintptr_t)(rng() % 50 + 1), names[n]);
            sub_name[nsubs++] = n;
            want[n]++;
        } else if (r < 70 && nsubs > 0) {
            int k = (int)(rng() % (uint64_t)nsubs);
            want[sub_name[k]]--;
            sc_registry_unsubscribe(reg, subs[k]);
            subs[k] = subs[--nsubs];
            sub_name[k] = sub_name[nsubs];
        } else if (r < 85 && npend < MAXPEND) {
            enum sc_upstream_op op;
            struct sc_channel *ch = sc_registry_take_dirty(reg, &op);
            if (ch) {
                int n = 0;
                while (strcmp(names[n], ch->name))
                    n++;
                if (inflight[n])
                    fail_msg("step %d: second command for %s", step, names[n]);
                assert_int_equal(op, want[n] ? SC_UP_SUBSCRIBE : SC_UP_UNSUBSCRIBE);
                inflight[n] = 1;
                pend[npend].name = n;
                pend[npend++].op = op;
            }
        } else if (r < 99 && npend > 0) {
            /* Redis executes and replies in order. */
            int n = pend[0].name;
            redis_has[n] = pend[0].op == SC_UP_SUBSCRIBE;
            inflight[n] = 0;
            memmove(pend, pend + 1, sizeof(pend[0]) * (size_t)--npend);
            confirm(reg, names[n], redis_has[n]);
        } else if (r == 99) {
            sc_registry_upstream_lost(reg);
            npend = 0;
            memset(redis_has, 0, sizeof(redis_has));
            memset(inflight, 0, sizeof(inflight));
        }

        size_t nch = 0, npat = 0;
        assert_int_equal(reg->nsubs, (size_t)nsubs);
        assert_int_equal(reg->ninflight, (size_t)npend);
        for (int n = 0; n < NAMES; n++) {
            struct sc_channel *ch = find(reg, names[n]);
            if (want[n] || inflight[n] || redis_has[n])
                assert_non_null(ch); /* needed, or Redis must be told */
            if (!ch)
                continue;
            /* Unwanted, unknown to Redis and idle: should have been freed. */
            if (!want[n] && !inflight[n] && !redis_has[n])
                fail_msg("step %d: stale entry %s", step, names[n]);
            nch++;
            npat += ch->pattern;
            assert_int_equal(ch->subs.count, want[n]);
            assert_int_equal(ch->inflight, inflight[n]);
            if (!inflight[n])
                assert_int_equal(ch->have, redis_has[n]);
            /* Not in flight: dirty exactly when Redis differs. */
            if (!inflight[n])
                assert_int_equal(ch->dirty, (want[n] > 0) != redis_has[n]);
        }
        assert_int_equal(reg->nchannels, nch);
        assert_int_equal(reg->npatterns, npat);
        if (sc_registry_synced(reg))
            for (int n = 0; n < NAMES; n++)
                assert_int_equal(redis_has[n], want[n] > 0);
    }
    while (nsubs > 0)
        sc_registry_unsubscribe(reg, subs[--nsubs]);
}

/* Destroy frees entries still waiting for Redis (LeakSanitizer checks). */
static void test_destroy_frees_entries_awaiting_redis(void **state)
{
    struct sc_registry *reg = *state;
    struct sc_sub *a = sub_synced(reg, 1, "a"), *b = sub_synced(reg, 1, "b");

    sub(reg, 1, "c");
    sc_registry_unsubscribe(reg, sc_sub_first(find(reg, "c")));
    sc_registry_unsubscribe(reg, a);
    sc_registry_unsubscribe(reg, b);
    take_expect(reg, "a", SC_UP_UNSUBSCRIBE);
    assert_int_equal(reg->nchannels, 2);
    /* teardown destroys the registry with "a" in flight and "b" dirty. */
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_new_registry_is_empty_and_synced),
        T(test_subscribe_links_conn_and_entry),
        T(test_names_compare_by_length_and_bytes),
        T(test_pattern_entries_are_counted),
        T(test_first_subscriber_makes_entry_dirty),
        T(test_take_dirty_marks_subscribe_in_flight),
        T(test_confirm_subscribed_settles_entry),
        T(test_more_subscribers_issue_no_command),
        T(test_last_unsubscribe_makes_entry_dirty_for_unsubscribe),
        T(test_confirm_unsubscribed_frees_entry),
        T(test_unsubscribe_before_command_taken_frees_entry),
        T(test_resubscribe_during_subscribe_in_flight_needs_no_command),
        T(test_unsubscribe_during_subscribe_in_flight_waits_for_reply),
        T(test_resubscribe_during_unsubscribe_in_flight_resubscribes_after_reply),
        T(test_flapping_subscription_keeps_one_command_in_flight),
        T(test_dirty_entries_are_taken_oldest_first),
        T(test_confirm_of_unknown_name_is_ignored),
        T(test_upstream_lost_requeues_wanted_and_frees_the_rest),
        T(test_command_in_flight_at_loss_is_sent_again),
        T(test_many_subscribers_share_one_entry_and_one_command),
        T(test_many_channels_grow_table_and_all_are_found),
        T(test_random_operations_match_model),
        T(test_destroy_frees_entries_awaiting_redis),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
