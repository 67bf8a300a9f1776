/* sc_acl: Redis globs, glob language inclusion, and the subscribe policy
 * (see sc_acl.h).
 *
 * A glob compiles to a list of tokens, each a star or one byte out of a set
 * of 256, which is all Redis's stringmatchlen can express. Matching runs the
 * list; inclusion explores the product of the request's NFA with the subset
 * automaton of the grant, looking for a string the first accepts and the
 * second does not. */
#include "sc_acl.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- globs -------------------------------------------------------------- */

struct gtok {
    int star;
    uint8_t set[32]; /* bytes this token accepts, when not a star */
};

struct glob {
    struct gtok *t;
    size_t n;
};

/* How to read a range whose ends Redis compares as plain char, signed on
 * x86 and unsigned on ARM: NARROW keeps the bytes inside it both ways,
 * WIDE the bytes inside it either way. */
enum range_mode { NARROW, WIDE };

static int set_has(const uint8_t *set, unsigned b)
{
    return set[b >> 3] >> (b & 7) & 1;
}

static void set_add(uint8_t *set, unsigned b)
{
    set[b >> 3] |= (uint8_t)(1u << (b & 7));
}

static void set_add_range(uint8_t *set, unsigned char lo, unsigned char hi, enum range_mode m)
{
    int slo = (signed char)lo, shi = (signed char)hi, ulo = lo, uhi = hi, t;

    if (slo > shi)
        t = slo, slo = shi, shi = t;
    if (ulo > uhi)
        t = ulo, ulo = uhi, uhi = t;
    for (int b = 0; b < 256; b++) {
        int s = (signed char)b;
        int in_s = s >= slo && s <= shi, in_u = b >= ulo && b <= uhi;
        if (m == WIDE ? in_s || in_u : in_s && in_u)
            set_add(set, (unsigned)b);
    }
}

/* The class after a '[' at p[i]; returns the index past it. Mirrors the
 * branch order of Redis's stringmatchlen, quirks included: "\x" is x, "]"
 * first closes an empty class, "a-]" is a range, an unclosed class ends
 * with the pattern. */
static size_t parse_class(const unsigned char *p, size_t n, size_t i, enum range_mode m,
                          uint8_t *set)
{
    int neg = i < n && p[i] == '^';

    if (neg) {
        i++;
        m = m == WIDE ? NARROW : WIDE; /* complementing swaps the bound */
    }
    for (;;) {
        if (i + 1 < n && p[i] == '\\') {
            set_add(set, p[i + 1]);
            i += 2;
        } else if (i >= n) {
            break;
        } else if (p[i] == ']') {
            i++;
            break;
        } else if (n - i >= 3 && p[i + 1] == '-') {
            set_add_range(set, p[i], p[i + 2], m);
            i += 3;
        } else {
            set_add(set, p[i++]);
        }
    }
    if (neg)
        for (int k = 0; k < 32; k++)
            set[k] = (uint8_t)~set[k];
    return i;
}

/* Compiles s[0..n) as a Redis glob, or as an exact name when literal.
 * Returns 0 (free g->t) or -ENOMEM. */
static int glob_compile(const char *s, size_t n, int literal, enum range_mode m, struct glob *g)
{
    const unsigned char *p = (const unsigned char *)s;

    g->n = 0;
    g->t = malloc((n ? n : 1) * sizeof(*g->t)); /* a token eats >= 1 byte */
    if (!g->t)
        return -ENOMEM;
    for (size_t i = 0; i < n; g->n++) {
        struct gtok *t = &g->t[g->n];
        memset(t, 0, sizeof(*t));
        if (literal) {
            set_add(t->set, p[i++]);
        } else if (p[i] == '*') {
            while (i < n && p[i] == '*')
                i++;
            t->star = 1;
        } else if (p[i] == '?') {
            memset(t->set, 0xff, sizeof(t->set));
            i++;
        } else if (p[i] == '[') {
            i = parse_class(p, n, i + 1, m, t->set);
        } else if (p[i] == '\\' && i + 1 < n) {
            set_add(t->set, p[i + 1]);
            i += 2;
        } else {
            set_add(t->set, p[i++]);
        }
    }
    return 0;
}

