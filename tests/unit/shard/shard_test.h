/* Helpers shared by the shard unit tests (cmocka must be included first). */
#ifndef SHARD_TEST_H
#define SHARD_TEST_H

#include "sc_shard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS 100000

/* Shards "s0".."s<n-1>"; weights[i] or 1 when weights is NULL. */
static inline sc_shardmap *make_map(int n, const uint32_t *weights)
{
    sc_shardmap *map = NULL;
    char id[16];
    int i;

    assert_int_equal(sc_shardmap_new(&map, 1), 0);
    for (i = 0; i < n; i++) {
        snprintf(id, sizeof(id), "s%d", i);
        assert_int_equal(
            sc_shardmap_add(map, id, "ws://127.0.0.1:8080/ws", weights ? weights[i] : 1), 0);
    }
    return map;
}

/* Channel-like keys, as the server will see them. */
static inline size_t key_of(char *buf, size_t size, int i)
{
    return (size_t)snprintf(buf, size, "chan:%d", i);
}

/* Index n of shard "s<n>" that owns key i. */
static inline int owner_of(const sc_shardmap *map, int i)
{
    const struct sc_shard *o = NULL;
    char key[32];
    size_t len = key_of(key, sizeof(key), i);

    assert_int_equal(sc_shardmap_owner(map, key, len, &o), 0);
    return atoi(o->id + 1);
}

#endif
