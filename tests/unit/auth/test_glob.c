/* Redis globs: sc_glob_match against a line-by-line port of Redis's
 * stringmatchlen (util.c, 7.x), and sc_glob_includes against brute force
 * enumeration. The inclusion check must never say "included" when some
 * string is matched by the request and not by the grant; when it says "not
 * included" its counterexample must be a real one, so on the pairs tested
 * the decision is shown exact, not only sound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sc_acl.h"

/* Deterministic PRNG (xorshift64*) so a failure reproduces. */
static uint64_t rng_state = 0x2545F4914F6CDD1DULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

/* ---- reference: Redis stringmatchlen, nocase = 0 -------------------------
 * Kept as close to the original as C11 allows (including reading the NUL
 * after the pattern, which Redis's sds strings always have). `sgn` selects
 * how range ends are compared: as signed char (x86) or unsigned (ARM). */
static int ref_impl(const char *pattern, int patternLen, const char *string, int stringLen, int sgn,
                    int *skipLongerMatches, int nesting)
{
    if (nesting > 1000)
        return 0;
    while (patternLen && stringLen) {
        switch (pattern[0]) {
        case '*':
            while (patternLen && pattern[1] == '*') {
                pattern++;
                patternLen--;
            }
            if (patternLen == 1)
                return 1;
            while (stringLen) {
                if (ref_impl(pattern + 1, patternLen - 1, string, stringLen, sgn, skipLongerMatches,
                             nesting + 1))
                    return 1;
                if (*skipLongerMatches)
                    return 0;
                string++;
                stringLen--;
            }
            *skipLongerMatches = 1;
            return 0;
        case '?':
            string++;
            stringLen--;
            break;
        case '[': {
            int not, match;
            pattern++;
            patternLen--;
            not = pattern[0] == '^';
            if (not ) {
                pattern++;
                patternLen--;
            }
            match = 0;
            while (1) {
                if (pattern[0] == '\\' && patternLen >= 2) {
                    pattern++;
                    patternLen--;
                    if (pattern[0] == string[0])
                        match = 1;
                } else if (pattern[0] == ']') {
                    break;
                } else if (patternLen == 0) {
                    pattern--;
                    patternLen++;
                    break;
                } else if (patternLen >= 3 && pattern[1] == '-') {
                    int start = sgn ? (signed char)pattern[0] : (unsigned char)pattern[0];
                    int end = sgn ? (signed char)pattern[2] : (unsigned char)pattern[2];
                    int c = sgn ? (signed char)string[0] : (unsigned char)string[0];
                    if (start > end) {
                        int t = start;
                        start = end;
                        end = t;
                    }
                    pattern += 2;
                    patternLen -= 2;
                    if (c >= start && c <= end)
                        match = 1;
                } else {
                    if (pattern[0] == string[0])
                        match = 1;
                }
                pattern++;
                patternLen--;
            }
            if (not )
                match = !match;
            if (!match)
                return 0;
            string++;
            stringLen--;
            break;
        }
        case '\\':
            if (patternLen >= 2) {
                pattern++;
                patternLen--;
            }
            /* fall through */
        default:
            if (pattern[0] != string[0])
                return 0;
            string++;
            stringLen--;
            break;
        }
        pattern++;
        patternLen--;
        if (stringLen == 0) {
            while (*pattern == '*') {
                pattern++;
                patternLen--;
            }
            break;
        }
    }
    return patternLen == 0 && stringLen == 0;
}

/* Copies the pattern so it has the NUL terminator the original relies on. */
static int ref_match(const char *pat, size_t plen, const char *s, size_t slen, int sgn)
{
    char *p = malloc(plen + 2);
    int skip = 0, r;

    assert_non_null(p);
    memcpy(p, pat, plen);
    p[plen] = p[plen + 1] = 0;
    r = ref_impl(p, (int)plen, s, (int)slen, sgn, &skip, 0);
    free(p);
    return r;
}