/* Every token but a star eats exactly one byte, so the greedy walk that
 * backtracks only to the last star is exact (no exponential blow-up). */
static int glob_run(const struct glob *g, const unsigned char *s, size_t n)
{
    size_t pi = 0, si = 0, star = SIZE_MAX, star_si = 0;

    if (n == 0)
        return g->n == 0; /* as Redis: "*" does not match "" */
    while (si < n) {
        if (pi < g->n && g->t[pi].star) {
            star = pi++;
            star_si = si;
        } else if (pi < g->n && set_has(g->t[pi].set, s[si])) {
            pi++;
            si++;
        } else if (star != SIZE_MAX) {
            pi = star + 1;
            si = ++star_si;
        } else {
            return 0;
        }
    }
    while (pi < g->n && g->t[pi].star)
        pi++;
    return pi == g->n;
}

int sc_glob_match(const char *pat, size_t plen, const char *s, size_t slen)
{
    struct glob g;
    int r;

    if (glob_compile(pat, plen, 0, NARROW, &g) < 0)
        return 0; /* refusing is the safe answer */
    r = glob_run(&g, (const unsigned char *)s, slen);
    free(g.t);
    return r;
}

/* ---- inclusion -----------------------------------------------------------
 *
 * A state is (position in the request, started, set of grant positions):
 * the request is walked as an NFA, the grant as a DFA by subset
 * construction. Bytes that no token tells apart form one class and one
 * representative byte stands for the class. A state where the request is
 * at its end, at least one byte was read (channel names are never empty),
 * and the grant set does not hold the end position is a counterexample;
 * breadth first keeps it short.
 * Grant sets holding a final star accept everything that follows and are
 * not explored. Glob inclusion is coNP-hard in general (subset construction
 * can blow up, e.g. grant "*a????????"), hence the budget. */

struct incl {
    const struct glob *p, *g;
    size_t words; /* 64-bit words in a grant set */
    size_t nclass;
    unsigned char rep[256];
    size_t n, cap; /* states, in creation (BFS) order */
    uint32_t *pos; /* request position << 1 | started */
    uint32_t *parent;
    int16_t *via; /* byte read to get here, -1 for a star skipped */
    uint64_t *sets;
    uint32_t *slot; /* hash: state index + 1, 0 = empty */
    size_t nslot;
    uint64_t work, limit;
};

#define NO_PARENT UINT32_MAX

static int set_single(const uint8_t *set)
{
    int bits = 0;

    for (int k = 0; k < 32; k++)
        bits += __builtin_popcount(set[k]);
    return bits == 1;
}

/* Splits the 256 bytes into classes that no token tells apart. A literal
 * byte only isolates itself, so only the other sets (classes) cost a pass
 * over all bytes, once per distinct set: long literal patterns stay cheap. */
static void incl_classes(struct incl *in)
{
    static const uint8_t full[32] = {255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
                                     255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
                                     255, 255, 255, 255, 255, 255, 255, 255, 255, 255};
    const struct glob *gs[2] = {in->p, in->g};
    uint16_t lab[256] = {0}, map[512], nl = 1, nn;
    uint8_t lits[32] = {0}, seen[512] = {0};
    const uint8_t *done[32];
    size_t ndone = 0, j;

    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < gs[k]->n; i++) {
            const uint8_t *set = gs[k]->t[i].set;
            if (gs[k]->t[i].star || !memcmp(set, full, 32))
                continue;
            if (set_single(set)) {
                for (int w = 0; w < 32; w++)
                    lits[w] |= set[w];
                continue;
            }
            for (j = 0; j < ndone && memcmp(done[j], set, 32); j++)
                ;
            if (j < ndone)
                continue;
            if (ndone < sizeof(done) / sizeof(*done))
                done[ndone++] = set;
            memset(map, 0xff, nl * 2u * sizeof(*map));
            nn = 0;
            for (unsigned b = 0; b < 256; b++) {
                unsigned key = lab[b] * 2u + (unsigned)set_has(set, b);
                if (map[key] == 0xffff)
                    map[key] = nn++;
                lab[b] = map[key];
            }
            nl = nn;
            in->work += 32;
        }
    }
    for (unsigned b = 0; b < 256; b++)
        if (set_has(lits, b))
            lab[b] = nl++;
    /* Printable representatives first: witnesses stay readable. */
    in->nclass = 0;
    for (unsigned k = 0; k < 256; k++) {
        unsigned b = (k + 0x21) & 0xff;
        if (!seen[lab[b]]) {
            seen[lab[b]] = 1;
            in->rep[in->nclass++] = (unsigned char)b;
        }
    }
    in->work += in->p->n + in->g->n;
}

