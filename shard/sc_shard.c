/*
 * Weighted rendezvous hashing over an id-sorted array of shards.
 *
 * Every step of the score is specified so that client/web/shardhash.js can
 * repeat it bit for bit: 64-bit integer hashing (wraps mod 2^64 in both
 * languages), then a handful of IEEE-754 double operations that are each
 * correctly rounded in C and in JavaScript. That is why ln() below is our
 * own: libm's log() and V8's Math.log() are both good to about 1 ulp but are
 * different code, and a one-ulp difference can flip which shard wins.
 */
#include "sc_shard.h"

#include <errno.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* x87 keeps intermediates in 80 bits and would round differently from
 * JavaScript; fused multiply-add would too (the build passes
 * -ffp-contract=off, and -ffast-math must never be used here). */
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "sc_shard needs FLT_EVAL_METHOD == 0 (SSE2 or another IEEE double unit)"
#endif

struct entry {
    struct sc_shard pub; /* pub.id and pub.url point into mem */
    char *mem;
    uint64_t seed; /* hash of the id, computed once at add time */
};

struct sc_shardmap {
    uint64_t epoch;
    size_t n, cap;
    struct entry *v; /* ascending strcmp order of id */
};

#define FNV64_BASIS 0xcbf29ce484222325ull
#define FNV64_PRIME 0x100000001b3ull
/* Keeps an id's seed from equalling the hash of the same bytes as a key,
 * which would make h == mix64(0) and hand that shard a fixed low score. */
#define SEED_SALT 0x9e3779b97f4a7c15ull

static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
    uint64_t h = FNV64_BASIS;

    while (n--) {
        h ^= *p++;
        h *= FNV64_PRIME;
    }
    return h;
}

/* splitmix64's finaliser: FNV alone leaves the high bits weakly mixed, and
 * the high bits are the ones that become u. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t seed_of(const char *id)
{
    return mix64(fnv1a64((const unsigned char *)id, strlen(id)) + SEED_SALT);
}

static uint64_t key_hash(const void *key, size_t keylen)
{
    return mix64(fnv1a64(key, keylen));
}

#define LN2 0.6931471805599453     /* ln 2 rounded to double */
#define SQRT1_2 0.7071067811865476 /* sqrt(1/2) rounded to double */

/*
 * -ln(u) for u = n / 2^53 with n = 2*(h >> 12) + 1, so u lies strictly in
 * (0, 1) and is exact. Only exact steps (frexp, scaling by 2) and single
 * correctly rounded + - * / are used, in an order the JS twin copies
 * verbatim; the atanh series is accurate to about 1e-16 relative, far
 * below anything that could bias placement (tests/unit/shard/test_shard_log.c).
 */
static double neg_ln_u(uint64_t h)
{
    uint64_t n = ((h >> 12) << 1) | 1;
    int e;
    double f = frexp((double)n, &e); /* n = f * 2^e, f in [0.5, 1) */

    if (f < SQRT1_2) {
        f *= 2.0;
        e -= 1;
    }
    /* ln f = 2 atanh(s), |s| <= 0.1716 */
    double s = (f - 1.0) / (f + 1.0);
    double z = s * s;
    double t = 2.0 / 21.0;
    t = t * z + 2.0 / 19.0;
    t = t * z + 2.0 / 17.0;
    t = t * z + 2.0 / 15.0;
    t = t * z + 2.0 / 13.0;
    t = t * z + 2.0 / 11.0;
    t = t * z + 2.0 / 9.0;
    t = t * z + 2.0 / 7.0;
    t = t * z + 2.0 / 5.0;
    t = t * z + 2.0 / 3.0;
    double lnf = 2.0 * s + s * z * t;
    /* ln u = ln f + (e - 53) ln 2, and e <= 53 */
    return (double)(53 - e) * LN2 - lnf;
}

/* Logarithmic method: -ln(u)/w is exponential with rate w, so the minimum
 * over shards lands on each with probability w / sum(w). */
static double score_of(uint64_t kh, uint64_t seed, uint32_t weight)
{
    return neg_ln_u(mix64(kh ^ seed)) / (double)weight;
}

static int weight_valid(uint32_t weight)
{
    return weight >= 1 && weight <= SC_SHARD_WEIGHT_MAX;
}