static int match(const char *pat, const char *s)
{
    return sc_glob_match(pat, strlen(pat), s, strlen(s));
}

/* ---- matching ------------------------------------------------------------ */

static void test_match_table(void **state)
{
    static const struct {
        const char *pat, *s;
        int want;
    } t[] = {
        {"news", "news", 1},
        {"news", "new", 0},
        {"news", "newsx", 0},
        {"n*", "n", 1},
        {"n*", "news", 1},
        {"*", "x", 1},
        {"*", "", 0},
        {"", "", 1},
        {"", "a", 0},
        {"a**b", "ab", 1},
        {"*a*b*", "xxaxxbxx", 1},
        {"?", "a", 1},
        {"?", "ab", 0},
        {"??", "ab", 1},
        {"[abc]", "b", 1},
        {"[abc]", "d", 0},
        {"[^abc]", "d", 1},
        {"[^abc]", "a", 0},
        {"[a-c]x", "bx", 1},
        {"[c-a]x", "bx", 1},
        {"[a-c]x", "dx", 0},
        {"[]a", "a", 0},
        {"[]a", "]a", 0},
        {"[^]a", "xa", 1},
        {"[\\]]", "]", 1},
        {"[\\-]", "-", 1},
        {"[a\\-c]", "b", 0},
        {"[a-]", "^", 1},
        {"[a-]", "-", 0}, /* "a-]" is the range ']'..'a' */
        {"[ab", "a", 1},
        {"[ab", "b", 1},
        {"[ab", "[", 0},
        {"x[", "x[", 0},
        {"a\\*", "a*", 1},
        {"a\\*", "ab", 0},
        {"a\\", "a\\", 1},
        {"\\a", "a", 1},
        {"a\\?b", "a?b", 1},
        {"a\\?b", "axb", 0},
        {"team.42.*", "team.42.x", 1},
        {"team.42.*", "team.43.x", 0},
        {"[^a-z]*", "Zebra", 1},
        {"[^a-z]*", "zebra", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        int got = match(t[i].pat, t[i].s);
        int ref = ref_match(t[i].pat, strlen(t[i].pat), t[i].s, strlen(t[i].s), 1);
        if (got != t[i].want || ref != t[i].want)
            fail_msg("'%s' vs '%s': got %d, redis %d, want %d", t[i].pat, t[i].s, got, ref,
                     t[i].want);
    }
}

static size_t rand_from(char *out, size_t maxlen, const char *abc)
{
    size_t n = rng() % (maxlen + 1), k = strlen(abc);

    for (size_t i = 0; i < n; i++)
        out[i] = abc[rng() % k];
    out[n] = 0;
    return n;
}

/* Random patterns made mostly of metacharacters hit every quirk of the
 * class parser (escapes, "]" first, "a-]", unclosed classes). */
static void test_match_random_vs_redis(void **state)
{
    char pat[16], s[16];

    (void)state;
    for (int i = 0; i < 300000; i++) {
        size_t pl = rand_from(pat, 10, "ab*?[]^-\\");
        size_t sl = rand_from(s, 8, "ab]^-\\*?[");
        int got = sc_glob_match(pat, pl, s, sl), ref = ref_match(pat, pl, s, sl, 1);
        if (got != ref)
            fail_msg("'%s' vs '%s': got %d, redis %d", pat, s, got, ref);
    }
}

static const unsigned char high_abc[] = {0x00, 0x30, 0x41, 0x61, 0x7e, 0x7f,
                                         0x80, 0x81, 0xa0, 0xc3, 0xfe, 0xff};
#define NHIGH sizeof(high_abc)

/* A class with ranges whose ends are high bytes; Redis reads them as
 * signed or unsigned char depending on the platform. */
static size_t gen_high_pattern(char *out)
{
    size_t n = 0, ntok = 1 + rng() % 3;

    for (size_t t = 0; t < ntok; t++) {
        unsigned r = (unsigned)(rng() % 10);
        if (r < 2) {
            out[n++] = (char)(r ? '*' : '?');
            continue;
        }
        out[n++] = '[';
        if (rng() % 3 == 0)
            out[n++] = '^';
        for (unsigned k = 1 + (unsigned)(rng() % 2); k; k--) {
            out[n++] = (char)high_abc[rng() % NHIGH];
            if (rng() % 3) {
                out[n++] = '-';
                out[n++] = (char)high_abc[1 + rng() % (NHIGH - 1)];
            }
        }
        out[n++] = ']';
    }
    return n;
}

/* The grant reading of an ambiguous range must match only strings both
 * platforms would match. */
static void test_match_high_bytes_narrow(void **state)
{
    char pat[32], s[2] = {0};

    (void)state;
    for (int i = 0; i < 3000; i++) {
        size_t pl = gen_high_pattern(pat);
        for (unsigned b = 1; b < 256; b++) {
            s[0] = (char)b;
            if (sc_glob_match(pat, pl, s, 1) &&
                !(ref_match(pat, pl, s, 1, 1) && ref_match(pat, pl, s, 1, 0)))
                fail_msg("pattern %d matches byte 0x%02x too generously", i, b);
        }
    }
}

/* ---- inclusion: fixed cases ------------------------------------------------ */

static int incl(const char *req, const char *grant)
{
    char w[64];
    size_t wl = 0;
    int r = sc_glob_includes(req, strlen(req), grant, strlen(grant), w, sizeof(w), &wl);

    if (r == 0) {
        assert_true(wl > 0 && wl <= sizeof(w));
        assert_true(ref_match(req, strlen(req), w, wl, 1));
        assert_false(ref_match(grant, strlen(grant), w, wl, 1));
    }
    return r;
}

static void test_includes_table(void **state)
{
    static const struct {
        const char *req, *grant;
        int want;
    } t[] = {
        {"team.42.x*", "team.42.*", 1},
        {"team.*", "team.42.*", 0},
        {"team.4?.*", "team.42.*", 0},
        {"*", "team.42.*", 0},
        {"team.42.[a-z]*", "team.42.*", 1},
        {"[t]eam.42.*", "team.42.*", 1},
        {"team.42.*", "team.42.*", 1},
        {"team.42.?", "team.42.*", 1},
        {"team.42.*", "team.42.?*", 0}, /* "team.42." itself */
        {"team.42\\*", "team.42.*", 0}, /* the literal "team.42*" */
        {"team.42\\*", "team.*", 1},
        {"team.42\\*", "team.42\\*", 1},
        {"team.42\\*", "team.42[*]", 1},
        {"team.42[*]", "team.42\\*", 1},
        {"team.42*", "team.42\\*", 0},
        {"[n]ews", "news", 1}, /* exact grant read as a glob */
        {"new?", "news", 0},
        {"a[bc]", "a[a-c]", 1},
        {"a[a-c]", "a[bc]", 0},
        {"a[^b]", "a[^bc]", 0},
        {"a[^bc]", "a[^b]", 1},
        {"a[c-a]", "a[abc]", 1},
        {"a[b-b]", "ab", 1},
        {"[^a]*", "*", 1},
        {"**", "?*", 1}, /* non-empty strings only */
        {"*a*", "*a*a*", 0},
        {"*a*a*", "*a*", 1},
        {"a*b*c", "a*c", 1},
        {"a*c", "a*b*c", 0},
        {"?*", "*", 1},
        {"*", "?*", 1},
        {"x[ab", "x[ab]", 1},
        {"x[ab]", "x[ab", 1},
        {"a\\", "a\\\\", 1},
        {"", "anything", 1}, /* matches no channel at all */
        {"a[]", "b", 1},     /* "[]" matches no byte */
        {"user.42.*", "user.42\\.*", 1},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        int got = incl(t[i].req, t[i].grant);
        if (got != t[i].want)
            fail_msg("'%s' in '%s': got %d, want %d", t[i].req, t[i].grant, got, t[i].want);
    }
}

static void test_includes_witness_is_shortest_and_truncated(void **state)
{
    char w[4] = "zzz";
    size_t wl = 0;

    (void)state;
    assert_int_equal(sc_glob_includes("team.*", 6, "team.42.*", 9, w, sizeof(w), &wl), 0);
    assert_int_equal(wl, 5);           /* "team." */
    assert_memory_equal(w, "team", 4); /* only wcap bytes written */
    assert_int_equal(sc_glob_includes("*", 1, "a", 1, NULL, 0, NULL), 0);
}

/* Subset construction blows up on grants such as "*[ab]????": the check
 * must give up within its budget, quickly, and say so. */
static void test_includes_budget(void **state)
{
    char req[64] = "*a", grant[64] = "*[ab]";
    struct timespec t0, t1;

    (void)state;
    for (int i = 0; i < 22; i++) {
        strcat(req, "?");
        strcat(grant, "?");
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(sc_glob_includes(req, strlen(req), grant, strlen(grant), NULL, 0, NULL),
                     -E2BIG);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_message("budget exhausted after %.3f s\n",
                  (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    /* Identical patterns are decided without exploring. */
    assert_int_equal(sc_glob_includes(grant, strlen(grant), grant, strlen(grant), NULL, 0, NULL),
                     1);
}

/* ---- inclusion: brute force ------------------------------------------------ */

#define BF_MAXLEN 6
#define BF_ABC "abc*d" /* d stands for every byte no pattern names */
#define BF_POOL 240

struct bf {
    size_t nstr;
    char (*str)[BF_MAXLEN + 1];
    size_t *len;
    size_t words;
};

static void bf_strings(struct bf *bf)
{
    size_t k = strlen(BF_ABC), total = 0, p = 1;

    for (int l = 1; l <= BF_MAXLEN; l++)
        total += (p *= k);
    bf->str = calloc(total, sizeof(*bf->str));
    bf->len = calloc(total, sizeof(*bf->len));
    assert_non_null(bf->str);
    assert_non_null(bf->len);
    bf->nstr = 0;
    for (int l = 1; l <= BF_MAXLEN; l++) {
        size_t count = 1;
        for (int i = 0; i < l; i++)
            count *= k;
        for (size_t v = 0; v < count; v++, bf->nstr++) {
            size_t x = v;
            for (int i = 0; i < l; i++, x /= k)
                bf->str[bf->nstr][i] = BF_ABC[x % k];
            bf->len[bf->nstr] = (size_t)l;
        }
    }
    bf->words = (bf->nstr + 63) / 64;
}

/* Small random patterns over a, b, c: literals, ?, *, classes with ranges
 * (either order) and negation, escapes, and unclosed trailing classes. */
static size_t gen_pattern(char *out)
{
    size_t n = 0, ntok = rng() % 6;

    for (size_t t = 0; t < ntok; t++) {
        unsigned r = (unsigned)(rng() % 100);
        if (r < 35) {
            out[n++] = "abc"[rng() % 3];
        } else if (r < 50) {
            out[n++] = '?';
        } else if (r < 72) {
            out[n++] = '*';
        } else if (r < 92) {
            out[n++] = '[';
            if (rng() % 3 == 0)
                out[n++] = '^';
            for (unsigned k = 1 + (unsigned)(rng() % 2); k; k--) {
                out[n++] = "abc"[rng() % 3];
                if (rng() % 3 == 0) {
                    out[n++] = '-';
                    out[n++] = "abc"[rng() % 3];
                }
            }
            if (t + 1 < ntok || rng() % 8)
                out[n++] = ']';
        } else {
            out[n++] = '\\';
            out[n++] = "a*b"[rng() % 3];
        }
    }
    out[n] = 0;
    return n;
}

static void test_includes_vs_brute_force(void **state)
{
    static const char *fixed[] = {"*",  "?*",   "a*",      "*a",  "a*b", "[ab]*", "[^a]*",
                                  "a?", "*\\*", "a[a-c]*", "[c]", "ab",  "a"};
    size_t nfixed = sizeof(fixed) / sizeof(*fixed);
    char pat[BF_POOL][32], w[64];
    size_t plen[BF_POOL], wl, yes = 0, no = 0, bf_yes = 0;
    struct bf bf;
    uint64_t *bits;

    (void)state;
    bf_strings(&bf);
    bits = calloc(BF_POOL * bf.words, 8);
    assert_non_null(bits);
    for (size_t i = 0; i < BF_POOL; i++) {
        plen[i] = i < nfixed ? strlen(strcpy(pat[i], fixed[i])) : gen_pattern(pat[i]);
        for (size_t s = 0; s < bf.nstr; s++)
            if (ref_match(pat[i], plen[i], bf.str[s], bf.len[s], 1))
                bits[i * bf.words + s / 64] |= 1ULL << (s % 64);
    }
    for (size_t i = 0; i < BF_POOL; i++) {
        for (size_t j = 0; j < BF_POOL; j++) {
            int subset = 1;
            for (size_t k = 0; k < bf.words && subset; k++)
                subset = !(bits[i * bf.words + k] & ~bits[j * bf.words + k]);
            int r = sc_glob_includes(pat[i], plen[i], pat[j], plen[j], w, sizeof(w), &wl);
            bf_yes += subset;
            if (r == 1 && !subset)
                fail_msg("'%s' in '%s': said included, brute force disagrees", pat[i], pat[j]);
            if (r == 0 && !(wl && wl <= sizeof(w) && ref_match(pat[i], plen[i], w, wl, 1) &&
                            !ref_match(pat[j], plen[j], w, wl, 1)))
                fail_msg("'%s' in '%s': bad counterexample", pat[i], pat[j]);
            if (r < 0)
                fail_msg("'%s' in '%s': error %d", pat[i], pat[j], r);
            yes += r == 1;
            no += r == 0;
        }
    }
    print_message("%zu pairs: %zu included, %zu not (each with a verified "
                  "counterexample); brute force to length %d: %zu subsets\n",
                  yes + no, yes, no, BF_MAXLEN, bf_yes);
    /* Not required for soundness, but with patterns this small every
     * counterexample is short, so the decision must be exact here. */
    assert_int_equal(yes, bf_yes);
    free(bits);
    free(bf.str);
    free(bf.len);
}

/* With ambiguous high-byte ranges: whatever a request delivers on either
 * platform must be matched by the grant as the node reads it. */
static void test_includes_high_bytes_sound(void **state)
{
    char pat[64][32], s[4];
    size_t plen[64];
    size_t checked = 0;

    (void)state;
    for (int i = 0; i < 64; i++)
        plen[i] = gen_high_pattern(pat[i]);
    for (int i = 0; i < 64; i++) {
        for (int j = 0; j < 64; j++) {
            if (sc_glob_includes(pat[i], plen[i], pat[j], plen[j], NULL, 0, NULL) != 1)
                continue;
            checked++;
            for (size_t v = 0; v < NHIGH * NHIGH * NHIGH + NHIGH * NHIGH + NHIGH; v++) {
                size_t x = v, l = v < NHIGH ? 1 : v < NHIGH + NHIGH * NHIGH ? 2 : 3;
                x -= l == 1 ? 0 : l == 2 ? NHIGH : NHIGH + NHIGH * NHIGH;
                for (size_t k = 0; k < l; k++, x /= NHIGH)
                    s[k] = (char)high_abc[x % NHIGH];
                if ((ref_match(pat[i], plen[i], s, l, 1) || ref_match(pat[i], plen[i], s, l, 0)) &&
                    !sc_glob_match(pat[j], plen[j], s, l))
                    fail_msg("pair %d in %d: included but a string escapes", i, j);
            }
        }
    }
    print_message("%zu included high-byte pairs checked\n", checked);
}

/* ---- meets a prefix ------------------------------------------------------ */

static int meets(const char *pat, const char *prefix)
{
    return sc_glob_meets_prefix(pat, strlen(pat), prefix, strlen(prefix));
}

static void test_meets_prefix_table(void **state)
{
    static const struct {
        const char *pat, *prefix;
        int want;
    } t[] = {
        {"*", "shardcast:", 1},
        {"shardcast:*", "shardcast:", 1},
        {"shardcast:control", "shardcast:", 1},
        {"shardcast*", "shardcast:", 1},
        {"shard*", "shardcast:", 1},
        {"*.news", "shardcast:", 1}, /* shardcast:x.news */
        {"?hardcast:x", "shardcast:", 1},
        {"shardcast[:]control", "shardcast:", 1},
        {"s*:*", "shardcast:", 1},
        {"shardcast", "shardcast:", 0}, /* the name itself, not under it */
        {"shard", "shardcast:", 0},
        {"news.*", "shardcast:", 0},
        {"[^s]*", "shardcast:", 0},
        {"shardcast[^:]*", "shardcast:", 0},
        {"\\*", "shardcast:", 0},
        {"s[]*", "shardcast:", 0}, /* an empty class matches nothing */
        {"shardcast:[]", "shardcast:", 0},
        {"shardcast:*[]", "shardcast:", 0},
        {"a", "a", 1},
        {"a?", "a", 1},
        {"", "a", 0},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (meets(t[i].pat, t[i].prefix) != t[i].want)
            fail_msg("'%s' meets '%s': want %d", t[i].pat, t[i].prefix, t[i].want);
    /* Ranges with high bytes count wide: either reading of the range. */
    assert_int_equal(meets("[\x01-\xff]*", "\x80"), 1);
    assert_int_equal(meets("[\xff-\x01]*", "\x80"), 1);
    assert_int_equal(meets("[\x80-\x90]", "\x85"), 1);
}

/* Against brute force: the pattern meets the prefix iff it matches the
 * prefix followed by some string. Every token but a star eats one byte, so
 * a suffix of at most as many bytes as the pattern has tokens, over the
 * pattern's bytes and one other, is enough to find one when one exists. */
static void test_meets_prefix_vs_brute_force(void **state)
{
    enum { NPAT = 150, MAXW = 5 };
    const char *abc = "abc*d";
    size_t yes = 0, no = 0;

    (void)state;
    for (size_t i = 0; i < NPAT; i++) {
        char pat[32], s[16];
        size_t plen = gen_pattern(pat), llen = 1 + (size_t)(rng() % 2);
        int want = 0;
        for (size_t k = 0; k < llen; k++)
            s[k] = "abc"[rng() % 3];
        for (size_t wl = 0; wl <= MAXW && !want; wl++) {
            size_t count = 1;
            for (size_t k = 0; k < wl; k++)
                count *= 5;
            for (size_t v = 0; v < count && !want; v++) {
                size_t x = v;
                for (size_t k = 0; k < wl; k++, x /= 5)
                    s[llen + k] = abc[x % 5];
                want = ref_match(pat, plen, s, llen + wl, 1);
            }
        }
        int got = sc_glob_meets_prefix(pat, plen, s, llen);
        if (got != want)
            fail_msg("'%s' meets '%.*s': got %d, brute force %d", pat, (int)llen, s, got, want);
        yes += got == 1;
        no += got == 0;
    }
    assert_true(yes > 10 && no > 10); /* both answers exercised */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_table),
        cmocka_unit_test(test_match_random_vs_redis),
        cmocka_unit_test(test_match_high_bytes_narrow),
        cmocka_unit_test(test_includes_table),
        cmocka_unit_test(test_includes_witness_is_shortest_and_truncated),
        cmocka_unit_test(test_includes_budget),
        cmocka_unit_test(test_includes_vs_brute_force),
        cmocka_unit_test(test_includes_high_bytes_sound),
        cmocka_unit_test(test_meets_prefix_table),
        cmocka_unit_test(test_meets_prefix_vs_brute_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