static int bit(const uint64_t *s, size_t i)
{
    return (int)(s[i / 64] >> (i % 64) & 1);
}

static void bit_set(uint64_t *s, size_t i)
{
    s[i / 64] |= 1ULL << (i % 64);
}

/* Stars may match nothing: ascending order carries through runs. */
static void g_close(const struct incl *in, uint64_t *s)
{
    for (size_t i = 0; i < in->g->n; i++)
        if (in->g->t[i].star && bit(s, i))
            bit_set(s, i + 1);
}

static void g_step(struct incl *in, const uint64_t *from, unsigned char c, uint64_t *to)
{
    const struct glob *g = in->g;

    memset(to, 0, in->words * 8);
    for (size_t w = 0; w < in->words; w++) {
        for (uint64_t x = from[w]; x; x &= x - 1) {
            size_t i = w * 64 + (size_t)__builtin_ctzll(x);
            in->work++;
            if (i < g->n && g->t[i].star)
                bit_set(to, i);
            else if (i < g->n && set_has(g->t[i].set, c))
                bit_set(to, i + 1);
        }
    }
    g_close(in, to);
    in->work += in->words + g->n / 8;
}

static uint64_t state_hash(uint32_t pos, const uint64_t *s, size_t words)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ pos;

    for (size_t i = 0; i < words; i++) {
        h = (h ^ s[i]) * 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
    }
    return h;
}

static int incl_grow(struct incl *in)
{
    size_t cap = in->cap ? in->cap * 2 : 64, nslot = cap * 2;
    uint32_t *pos, *parent, *slot;
    int16_t *via;
    uint64_t *sets;

    if (cap * in->words > SC_GLOB_MAX_STATE_WORDS)
        return -E2BIG;
    if (!(pos = realloc(in->pos, cap * sizeof(*pos))))
        return -ENOMEM;
    in->pos = pos;
    if (!(parent = realloc(in->parent, cap * sizeof(*parent))))
        return -ENOMEM;
    in->parent = parent;
    if (!(via = realloc(in->via, cap * sizeof(*via))))
        return -ENOMEM;
    in->via = via;
    if (!(sets = realloc(in->sets, cap * in->words * 8)))
        return -ENOMEM;
    in->sets = sets;
    if (!(slot = calloc(nslot, sizeof(*slot))))
        return -ENOMEM;
    free(in->slot);
    in->slot = slot;
    in->nslot = nslot;
    in->cap = cap;
    for (size_t k = 0; k < in->n; k++) {
        uint64_t h = state_hash(pos[k], sets + k * in->words, in->words);
        size_t j = h & (nslot - 1);
        while (slot[j])
            j = (j + 1) & (nslot - 1);
        slot[j] = (uint32_t)k + 1;
    }
    return 0;
}

/* Adds the state unless seen. Returns 0 or -E2BIG / -ENOMEM. */
static int incl_add(struct incl *in, uint32_t pos, const uint64_t *s, uint32_t parent, int via)
{
    uint64_t h = state_hash(pos, s, in->words);
    size_t j;
    int rc;

    for (j = h & (in->nslot - 1); in->slot[j]; j = (j + 1) & (in->nslot - 1)) {
        size_t k = in->slot[j] - 1;
        if (in->pos[k] == pos && !memcmp(in->sets + k * in->words, s, in->words * 8))
            return 0;
    }
    if (in->n == in->cap) {
        if ((rc = incl_grow(in)) < 0)
            return rc;
        for (j = h & (in->nslot - 1); in->slot[j]; j = (j + 1) & (in->nslot - 1))
            ;
    }
    in->pos[in->n] = pos;
    in->parent[in->n] = parent;
    in->via[in->n] = (int16_t)via;
    memcpy(in->sets + in->n * in->words, s, in->words * 8);
    in->slot[j] = (uint32_t)++in->n;
    return 0;
}

