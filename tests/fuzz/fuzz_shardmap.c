/* Fuzz target: the shard map's stored form (shard/sc_shard.h).
 *
 * Input: bytes handed to sc_shardmap_parse(), as read back from storage.
 *  - On failure: a documented error code, *out untouched, and a one-line
 *    printable reason (the reason may quote input, and goes to logs).
 *  - On success: the map obeys the header's limits and ordering; encoding
 *    it, parsing that and encoding again gives identical bytes, and the
 *    second map equals the first shard for shard; the encoding stays under
 *    SC_SHARDMAP_ENCODED_MAX ("a map that encodes also parses").
 *  - sc_shardmap_owner() succeeds on a non-empty map (-ENOENT on an empty
 *    one) and picks the lowest sc_shard_score(), ties to the lower id. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "sc_shard.h"

#define ERRLEN 96

/* What *out holds before a parse: a failing parse must leave it so. */
static char sentinel;
#define untouched ((sc_shardmap *)(void *)&sentinel)

static void check_error(int rc, sc_shardmap *out, const char *err)
{
    FUZZ_CHECK(rc == -EBADMSG || rc == -EMSGSIZE || rc == -ENOMEM);
    FUZZ_CHECK(out == untouched);
    FUZZ_CHECK(memchr(err, 0, ERRLEN) != NULL && err[0] != 0);
    for (const char *c = err; *c; c++)
        FUZZ_CHECK(*c >= 0x20 && *c <= 0x7E);
}

static void check_map(const sc_shardmap *map)
{
    size_t n = sc_shardmap_count(map);

    FUZZ_CHECK(n <= SC_SHARDMAP_MAX_SHARDS);
    FUZZ_CHECK(sc_shardmap_epoch(map) <= SC_SHARDMAP_EPOCH_MAX);
    FUZZ_CHECK(sc_shardmap_at(map, n) == NULL);
    for (size_t i = 0; i < n; i++) {
        const struct sc_shard *s = sc_shardmap_at(map, i);
        size_t idlen = strlen(s->id), urllen = strlen(s->url);
        FUZZ_CHECK(idlen >= 1 && idlen <= SC_SHARD_ID_MAX);
        FUZZ_CHECK(urllen >= 1 && urllen <= SC_SHARD_URL_MAX);
        FUZZ_CHECK(s->weight >= 1 && s->weight <= SC_SHARD_WEIGHT_MAX);
        FUZZ_CHECK(strspn(s->id, "abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") == idlen);
        for (const char *c = s->url; *c; c++)
            FUZZ_CHECK(*c > 0x20 && *c < 0x7F && *c != '"' && *c != '\\');
        /* ascending byte order of id, hence no duplicates */
        if (i > 0)
            FUZZ_CHECK(strcmp(sc_shardmap_at(map, i - 1)->id, s->id) < 0);
        FUZZ_CHECK(sc_shardmap_find(map, s->id) == s);
    }
}

static void check_same(const sc_shardmap *a, const sc_shardmap *b)
{
    FUZZ_CHECK(sc_shardmap_count(a) == sc_shardmap_count(b));
    FUZZ_CHECK(sc_shardmap_epoch(a) == sc_shardmap_epoch(b));
    for (size_t i = 0; i < sc_shardmap_count(a); i++) {
        const struct sc_shard *x = sc_shardmap_at(a, i), *y = sc_shardmap_at(b, i);
        FUZZ_CHECK(!strcmp(x->id, y->id) && !strcmp(x->url, y->url) && x->weight == y->weight);
    }
}

static void check_owner(const sc_shardmap *map, const void *key, size_t keylen)
{
    const struct sc_shard *owner = NULL, *best = NULL;
    double best_score = 0;
    int rc = sc_shardmap_owner(map, key, keylen, &owner);

    if (sc_shardmap_count(map) == 0) {
        FUZZ_CHECK(rc == -ENOENT && owner == NULL);
        return;
    }
    FUZZ_CHECK(rc == 0 && owner != NULL);
    FUZZ_CHECK(sc_shardmap_find(map, owner->id) == owner);
    for (size_t i = 0; i < sc_shardmap_count(map); i++) {
        const struct sc_shard *s = sc_shardmap_at(map, i);
        double score;
        FUZZ_CHECK(sc_shard_score(s->id, s->weight, key, keylen, &score) == 0);
        /* strictly positive and finite: -ln(u) with u in (0, 1) */
        FUZZ_CHECK(score > 0 && score < 1e300);
        if (!best || score < best_score) {
            best = s;
            best_score = score;
        }
    }
    FUZZ_CHECK(owner == best);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sc_shardmap *map = untouched, *again = untouched;
    char err[ERRLEN], *enc = NULL, *enc2 = NULL;
    size_t enclen = 0, enc2len = 0;
    int rc;

    fuzz_init();
    memset(err, 0x7E, sizeof(err));
    rc = sc_shardmap_parse((const char *)data, size, &map, err, sizeof(err));
    if (rc) {
        check_error(rc, map, err);
        return 0;
    }
    FUZZ_CHECK(map != untouched && map != NULL);
    check_map(map);

    FUZZ_CHECK(sc_shardmap_encode(map, &enc, &enclen) == 0);
    FUZZ_CHECK(enc != NULL && strlen(enc) == enclen);
    FUZZ_CHECK(enclen <= SC_SHARDMAP_ENCODED_MAX);
    rc = sc_shardmap_parse(enc, enclen, &again, err, sizeof(err));
    if (rc)
        fprintf(stderr, "encoded map does not parse: %s\n%s\n", err, enc);
    FUZZ_CHECK(rc == 0);
    check_same(map, again);
    FUZZ_CHECK(sc_shardmap_encode(again, &enc2, &enc2len) == 0);
    FUZZ_CHECK(enc2len == enclen && !memcmp(enc, enc2, enclen));

    check_owner(map, NULL, 0);
    check_owner(map, "", 0);
    check_owner(map, data, size);
    check_owner(map, data, size < 8 ? size : 8);

    free(enc);
    free(enc2);
    sc_shardmap_free(again);
    sc_shardmap_free(map);
    return 0;
}
