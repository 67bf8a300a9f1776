/*
 * Writes tests/vectors/shard_vectors.json from the C library:
 *
 *   build-shard/tests/unit/shard/gen_shard_vectors > tests/vectors/shard_vectors.json
 *
 * The file freezes the placement scheme: the C unit test and the Node test
 * of client/web/shardhash.js both check every case, so regenerate it only
 * on purpose (a changed owner here means every deployed client moves keys).
 */
#include "sc_shard.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct key {
    const char *bytes;
    size_t len;
};

#define K(s)             \
    {                    \
        s, sizeof(s) - 1 \
    }

static const struct key unicode_keys[] = {
    K("caf\xc3\xa9"),
    K("cafe\xcc\x81"),
    K("\xc3\xbc"
      "ber"),
    K("stra\xc3\x9f"
      "e"),
    K("\xe4\xb8\xad\xe6\x96\x87"),
    K("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"),
    K("\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4"),
    K("\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a"),
    K("\xd7\xa2\xd7\x91\xd7\xa8\xd7\x99\xd7\xaa"),
    K("\xf0\x9f\x98\x80"),
    K("\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb"),
    K("\xf0\x9f\x87\xab\xf0\x9f\x87\xb7"),
    K("\xef\xbf\xbd"),
    K("\xef\xbb\xbf"
      "bom"),
    K("\xf4\x8f\xbf\xbf"),
    K("\xc2\x80"),
    K("\xe2\x82\xac"
      "100"),
    K("\xce\xb1\xce\xb2\xce\xb3"),
    K("\xd0\xbf\xd1\x80\xd0\xb8"),
    K("room:\xe2\x9c\x93"),
    K("chat.\xf0\x9f\x8e\x89.party"),
    K("\xe0\xa4\xb9\xe0\xa4\xbf"),
    K("\xe2\x80\x8b"),
    K("a\xcc\x8a"),
    K("\xc3\xa5"),
    K("\xe1\xba\x9e"),
    K("\xf0\x90\x80\x80"),
    K("\xe3\x81\x82\xe3\x81\x84\xe3\x81\x86"),
    K("tab\there"),
    K("line\nbreak"),
    K("quote\"q"),
    K("back\\slash"),
    K("\x7f"),
    K("\x01\x02"),
    K(" "),
    K("  lead"),
    K("trail "),
};

static const struct key edge_keys[] = {
    K(""),
    K("\0"),
    K("\0\0"),
    K("a\0b"),
    K("\xff"),
    K("\xc3\x28"),
    K("\xed\xa0\x80"),
    K("\xf8\x88\x80\x80\x80"),
    K("\xfe\xff"),
    K("a"),
    K("A"),
    K("0"),
    K("_"),
    K(":"),
    K("-"),
    K("."),
    K("a1"),
    K("a10"),
    K("k0000"),
    K("k0001"),
    K("k0002"),
    K("k0003"),
    K("0123456789012345678901234567890123456789012345678901234567890123"),
};

static const char *const edge_ids[] = {
    "a",
    "a1",
    "a10",
    "A",
    "_",
    ":",
    "-",
    ".",
    "0",
    "0123456789012345678901234567890123456789012345678901234567890123",
    "node-1.eu-west:8080",
};

static uint64_t rng_state = 0x5348415244434153ull; /* "SHARDCAS" */

static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Keys that are valid UTF-8 without NUL go out as strings, others as hex. */
static void put_key(const char *bytes, size_t len)
{
    json_t *s = memchr(bytes, 0, len) ? NULL : json_stringn(bytes, len);
    size_t i;

    if (s) {
        char *txt = json_dumps(s, JSON_ENCODE_ANY);
        printf("\"key\": %s", txt);
        free(txt);
        json_decref(s);
        return;
    }
    printf("\"key_hex\": \"");
    for (i = 0; i < len; i++)
        printf("%02x", (unsigned char)bytes[i]);
    printf("\"");
}

static void put_case(const sc_shardmap *map, const char *bytes, size_t len, int last)
{
    const struct sc_shard *o;

    if (sc_shardmap_owner(map, bytes, len, &o))
        abort();
    printf("        {");
    put_key(bytes, len);
    printf(", \"owner\": \"%s\"}%s\n", o->id, last ? "" : ",");
}

static void put_shards(const sc_shardmap *map)
{
    size_t i, n = sc_shardmap_count(map);

    printf("      \"shards\": [");
    for (i = 0; i < n; i++) {
        const struct sc_shard *s = sc_shardmap_at(map, i);
        printf("%s{\"id\": \"%s\", \"weight\": %u}", i ? ", " : "", s->id, (unsigned)s->weight);
    }
    printf("],\n");
}

enum keyset { GENERATED, UNICODE, EDGE, RANDOM_BYTES };