static void incl_witness(const struct incl *in, size_t k, char *w, size_t wcap, size_t *wlen)
{
    size_t len = 0, at;

    for (size_t i = k; i != NO_PARENT; i = in->parent[i])
        len += in->via[i] >= 0;
    if (wlen)
        *wlen = len;
    at = len;
    for (size_t i = k; w && i != NO_PARENT; i = in->parent[i])
        if (in->via[i] >= 0 && --at < wcap)
            w[at] = (char)in->via[i];
}

/* Expands state k (its set copied to cur first: adding may move sets).
 * Returns 1 if k is a counterexample, 0, or a negative errno. */
static int incl_expand(struct incl *in, size_t k, uint64_t *cur, uint64_t *next)
{
    const struct glob *p = in->p, *g = in->g;
    uint32_t pp = in->pos[k] >> 1, started = in->pos[k] & 1;
    int rc;

    memcpy(cur, in->sets + k * in->words, in->words * 8);
    if (pp == p->n)
        return started && !bit(cur, g->n);
    if (g->n && g->t[g->n - 1].star && bit(cur, g->n - 1))
        return 0; /* the grant accepts every continuation */
    if (p->t[pp].star && (rc = incl_add(in, (pp + 1) << 1 | started, cur, (uint32_t)k, -1)) < 0)
        return rc;
    for (size_t c = 0; c < in->nclass; c++) {
        unsigned char b = in->rep[c];
        if (!p->t[pp].star && !set_has(p->t[pp].set, b))
            continue;
        g_step(in, cur, b, next);
        rc = incl_add(in, (p->t[pp].star ? pp : pp + 1) << 1 | 1, next, (uint32_t)k, b);
        if (rc < 0)
            return rc;
        if (in->work > in->limit)
            return -E2BIG;
    }
    return 0;
}

static int globs_equal(const struct glob *a, const struct glob *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (a->t[i].star != b->t[i].star ||
            (!a->t[i].star && memcmp(a->t[i].set, b->t[i].set, sizeof(a->t[i].set))))
            return 0;
    return 1;
}

/* 1 if every non-empty string of p is in g, 0 with a witness, or -errno.
 * The work done is taken from *budget. Equal patterns skip the search:
 * they are the common case, and a costly one for grants like "*a??????". */
static int incl_run(const struct glob *p, const struct glob *g, char *w, size_t wcap, size_t *wlen,
                    uint64_t *budget)
{
    struct incl in = {.p = p, .g = g, .words = (g->n + 1 + 63) / 64, .limit = *budget};
    uint64_t *cur = calloc(in.words * 2, 8);
    int rc = -ENOMEM;

    if (globs_equal(p, g)) {
        free(cur);
        return 1;
    }
    if (p->n >= UINT32_MAX / 2 || !cur || (rc = incl_grow(&in)) < 0)
        goto out;
    incl_classes(&in);
    bit_set(cur, 0);
    g_close(&in, cur);
    if ((rc = incl_add(&in, 0, cur, NO_PARENT, -1)) < 0)
        goto out;
    rc = 1;
    for (size_t k = 0; k < in.n && rc == 1; k++) {
        int r = incl_expand(&in, k, cur, cur + in.words);
        if (r == 1)
            incl_witness(&in, k, w, wcap, wlen);
        rc = r == 1 ? 0 : r < 0 ? r : 1;
    }
out:
    *budget -= in.work < *budget ? in.work : *budget;
    free(cur);
    free(in.pos);
    free(in.parent);
    free(in.via);
    free(in.sets);
    free(in.slot);
    return rc;
}

/* The grant side's subset automaton (g_step, g_close) run on the pattern
 * over the prefix: the set of pattern positions the prefix can reach. From
 * a reached position the rest of the pattern matches some string unless a
 * token ahead accepts no byte at all (an empty class such as "[]"). */