/* Index of id if present (*found = 1), else where it would be inserted. */
static size_t search(const sc_shardmap *map, const char *id, int *found)
{
    size_t lo = 0, hi = map->n;

    *found = 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(id, map->v[mid].pub.id);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

int sc_shardmap_new(sc_shardmap **out, uint64_t epoch)
{
    sc_shardmap *map;

    if (!out || epoch > SC_SHARDMAP_EPOCH_MAX)
        return -EINVAL;
    map = calloc(1, sizeof(*map));
    if (!map)
        goto err_map;
    map->cap = 8;
    map->v = calloc(map->cap, sizeof(*map->v));
    if (!map->v)
        goto err_v;
    map->epoch = epoch;
    *out = map;
    return 0;

err_v:
    free(map);
err_map:
    return -ENOMEM;
}

void sc_shardmap_free(sc_shardmap *map)
{
    size_t i;

    if (!map)
        return;
    for (i = 0; i < map->n; i++)
        free(map->v[i].mem);
    free(map->v);
    free(map);
}

/* Makes room for one more entry; the map is unchanged on failure. */
static int reserve_one(sc_shardmap *map)
{
    struct entry *v;
    size_t cap;

    if (map->n < map->cap)
        return 0;
    cap = map->cap * 2;
    if (cap > SC_SHARDMAP_MAX_SHARDS)
        cap = SC_SHARDMAP_MAX_SHARDS;
    v = realloc(map->v, cap * sizeof(*v));
    if (!v)
        return -ENOMEM;
    map->v = v;
    map->cap = cap;
    return 0;
}

int sc_shardmap_add(sc_shardmap *map, const char *id, const char *url, uint32_t weight)
{
    size_t at, idlen, urllen;
    struct entry *e;
    char *mem;
    int found, rc;

    if (!map || !sc_name_valid(id) || !sc_shard_url_valid(url) || !weight_valid(weight))
        return -EINVAL;
    at = search(map, id, &found);
    if (found)
        return -EEXIST;
    if (map->n >= SC_SHARDMAP_MAX_SHARDS)
        return -E2BIG;
    rc = reserve_one(map);
    if (rc)
        return rc;
    idlen = strlen(id);
    urllen = strlen(url);
    mem = malloc(idlen + 1 + urllen + 1);
    if (!mem)
        return -ENOMEM;
    memcpy(mem, id, idlen + 1);
    memcpy(mem + idlen + 1, url, urllen + 1);

    memmove(&map->v[at + 1], &map->v[at], (map->n - at) * sizeof(*map->v));
    map->n++;
    e = &map->v[at];
    e->mem = mem;
    e->pub.id = mem;
    e->pub.url = mem + idlen + 1;
    e->pub.weight = weight;
    e->seed = seed_of(id);
    return 0;
}

int sc_shardmap_remove(sc_shardmap *map, const char *id)
{
    size_t at;
    int found;

    if (!map || !id)
        return -EINVAL;
    at = search(map, id, &found);
    if (!found)
        return -ENOENT;
    free(map->v[at].mem);
    map->n--;
    memmove(&map->v[at], &map->v[at + 1], (map->n - at) * sizeof(*map->v));
    return 0;
}

int sc_shardmap_owner(const sc_shardmap *map, const void *key, size_t keylen,
                      const struct sc_shard **out)
{
    const struct entry *best = NULL;
    double best_score = 0.0;
    uint64_t kh;
    size_t i;

    if (!map || !out || (!key && keylen))
        return -EINVAL;
    if (map->n == 0)
        return -ENOENT;
    kh = key_hash(key, keylen);
    /* Strict < in ascending id order: an exact tie goes to the lower id,
	 * which is the rule the JS twin applies too. */
    for (i = 0; i < map->n; i++) {
        const struct entry *e = &map->v[i];
        double s = score_of(kh, e->seed, e->pub.weight);
        if (!best || s < best_score) {
            best = e;
            best_score = s;
        }
    }
    *out = &best->pub;
    return 0;
}

size_t sc_shardmap_count(const sc_shardmap *map)
{
    return map ? map->n : 0;
}

const struct sc_shard *sc_shardmap_at(const sc_shardmap *map, size_t i)
{
    return map && i < map->n ? &map->v[i].pub : NULL;
}

const struct sc_shard *sc_shardmap_find(const sc_shardmap *map, const char *id)
{
    size_t at;
    int found;

    if (!map || !id)
        return NULL;
    at = search(map, id, &found);
    return found ? &map->v[at].pub : NULL;
}

uint64_t sc_shardmap_epoch(const sc_shardmap *map)
{
    return map ? map->epoch : 0;
}

int sc_shardmap_set_epoch(sc_shardmap *map, uint64_t epoch)
{
    if (!map)
        return -EINVAL;
    if (epoch > SC_SHARDMAP_EPOCH_MAX)
        return -ERANGE;
    map->epoch = epoch;
    return 0;
}

int sc_shard_score(const char *id, uint32_t weight, const void *key, size_t keylen, double *score)
{
    if (!sc_name_valid(id) || !weight_valid(weight) || !score || (!key && keylen))
        return -EINVAL;
    *score = score_of(key_hash(key, keylen), seed_of(id), weight);
    return 0;
}

/* ---- stored form ------------------------------------------------------ */

#define STORED_VERSION 1

/* The reason may quote input bytes (jansson's "near '...'"), so anything
 * that is not printable ASCII is replaced to keep log lines safe. */
static int set_error(char *errbuf, size_t errlen, int rc, const char *fmt, ...)
{
    va_list ap;
    size_t i;

    if (!errbuf || errlen == 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
    for (i = 0; errbuf[i]; i++)
        if ((unsigned char)errbuf[i] < 0x20 || (unsigned char)errbuf[i] > 0x7e)
            errbuf[i] = '?';
    return rc;
}

static json_t *encode_shard(const struct sc_shard *sh)
{
    json_t *o = json_object();

    if (!o)
        return NULL;
    /* The _new setters take the value's reference even when they fail. */
    if (json_object_set_new(o, "id", json_string(sh->id)) ||
        json_object_set_new(o, "url", json_string(sh->url)) ||
        json_object_set_new(o, "weight", json_integer(sh->weight))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *encode_root(const sc_shardmap *map)
{
    json_t *root, *arr;
    size_t i;

    root = json_object();
    if (!root)
        goto err_root;
    if (json_object_set_new(root, "v", json_integer(STORED_VERSION)) ||
        json_object_set_new(root, "epoch", json_integer((json_int_t)map->epoch)))
        goto err_arr;
    /* root owns arr from here (or set_new already freed it). */
    arr = json_array();
    if (json_object_set_new(root, "shards", arr))
        goto err_arr;
    for (i = 0; i < map->n; i++)
        if (json_array_append_new(arr, encode_shard(&map->v[i].pub)))
            goto err_arr;
    return root;

err_arr:
    json_decref(root);
err_root:
    return NULL;
}

int sc_shardmap_encode(const sc_shardmap *map, char **out, size_t *outlen)
{
    /* PRESERVE_ORDER is the default since jansson 2.14 but not before. */
    const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER;
    json_t *root;
    size_t len;
    char *s;

    if (!map || !out)
        return -EINVAL;
    root = encode_root(map);
    if (!root)
        goto err_root;
    /* Sized twice rather than json_dumps() so the buffer comes from our
	 * malloc even if someone installs json_set_alloc_funcs(). */
    len = json_dumpb(root, NULL, 0, flags);
    if (len == 0)
        goto err_buf;
    s = malloc(len + 1);
    if (!s)
        goto err_buf;
    if (json_dumpb(root, s, len, flags) != len)
        goto err_dump;
    s[len] = '\0';
    json_decref(root);
    *out = s;
    if (outlen)
        *outlen = len;
    return 0;

err_dump:
    free(s);
err_buf:
    json_decref(root);
err_root:
    return -ENOMEM;
}

/* Reads an integer member into *v, requiring lo <= value <= hi. */
static int get_int(const json_t *obj, const char *name, json_int_t lo, json_int_t hi, json_int_t *v)
{
    const json_t *m = json_object_get(obj, name);

    if (!json_is_integer(m))
        return -1;
    *v = json_integer_value(m);
    return *v >= lo && *v <= hi ? 0 : -1;
}

static int parse_shard(const json_t *o, size_t i, sc_shardmap *map, char *errbuf, size_t errlen)
{
    const char *id, *url;
    json_int_t weight;
    int rc;

    if (!json_is_object(o))
        return set_error(errbuf, errlen, -EBADMSG, "shards[%zu]: expected an object", i);
    id = json_string_value(json_object_get(o, "id"));
    if (!id || !sc_name_valid(id))
        return set_error(errbuf, errlen, -EBADMSG,
                         "shards[%zu].id: expected 1..%d bytes of [A-Za-z0-9._:-]", i,
                         SC_SHARD_ID_MAX);
    url = json_string_value(json_object_get(o, "url"));
    if (!url || !sc_shard_url_valid(url))
        return set_error(
            errbuf, errlen, -EBADMSG,
            "shards[%zu].url: expected 1..%d bytes of printable ASCII without space, '\"' or '\\'",
            i, SC_SHARD_URL_MAX);
    if (get_int(o, "weight", 1, SC_SHARD_WEIGHT_MAX, &weight))
        return set_error(errbuf, errlen, -EBADMSG,
                         "shards[%zu].weight: expected an integer in 1..%u", i,
                         SC_SHARD_WEIGHT_MAX);
    rc = sc_shardmap_add(map, id, url, (uint32_t)weight);
    if (rc == -EEXIST)
        return set_error(errbuf, errlen, -EBADMSG, "shards[%zu].id: duplicate \"%s\"", i, id);
    if (rc)
        return set_error(errbuf, errlen, rc, "shards[%zu]: %s", i, strerror(-rc));
    return 0;
}

/* Checks the members around the shard list and returns that list. */
static int parse_header(const json_t *root, json_int_t *epoch, const json_t **shards, char *errbuf,
                        size_t errlen)
{
    json_int_t v;

    if (!json_is_object(root))
        return set_error(errbuf, errlen, -EBADMSG, "expected a JSON object");
    if (get_int(root, "v", STORED_VERSION, STORED_VERSION, &v))
        return set_error(errbuf, errlen, -EBADMSG, "v: expected the integer %d", STORED_VERSION);
    if (get_int(root, "epoch", 0, (json_int_t)SC_SHARDMAP_EPOCH_MAX, epoch))
        return set_error(errbuf, errlen, -EBADMSG, "epoch: expected an integer in 0..%llu",
                         (unsigned long long)SC_SHARDMAP_EPOCH_MAX);
    *shards = json_object_get(root, "shards");
    if (!json_is_array(*shards))
        return set_error(errbuf, errlen, -EBADMSG, "shards: expected an array");
    if (json_array_size(*shards) > SC_SHARDMAP_MAX_SHARDS)
        return set_error(errbuf, errlen, -EBADMSG, "shards: more than %d entries",
                         SC_SHARDMAP_MAX_SHARDS);
    return 0;
}

int sc_shardmap_parse(const char *buf, size_t len, sc_shardmap **out, char *errbuf, size_t errlen)
{
    const json_t *shards = NULL;
    json_error_t jerr;
    sc_shardmap *map;
    json_int_t epoch = 0;
    json_t *root;
    size_t i;
    int rc;

    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!out || (!buf && len))
        return set_error(errbuf, errlen, -EINVAL, "invalid argument");
    if (len > SC_SHARDMAP_ENCODED_MAX)
        return set_error(errbuf, errlen, -EMSGSIZE, "input is %zu bytes, limit %u", len,
                         SC_SHARDMAP_ENCODED_MAX);
    /* No JSON_ALLOW_NUL: a string with \u0000 is rejected by jansson,
	 * so the C strings below are the whole JSON strings. */
    root = json_loadb(buf ? buf : "", len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        rc = json_error_code(&jerr) == json_error_out_of_memory ? -ENOMEM : -EBADMSG;
        return set_error(errbuf, errlen, rc, "JSON: %s at byte %d", jerr.text, jerr.position);
    }
    rc = parse_header(root, &epoch, &shards, errbuf, errlen);
    if (rc)
        goto err_root;
    rc = sc_shardmap_new(&map, (uint64_t)epoch);
    if (rc)
        goto err_root;
    for (i = 0; i < json_array_size(shards); i++) {
        rc = parse_shard(json_array_get(shards, i), i, map, errbuf, errlen);
        if (rc)
            goto err_map;
    }
    json_decref(root);
    *out = map;
    return 0;

err_map:
    sc_shardmap_free(map);
err_root:
    json_decref(root);
    return rc;
}
