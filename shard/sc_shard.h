/*
 * sc_shard.h - which shard owns a key, and the stored form of the shard map.
 *
 * Placement is weighted rendezvous hashing (HRW): every shard scores every
 * key and the lowest score wins. Adding a shard moves only the keys it wins;
 * removing one moves only the keys it owned. The arithmetic is specified
 * bit for bit (docs/sharding.md) so that client/web/shardhash.js computes the
 * same owner in a browser; tests/vectors/shard_vectors.json pins it down.
 *
 * Pure C11, no I/O, no global state. A map is not locked: callers that share
 * one between threads must serialise writers against readers themselves
 * (lookups alone may run concurrently).
 */
#ifndef SC_SHARD_H
#define SC_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "sc_names.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits are part of the stored form: a map that encodes also parses. */
/* SC_SHARD_URL_MAX (sc_names.h) bounds URLs; sc_shard_url_valid() is the rule. */
#define SC_SHARD_ID_MAX SC_NAME_MAX /* bytes; sc_name_valid() is the rule */
#define SC_SHARD_WEIGHT_MAX 1000000u
#define SC_SHARDMAP_MAX_SHARDS 1024
/* Largest integer a JavaScript number holds exactly (2^53 - 1). */
#define SC_SHARDMAP_EPOCH_MAX 9007199254740991ull
/* Longest input sc_shardmap_parse() takes; the largest map encodes to 355 KiB. */
#define SC_SHARDMAP_ENCODED_MAX (512u * 1024u)

/* A shard as the map holds it. Strings are NUL-terminated and owned by the
 * map; a pointer to one stays valid until the next sc_shardmap_add(),
 * sc_shardmap_remove() or sc_shardmap_free() on that map. */
struct sc_shard {
    const char *id;
    const char *url;
    uint32_t weight;
};

typedef struct sc_shardmap sc_shardmap;

/* Creates an empty map at `epoch` (0..SC_SHARDMAP_EPOCH_MAX) in *out.
 * Returns 0, -EINVAL (out NULL, epoch out of range) or -ENOMEM; *out is
 * untouched on error. Free the map with sc_shardmap_free(). */
int sc_shardmap_new(sc_shardmap **out, uint64_t epoch);

/* Frees the map and every string it owns. NULL is a no-op. */
void sc_shardmap_free(sc_shardmap *map);

/* Adds a shard. `id` must pass sc_name_valid() (sc_names.h: 1..SC_SHARD_ID_MAX
 * bytes from [A-Za-z0-9._:-]), `url` sc_shard_url_valid() (1..SC_SHARD_URL_MAX
 * bytes of printable ASCII other than space, '"' and '\\'),
 * `weight` 1..SC_SHARD_WEIGHT_MAX; both strings are copied. The epoch is
 * not changed: bumping it is the membership layer's decision.
 * Returns 0, -EINVAL (bad argument), -EEXIST (id already present), -E2BIG
 * (map already holds SC_SHARDMAP_MAX_SHARDS) or -ENOMEM; the map is
 * unchanged on error. */
int sc_shardmap_add(sc_shardmap *map, const char *id, const char *url, uint32_t weight);

/* Removes the shard with this id. Returns 0, -EINVAL (NULL argument) or
 * -ENOENT (no such shard). */
int sc_shardmap_remove(sc_shardmap *map, const char *id);

/* Finds the shard that owns `key` (`keylen` arbitrary bytes; key may be NULL
 * when keylen is 0) and stores it in *out. O(number of shards).
 * Returns 0, -EINVAL (NULL map/out, or NULL key with keylen > 0) or -ENOENT
 * (the map is empty); *out is untouched on error. */
int sc_shardmap_owner(const sc_shardmap *map, const void *key, size_t keylen,
                      const struct sc_shard **out);

/* Number of shards. */
size_t sc_shardmap_count(const sc_shardmap *map);

/* The i-th shard in ascending byte order of id, or NULL if i >= count. */
const struct sc_shard *sc_shardmap_at(const sc_shardmap *map, size_t i);

/* The shard with this id, or NULL. */
const struct sc_shard *sc_shardmap_find(const sc_shardmap *map, const char *id);

/* The map's epoch, as given to sc_shardmap_new()/set_epoch() or parsed. */
uint64_t sc_shardmap_epoch(const sc_shardmap *map);

/* Returns 0, -EINVAL (map NULL) or -ERANGE (epoch > SC_SHARDMAP_EPOCH_MAX). */
int sc_shardmap_set_epoch(sc_shardmap *map, uint64_t epoch);

/* Writes the stored form (compact JSON, shards in id order, so equal maps
 * encode to equal strings) into a new NUL-terminated string *out of *outlen
 * bytes (outlen may be NULL). The caller frees *out with free().
 * Returns 0, -EINVAL (NULL map/out) or -ENOMEM; *out is untouched on error. */
int sc_shardmap_encode(const sc_shardmap *map, char **out, size_t *outlen);

/* Parses a stored form from `len` bytes at `buf` (no NUL needed; untrusted
 * input is fine) into a new map in *out, which the caller frees with
 * sc_shardmap_free(). If errbuf is not NULL, a one-line reason is written
 * to it on error (truncated to errlen, always NUL-terminated when errlen>0).
 * Returns 0, -EINVAL (NULL out, or NULL buf with len > 0), -EMSGSIZE
 * (len > SC_SHARDMAP_ENCODED_MAX), -EBADMSG (not a valid stored form) or
 * -ENOMEM; *out is untouched on error. */
int sc_shardmap_parse(const char *buf, size_t len, sc_shardmap **out, char *errbuf, size_t errlen);

/* The score shard (id, weight) gives `key`: the map's owner is the shard
 * with the lowest score, ties going to the lower id. Exposed so tools and
 * tests can check other implementations bit for bit.
 * Returns 0 or -EINVAL (invalid id or weight, NULL score, NULL key with
 * keylen > 0). */
int sc_shard_score(const char *id, uint32_t weight, const void *key, size_t keylen, double *score);

#ifdef __cplusplus
}
#endif

#endif /* SC_SHARD_H */