int sc_glob_meets_prefix(const char *pat, size_t plen, const char *prefix, size_t len)
{
    static const uint8_t none[32];
    struct glob g;
    struct incl in = {0};
    uint64_t *cur;
    size_t done = SIZE_MAX; /* first position from which the rest can match */
    int rc = 0;

    if (glob_compile(pat, plen, 0, WIDE, &g) < 0)
        return -ENOMEM;
    in.g = &g;
    in.words = (g.n + 1 + 63) / 64;
    if (!(cur = calloc(in.words * 2, 8))) {
        free(g.t);
        return -ENOMEM;
    }
    bit_set(cur, 0);
    g_close(&in, cur);
    for (size_t i = 0; i < len; i++) {
        g_step(&in, cur, (unsigned char)prefix[i], cur + in.words);
        memcpy(cur, cur + in.words, in.words * 8);
    }
    for (size_t i = g.n + 1; i-- > 0 && (i == g.n || g.t[i].star || memcmp(g.t[i].set, none, 32));)
        done = i;
    for (size_t i = done; i <= g.n && !rc; i++)
        rc = bit(cur, i);
    free(cur);
    free(g.t);
    return rc;
}

int sc_glob_includes(const char *req, size_t rlen, const char *grant, size_t glen, char *witness,
                     size_t wcap, size_t *wlen)
{
    uint64_t budget = SC_GLOB_MAX_WORK;
    struct glob p, g;
    int rc;

    if (glob_compile(req, rlen, 0, WIDE, &p) < 0)
        return -ENOMEM;
    rc = glob_compile(grant, glen, 0, NARROW, &g);
    if (rc == 0) {
        rc = incl_run(&p, &g, witness, wcap, wlen, &budget);
        free(g.t);
    }
    free(p.t);
    return rc;
}

/* ---- policy ------------------------------------------------------------- */

struct entries {
    char **v;
    size_t n, cap;
};

struct sc_acl {
    struct entries pub, ns;
};

/* The node's rule for SUBSCRIBE versus PSUBSCRIBE (sc_channel_is_pattern),
 * repeated here so this library stands alone. */
static int is_glob(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '*' || s[i] == '?' || s[i] == '[')
            return 1;
    return 0;
}

struct sc_acl *sc_acl_new(void)
{
    return calloc(1, sizeof(struct sc_acl));
}

static void entries_free(struct entries *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i]);
    free(e->v);
}

void sc_acl_free(struct sc_acl *acl)
{
    if (!acl)
        return;
    entries_free(&acl->pub);
    entries_free(&acl->ns);
    free(acl);
}

static int entries_add(struct entries *e, const char *s, const char *what, char *err, size_t errlen)
{
    size_t len = strlen(s);
    char **v;

    if (len == 0 || len > SC_ACL_MAX_ENTRY) {
        snprintf(err, errlen, "%s: empty or longer than %d bytes", what, SC_ACL_MAX_ENTRY);
        return -EINVAL;
    }
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 8;
        if (!(v = realloc(e->v, cap * sizeof(*v))))
            goto nomem;
        e->v = v;
        e->cap = cap;
    }
    if (!(e->v[e->n] = strdup(s)))
        goto nomem;
    e->n++;
    return 0;
nomem:
    snprintf(err, errlen, "%s: out of memory", what);
    return -ENOMEM;
}

int sc_acl_add_public(struct sc_acl *acl, const char *name, char *err, size_t errlen)
{
    return entries_add(&acl->pub, name, "public channel", err, errlen);
}

int sc_acl_add_namespace(struct sc_acl *acl, const char *tmpl, char *err, size_t errlen)
{
    if (!strstr(tmpl, "{sub}")) {
        snprintf(err, errlen, "namespace '%.200s': no {sub} placeholder", tmpl);
        return -EINVAL;
    }
    return entries_add(&acl->ns, tmpl, "namespace", err, errlen);
}

static int is_meta(char c)
{
    return c == '*' || c == '?' || c == '[' || c == ']' || c == '\\';
}