static void put_cases(const sc_shardmap *map, enum keyset ks, int n)
{
    char buf[1100];
    int i;

    printf("      \"cases\": [\n");
    for (i = 0; i < n; i++) {
        const char *b = buf;
        size_t len;
        if (ks == UNICODE) {
            b = unicode_keys[i].bytes;
            len = unicode_keys[i].len;
        } else if (ks == EDGE) {
            b = edge_keys[i].bytes;
            len = edge_keys[i].len;
        } else if (ks == RANDOM_BYTES) {
            size_t j;
            len = i == n - 1 ? 1024 : rng() % 40;
            for (j = 0; j < len; j++)
                buf[j] = (char)(rng() & 0xff);
        } else {
            static const char *const fmt[] = {"user:%d", "chan.%d", "room/%d", "%d"};
            len = (size_t)snprintf(buf, sizeof(buf), fmt[i % 4], i * 7919);
        }
        put_case(map, b, len, i == n - 1);
    }
    printf("      ]\n");
}

static sc_shardmap *make_map(int n, const char *fmt, const uint32_t *w, int nw)
{
    sc_shardmap *map;
    char id[SC_SHARD_ID_MAX + 1];
    int i;

    if (sc_shardmap_new(&map, 1))
        abort();
    for (i = 0; i < n; i++) {
        snprintf(id, sizeof(id), fmt, i);
        if (sc_shardmap_add(map, id, "ws://x/ws", w[i % nw]))
            abort();
    }
    return map;
}

static void put_set(const char *name, sc_shardmap *map, enum keyset ks, int n, int last)
{
    printf("    {\n      \"name\": \"%s\",\n", name);
    put_shards(map);
    put_cases(map, ks, n);
    printf("    }%s\n", last ? "" : ",");
    sc_shardmap_free(map);
}

static void put_scores(void)
{
    static const uint32_t w[] = {1, 2, 3, 7, 1000, 1000000};
    char key[32];
    int i;

    printf("  \"scores\": [\n");
    for (i = 0; i < 48; i++) {
        const char *id = edge_ids[i % (sizeof(edge_ids) / sizeof(*edge_ids))];
        uint32_t weight = w[i % 6];
        size_t len = (size_t)snprintf(key, sizeof(key), "score-%d", i * 31);
        uint64_t bits;
        double s;
        if (i < 4)
            len = 0; /* the empty key against several ids */
        if (sc_shard_score(id, weight, key, len, &s))
            abort();
        memcpy(&bits, &s, sizeof(bits));
        printf("    {\"id\": \"%s\", \"weight\": %u, ", id, (unsigned)weight);
        put_key(key, len);
        printf(", \"bits\": \"%016llx\"}%s\n", (unsigned long long)bits, i == 47 ? "" : ",");
    }
    printf("  ]\n");
}

int main(void)
{
    static const uint32_t one[] = {1}, seven[] = {7};
    static const uint32_t mixed[] = {1, 2, 3, 5, 10};
    static const uint32_t extreme[] = {1000000, 1, 999999};
    static const uint32_t cycle[] = {1, 2, 3, 4};
    const int nu = sizeof(unicode_keys) / sizeof(*unicode_keys);
    const int ne = sizeof(edge_keys) / sizeof(*edge_keys);
    sc_shardmap *edge;
    size_t i;

    printf("{\n  \"about\": \"shard placement vectors, see docs/sharding.md; "
           "generated by tests/vectors/gen_shard_vectors.c\",\n");
    printf("  \"sets\": [\n");
    put_set("single", make_map(1, "only%d", seven, 1), GENERATED, 12, 0);
    put_set("ten-equal", make_map(10, "s%d", one, 1), GENERATED, 60, 0);
    put_set("eleven-equal", make_map(11, "s%d", one, 1), GENERATED, 60, 0);
    put_set("weighted", make_map(5, "w%d", mixed, 5), GENERATED, 50, 0);
    put_set("extreme-weights", make_map(3, "x%d", extreme, 3), GENERATED, 24, 0);
    put_set("unicode-keys", make_map(5, "u%d", one, 1), UNICODE, nu, 0);
    if (sc_shardmap_new(&edge, 0))
        abort();
    for (i = 0; i < sizeof(edge_ids) / sizeof(*edge_ids); i++)
        if (sc_shardmap_add(edge, edge_ids[i], "ws://x/ws", (uint32_t)(i % 3 + 1)))
            abort();
    put_set("edge-ids-and-keys", edge, EDGE, ne, 0);
    put_set("binary-keys", make_map(4, "b%d", cycle, 4), RANDOM_BYTES, 24, 0);
    put_set("two-hundred", make_map(200, "node-%03d", cycle, 4), GENERATED, 40, 1);
    printf("  ],\n");
    put_scores();
    printf("}\n");
    return 0;
}