/* tmpl with each "{sub}" replaced by sub, every glob metacharacter of sub
 * escaped so that a subject can only ever name itself. malloc'd or NULL. */
static char *ns_expand(const char *tmpl, const char *sub, size_t *outlen)
{
    size_t esc = 0, occ = 0, tl = strlen(tmpl), o = 0;
    const char *p;
    char *out;

    for (p = sub; *p; p++)
        esc += is_meta(*p) ? 2 : 1;
    for (p = tmpl; (p = strstr(p, "{sub}")); p += 5)
        occ++;
    if (!(out = malloc(tl - occ * 5 + occ * esc + 1)))
        return NULL;
    for (p = tmpl; *p;) {
        if (strncmp(p, "{sub}", 5)) {
            out[o++] = *p++;
            continue;
        }
        for (const char *s = sub; *s; s++) {
            if (is_meta(*s))
                out[o++] = '\\';
            out[o++] = *s;
        }
        p += 5;
    }
    out[o] = 0;
    *outlen = o;
    return out;
}

/* One subscribe request being checked against the entries. */
struct request {
    const char *name;
    size_t len;
    const struct glob *pat; /* compiled name, NULL for an exact channel */
    uint64_t *budget;       /* inclusion work left */
    int big;                /* some entry was too costly to decide */
};

/* 1 if entry e (exact name when literal, else glob) allows the request, 0
 * if not, or -E2BIG / -ENOMEM. */
static int entry_allows(const char *e, size_t elen, int literal, const struct request *r)
{
    struct glob g;
    int rc;

    if (!r->pat && literal)
        return elen == r->len && !memcmp(e, r->name, r->len);
    if (glob_compile(e, elen, literal, NARROW, &g) < 0)
        return -ENOMEM;
    rc = r->pat ? incl_run(r->pat, &g, NULL, 0, NULL, r->budget)
                : glob_run(&g, (const unsigned char *)r->name, r->len);
    free(g.t);
    return rc;
}

/* As entry_allows, but an undecided entry is noted and skipped: another
 * entry may still allow the request. */
static int try_entry(struct request *r, const char *e, size_t elen, int literal)
{
    int rc = entry_allows(e, elen, literal, r);

    if (rc != -E2BIG)
        return rc;
    r->big = 1;
    return 0;
}

static int check_all(const struct sc_acl *acl, const char *sub, const char *const *grants,
                     size_t ngrants, struct request *r)
{
    size_t i, elen;
    char *e;
    int rc = 0;

    for (i = 0; i < acl->pub.n && !rc; i++) {
        e = acl->pub.v[i];
        elen = strlen(e);
        rc = try_entry(r, e, elen, !is_glob(e, elen));
    }
    for (i = 0; sub && *sub && i < acl->ns.n && !rc; i++) {
        if (!(e = ns_expand(acl->ns.v[i], sub, &elen)))
            return -ENOMEM;
        rc = try_entry(r, e, elen, 0);
        free(e);
    }
    for (i = 0; i < ngrants && !rc; i++) {
        elen = strlen(grants[i]);
        rc = try_entry(r, grants[i], elen, !is_glob(grants[i], elen));
    }
    return rc;
}

int sc_acl_check_budget(const struct sc_acl *acl, const char *sub, const char *const *grants,
                        size_t ngrants, const char *name, size_t len, uint64_t *budget)
{
    struct glob pat = {0};
    struct request r = {.name = name, .len = len, .budget = budget};
    int rc;

    if (len == 0)
        return -EACCES;
    if (is_glob(name, len)) {
        if (glob_compile(name, len, 0, WIDE, &pat) < 0)
            return -ENOMEM;
        r.pat = &pat;
    }
    rc = check_all(acl, sub, grants, ngrants, &r);
    free(pat.t);
    if (rc < 0)
        return rc;
    return rc ? 0 : r.big ? -E2BIG : -EACCES;
}

int sc_acl_check(const struct sc_acl *acl, const char *sub, const char *const *grants,
                 size_t ngrants, const char *name, size_t len)
{
    uint64_t budget = SC_GLOB_MAX_WORK;

    return sc_acl_check_budget(acl, sub, grants, ngrants, name, len, &budget);
}
